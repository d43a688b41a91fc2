/**
 * Building a {@link MarketTape}: readers append events one by one with their
 * decimal strings; the builder keeps growable columns and the per-symbol
 * decimals, and hands out an exactly-sized tape at the end. Also merging the
 * tapes of several files into one, and printing prices without exponents.
 */
import { type DataFault, EventKind, type MarketTape, Side, type SymbolInfo } from "./types.js";

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
}

type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** A column twice as long (at least `size`), with the old values in front. */
function grown<T extends Column>(column: T, size: number): T {
  const next = new (column.constructor as new (length: number) => T)(Math.max(size, column.length * 2));
  next.set(column);
  return next;
}

/** Decimals of a decimal string, trailing zeros ignored: `"61837.63000000"` → 2, `"5.000"` → 0. */
export function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  if (dot < 0) return 0;
  let end = text.length;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  return end - dot - 1;
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

  /** Appends an incremental book update: the changed levels, quantity 0 = level removed. */
  depth(event: BookEvent): void {
    const i = this.next(EventKind.Depth, event);
    this.id[i] = event.lastId;
    this.id2[i] = event.firstId ?? 0;
    this.addLevels(i, event);
  }

  /** Appends a full book snapshot. */
  snapshot(event: BookEvent): void {
    const i = this.next(EventKind.Snapshot, event);
    this.id[i] = event.lastId;
    this.addLevels(i, event);
  }

  /**
   * The tape of the events appended so far, every array exactly as long as needed.
   * `baseNs` is the first event's time floored to the second (0 without events).
   */
  finish(source: string, faults: readonly DataFault[]): MarketTape {
    const n = this.size;
    const m = this.levels;
    return {
      source,
      symbols: this.symbols.map((s): SymbolInfo => ({ symbol: s.symbol, priceDecimals: s.priceDecimals, qtyDecimals: s.qtyDecimals })),
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
      faults: [...faults],
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

/** A min-heap of tape heads ordered by (time, tape index): the stable k-way merge. */
class HeadHeap {
  private readonly items: number[] = [];

  constructor(private readonly timeOf: (tape: number) => number) {}

  get size(): number {
    return this.items.length;
  }

  push(tape: number): void {
    const items = this.items;
    items.push(tape);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as number, items[parent] as number)) break;
      [items[i], items[parent]] = [items[parent] as number, items[i] as number];
      i = parent;
    }
  }

  /** The first head; the caller pushes the tape again if it has more events. */
  pop(): number {
    const items = this.items;
    const top = items[0] as number;
    const last = items.pop() as number;
    if (items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && this.before(items[left] as number, items[least] as number)) least = left;
      if (right < items.length && this.before(items[right] as number, items[least] as number)) least = right;
      if (least === i) return top;
      [items[i], items[least]] = [items[least] as number, items[i] as number];
      i = least;
    }
  }

  private before(a: number, b: number): boolean {
    const ta = this.timeOf(a);
    const tb = this.timeOf(b);
    return ta < tb || (ta === tb && a < b);
  }
}

/** Symbols of all tapes unified by name (finest decimals win), and each tape's index map. */
function unifySymbols(tapes: readonly MarketTape[]): { symbols: SymbolInfo[]; maps: Uint16Array[] } {
  const byName = new Map<string, number>();
  const symbols: SymbolInfo[] = [];
  const maps = tapes.map((tape) =>
    Uint16Array.from(tape.symbols, (info) => {
      const known = byName.get(info.symbol);
      if (known === undefined) {
        byName.set(info.symbol, symbols.length);
        symbols.push({ ...info });
        return symbols.length - 1;
      }
      const had = symbols[known] as SymbolInfo;
      symbols[known] = {
        symbol: had.symbol,
        priceDecimals: Math.max(had.priceDecimals, info.priceDecimals),
        qtyDecimals: Math.max(had.qtyDecimals, info.qtyDecimals),
      };
      return known;
    }),
  );
  return { symbols, maps };
}

/**
 * Merges the tapes of several files (consecutive capture days, one file per
 * symbol…) into one by time. Stable: events at the same time keep the order
 * of `tapes`, then their order within their tape. Symbols are unified by name,
 * faults concatenated, and the base is the earliest base.
 */
