/**
 * Data-fault detection shared by the market-data readers: the field checks
 * that make a line malformed, the order, duplicate, gap and crossed-book
 * checks, and the log that counts each kind with its first line and turns the
 * kinds the policy fails on into one {@link MarketDataError}.
 */
import { type DataFault, type DataFaultKind, type DataFaultPolicy, MarketDataError } from "./types.js";

/** Longest line a reader looks at; a longer one is malformed without being parsed. */
export const MAX_LINE_CHARS = 1024 * 1024;

/** The fault kinds in the order messages and `tape.faults` list them. */
export const FAULT_KINDS: readonly DataFaultKind[] = ["malformed", "unsorted", "duplicate", "gap", "crossed"];

const NOUNS: Readonly<Record<DataFaultKind, readonly [one: string, many: string]>> = {
  malformed: ["malformed line", "malformed lines"],
  unsorted: ["unsorted event", "unsorted events"],
  duplicate: ["duplicate event", "duplicate events"],
  gap: ["gap", "gaps"],
  crossed: ["crossed book", "crossed books"],
};

/** A line that cannot be read, with the reason; readers throw it from their field checks and catch it per line. */
export class MalformedLine extends Error {
  override readonly name = "MalformedLine";
}

/** Throws {@link MalformedLine} with `reason`. */
export function malformed(reason: string): never {
  throw new MalformedLine(reason);
}

/** A value for a message: JSON, cut to 40 characters. */
export function shown(value: unknown): string {
  const text = value === undefined ? "undefined" : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const DECIMAL = /^\d{1,30}(?:\.\d{1,30})?$/;
/** A decimal string with a digit other than 0 is above 0. */
const NONZERO = /[1-9]/;

/**
 * A price as a decimal string: `field` of the event must be a string of
 * digits with an optional fraction, above 0 (or at least 0 with `allowZero`,
 * for an empty side of a book ticker).
 */
export function priceText(value: unknown, field: string, allowZero = false): string {
  if (typeof value !== "string")
    return malformed(value === undefined ? `${field} missing` : `${field} ${shown(value)} is not a decimal string`);
  if (!DECIMAL.test(value)) return malformed(`${field} ${shown(value)} is not a ${allowZero ? "" : "positive "}decimal`);
  if (!allowZero && !NONZERO.test(value)) return malformed(`${field} ${shown(value)} is not a positive decimal`);
  return value;
}

/** A quantity as a decimal string, at least 0 (above 0 with `positive`, for trades). */
export function qtyText(value: unknown, field: string, positive = false): string {
  if (typeof value !== "string")
    return malformed(value === undefined ? `${field} missing` : `${field} ${shown(value)} is not a decimal string`);
  if (value.startsWith("-") && DECIMAL.test(value.slice(1))) return malformed(`${field} ${shown(value)} is negative`);
  if (!DECIMAL.test(value)) return malformed(`${field} ${shown(value)} is not a decimal`);
  if (positive && !NONZERO.test(value)) return malformed(`${field} is 0: a trade has a quantity`);
  return value;
}

/** An id or counter: a JSON number that is a safe integer ≥ 0. */
export function idValue(value: unknown, field: string): number {
  if (value === undefined) return malformed(`${field} missing`);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return malformed(`${field} ${shown(value)} is not an id`);
  return value;
}

/** Counts faults per kind with the first one's line and description. */
export class FaultLog {
  private readonly kinds = new Map<DataFaultKind, { count: number; firstLine: number; first: string }>();

  constructor(private readonly policy: DataFaultPolicy) {}

  /** Records one fault of `kind` at `line`; `what` says what it was, in a few words. */
  record(kind: DataFaultKind, line: number, what: string): void {
    const had = this.kinds.get(kind);
    if (had === undefined) this.kinds.set(kind, { count: 1, firstLine: line, first: what });
    else had.count++;
  }

  /** Every kind seen, in {@link FAULT_KINDS} order. */
  get faults(): DataFault[] {
    return FAULT_KINDS.flatMap((kind) => {
      const entry = this.kinds.get(kind);
      return entry === undefined ? [] : [{ kind, ...entry }];
    });
  }

  /** Throws one {@link MarketDataError} listing every kind seen that the policy fails on. */
  throwIfFailing(source: string): void {
    const failing = this.faults.filter((fault) => this.policy[fault.kind] === "fail");
    if (failing.length > 0) throw new MarketDataError(describeFaults(source, failing));
  }
}

/** `x.gz: 3 unsorted events (first at line 17: time 123 ns before 456 ns); 1 malformed line (first at line 4: truncated JSON)`. */
export function describeFaults(source: string, faults: readonly DataFault[]): string {
  const parts = faults.map((f) => {
    const [one, many] = NOUNS[f.kind];
    return `${f.count} ${f.count === 1 ? one : many} (first at line ${f.firstLine}: ${f.first})`;
  });
  return `${source}: ${parts.join("; ")}`;
}

/**
 * Sorted disjoint ranges of the ids seen, so that a repeat is found without
 * keeping every id: in-order ids only widen the last range.
 */
class IdRanges {
  private readonly lo: number[] = [];
  private readonly hi: number[] = [];

  /** The largest id seen, or undefined. */
  get max(): number | undefined {
    return this.hi[this.hi.length - 1];
  }

  /** Adds `id`; false when it was already there. */
  add(id: number): boolean {
    const { lo, hi } = this;
    const n = lo.length;
    const top = hi[n - 1];
    if (top === undefined || id > top + 1) {
      lo.push(id);
      hi.push(id);
      return true;
    }
    if (id === top + 1) {
      hi[n - 1] = id;
      return true;
    }
    let a = 0;
    let b = n - 1;
    let k = -1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if ((lo[mid] as number) <= id) {
        k = mid;
        a = mid + 1;
      } else b = mid - 1;
    }
    if (k >= 0 && id <= (hi[k] as number)) return false;
    const joinLeft = k >= 0 && hi[k] === id - 1;
    const joinRight = k + 1 < n && lo[k + 1] === id + 1;
    if (joinLeft && joinRight) {
      hi[k] = hi[k + 1] as number;
      lo.splice(k + 1, 1);
      hi.splice(k + 1, 1);
    } else if (joinLeft) hi[k] = id;
    else if (joinRight) lo[k + 1] = id;
    else {
      lo.splice(k + 1, 0, id);
      hi.splice(k + 1, 0, id);
    }
    return true;
  }
}

