/**
 * Merging the tapes of several files (consecutive capture days, one file per
 * symbol…) into one tape, by time, with their instruments unified.
 */
import { MarketDataError, type MarketTape, marketName, type SymbolInfo } from "./types.js";

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

/**
 * Instruments of all tapes unified (finest decimals win), and each tape's
 * index map. An instrument is venue, market and symbol; one symbol on two
 * markets (BTCUSDT spot and USD-M futures) is refused: the engine protocol
 * names instruments by symbol alone, so their books would be one.
 * @throws MarketDataError naming both files and markets.
 */
function unifySymbols(tapes: readonly MarketTape[]): { symbols: SymbolInfo[]; maps: Uint16Array[] } {
  const byName = new Map<string, { index: number; source: string }>();
  const symbols: SymbolInfo[] = [];
  const maps = tapes.map((tape) =>
    Uint16Array.from(tape.symbols, (info) => {
      const known = byName.get(info.symbol);
      if (known === undefined) {
        byName.set(info.symbol, { index: symbols.length, source: tape.source });
        symbols.push({ ...info });
        return symbols.length - 1;
      }
      const had = symbols[known.index] as SymbolInfo;
      if (had.venue !== info.venue || had.market !== info.market)
        throw new MarketDataError(
          `${info.symbol} is ${marketName(had.venue, had.market)} in ${known.source} and ${marketName(info.venue, info.market)} in ${tape.source}: ` +
            "the engine protocol names instruments by symbol alone, so one replay cannot hold both; replay each market's data on its own",
        );
      symbols[known.index] = {
        ...had,
        priceDecimals: Math.max(had.priceDecimals, info.priceDecimals),
        qtyDecimals: Math.max(had.qtyDecimals, info.qtyDecimals),
      };
      return known.index;
    }),
  );
  return { symbols, maps };
}

/**
 * Merges the tapes of several files (consecutive capture days, one file per
 * symbol…) into one by time. Stable: events at the same time keep the order
 * of `tapes`, then their order within their tape. Instruments are unified by
 * venue, market and symbol, faults and ignored messages concatenated, and the
 * base is the earliest base.
 * @throws MarketDataError when one symbol comes from two markets.
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
    ignored: tapes.flatMap((tape) => tape.ignored),
  };
}
