/**
 * The simulated exchange of a paper-trading replay: it rebuilds each symbol's
 * book from a {@link MarketTape} and matches the engine's orders against it,
 * without ever inventing liquidity.
 *
 * - Book: the top of book comes from Quote events; the levels behind it from a
 *   Snapshot plus the Depth updates after it (update id u > the snapshot's
 *   lastUpdateId; depth before any snapshot is ignored; quantity 0 removes a
 *   level). When both exist the quote gives the best level and L2 only the
 *   levels behind it. Trade-only data has no book.
 * - Taking (market, ioc, the marketable part of a limit): walks the opposite
 *   side from the best level, at most the displayed quantity per level, and
 *   only within the limit price. What our orders take is gone until the book
 *   reports that level again (the next quote for the top, the next depth update
 *   for that price).
 * - Resting limits fill only from recorded trades, with a risk-averse queue
 *   model (as hftbacktest's `RiskAdverseQueueModel`): the queue ahead starts at
 *   the displayed quantity at the order's price (0 when it improves on the
 *   best, unknown = infinite behind a quote-only top of book or past the deepest
 *   known L2 level), only shrinks when the book reports less at that price, and
 *   is consumed by opposite-aggressor trades at that price; only the trade
 *   quantity beyond it fills. A trade through the price fills up to its
 *   quantity. One trade's quantity is shared across our orders (best price
 *   first, then time), so it never fills more than it traded.
 * - Our own orders never match each other (no self-trade) and are not added to
 *   the recorded book.
 */
import { EventKind, type MarketTape, Side } from "../market/types.js";

export interface ExchangeConfig {
  /** Fee on fills of resting orders, in basis points of the notional; negative = rebate. */
  readonly makerFeeBps: number;
  /** Fee on fills that take liquidity, in basis points of the notional. */
  readonly takerFeeBps: number;
}

export type OrderType = "limit" | "ioc" | "market";

export interface OrderRequest {
  readonly clientId: string;
  /** Index into the tape's `symbols`. */
  readonly symbol: number;
  readonly side: Side;
  readonly type: OrderType;
  /** Limit price; required for `limit` and `ioc`, ignored for `market`. */
  readonly price?: number;
  readonly qty: number;
}

export interface AckReport {
  readonly type: "ack";
  readonly clientId: string;
  readonly t: number;
}

export interface FillReport {
  readonly type: "fill";
  readonly clientId: string;
  readonly t: number;
  readonly symbol: number;
  readonly side: Side;
  readonly price: number;
  readonly qty: number;
  /** Quote currency; negative is a rebate. */
  readonly fee: number;
  readonly liquidity: "maker" | "taker";
  /** Quantity still open after this fill. */
  readonly leaves: number;
}

export interface CancelledReport {
  readonly type: "cancelled";
  readonly clientId: string;
  readonly t: number;
  readonly reason: "requested" | "ioc" | "end";
}

export interface RejectReport {
  readonly type: "reject";
  readonly clientId: string;
  readonly t: number;
  readonly reason: string;
}

export interface CancelRejectReport {
  readonly type: "cancel_reject";
  readonly clientId: string;
  readonly t: number;
  readonly reason: string;
}

export type ExchangeReport = AckReport | FillReport | CancelledReport | RejectReport | CancelRejectReport;

/** Vetoes an order before it is accepted: a reason rejects it, `undefined` lets it through. */
export type PreTradeCheck = (order: OrderRequest, exchange: Exchange) => string | undefined;

/** Open quantity of the resting orders of one symbol, per side. */
export interface OpenQty {
  readonly buy: number;
  readonly sell: number;
}

/** Quantities are rounded to this step so that float noise (0.30000000000000004) never leaves a sliver open. */
const QTY_STEP = 1e12;

/** `x` rounded to 1e-12. */
export function roundQty(x: number): number {
  return Math.round(x * QTY_STEP) / QTY_STEP;
}

