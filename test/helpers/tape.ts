/** Builds small {@link MarketTape}s for tests, one plain object per event. */
import { BookSync, EventKind, type MarketTape, Side, type SymbolInfo } from "../../src/market/types.js";

export interface TapeEvent {
  /** ns after the tape's base time. */
  readonly t: number;
  readonly kind: "trade" | "quote" | "depth" | "snapshot";
  /** Default "BTCUSDT". */
  readonly symbol?: string;
  /** Trade price / quantity / aggressor side. */
  readonly price?: number;
  readonly qty?: number;
  readonly side?: "buy" | "sell";
  /** Quote. */
  readonly bid?: number;
  readonly bidQty?: number;
  readonly ask?: number;
  readonly askQty?: number;
  /** Trade id, quote update id, depth last update id u, snapshot lastUpdateId. */
  readonly id?: number;
  /** Depth first update id U. */
  readonly firstId?: number;
  /** Depth changes or snapshot levels: [price, qty]. */
  readonly bids?: readonly (readonly [number, number])[];
  readonly asks?: readonly (readonly [number, number])[];
  /** Depth or snapshot the reader marked {@link BookSync.Broken} (a gap, a snapshot nothing bridges). */
  readonly broken?: boolean;
}

const KINDS = { trade: EventKind.Trade, quote: EventKind.Quote, depth: EventKind.Depth, snapshot: EventKind.Snapshot } as const;

function decimals(x: number): number {
  const text = String(x);
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** A tape of `events`, in the given order; symbols in order of first appearance. */
export function tape(events: readonly TapeEvent[]): MarketTape {
  const n = events.length;
  const levelTotal = events.reduce((a, e) => a + (e.bids?.length ?? 0) + (e.asks?.length ?? 0), 0);
  const symbolIndex = new Map<string, number>();
  const priceDecimals: number[] = [];
  const qtyDecimals: number[] = [];
  const kind = new Uint8Array(n);
  const symbol = new Uint16Array(n);
  const t = new Float64Array(n);
  const line = new Uint32Array(n);
  const price = new Float64Array(n);
  const qty = new Float64Array(n);
  const price2 = new Float64Array(n);
  const qty2 = new Float64Array(n);
  const side = new Uint8Array(n);
  const id = new Float64Array(n);
  const id2 = new Float64Array(n);
  const levelStart = new Uint32Array(n);
  const levelCount = new Uint32Array(n);
  const levelPrice = new Float64Array(levelTotal);
  const levelQty = new Float64Array(levelTotal);
  const levelSide = new Uint8Array(levelTotal);
  let level = 0;
  events.forEach((e, i) => {
    const name = e.symbol ?? "BTCUSDT";
    let s = symbolIndex.get(name);
    if (s === undefined) {
      s = symbolIndex.size;
      symbolIndex.set(name, s);
      priceDecimals.push(0);
      qtyDecimals.push(0);
    }
    const seen = (p: number | undefined, q: number | undefined): void => {
      if (p !== undefined) priceDecimals[s] = Math.max(priceDecimals[s] ?? 0, decimals(p));
      if (q !== undefined) qtyDecimals[s] = Math.max(qtyDecimals[s] ?? 0, decimals(q));
    };
    kind[i] = KINDS[e.kind];
    symbol[i] = s;
    t[i] = e.t;
    line[i] = i + 1;
    id[i] = e.id ?? 0;
    id2[i] = e.firstId ?? 0;
    if (e.kind === "trade") {
      price[i] = e.price ?? 0;
      qty[i] = e.qty ?? 0;
      side[i] = e.side === "sell" ? Side.Sell : Side.Buy;
      seen(e.price, e.qty);
    } else if (e.kind === "quote") {
      price[i] = e.bid ?? 0;
      qty[i] = e.bidQty ?? 0;
      price2[i] = e.ask ?? 0;
      qty2[i] = e.askQty ?? 0;
      seen(e.bid, e.bidQty);
      seen(e.ask, e.askQty);
    } else side[i] = e.broken === true ? BookSync.Broken : BookSync.InStep;
    levelStart[i] = level;
    for (const [levels, levelSideValue] of [
      [e.bids ?? [], Side.Buy],
      [e.asks ?? [], Side.Sell],
    ] as const) {
      for (const [p, q] of levels) {
        levelPrice[level] = p;
        levelQty[level] = q;
        levelSide[level] = levelSideValue;
        seen(p, q);
        level++;
      }
    }
    levelCount[i] = level - (levelStart[i] as number);
  });
  const symbols: SymbolInfo[] = [...symbolIndex.keys()].map((name, i) => ({
    symbol: name,
    venue: "binance",
    market: "spot",
    priceDecimals: priceDecimals[i] ?? 0,
    qtyDecimals: qtyDecimals[i] ?? 0,
  }));
  return {
    source: "test tape",
    symbols,
    baseNs: 0n,
    length: n,
    kind,
    symbol,
    t,
    line,
    price,
    qty,
    price2,
    qty2,
    side,
    id,
    id2,
    levelStart,
    levelCount,
    levelPrice,
    levelQty,
    levelSide,
    faults: [],
    ignored: [],
  };
}
