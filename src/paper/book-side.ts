/**
 * One side of a symbol's book in the simulated exchange: the recorded L2
 * levels (a list of small sorted chunks), the quoted best level, and our
 * resting orders on that side.
 */
import type { OrderState } from "./orders.js";

/** Capacity of one chunk of a {@link BookSide}, in levels. */
const CHUNK = 16;
/** A full chunk splits into two of this many levels. */
const HALF = CHUNK >> 1;
/** After a removal, a chunk merges with a neighbour when the two hold at most this many levels. */
const MERGE = (CHUNK * 3) >> 2;

/**
 * One side of a book. Prices are stored as keys `sign × price` (bids +1,
 * asks −1), so that "better" is always "larger" and the best level is last.
 *
 * Depth updates touch levels all over the book (thousands of dollars from the
 * top), so the levels are not one sorted array, where an insert or a removal
 * far from the top shifts almost all of it, but a list of small sorted chunks
 * (a two-level sorted array): chunk `c`, for `c < chunks` in ascending key
 * order, holds `len[c]` (1 … CHUNK) levels at `keys`/`qtys` indices
 * `start[c] …`, one CHUNK-sized slot of a pool, and `last[c]` is its largest
 * key. A change shifts at most one chunk; a full chunk splits in two, and small
 * neighbours merge back.
 *
 * Finding a level starts from the last one changed: the levels of a depth event
 * come best first per side (falling keys), so the next one is mostly in the
 * same chunk, a few levels below.
 */
export class BookSide {
  /** Level keys and quantities, in CHUNK-sized slots. */
  keys = new Float64Array(CHUNK * 16);
  qtys = new Float64Array(CHUNK * 16);
  /** Pool index of the first level of each chunk. */
  start = new Int32Array(16);
  /** Number of levels of each chunk. */
  len = new Int32Array(16);
  /** Largest key of each chunk. */
  last = new Float64Array(16);
  chunks = 0;
  /** Number of levels. */
  size = 0;
  /** Pool slots handed out so far; the freed ones among them are on `free`. */
  private slots = 0;
  private readonly free: number[] = [];
  /** Chunk and position of the level last changed: where the next search starts. */
  private hintChunk = 0;
  private hintPos = 0;
  /** Position in its chunk of the level {@link behind} found. */
  pos = 0;
  /** Key of the quoted best level, −∞ when the quote has no level on this side. */
  quoteKey = Number.NEGATIVE_INFINITY;
  /** Quantity left at the quoted level (after what our orders took). */
  quoteQty = 0;
  /** Our resting orders on this side, best key first, then oldest first. */
  readonly resting: OrderState[] = [];

  constructor(readonly sign: 1 | -1) {}

  /** Removes every level. */
  clear(): void {
    this.chunks = 0;
    this.size = 0;
    this.slots = 0;
    this.free.length = 0;
  }

  /** Key of the best level; only when `size > 0`. */
  bestKey(): number {
    return this.last[this.chunks - 1] as number;
  }

  /** Sets the level at `key` to `qty` (≤ 0 removes it). */
  set(key: number, qty: number): void {
    const chunks = this.chunks;
    const last = this.last;
    let c = this.hintChunk;
    if (!(c < chunks && (last[c] as number) >= key)) {
      c = chunks - 1;
      if (!(c >= 0 && (last[c] as number) >= key)) {
        // Better than every level: a new best level.
        if (!(qty > 0)) return;
        if (c < 0) c = this.insertChunk(0);
        this.insertAt(c, this.len[c] as number, key, qty);
        return;
      }
    }
    // The level goes in the first chunk whose largest key is ≥ key.
    while (c > 0 && (last[c - 1] as number) >= key) c--;
    const keys = this.keys;
    const base = this.start[c] as number;
    // Its first key ≥ key: at or below the last level changed if that one is in this chunk and ≥ key, else at or below the chunk's last.
    let at = base + (this.len[c] as number) - 1;
    const hint = base + this.hintPos;
    if (c === this.hintChunk && hint < at && (keys[hint] as number) >= key) at = hint;
    while (at > base && (keys[at - 1] as number) >= key) at--;
    const pos = at - base;
    this.hintChunk = c;
    this.hintPos = pos;
    if (keys[at] === key) {
      if (qty > 0) this.qtys[at] = qty;
      else if (this.removeAt(c, pos)) this.rebalance(c);
      else this.hintChunk = c > 0 ? c - 1 : 0;
      return;
    }
    if (qty > 0) this.insertAt(c, pos, key, qty);
  }

  /** Inserts a level at position `pos` of chunk `c`, splitting the chunk when full. */
  private insertAt(c: number, pos: number, key: number, qty: number): void {
    if (this.len[c] === CHUNK) {
      this.split(c);
      if (pos > HALF) {
        c++;
        pos -= HALF;
        this.hintChunk = c;
        this.hintPos = pos;
      }
    }
    const keys = this.keys;
    const qtys = this.qtys;
    const base = this.start[c] as number;
    const len = this.len[c] as number;
    for (let k = base + len; k > base + pos; k--) {
      keys[k] = keys[k - 1] as number;
      qtys[k] = qtys[k - 1] as number;
    }
    keys[base + pos] = key;
    qtys[base + pos] = qty;
    this.len[c] = len + 1;
    if (pos === len) this.last[c] = key;
    this.size++;
  }