export function mergeTapes(tapes: readonly MarketTape[]): MarketTape {
  const baseNs =
    tapes.reduce<bigint | undefined>(
      (min, tape) => (tape.length === 0 || (min !== undefined && min <= tape.baseNs) ? min : tape.baseNs),
      undefined,
    ) ?? 0n;
  const shift = tapes.map((tape) => Number(tape.baseNs - baseNs));
  const { symbols, maps } = unifySymbols(tapes);
  const length = tapes.reduce((sum, tape) => sum + tape.length, 0);
  const levels = tapes.reduce((sum, tape) => sum + tape.levelPrice.length, 0);
  const out = {
    kind: new Uint8Array(length),
    symbol: new Uint16Array(length),
    t: new Float64Array(length),
    line: new Uint32Array(length),
    price: new Float64Array(length),
    qty: new Float64Array(length),
    price2: new Float64Array(length),
    qty2: new Float64Array(length),
    side: new Uint8Array(length),
    id: new Float64Array(length),
    id2: new Float64Array(length),
    levelStart: new Uint32Array(length),
    levelCount: new Uint32Array(length),
    levelPrice: new Float64Array(levels),
    levelQty: new Float64Array(levels),
    levelSide: new Uint8Array(levels),
  };
  const cursor = new Array<number>(tapes.length).fill(0);
  const heap = new HeadHeap((k) => ((tapes[k] as MarketTape).t[cursor[k] as number] as number) + (shift[k] as number));
  tapes.forEach((tape, k) => {
    if (tape.length > 0) heap.push(k);
  });
  let level = 0;
  for (let i = 0; heap.size > 0; i++) {
    const k = heap.pop();
    const tape = tapes[k] as MarketTape;
    const j = cursor[k] as number;
    out.kind[i] = tape.kind[j] as number;
    out.symbol[i] = (maps[k] as Uint16Array)[tape.symbol[j] as number] as number;
    out.t[i] = (tape.t[j] as number) + (shift[k] as number);
    out.line[i] = tape.line[j] as number;
    out.price[i] = tape.price[j] as number;
    out.qty[i] = tape.qty[j] as number;
    out.price2[i] = tape.price2[j] as number;
    out.qty2[i] = tape.qty2[j] as number;
    out.side[i] = tape.side[j] as number;
    out.id[i] = tape.id[j] as number;
    out.id2[i] = tape.id2[j] as number;
    const start = tape.levelStart[j] as number;
    const count = tape.levelCount[j] as number;
    out.levelStart[i] = level;
    out.levelCount[i] = count;
    out.levelPrice.set(tape.levelPrice.subarray(start, start + count), level);
    out.levelQty.set(tape.levelQty.subarray(start, start + count), level);
    out.levelSide.set(tape.levelSide.subarray(start, start + count), level);
    level += count;
    cursor[k] = j + 1;
    if (j + 1 < tape.length) heap.push(k);
  }
  return {
    source: tapes.map((tape) => tape.source).join(", "),
    symbols,
    baseNs,
    length,
    ...out,
    levelPrice: level === levels ? out.levelPrice : out.levelPrice.slice(0, level),
    levelQty: level === levels ? out.levelQty : out.levelQty.slice(0, level),
    levelSide: level === levels ? out.levelSide : out.levelSide.slice(0, level),
    faults: tapes.flatMap((tape) => tape.faults),
  };
}

/**
 * A price or quantity as a plain decimal string: never an exponent, at most
 * `decimals` decimals, trailing zeros trimmed. `formatDecimal(1e-7, 8)` is
 * `"0.0000001"`, `formatDecimal(61837.63, 2)` is `"61837.63"`.
 */
export function formatDecimal(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  const places = Math.min(100, Math.max(0, Math.trunc(decimals)));
  const shortest = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e\+(\d+)$/.exec(shortest);
  let text: string;
  if (exponent !== null) {
    // 1e21 and up: the shortest digits, padded with zeros up to the point
    const [, sign, lead, rest = "", power] = exponent;
    text = `${sign}${lead}${rest}${"0".repeat(Number(power) - rest.length)}`;
  } else if (!shortest.includes("e") && (shortest.split(".")[1] ?? "").length <= places) text = shortest;
  else text = value.toFixed(places);
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  return trimmed === "-0" ? "0" : trimmed;
}
