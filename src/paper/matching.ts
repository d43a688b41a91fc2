/**
 * Matching in the simulated exchange: what our orders take from the book,
 * what recorded trades fill of our resting orders (a risk-averse queue model),
 * and the fee of every fill. Liquidity is never invented.
 *
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
 */
import { type MarketTape, Side } from "../market/types.js";
import type { Book } from "./book.js";
import type { BookSide } from "./book-side.js";
import { type ExchangeReport, type OrderState, roundQty } from "./orders.js";

/** The exchange's fees. */
export interface ExchangeConfig {
  /** Fee on fills of resting orders, in basis points of the notional; negative = rebate. */
  readonly makerFeeBps: number;
  /** Fee on fills that take liquidity, in basis points of the notional. */
  readonly takerFeeBps: number;
}

/** Records a fill of `qty` at `price` with its fee; returns whether the order is now closed. */
export function fillOrder(
  order: OrderState,
  price: number,
  qty: number,
  liquidity: "maker" | "taker",
  t: number,
  fees: ExchangeConfig,
  out: ExchangeReport[],
): boolean {
  order.leaves = roundQty(order.leaves - qty);
  if (order.leaves <= 0) {
    order.leaves = 0;
    order.open = false;
  }
  const bps = liquidity === "maker" ? fees.makerFeeBps : fees.takerFeeBps;
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

/** Takes liquidity from `side` for `order`, best level first, while the level key is ≥ `limitKey`. */
export function takeLiquidity(
  book: Book,
  side: BookSide,
  order: OrderState,
  limitKey: number,
  t: number,
  fees: ExchangeConfig,
  out: ExchangeReport[],
): void {
  const sign = side.sign;
  if (book.hasQuote && side.quoteQty > 0 && side.quoteKey >= limitKey) {
    const qty = roundQty(Math.min(order.leaves, side.quoteQty));
    side.quoteQty = roundQty(side.quoteQty - qty);
    if (qty > 0 && fillOrder(order, sign * side.quoteKey, qty, "taker", t, fees, out)) return;
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
      if (qty > 0 && fillOrder(order, sign * key, qty, "taker", t, fees, out)) return;
    }
  }
}

/**
 * Fills resting orders from trade `i` at time `t`: orders at the trade price
 * after their queue, orders beyond it up to the trade quantity.
 */
export function fillRestingFromTrade(
  book: Book,
  tape: MarketTape,
  i: number,
  t: number,
  fees: ExchangeConfig,
  out: ExchangeReport[],
): void {
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
    closed = fillOrder(order, order.price, fill, "maker", t, fees, out) || closed;
  }
  if (closed) dropClosed(book, side);
}

/**
 * The queue ahead can never be longer than what the book now shows at the
 * order's price: shortens it for the resting orders on `side` with key ≥
 * `fromKey` (by default, those at or better than the quote).
 */
export function shrinkQueues(book: Book, side: BookSide, fromKey = side.quoteKey): void {
  for (const order of side.resting) {
    if (order.key < fromKey) return;
    if (order.queue > 0) order.queue = Math.min(order.queue, book.displayedAt(side, order.key));
  }
}

/** As {@link shrinkQueues}, for the resting orders at the prices depth event `i` changed. */
export function shrinkQueuesAtLevels(book: Book, tape: MarketTape, i: number): void {
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

/** Takes the closed orders off `side`. */
function dropClosed(book: Book, side: BookSide): void {
  const resting = side.resting;
  let kept = 0;
  for (const order of resting) if (order.open) resting[kept++] = order;
  book.resting -= resting.length - kept;
  resting.length = kept;
}