interface OrderState {
  readonly clientId: string;
  readonly symbol: number;
  readonly side: Side;
  readonly price: number;
  /** Arrival number: time priority among our orders. */
  readonly seq: number;
  /** `sign × price` of the order's own side: larger is more aggressive. */
  readonly key: number;
  leaves: number;
  /** Recorded quantity ahead of the order at its price (resting orders only). */
  queue: number;
  open: boolean;
}

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
class BookSide {
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

class Book {
  readonly bid = new BookSide(1);
  readonly ask = new BookSide(-1);
  hasQuote = false;
  hasSnapshot = false;
  snapshotId = 0;
  /** Resting orders on both sides. */
  resting = 0;

  sideOf(side: Side): BookSide {
    return side === Side.Buy ? this.bid : this.ask;
  }

  /** Quantity the book shows at `key` on `side`: 0 if better than the best, ∞ if unknown. */
  displayedAt(side: BookSide, key: number): number {
    if (this.hasQuote) {
      if (key > side.quoteKey) return 0;
      if (key === side.quoteKey) return side.quoteQty;
      return this.hasSnapshot ? side.l2At(key) : Number.POSITIVE_INFINITY;
    }
    if (this.hasSnapshot) {
      if (side.size === 0 || key > side.bestKey()) return 0;
      return side.l2At(key);
    }
    return 0;
  }
}

const TRADE = EventKind.Trade;
const QUOTE = EventKind.Quote;
const DEPTH = EventKind.Depth;
const SNAPSHOT = EventKind.Snapshot;

/** The simulated exchange for one tape; see the module comment for the matching rules. */
export class Exchange {
  private readonly books: Book[];
  private readonly lastTrade: Float64Array;
  private readonly orders = new Map<string, OrderState>();
  private seq = 0;
  private time = 0;

  constructor(
    private readonly tape: MarketTape,
    private readonly config: ExchangeConfig,
    private readonly preTradeCheck?: PreTradeCheck,
  ) {
    this.books = tape.symbols.map(() => new Book());
    this.lastTrade = new Float64Array(tape.symbols.length).fill(Number.NaN);
  }

  /** Simulated time of the last event or request the exchange processed. */
  get now(): number {
    return this.time;
  }

  /** Applies tape event `i` and pushes the fills it causes onto `out`. */
  onMarket(i: number, out: ExchangeReport[]): void {
    const tape = this.tape;
    const book = this.books[tape.symbol[i] as number] as Book;
    this.time = tape.t[i] as number;
    switch (tape.kind[i]) {
      case TRADE:
        this.lastTrade[tape.symbol[i] as number] = tape.price[i] as number;
        if (book.resting > 0) this.tradeAgainstResting(book, i, out);
        return;
      case QUOTE: {
        book.hasQuote = true;
        const bid = tape.price[i] as number;
        const ask = tape.price2[i] as number;
        book.bid.quoteKey = bid > 0 ? bid : Number.NEGATIVE_INFINITY;
        book.bid.quoteQty = bid > 0 ? (tape.qty[i] as number) : 0;
        book.ask.quoteKey = ask > 0 ? -ask : Number.NEGATIVE_INFINITY;
        book.ask.quoteQty = ask > 0 ? (tape.qty2[i] as number) : 0;
        // Only orders at or better than the quoted price see a different book.
        if (book.resting > 0) {
          this.shrinkFrom(book, book.bid);
          this.shrinkFrom(book, book.ask);
        }
        return;
      }
      case DEPTH:
        if (!book.hasSnapshot || (tape.id[i] as number) <= book.snapshotId) return;
        this.applyLevels(book, i);
        if (book.resting > 0) this.shrinkAtLevels(book, i);
        return;
      case SNAPSHOT:
        book.hasSnapshot = true;
        book.snapshotId = tape.id[i] as number;
        book.bid.clear();
        book.ask.clear();
        this.applyLevels(book, i);
        if (book.resting > 0) {
          this.shrinkFrom(book, book.bid, Number.NEGATIVE_INFINITY);
          this.shrinkFrom(book, book.ask, Number.NEGATIVE_INFINITY);
        }
        return;
      default:
        return;
    }
  }

