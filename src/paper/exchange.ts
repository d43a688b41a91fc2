/**
 * The simulated exchange of a paper-trading replay: it rebuilds each symbol's
 * book from a {@link MarketTape} (book.ts) and matches the engine's orders
 * against it (matching.ts), without ever inventing liquidity. Trade-only data
 * has no book. Our own orders never match each other (no self-trade) and are
 * not added to the recorded book.
 */
import { BookSync, EventKind, type MarketTape, Side } from "../market/types.js";
import { Book } from "./book.js";
import { type ExchangeConfig, fillRestingFromTrade, shrinkQueues, shrinkQueuesAtLevels, takeLiquidity } from "./matching.js";
import { type ExchangeReport, type OrderRequest, type OrderState, roundQty } from "./orders.js";

/** Vetoes an order before it is accepted: a reason rejects it, `undefined` lets it through. */
export type PreTradeCheck = (order: OrderRequest, exchange: Exchange) => string | undefined;

/** Open quantity of the resting orders of one symbol, per side. */
export interface OpenQty {
  readonly buy: number;
  readonly sell: number;
}

const TRADE = EventKind.Trade;
const QUOTE = EventKind.Quote;
const DEPTH = EventKind.Depth;
const SNAPSHOT = EventKind.Snapshot;
const BROKEN = BookSync.Broken;

/** The simulated exchange for one tape; see book.ts and matching.ts for the rules. */
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
        if (book.resting > 0) fillRestingFromTrade(book, tape, i, this.time, this.config, out);
        return;
      case QUOTE:
        book.applyQuote(tape, i);
        // Only orders at or better than the quoted price see a different book.
        if (book.resting > 0) {
          shrinkQueues(book, book.bid);
          shrinkQueues(book, book.ask);
        }
        return;
      case DEPTH:
        if (!book.hasSnapshot || (tape.id[i] as number) <= book.snapshotId) return;
        if (tape.side[i] === BROKEN) {
          book.dropL2();
          return;
        }
        book.applyLevels(tape, i);
        if (book.resting > 0) shrinkQueuesAtLevels(book, tape, i);
        return;
      case SNAPSHOT:
        if (tape.side[i] === BROKEN) {
          book.dropL2();
          return;
        }
        book.applySnapshot(tape, i);
        if (book.resting > 0) {
          shrinkQueues(book, book.bid, Number.NEGATIVE_INFINITY);
          shrinkQueues(book, book.ask, Number.NEGATIVE_INFINITY);
        }
        return;
      default:
        return;
    }
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
    takeLiquidity(book, opposite, state, limitKey, t, this.config, out);
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
    return book === undefined ? undefined : book.bestPrice(book[which]);
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
