/**
 * The one event model every market-data reader produces: a columnar "tape"
 * (typed arrays, one entry per event, in replay order) that is compact in
 * memory, quick to walk, and written to and read from the parse cache as is.
 */
import { PipelineError } from "../core/errors.js";

/** Event kinds, as stored in {@link MarketTape.kind}. */
export const EventKind = { Trade: 1, Quote: 2, Depth: 3, Snapshot: 4 } as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** Sides, as stored in {@link MarketTape.side} and {@link MarketTape.levelSide}. */
export const Side = { Buy: 1, Sell: 2 } as const;
export type Side = (typeof Side)[keyof typeof Side];

/**
 * Whether a Depth or Snapshot event keeps the L2 book in step with the
 * exchange's, as stored in {@link MarketTape.side} for those kinds. A reader
 * decides it from the venue's update ids; the simulated exchange follows it.
 */
export const BookSync = {
  /** A depth update that follows the one before; a snapshot that an update bridges (or that nothing contradicts). */
  InStep: 0,
  /**
   * A depth update that does not follow the one before (a gap), or a snapshot
   * that no update bridges: the L2 book is unknown from here to the next usable snapshot.
   */
  Broken: 1,
} as const;
export type BookSync = (typeof BookSync)[keyof typeof BookSync];

/** Trading venues the readers know. */
export const VENUES = ["binance"] as const;
export type Venue = (typeof VENUES)[number];

/** Binance markets: spot, USDⓈ-M futures (linear), COIN-M futures (inverse). */
export const MARKET_TYPES = ["spot", "usdm", "coinm"] as const;
export type MarketType = (typeof MARKET_TYPES)[number];

const VENUE_NAMES: Readonly<Record<Venue, string>> = { binance: "Binance" };
const MARKET_NAMES: Readonly<Record<MarketType, string>> = { spot: "spot", usdm: "USD-M futures", coinm: "COIN-M futures" };

/** How messages name a market: "Binance spot", "Binance USD-M futures", "Binance COIN-M futures". */
export function marketName(venue: Venue, market: MarketType): string {
  return `${VENUE_NAMES[venue]} ${MARKET_NAMES[market]}`;
}

/**
 * Per-instrument facts the readers infer from the data. An instrument is
 * its venue, market and symbol: BTCUSDT on Binance spot and on Binance USD-M
 * futures are two instruments (and one replay refuses to hold both, because
 * the engine protocol names instruments by symbol alone).
 */
export interface SymbolInfo {
  readonly symbol: string;
  readonly venue: Venue;
  readonly market: MarketType;
  /** Decimals of the finest price seen (trailing zeros ignored): 2 for BTCUSDT → tick 0.01. */
  readonly priceDecimals: number;
  /** Decimals of the finest quantity seen: 5 for BTCUSDT → lot 0.00001. */
  readonly qtyDecimals: number;
}

/**
 * Market events in replay order. Field meaning by kind:
 *
 * | kind     | price / qty             | price2 / qty2 | side                     | id / id2                         | levels |
 * |----------|-------------------------|---------------|--------------------------|----------------------------------|--------|
 * | Trade    | trade price / quantity  | –             | aggressor (Buy or Sell)  | trade id / –                     | –      |
 * | Quote    | best bid / bid quantity | best ask / ask quantity | –              | book update id / –               | –      |
 * | Depth    | –                       | –             | {@link BookSync}         | last update id u / first id U    | changed levels (quantity 0 = level removed) |
 * | Snapshot | –                       | –             | {@link BookSync}         | lastUpdateId / –                 | the full book |
 *
 * Unused numeric cells are 0. Level `j` of event `i` is at
 * `levelStart[i] + j` for `j < levelCount[i]` in the level arrays.
 */
export interface MarketTape {
  /** Where the events came from, for messages (a file path). */
  readonly source: string;
  readonly symbols: readonly SymbolInfo[];
  /** Unix time in ns of t = 0; `t` values are ns after it (exact in a double for 100+ days). */
  readonly baseNs: bigint;
  readonly length: number;
  readonly kind: Uint8Array;
  /** Index into {@link symbols}. */
  readonly symbol: Uint16Array;
  /** ns after {@link baseNs}; the capture's local receive time, or the exchange time for CSV data. */
  readonly t: Float64Array;
  /** 1-based line of the event in the source, for messages. */
  readonly line: Uint32Array;
  readonly price: Float64Array;
  readonly qty: Float64Array;
  readonly price2: Float64Array;
  readonly qty2: Float64Array;
  readonly side: Uint8Array;
  readonly id: Float64Array;
  readonly id2: Float64Array;
  readonly levelStart: Uint32Array;
  readonly levelCount: Uint32Array;
  readonly levelPrice: Float64Array;
  readonly levelQty: Float64Array;
  readonly levelSide: Uint8Array;
  /** The data faults found while reading (skipped ones are not in the tape). */
  readonly faults: readonly DataFault[];
  /** Messages read and deliberately left out of the tape, per kind. */
  readonly ignored: readonly IgnoredEvents[];
}

/** Kinds of message a reader reads but deliberately leaves out of the tape. */
export const IGNORED_KINDS = ["aggTrade", "markPrice", "partialDepth", "tradeMarker"] as const;
export type IgnoredKind = (typeof IGNORED_KINDS)[number];

/** All messages of one ignored kind in one source. */
export interface IgnoredEvents {
  readonly kind: IgnoredKind;
  readonly count: number;
  /** 1-based line of the first one. */
  readonly firstLine: number;
  /** Why they are left out, in a few words. */
  readonly reason: string;
}

/** Kinds of data fault a reader detects. */
export type DataFaultKind = "malformed" | "unsorted" | "duplicate" | "gap" | "crossed";

/** All events of one fault kind in one source. */
export interface DataFault {
  readonly kind: DataFaultKind;
  readonly count: number;
  /** 1-based line of the first one. */
  readonly firstLine: number;
  /** What the first one was, in a few words ("trade id 17 after 15", "bid 101 ≥ ask 100"). */
  readonly first: string;
}

/** What to do with each fault kind: stop with an error, or leave the event out (gaps: go on) and report it. */
export type DataFaultPolicy = Readonly<Record<DataFaultKind, "fail" | "skip">>;

/** The defaults: unreadable or out-of-order data stops the replay; the rest is reported. */
export const DEFAULT_FAULT_POLICY: DataFaultPolicy = {
  malformed: "fail",
  unsorted: "fail",
  duplicate: "skip",
  gap: "skip",
  crossed: "skip",
};

/** Market data that cannot be used; the message names the file and line. */
export class MarketDataError extends PipelineError {
  override readonly name: string = "MarketDataError";
}