  private applyLevels(book: Book, i: number): void {
    const tape = this.tape;
    const start = tape.levelStart[i] as number;
    const end = start + (tape.levelCount[i] as number);
    const prices = tape.levelPrice;
    const qtys = tape.levelQty;
    const sides = tape.levelSide;
    for (let j = start; j < end; ) {
      // A run of levels of one side, best first in Binance data.
      const code = sides[j];
      const side = code === Side.Buy ? book.bid : book.ask;
      const sign = side.sign;
      do {
        side.set(sign * (prices[j] as number), qtys[j] as number);
        j++;
      } while (j < end && sides[j] === code);
    }
  }

  /**
   * The queue ahead can never be longer than what the book now shows at the
   * order's price: shortens it for the resting orders on `side` with key ≥
   * `fromKey` (by default, those at or better than the quote).
   */
  private shrinkFrom(book: Book, side: BookSide, fromKey = side.quoteKey): void {
    for (const order of side.resting) {
      if (order.key < fromKey) return;
      if (order.queue > 0) order.queue = Math.min(order.queue, book.displayedAt(side, order.key));
    }
  }

  /** As {@link shrinkFrom}, for the resting orders at the prices depth event `i` changed. */
  private shrinkAtLevels(book: Book, i: number): void {
    const tape = this.tape;
    const start = tape.levelStart[i] as number;
    const end = start + (tape.levelCount[i] as number);
    for (let j = start; j < end; j++) {
      const side = tape.levelSide[j] === Side.Buy ? book.bid : book.ask;
      const resting = side.resting;
      const n = resting.length;
      if (n === 0) continue;
      const key = side.sign * (tape.levelPrice[j] as number);
      // Resting orders are sorted by key, best first: none at a key outside their range.
      if (key > (resting[0] as OrderState).key || key < (resting[n - 1] as OrderState).key) continue;
      for (const order of resting) {
        if (order.key === key && order.queue > 0) order.queue = Math.min(order.queue, book.displayedAt(side, key));
      }
    }
  }

  /** Fills resting orders from trade `i`: orders at the trade price after their queue, orders beyond it up to the trade quantity. */
  private tradeAgainstResting(book: Book, i: number, out: ExchangeReport[]): void {
    const tape = this.tape;
    // A sell aggressor hits bids; a buy aggressor lifts asks.
    const side = tape.side[i] === Side.Sell ? book.bid : book.ask;
    if (side.resting.length === 0) return;
    const tradeKey = side.sign * (tape.price[i] as number);
    const tradeQty = tape.qty[i] as number;
    let used = 0;
    let closed = false;
    for (const order of side.resting) {
      if (order.key < tradeKey) break;
      let fill: number;
      if (order.key > tradeKey) {
        fill = tradeQty - used;
      } else {
        fill = tradeQty - order.queue - used;
        order.queue = Math.max(0, roundQty(order.queue - tradeQty));
      }
      fill = roundQty(Math.min(fill, order.leaves));
      if (fill <= 0) continue;
      used += fill;
      closed = this.fill(order, order.price, fill, "maker", this.time, out) || closed;
    }
    if (closed) this.dropClosed(book, side);
  }

  private dropClosed(book: Book, side: BookSide): void {
    const resting = side.resting;
    let kept = 0;
    for (const order of resting) if (order.open) resting[kept++] = order;
    book.resting -= resting.length - kept;
    resting.length = kept;
  }

