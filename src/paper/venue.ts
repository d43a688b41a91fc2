/**
 * The venue of a paper-trading replay: what the simulated exchange does with
 * the market data and the engine's orders, in simulated time. Orders and
 * cancels arrive after the order latency; every report the exchange makes is
 * settled (fills into the risk monitor and the fill list, counts updated) and
 * queued for the engine after the response latency. Equity is recorded after
 * every trade, quote and order arrival.
 */
import { EventKind, type MarketTape, Side } from "../market/types.js";
import type { EngineErrors } from "./engine-errors.js";
import { Exchange } from "./exchange.js";
import type { ExchangeConfig } from "./matching.js";
import { EquityRecorder } from "./metrics.js";
import type { ExchangeReport, OrderRequest } from "./orders.js";
import { type RiskLimits, RiskMonitor } from "./risk-monitor.js";

/** A fill as the harness's exchange made it. */
export interface PaperFill {
  readonly t: number;
  readonly clientId: string;
  readonly symbol: string;
  readonly side: "buy" | "sell";
  readonly price: number;
  readonly qty: number;
  readonly fee: number;
  readonly liquidity: "maker" | "taker";
}

/** The orders the engine sent and what became of them. */
export interface OrderCounts {
  sent: number;
  acked: number;
  rejected: number;
  cancelRequests: number;
  cancelled: number;
  orderedQty: number;
  filledQty: number;
}

/** A report of the exchange and the simulated time it reaches the engine. */
export interface Delivery {
  readonly deliverAt: number;
  readonly report: ExchangeReport;
}

/** An order or a cancel on its way to the exchange, arriving at `t`. */
type Arrival =
  | { readonly t: number; readonly kind: "new"; readonly order: OrderRequest; readonly line: string; readonly seq: number }
  | { readonly t: number; readonly kind: "cancel"; readonly clientId: string };

/** Consumed entries kept at the front of a queue before it is compacted. */
const COMPACT_AFTER = 4096;

/** The simulated exchange, its risk monitor and equity record, and the queues between it and the engine. */
export class ReplayVenue {
  readonly fills: PaperFill[] = [];
  readonly orders: OrderCounts = { sent: 0, acked: 0, rejected: 0, cancelRequests: 0, cancelled: 0, orderedQty: 0, filledQty: 0 };
  readonly risk: RiskMonitor;
  readonly recorder = new EquityRecorder();
  private readonly exchange: Exchange;
  /** Next tape event for the exchange. */
  private nextEvent = 0;
  /** The exchange has processed everything before this simulated time. */
  private clock: number;
  private readonly arrivals: Arrival[] = [];
  private nextArrival = 0;
  private readonly outbox: Delivery[] = [];
  private nextDelivery = 0;
  /** Reports of the step being processed, before they are settled. */
  private readonly made: ExchangeReport[] = [];

  /**
   * @param fees the exchange's maker and taker fees.
   * @param limits the environment's risk limits, checked before each order is accepted.
   * @param responseLatencyNs exchange → engine latency in simulated time.
   * @param errors where an order that breaches a risk limit is recorded as an engine error.
   */
  constructor(
    private readonly tape: MarketTape,
    fees: ExchangeConfig,
    limits: RiskLimits,
    private readonly responseLatencyNs: number,
    private readonly errors: EngineErrors,
  ) {
    const risk = new RiskMonitor(tape.symbols.length, limits);
    this.risk = risk;
    this.exchange = new Exchange(tape, fees, (order, exchange) => risk.check(order, exchange));
    this.clock = tape.length > 0 ? (tape.t[0] as number) : 0;
  }

  /** The exchange has processed everything before this simulated time. */
  get processedUntil(): number {
    return this.clock;
  }

  /** Tape events the exchange has applied. */
  get eventsReplayed(): number {
    return this.nextEvent;
  }

  /** Whether tape events or orders are still to reach the exchange. */
  hasPending(): boolean {
    return this.nextArrival < this.arrivals.length || this.nextEvent < this.tape.length;
  }

  /** The next report for the engine, if the exchange has made one. */
  nextReport(): Delivery | undefined {
    return this.outbox[this.nextDelivery];
  }