  /**
   * Removes the level at position `pos` of chunk `c`, and the chunk once
   * empty; returns whether the chunk is still there. No level below it moves.
   */
  removeAt(c: number, pos: number): boolean {
    const keys = this.keys;
    const qtys = this.qtys;
    const base = this.start[c] as number;
    const len = (this.len[c] as number) - 1;
    this.size--;
    if (len === 0) {
      this.deleteChunk(c);
      return false;
    }
    for (let k = base + pos; k < base + len; k++) {
      keys[k] = keys[k + 1] as number;
      qtys[k] = qtys[k + 1] as number;
    }
    this.len[c] = len;
    if (pos === len) this.last[c] = keys[base + len - 1] as number;
    return true;
  }

  /** Merges chunk `c` into a neighbour, or a neighbour into it, when the two are small together. */
  private rebalance(c: number): void {
    const len = this.len;
    if (c + 1 < this.chunks && (len[c] as number) + (len[c + 1] as number) <= MERGE) this.mergeNext(c);
    else if (c > 0 && (len[c - 1] as number) + (len[c] as number) <= MERGE) this.mergeNext(c - 1);
  }

  /** Appends the levels of chunk `c + 1` to chunk `c` and drops chunk `c + 1`. */
  private mergeNext(c: number): void {
    const to = (this.start[c] as number) + (this.len[c] as number);
    const from = this.start[c + 1] as number;
    const end = from + (this.len[c + 1] as number);
    this.keys.copyWithin(to, from, end);
    this.qtys.copyWithin(to, from, end);
    if (this.hintChunk === c + 1) {
      this.hintChunk = c;
      this.hintPos += this.len[c] as number;
    }
    this.len[c] = (this.len[c] as number) + end - from;
    this.last[c] = this.last[c + 1] as number;
    this.deleteChunk(c + 1);
  }

  /** Moves the upper half of the full chunk `c` to a new chunk `c + 1`. */
  private split(c: number): void {
    this.insertChunk(c + 1);
    const from = (this.start[c] as number) + HALF;
    const to = this.start[c + 1] as number;
    this.keys.copyWithin(to, from, from + CHUNK - HALF);
    this.qtys.copyWithin(to, from, from + CHUNK - HALF);
    this.len[c] = HALF;
    this.len[c + 1] = CHUNK - HALF;
    this.last[c + 1] = this.last[c] as number;
    this.last[c] = this.keys[from - 1] as number;
  }

  /** Inserts an empty chunk at index `c` and returns `c`. */
  private insertChunk(c: number): number {
    const chunks = this.chunks;
    if (chunks === this.start.length) {
      const start = new Int32Array(chunks * 2);
      const len = new Int32Array(chunks * 2);
      const last = new Float64Array(chunks * 2);
      start.set(this.start);
      len.set(this.len);
      last.set(this.last);
      this.start = start;
      this.len = len;
      this.last = last;
    }
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slots++;
      if (this.slots * CHUNK > this.keys.length) {
        const keys = new Float64Array(this.keys.length * 2);
        const qtys = new Float64Array(this.qtys.length * 2);
        keys.set(this.keys);
        qtys.set(this.qtys);
        this.keys = keys;
        this.qtys = qtys;
      }
    }
    if (c < chunks) {
      this.start.copyWithin(c + 1, c, chunks);
      this.len.copyWithin(c + 1, c, chunks);
      this.last.copyWithin(c + 1, c, chunks);
    }
    this.start[c] = slot * CHUNK;
    this.len[c] = 0;
    this.chunks = chunks + 1;
    return c;
  }

  /** Drops chunk `c` and frees its slot. */
  private deleteChunk(c: number): void {
    const chunks = this.chunks - 1;
    this.free.push((this.start[c] as number) / CHUNK);
    if (c < chunks) {
      this.start.copyWithin(c, c + 1, chunks + 1);
      this.len.copyWithin(c, c + 1, chunks + 1);
      this.last.copyWithin(c, c + 1, chunks + 1);
    }
    this.chunks = chunks;
  }

  /** Index of the first chunk whose largest key is ≥ `key`; `chunks` if none. */
  private chunkOf(key: number): number {
    const last = this.last;
    let lo = 0;
    let hi = this.chunks;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((last[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Pool index of the first level of chunk `c` with key ≥ `key` (one past the chunk if none). */
  private lowerBound(c: number, key: number): number {
    const keys = this.keys;
    let lo = this.start[c] as number;
    let hi = lo + (this.len[c] as number);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** L2 quantity at `key`: the level's quantity, 0 inside the known range, ∞ past its worst level. */
  l2At(key: number): number {
    if (this.size === 0 || !(key >= (this.keys[this.start[0] as number] as number))) return Number.POSITIVE_INFINITY;
    const c = this.chunkOf(key);
    if (c === this.chunks) return 0;
    const at = this.lowerBound(c, key);
    return this.keys[at] === key ? (this.qtys[at] as number) : 0;
  }

  /**
   * The best L2 level behind the quote (or the best at all, without a quote):
   * returns its chunk, with its position in the chunk in {@link pos}, or −1 if none.
   */
  behind(hasQuote: boolean): number {
    let c = this.chunks - 1;
    if (c < 0) return -1;
    if (hasQuote && !(this.quoteKey > (this.last[c] as number))) {
      c = this.chunkOf(this.quoteKey);
      const pos = this.lowerBound(c, this.quoteKey) - (this.start[c] as number) - 1;
      if (pos >= 0) {
        this.pos = pos;
        return c;
      }
      c--;
      if (c < 0) return -1;
    }
    this.pos = (this.len[c] as number) - 1;
    return c;
  }
}