  /** Records a fill of `qty` at `price`; returns whether the order is now closed. */
  private fill(order: OrderState, price: number, qty: number, liquidity: "maker" | "taker", t: number, out: ExchangeReport[]): boolean {
    order.leaves = roundQty(order.leaves - qty);
    if (order.leaves <= 0) {
      order.leaves = 0;
      order.open = false;
    }
    const bps = liquidity === "maker" ? this.config.makerFeeBps : this.config.takerFeeBps;
    out.push({
      type: "fill",
      clientId: order.clientId,
      t,
      symbol: order.symbol,
      side: order.side,
      price,
      qty,
      fee: (price * qty * bps) / 10_000,
      liquidity,
      leaves: order.leaves,
    });
    return !order.open;
  }

  /** Accepts or rejects an order arriving at time `t`, takes what it can and rests the rest of a limit. */
  submit(order: OrderRequest, t: number, out: ExchangeReport[]): void {
    this.time = t;
    const clientId = order.clientId;
    if (this.orders.has(clientId)) {
      out.push({ type: "reject", clientId, t, reason: "duplicate client id" });
      return;
    }
    const reason = this.invalid(order) ?? this.preTradeCheck?.(order, this);
    const price = order.type === "market" ? Number.NaN : (order.price as number);
    const sign = order.side === Side.Buy ? 1 : -1;
    const state: OrderState = {
      clientId,
      symbol: order.symbol,
      side: order.side,
      price,
      seq: this.seq++,
      key: sign * price,
      leaves: roundQty(order.qty),
      queue: 0,
      open: reason === undefined,
    };
    this.orders.set(clientId, state);
    if (reason !== undefined) {
      state.leaves = 0;
      out.push({ type: "reject", clientId, t, reason });
      return;
    }
    out.push({ type: "ack", clientId, t });
    const book = this.books[order.symbol] as Book;
    // A buy takes the asks: keys there are −price, so "at or better than the limit" is key ≥ −limit.
    const opposite = order.side === Side.Buy ? book.ask : book.bid;
    const limitKey = order.type === "market" ? Number.NEGATIVE_INFINITY : -state.key;
    this.take(book, opposite, state, limitKey, t, out);
    if (!state.open) return;
    if (order.type !== "limit") {
      state.open = false;
      out.push({ type: "cancelled", clientId, t, reason: "ioc" });
      return;
    }
    const own = book.sideOf(order.side);
    state.queue = book.displayedAt(own, state.key);
    let at = 0;
    while (at < own.resting.length && (own.resting[at] as OrderState).key >= state.key) at++;
    own.resting.splice(at, 0, state);
    book.resting++;
  }

  private invalid(order: OrderRequest): string | undefined {
    if (typeof order.clientId !== "string" || order.clientId === "") return "invalid client id";
    if (!Number.isInteger(order.symbol) || order.symbol < 0 || order.symbol >= this.books.length) return "unknown symbol";
    if (order.side !== Side.Buy && order.side !== Side.Sell) return "invalid side";
    if (order.type !== "limit" && order.type !== "ioc" && order.type !== "market") return "invalid order type";
    if (!(Number.isFinite(order.qty) && roundQty(order.qty) > 0)) return "quantity must be positive";
    if (order.type !== "market") {
      if (order.price === undefined) return `missing price for a ${order.type} order`;
      if (!(Number.isFinite(order.price) && order.price > 0)) return "price must be positive";
    }
    return undefined;
  }

  /** Takes liquidity from `side` for `order`, best level first, while the level key is ≥ `limitKey`. */
  private take(book: Book, side: BookSide, order: OrderState, limitKey: number, t: number, out: ExchangeReport[]): void {
    const sign = side.sign;
    if (book.hasQuote && side.quoteQty > 0 && side.quoteKey >= limitKey) {
      const qty = roundQty(Math.min(order.leaves, side.quoteQty));
      side.quoteQty = roundQty(side.quoteQty - qty);
      if (qty > 0 && this.fill(order, sign * side.quoteKey, qty, "taker", t, out)) return;
    }
    if (!book.hasSnapshot) return;
    // Walks down from the best level behind the quote; removing a level (or its emptied chunk) moves none below it.
    const first = side.behind(book.hasQuote);
    for (let c = first; c >= 0; c--) {
      const base = side.start[c] as number;
      for (let pos = c === first ? side.pos : (side.len[c] as number) - 1; pos >= 0; pos--) {
        const key = side.keys[base + pos] as number;
        if (key < limitKey) return;
        const level = side.qtys[base + pos] as number;
        const qty = roundQty(Math.min(order.leaves, level));
        const left = roundQty(level - qty);
        if (left > 0) side.qtys[base + pos] = left;
        else side.removeAt(c, pos);
        if (qty > 0 && this.fill(order, sign * key, qty, "taker", t, out)) return;
      }
    }
  }