/** What the detector needs to know. */
export interface DetectorOptions {
  readonly policy: DataFaultPolicy;
  /** Longest quiet time between consecutive events before it counts as a gap. */
  readonly maxGapSeconds: number;
}

/**
 * The per-file state of the checks. A reader calls, per line: {@link repeatsPrevious},
 * {@link inOrder}, the kind's id check, then {@link kept} for an event it keeps.
 * An event left out is just not passed to {@link kept}.
 */
export class FaultDetector {
  readonly log: FaultLog;
  private readonly maxGapNs: bigint;
  private readonly maxGapSeconds: number;
  private lastNs: bigint | undefined;
  private lastLine = 0;
  private lastText: string | undefined;
  private readonly tradeIds = new Map<string, IdRanges>();
  private readonly quoteIds = new Map<string, number>();

  constructor(options: DetectorOptions) {
    if (!(options.maxGapSeconds > 0) || !Number.isFinite(options.maxGapSeconds))
      throw new RangeError(`maxGapSeconds must be a positive number of seconds, not ${options.maxGapSeconds}`);
    this.log = new FaultLog(options.policy);
    this.maxGapSeconds = options.maxGapSeconds;
    this.maxGapNs = BigInt(Math.round(options.maxGapSeconds * 1e9));
  }

  /** Records a malformed line. */
  malformed(line: number, reason: string): void {
    this.log.record("malformed", line, reason);
  }

  /** True (a duplicate, recorded) when `text` repeats the line just before, whose event was kept. */
  repeatsPrevious(line: number, text: string): boolean {
    if (this.lastLine !== line - 1 || this.lastText !== text) return false;
    this.log.record("duplicate", line, `line identical to line ${line - 1}`);
    return true;
  }

  /** False (an unsorted event, recorded) when `ns` is before the latest kept event's time. */
  inOrder(line: number, ns: bigint): boolean {
    if (this.lastNs === undefined || ns >= this.lastNs) return true;
    this.log.record("unsorted", line, `time ${ns} ns before ${this.lastNs} ns`);
    return false;
  }

  /** False (a duplicate, recorded) when the trade id was seen before for the symbol; records a jump of more than 1 as a gap. */
  tradeId(line: number, symbol: string, id: number): boolean {
    let ids = this.tradeIds.get(symbol);
    if (ids === undefined) {
      ids = new IdRanges();
      this.tradeIds.set(symbol, ids);
    }
    const max = ids.max;
    if (!ids.add(id)) {
      this.log.record("duplicate", line, `${symbol} trade id ${id} seen before`);
      return false;
    }
    if (max !== undefined && id > max + 1) this.log.record("gap", line, `${symbol} trade id ${id} after ${max}`);
    return true;
  }

  /** False (a duplicate, recorded) when the book-ticker update id equals the symbol's previous one. */
  quoteId(line: number, symbol: string, id: number): boolean {
    if (this.quoteIds.get(symbol) === id) {
      this.log.record("duplicate", line, `${symbol} book ticker update id ${id} repeated`);
      return false;
    }
    this.quoteIds.set(symbol, id);
    return true;
  }

  /** True (a crossed book, recorded) when `bid` ≥ `ask` with both above 0. */
  crossed(line: number, what: string, bid: string, ask: string): boolean {
    const b = Number(bid);
    const a = Number(ask);
    if (!(b > 0 && a > 0 && b >= a)) return false;
    this.log.record("crossed", line, `${what} bid ${bid} ≥ ask ${ask}`);
    return true;
  }

  /** Notes a kept event: records a time gap since the previous one, and remembers its time and text. */
  kept(line: number, ns: bigint, text: string): void {
    if (this.lastNs !== undefined && ns - this.lastNs > this.maxGapNs)
      this.log.record(
        "gap",
        line,
        `no event for ${(Number(ns - this.lastNs) / 1e9).toFixed(3)} s (more than ${this.maxGapSeconds} s) after line ${this.lastLine}`,
      );
    this.lastNs = ns;
    this.lastLine = line;
    this.lastText = text;
  }
}

/**
 * Calls `visit` for each non-blank line of `text` (without its `\r\n` or `\n`)
 * with its 1-based number; returns how many there were.
 */
export function forEachLine(text: string, visit: (line: string, number: number) => void): number {
  let start = 0;
  let number = 0;
  let visited = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    number++;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    const line = text.slice(start, stop);
    if (line.trim() !== "") {
      visited++;
      visit(line, number);
    }
    start = end + 1;
  }
  return visited;
}
