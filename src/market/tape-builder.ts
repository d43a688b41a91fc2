/**
 * Building a {@link MarketTape}: readers append events one by one with their
 * decimal strings; the builder keeps growable columns and the per-symbol
 * decimals, and hands out an exactly-sized tape at the end.
 */
import { decimalsOf } from "./decimal-text.js";
import {
  BookSync,
  type DataFault,
  EventKind,
  type IgnoredEvents,
  type MarketTape,
  type MarketType,
  Side,
  type SymbolInfo,
  type Venue,
} from "./types.js";

/** One book level as the exchanges write it: `[price, quantity]`, both decimal strings. */
export type Level = readonly [price: string, qty: string];

/** What every appended event carries. */
interface EventBase {
  /** 1-based line in the source. */
  readonly line: number;
  /** Absolute Unix time in ns. */
  readonly ns: bigint;
  readonly symbol: string;
}

/** A trade: price and quantity as decimal strings, the aggressor's side and the trade id. */
export interface TradeEvent extends EventBase {
  readonly price: string;
  readonly qty: string;
  readonly side: Side;
  readonly id: number;
}

/** A best bid / best ask update. */
export interface QuoteEvent extends EventBase {
  readonly bid: string;
  readonly bidQty: string;
  readonly ask: string;
  readonly askQty: string;
  readonly updateId: number;
}

/** An incremental book update (ids `firstId`..`lastId`) or a full book snapshot (`lastId` only). */
export interface BookEvent extends EventBase {
  readonly firstId?: number;
  readonly lastId: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  /** Whether it keeps the L2 book in step ({@link BookSync.InStep} by default). */
  readonly sync?: BookSync;
}

/** What a reader knows of the whole file when it finishes: where it came from and what it found. */
export interface TapeFacts {
  /** The file, for messages. */
  readonly source: string;
  /** The venue and market of every instrument in the file. */
  readonly venue: Venue;
  readonly market: MarketType;
  readonly faults: readonly DataFault[];
  readonly ignored: readonly IgnoredEvents[];
}

type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** A column twice as long (at least `size`), with the old values in front. */
function grown<T extends Column>(column: T, size: number): T {
  const next = new (column.constructor as new (length: number) => T)(Math.max(size, column.length * 2));
  next.set(column);
  return next;
}

/** Per-symbol decimals seen so far. */
interface SymbolState {
  readonly symbol: string;
  priceDecimals: number;
  qtyDecimals: number;
}

/** Appends events to growable columns; {@link finish} turns them into a {@link MarketTape}. */
export class TapeBuilder {
  private size = 0;
  private levels = 0;
  private baseNs: bigint | undefined;
  private readonly symbols: SymbolState[] = [];
  private readonly symbolIndex = new Map<string, number>();
  private kind = new Uint8Array(1024);
  private symbol = new Uint16Array(1024);
  private t = new Float64Array(1024);
  private line = new Uint32Array(1024);
  private price = new Float64Array(1024);
  private qty = new Float64Array(1024);
  private price2 = new Float64Array(1024);
  private qty2 = new Float64Array(1024);
  private side = new Uint8Array(1024);
  private id = new Float64Array(1024);
  private id2 = new Float64Array(1024);
  private levelStart = new Uint32Array(1024);
  private levelCount = new Uint32Array(1024);
  private levelPrice = new Float64Array(4096);
  private levelQty = new Float64Array(4096);
  private levelSide = new Uint8Array(4096);

  /** Events appended so far. */
  get length(): number {
    return this.size;
  }

  /** Appends a trade. */
  trade(event: TradeEvent): void {
    const i = this.next(EventKind.Trade, event);
    const s = this.symbols[this.symbol[i] as number] as SymbolState;
    this.price[i] = this.decimal(s, "price", event.price);
    this.qty[i] = this.decimal(s, "qty", event.qty);
    this.side[i] = event.side;
    this.id[i] = event.id;
  }

  /** Appends a best bid / best ask update. */
  quote(event: QuoteEvent): void {
    const i = this.next(EventKind.Quote, event);
    const s = this.symbols[this.symbol[i] as number] as SymbolState;
    this.price[i] = this.decimal(s, "price", event.bid);
    this.qty[i] = this.decimal(s, "qty", event.bidQty);
    this.price2[i] = this.decimal(s, "price", event.ask);
    this.qty2[i] = this.decimal(s, "qty", event.askQty);
    this.id[i] = event.updateId;
  }

  /** Appends an incremental book update: the changed levels, quantity 0 = level removed; returns its row. */
  depth(event: BookEvent): number {
    const i = this.next(EventKind.Depth, event);
    this.id[i] = event.lastId;
    this.id2[i] = event.firstId ?? 0;
    this.side[i] = event.sync ?? BookSync.InStep;
    this.addLevels(i, event);
    return i;
  }