  /** Cancels an open order at the engine's request. */
  cancel(clientId: string, t: number, out: ExchangeReport[]): void {
    this.time = t;
    const order = this.orders.get(clientId);
    if (order === undefined) {
      out.push({ type: "cancel_reject", clientId, t, reason: "unknown order" });
      return;
    }
    if (!order.open) {
      out.push({ type: "cancel_reject", clientId, t, reason: "order is closed" });
      return;
    }
    this.close(order);
    out.push({ type: "cancelled", clientId, t, reason: "requested" });
  }

  /** Cancels every open order (end of data), oldest first. */
  cancelAll(t: number, out: ExchangeReport[]): void {
    this.time = t;
    const open: OrderState[] = [];
    for (const book of this.books) {
      open.push(...book.bid.resting, ...book.ask.resting);
      book.bid.resting.length = 0;
      book.ask.resting.length = 0;
      book.resting = 0;
    }
    open.sort((a, b) => a.seq - b.seq);
    for (const order of open) {
      order.open = false;
      out.push({ type: "cancelled", clientId: order.clientId, t, reason: "end" });
    }
  }

  private close(order: OrderState): void {
    order.open = false;
    const book = this.books[order.symbol] as Book;
    const resting = book.sideOf(order.side).resting;
    const at = resting.indexOf(order);
    if (at >= 0) {
      resting.splice(at, 1);
      book.resting--;
    }
  }

  /** Best bid still available (after what our orders took), or undefined without one. */
  bestBid(symbol: number): number | undefined {
    return this.best(symbol, "bid");
  }

  /** Best ask still available (after what our orders took), or undefined without one. */
  bestAsk(symbol: number): number | undefined {
    return this.best(symbol, "ask");
  }

  private best(symbol: number, which: "bid" | "ask"): number | undefined {
    const book = this.books[symbol];
    if (book === undefined) return undefined;
    const side = book[which];
    if (book.hasQuote && side.quoteQty > 0) return side.sign * side.quoteKey;
    if (!book.hasSnapshot) return undefined;
    const c = side.behind(book.hasQuote);
    return c >= 0 ? side.sign * (side.keys[(side.start[c] as number) + side.pos] as number) : undefined;
  }

  /** Midpoint of {@link bestBid} and {@link bestAsk}, or undefined unless both exist. */
  mid(symbol: number): number | undefined {
    const bid = this.bestBid(symbol);
    const ask = this.bestAsk(symbol);
    return bid === undefined || ask === undefined ? undefined : (bid + ask) / 2;
  }

  /** Price of the last recorded trade of `symbol`, or undefined before the first. */
  lastTradePrice(symbol: number): number | undefined {
    const price = this.lastTrade[symbol];
    return price === undefined || Number.isNaN(price) ? undefined : price;
  }

  /** Open quantity of our resting orders on `symbol`, per side. */
  openOrders(symbol: number): OpenQty {
    const book = this.books[symbol];
    if (book === undefined) return { buy: 0, sell: 0 };
    let buy = 0;
    let sell = 0;
    for (const order of book.bid.resting) buy += order.leaves;
    for (const order of book.ask.resting) sell += order.leaves;
    return { buy: roundQty(buy), sell: roundQty(sell) };
  }
}
