/**
 * Positions, P&L and risk limits of a paper-trading run, computed from the
 * simulated exchange's own fills (never from what the engine says).
 *
 * Average-cost accounting per symbol: a fill in the direction of the position
 * (or from flat) moves the average cost; a fill against it realises
 * (price − average cost) × closed quantity, and the part beyond flat opens a
 * new position at the fill price. Unrealised P&L is (mark − average cost) ×
 * position, with the last mark (or the last fill price before any mark).
 * Equity = realised + unrealised − fees over all symbols; the loss limit is on
 * equity over the whole run (one replay is one trading day).
 */
import { Side } from "../market/types.js";
import type { Exchange } from "./exchange.js";
import { type FillReport, type OrderRequest, roundQty } from "./orders.js";

/** The environment profile's risk limits. */
export interface RiskLimits {
  /** Largest absolute position per symbol, in the base asset. */
  readonly maxPosition: number;
  /** Largest loss (−equity, quote currency, after fees) before exposure-increasing orders are refused. */
  readonly maxDailyLoss: number;
}

/** An order the monitor refused. */
export interface Breach {
  readonly t: number;
  readonly clientId: string;
  readonly reason: string;
}

/** The first time a limit was 80 % used. */
export interface RiskWarning {
  readonly kind: "position" | "loss";
  readonly t: number;
  readonly symbol: number;
  /** |position| (base asset) or loss (quote currency) when the warning fired. */
  readonly value: number;
  readonly limit: number;
  /** The warning in a few words: "position 800 ≥ 80 % of max position 1000". */
  readonly message: string;
}

/** Share of a limit at which a warning is recorded. */
export const WARNING_SHARE = 0.8;