  /** Appends a full book snapshot; returns its row. */
  snapshot(event: BookEvent): number {
    const i = this.next(EventKind.Snapshot, event);
    this.id[i] = event.lastId;
    this.side[i] = event.sync ?? BookSync.InStep;
    this.addLevels(i, event);
    return i;
  }

  /** Marks the Depth or Snapshot event at `row` as {@link BookSync.Broken}, once a later event shows it is. */
  markBroken(row: number): void {
    this.side[row] = BookSync.Broken;
  }

  /**
   * The tape of the events appended so far, every array exactly as long as needed.
   * `baseNs` is the first event's time floored to the second (0 without events).
   */
  finish(facts: TapeFacts): MarketTape {
    const n = this.size;
    const m = this.levels;
    const { source, venue, market } = facts;
    return {
      source,
      symbols: this.symbols.map(
        (s): SymbolInfo => ({ symbol: s.symbol, venue, market, priceDecimals: s.priceDecimals, qtyDecimals: s.qtyDecimals }),
      ),
      baseNs: this.baseNs ?? 0n,
      length: n,
      kind: this.kind.slice(0, n),
      symbol: this.symbol.slice(0, n),
      t: this.t.slice(0, n),
      line: this.line.slice(0, n),
      price: this.price.slice(0, n),
      qty: this.qty.slice(0, n),
      price2: this.price2.slice(0, n),
      qty2: this.qty2.slice(0, n),
      side: this.side.slice(0, n),
      id: this.id.slice(0, n),
      id2: this.id2.slice(0, n),
      levelStart: this.levelStart.slice(0, n),
      levelCount: this.levelCount.slice(0, n),
      levelPrice: this.levelPrice.slice(0, m),
      levelQty: this.levelQty.slice(0, m),
      levelSide: this.levelSide.slice(0, m),
      faults: [...facts.faults],
      ignored: [...facts.ignored],
    };
  }

  /** Reserves row `size`, fills the cells every kind has and zeroes the rest; returns the row. */
  private next(kind: EventKind, event: EventBase): number {
    if (this.size === this.kind.length) this.grow(this.size + 1);
    const i = this.size++;
    if (this.baseNs === undefined) this.baseNs = (event.ns / 1_000_000_000n) * 1_000_000_000n;
    this.kind[i] = kind;
    this.symbol[i] = this.symbolOf(event.symbol);
    this.t[i] = Number(event.ns - this.baseNs);
    this.line[i] = event.line;
    this.price[i] = 0;
    this.qty[i] = 0;
    this.price2[i] = 0;
    this.qty2[i] = 0;
    this.side[i] = 0;
    this.id[i] = 0;
    this.id2[i] = 0;
    this.levelStart[i] = this.levels;
    this.levelCount[i] = 0;
    return i;
  }

  private symbolOf(name: string): number {
    const known = this.symbolIndex.get(name);
    if (known !== undefined) return known;
    if (this.symbols.length > 0xffff) throw new RangeError(`more than ${0xffff + 1} symbols in one tape`);
    this.symbols.push({ symbol: name, priceDecimals: 0, qtyDecimals: 0 });
    this.symbolIndex.set(name, this.symbols.length - 1);
    return this.symbols.length - 1;
  }

  /** The value of a decimal string, noting its decimals for the symbol. */
  private decimal(symbol: SymbolState, what: "price" | "qty", text: string): number {
    const decimals = decimalsOf(text);
    if (what === "price") {
      if (decimals > symbol.priceDecimals) symbol.priceDecimals = decimals;
    } else if (decimals > symbol.qtyDecimals) symbol.qtyDecimals = decimals;
    return Number(text);
  }

  private addLevels(i: number, event: BookEvent): void {
    const needed = this.levels + event.bids.length + event.asks.length;
    if (needed > this.levelPrice.length) {
      this.levelPrice = grown(this.levelPrice, needed);
      this.levelQty = grown(this.levelQty, needed);
      this.levelSide = grown(this.levelSide, needed);
    }
    const s = this.symbols[this.symbol[i] as number] as SymbolState;
    for (const [levels, side] of [
      [event.bids, Side.Buy],
      [event.asks, Side.Sell],
    ] as const) {
      for (const [price, qty] of levels) {
        const j = this.levels++;
        this.levelPrice[j] = this.decimal(s, "price", price);
        this.levelQty[j] = this.decimal(s, "qty", qty);
        this.levelSide[j] = side;
      }
    }
    this.levelCount[i] = event.bids.length + event.asks.length;
  }

  private grow(size: number): void {
    this.kind = grown(this.kind, size);
    this.symbol = grown(this.symbol, size);
    this.t = grown(this.t, size);
    this.line = grown(this.line, size);
    this.price = grown(this.price, size);
    this.qty = grown(this.qty, size);
    this.price2 = grown(this.price2, size);
    this.qty2 = grown(this.qty2, size);
    this.side = grown(this.side, size);
    this.id = grown(this.id, size);
    this.id2 = grown(this.id2, size);
    this.levelStart = grown(this.levelStart, size);
    this.levelCount = grown(this.levelCount, size);
  }
}
