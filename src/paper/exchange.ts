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

/**
 * One side of a book. Prices are stored as keys `sign × price` (bids +1,
 * asks −1), so that "better" is always "larger" and the best level is last.
 */
class BookSide {
  keys = new Float64Array(64);
  qtys = new Float64Array(64);
  size = 0;
  /** Key of the quoted best level, −∞ when the quote has no level on this side. */
  quoteKey = Number.NEGATIVE_INFINITY;
  /** Quantity left at the quoted level (after what our orders took). */
  quoteQty = 0;
  /** Our resting orders on this side, best key first, then oldest first. */
  readonly resting: OrderState[] = [];

  constructor(readonly sign: 1 | -1) {}

  /** Index of the first level with key ≥ `key`. */
  private lowerBound(key: number): number {
    const keys = this.keys;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets the level at `key` to `qty` (≤ 0 removes it). */
  set(key: number, qty: number): void {
    const size = this.size;
    // Most updates are near the top, which is at the end.
    const at = size > 0 && (this.keys[size - 1] as number) < key ? size : this.lowerBound(key);
    if (at < size && this.keys[at] === key) {
      if (qty > 0) this.qtys[at] = qty;
      else this.removeAt(at);
      return;
    }
    if (!(qty > 0)) return;
    if (size === this.keys.length) this.grow();
    if (at < size) {
      this.keys.copyWithin(at + 1, at, size);
      this.qtys.copyWithin(at + 1, at, size);
    }
    this.keys[at] = key;
    this.qtys[at] = qty;
    this.size = size + 1;
  }

  removeAt(at: number): void {
    const size = this.size;
    if (at < size - 1) {
      this.keys.copyWithin(at, at + 1, size);
      this.qtys.copyWithin(at, at + 1, size);
    }
    this.size = size - 1;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    const qtys = new Float64Array(this.qtys.length * 2);
    keys.set(this.keys);
    qtys.set(this.qtys);
    this.keys = keys;
    this.qtys = qtys;
  }

  /** L2 quantity at `key`: the level's quantity, 0 inside the known range, ∞ past its worst level. */
  l2At(key: number): number {
    if (this.size === 0) return Number.POSITIVE_INFINITY;
    const at = this.lowerBound(key);
    if (at < this.size && this.keys[at] === key) return this.qtys[at] as number;
    return at === 0 ? Number.POSITIVE_INFINITY : 0;
  }

  /** Index of the best L2 level behind the quote (or the best at all, without a quote); −1 if none. */
  firstBehind(hasQuote: boolean): number {
    if (!hasQuote) return this.size - 1;
    return this.lowerBound(this.quoteKey) - 1;
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
      if (side.size === 0 || key > (side.keys[side.size - 1] as number)) return 0;
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
        book.bid.size = 0;
        book.ask.size = 0;
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
    for (let j = start; j < end; j++) {
      const price = tape.levelPrice[j] as number;
      if (tape.levelSide[j] === Side.Buy) book.bid.set(price, tape.levelQty[j] as number);
      else book.ask.set(-price, tape.levelQty[j] as number);
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
      if (side.resting.length === 0) continue;
      const key = side.sign * (tape.levelPrice[j] as number);
      for (const order of side.resting) {
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
    for (let j = side.firstBehind(book.hasQuote); j >= 0; j--) {
      const key = side.keys[j] as number;
      if (key < limitKey) return;
      const level = side.qtys[j] as number;
      const qty = roundQty(Math.min(order.leaves, level));
      const left = roundQty(level - qty);
      if (left > 0) side.qtys[j] = left;
      else side.removeAt(j);
      if (qty > 0 && this.fill(order, sign * key, qty, "taker", t, out)) return;
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
    const j = side.firstBehind(book.hasQuote);
    return j >= 0 ? side.sign * (side.keys[j] as number) : undefined;
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