/** A number for a message, without float noise (1000.5000000000001 → "1000.5"). */
function show(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/** Positions, P&L and limit checks of one run, fed with the exchange's fills and marks. */
export class RiskMonitor {
  private readonly pos: Float64Array;
  private readonly avgCost: Float64Array;
  private readonly realisedPnl: Float64Array;
  private readonly marks: Float64Array;
  private readonly feePaid: Float64Array;
  private feeTotal = 0;
  private lastT = 0;
  readonly breaches: Breach[] = [];
  readonly warnings: RiskWarning[] = [];
  private positionWarned = false;
  private lossWarned = false;

  constructor(
    symbolCount: number,
    readonly limits: RiskLimits,
  ) {
    this.pos = new Float64Array(symbolCount);
    this.avgCost = new Float64Array(symbolCount);
    this.realisedPnl = new Float64Array(symbolCount);
    this.marks = new Float64Array(symbolCount).fill(Number.NaN);
    this.feePaid = new Float64Array(symbolCount);
  }

  /** Books a fill of the simulated exchange. */
  onFill(fill: FillReport): void {
    const s = fill.symbol;
    this.lastT = fill.t;
    const signed = fill.side === Side.Buy ? fill.qty : -fill.qty;
    const position = this.pos[s] as number;
    const avg = this.avgCost[s] as number;
    if (position === 0 || Math.sign(position) === Math.sign(signed)) {
      const next = roundQty(position + signed);
      this.avgCost[s] = (avg * Math.abs(position) + fill.price * fill.qty) / Math.abs(next);
      this.pos[s] = next;
    } else {
      const closed = Math.min(Math.abs(position), fill.qty);
      this.realisedPnl[s] = (this.realisedPnl[s] as number) + (fill.price - avg) * closed * Math.sign(position);
      const next = roundQty(position + signed);
      this.pos[s] = next;
      // Flat: no cost; flipped: the rest opened at the fill price; reduced: unchanged.
      if (next === 0) this.avgCost[s] = 0;
      else if (Math.sign(next) !== Math.sign(position)) this.avgCost[s] = fill.price;
    }
    this.feeTotal += fill.fee;
    this.feePaid[s] = (this.feePaid[s] as number) + fill.fee;
    if (Number.isNaN(this.marks[s])) this.marks[s] = fill.price;
    this.warn(s);
  }

  /** Sets the price unrealised P&L is valued at (the harness: mid, or the last trade). */
  mark(symbol: number, price: number, t: number = this.lastT): void {
    this.marks[symbol] = price;
    this.lastT = t;
    if (!this.lossWarned) this.warn(symbol);
  }

  position(symbol: number): number {
    return this.pos[symbol] ?? 0;
  }

  /** Average cost of the open position, 0 when flat. */
  averageCost(symbol: number): number {
    return this.avgCost[symbol] ?? 0;
  }

  realised(symbol: number): number {
    return this.realisedPnl[symbol] ?? 0;
  }

  unrealised(symbol: number): number {
    const position = this.pos[symbol] ?? 0;
    const mark = this.marks[symbol] ?? Number.NaN;
    if (position === 0 || Number.isNaN(mark)) return 0;
    return (mark - (this.avgCost[symbol] as number)) * position;
  }

  /** Fees paid net of rebates: of one symbol, or of all without one. */
  fees(symbol?: number): number {
    return symbol === undefined ? this.feeTotal : (this.feePaid[symbol] ?? 0);
  }

  /** The price `symbol` is valued at (last mark, else last fill price); undefined before either. */
  markPrice(symbol: number): number | undefined {
    const mark = this.marks[symbol];
    return mark === undefined || Number.isNaN(mark) ? undefined : mark;
  }

  /** Realised + unrealised − fees, all symbols. */
  equity(): number {
    let total = -this.feeTotal;
    for (let s = 0; s < this.pos.length; s++) total += (this.realisedPnl[s] as number) + this.unrealised(s);
    return total;
  }

  private warn(symbol: number): void {
    const { maxPosition, maxDailyLoss } = this.limits;
    const size = Math.abs(this.pos[symbol] as number);
    if (!this.positionWarned && size >= WARNING_SHARE * maxPosition) {
      this.positionWarned = true;
      const message = `position ${show(size)} ≥ 80 % of max position ${show(maxPosition)}`;
      this.warnings.push({ kind: "position", t: this.lastT, symbol, value: size, limit: maxPosition, message });
    }
    if (this.lossWarned) return;
    const loss = -this.equity();
    if (loss >= WARNING_SHARE * maxDailyLoss) {
      this.lossWarned = true;
      const message = `loss ${show(loss)} ≥ 80 % of max daily loss ${show(maxDailyLoss)}`;
      this.warnings.push({ kind: "loss", t: this.lastT, symbol, value: loss, limit: maxDailyLoss, message });
    }
  }

  /**
   * The pre-trade check: the reason to refuse `order`, or undefined. Refuses an
   * order whose worst case (position + open same-direction quantity + its own)
   * exceeds the position limit and is worse than without it, and, once the loss
   * limit is reached, any order that would increase the absolute position.
   * Usable as the exchange's preTradeCheck as is.
   */
  readonly check = (order: OrderRequest, exchange: Exchange): string | undefined => {
    const reason = this.refusal(order, exchange);
    if (reason !== undefined) this.breaches.push({ t: exchange.now, clientId: order.clientId, reason });
    return reason;
  };

  private refusal(order: OrderRequest, exchange: Exchange): string | undefined {
    const { maxPosition, maxDailyLoss } = this.limits;
    const position = this.position(order.symbol);
    const open = exchange.openOrders(order.symbol);
    const sign = order.side === Side.Buy ? 1 : -1;
    const before = roundQty(position + sign * (order.side === Side.Buy ? open.buy : open.sell));
    const worst = roundQty(before + sign * order.qty);
    if (Math.abs(worst) > maxPosition && Math.abs(worst) > Math.abs(before)) {
      return `position limit: |${show(worst)}| > ${show(maxPosition)}`;
    }
    const equity = this.equity();
    if (equity <= -maxDailyLoss && Math.abs(worst) > Math.abs(position)) {
      return `daily loss limit: loss ${show(-equity)} ≥ ${show(maxDailyLoss)}`;
    }
    return undefined;
  }
}