  /** Marks {@link nextReport} as delivered. */
  reportDelivered(): void {
    this.nextDelivery++;
  }

  /** Frees the delivered reports once they are most of the queue. */
  compactDelivered(): void {
    if (this.nextDelivery > COMPACT_AFTER && this.nextDelivery * 2 > this.outbox.length) {
      this.outbox.splice(0, this.nextDelivery);
      this.nextDelivery = 0;
    }
  }

  /** An order the engine wrote in `line`, in reply to message `seq`, reaching the exchange at `t`. */
  submitAt(t: number, order: OrderRequest, line: string, seq: number): void {
    this.orders.sent++;
    this.orders.orderedQty += order.qty;
    this.arrivals.push({ t, kind: "new", order, line, seq });
  }

  /** A cancel of `clientId` reaching the exchange at `t`. */
  cancelAt(t: number, clientId: string): void {
    this.orders.cancelRequests++;
    this.arrivals.push({ t, kind: "cancel", clientId });
  }

  /** Processes market data and order arrivals before time `until`, market data first on a tie. */
  advanceTo(until: number): void {
    const tape = this.tape;
    const n = tape.length;
    for (;;) {
      const tm = this.nextEvent < n ? (tape.t[this.nextEvent] as number) : Number.POSITIVE_INFINITY;
      const arrival = this.arrivals[this.nextArrival];
      const ta = arrival === undefined ? Number.POSITIVE_INFINITY : arrival.t;
      if (tm >= until && ta >= until) break;
      if (tm <= ta) {
        this.applyMarket(this.nextEvent, tm);
        this.nextEvent++;
      } else {
        this.applyArrival(arrival as Arrival);
        this.nextArrival++;
        this.recorder.record(ta, this.risk.equity());
      }
      if (this.made.length > 0) this.settle();
    }
    if (this.nextArrival > COMPACT_AFTER && this.nextArrival * 2 > this.arrivals.length) {
      this.arrivals.splice(0, this.nextArrival);
      this.nextArrival = 0;
    }
    this.clock = until;
  }

  /** End of data: open orders are cancelled, and the engine hears of it before `end`. */
  endOfData(): void {
    this.exchange.cancelAll(this.clock, this.made);
    this.settle();
  }

  /** Applies tape event `i` at `t`; a trade or a quote moves the mark and the equity. */
  private applyMarket(i: number, t: number): void {
    const tape = this.tape;
    this.exchange.onMarket(i, this.made);
    const kind = tape.kind[i];
    if (kind === EventKind.Quote || kind === EventKind.Trade) {
      const symbol = tape.symbol[i] as number;
      const mark = this.exchange.mid(symbol) ?? this.exchange.lastTradePrice(symbol);
      if (mark !== undefined) this.risk.mark(symbol, mark, t);
      this.recorder.record(t, this.risk.equity());
    }
  }

  private applyArrival(arrival: Arrival): void {
    if (arrival.kind === "cancel") {
      this.exchange.cancel(arrival.clientId, arrival.t, this.made);
      return;
    }
    const risk = this.risk;
    const before = risk.breaches.length;
    this.exchange.submit(arrival.order, arrival.t, this.made);
    if (risk.breaches.length > before)
      this.errors.add(arrival.seq, `order breaches a risk limit: ${risk.breaches.at(-1)?.reason ?? ""}`, arrival.line);
  }

  /** Accounts the reports just made and queues them for the engine. */
  private settle(): void {
    const orders = this.orders;
    for (const report of this.made) {
      if (report.type === "fill") {
        this.risk.onFill(report);
        const symbol = this.tape.symbols[report.symbol]?.symbol ?? "?";
        this.fills.push({
          t: report.t,
          clientId: report.clientId,
          symbol,
          side: report.side === Side.Buy ? "buy" : "sell",
          price: report.price,
          qty: report.qty,
          fee: report.fee,
          liquidity: report.liquidity,
        });
        orders.filledQty += report.qty;
      } else if (report.type === "ack") orders.acked++;
      else if (report.type === "reject") orders.rejected++;
      else if (report.type === "cancelled") orders.cancelled++;
      this.outbox.push({ deliverAt: report.t + this.responseLatencyNs, report });
    }
    this.made.length = 0;
  }
}
