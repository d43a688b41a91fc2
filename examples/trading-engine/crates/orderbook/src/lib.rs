//! Price-time priority limit order book with an integrated matching engine.
//!
//! Prices are fixed-point integers expressed in ticks ([`Price`]) and
//! quantities are whole lots ([`Qty`]). The book supports limit,
//! immediate-or-cancel (IOC) and market orders plus cancellation, and reports
//! every trade as a [`Fill`] appended to a caller-provided buffer.
//!
//! The hot path is designed to be allocation-free once warmed up: price
//! levels live in a sorted `Vec` (best price at the end so that consuming the
//! top of book is a `pop`), per-level FIFO queues are recycled through an
//! internal pool, the order index is preallocated, and fills are written into
//! a `Vec` owned by the caller that can be cleared and reused.
//!
//! Self-trade prevention is deliberately not done here; it is the
//! responsibility of the component that owns the orders (see the `engine`
//! crate).

use std::collections::{HashMap, VecDeque};
use std::error::Error;
use std::fmt;

/// Price in integer ticks (fixed-point).
pub type Price = i64;

/// Quantity in whole lots.
pub type Qty = u64;

/// Unique order identifier chosen by the submitter.
pub type OrderId = u64;

/// Initial capacity of each per-level FIFO queue.
const LEVEL_QUEUE_CAPACITY: usize = 16;

/// Side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy (bid) side.
    Buy,
    /// Sell (ask / offer) side.
    Sell,
}

impl Side {
    /// Returns the other side.
    #[must_use]
    pub const fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// Stable array index for per-side storage: `Buy` is 0, `Sell` is 1.
    #[must_use]
    pub const fn index(self) -> usize {
        match self {
            Self::Buy => 0,
            Self::Sell => 1,
        }
    }

    /// Sign of the position change caused by a fill on this side
    /// (`+1` for buys, `-1` for sells).
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Buy => "buy",
            Self::Sell => "sell",
        })
    }
}

/// Execution instructions of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Match what crosses `price`, rest the remainder on the book.
    Limit {
        /// Limit price in ticks.
        price: Price,
    },
    /// Match what crosses `price`, cancel the remainder.
    ImmediateOrCancel {
        /// Limit price in ticks.
        price: Price,
    },
    /// Match at any price, walking levels; cancel whatever cannot be filled.
    Market,
}

/// An order submitted to the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Identifier, unique among live orders.
    pub id: OrderId,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in lots; must be non-zero.
    pub qty: Qty,
    /// Limit, IOC or market.
    pub kind: OrderKind,
}

impl Order {
    /// Creates a limit order.
    #[must_use]
    pub const fn limit(id: OrderId, side: Side, price: Price, qty: Qty) -> Self {
        Self {
            id,
            side,
            qty,
            kind: OrderKind::Limit { price },
        }
    }

    /// Creates an immediate-or-cancel order.
    #[must_use]
    pub const fn ioc(id: OrderId, side: Side, price: Price, qty: Qty) -> Self {
        Self {
            id,
            side,
            qty,
            kind: OrderKind::ImmediateOrCancel { price },
        }
    }

    /// Creates a market order.
    #[must_use]
    pub const fn market(id: OrderId, side: Side, qty: Qty) -> Self {
        Self {
            id,
            side,
            qty,
            kind: OrderKind::Market,
        }
    }

    /// Limit price, or `None` for market orders.
    #[must_use]
    pub const fn limit_price(&self) -> Option<Price> {
        match self.kind {
            OrderKind::Limit { price } | OrderKind::ImmediateOrCancel { price } => Some(price),
            OrderKind::Market => None,
        }
    }
}

/// A trade between a resting (maker) order and an incoming (taker) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// Resting order that provided liquidity.
    pub maker_id: OrderId,
    /// Incoming order that removed liquidity.
    pub taker_id: OrderId,
    /// Execution price: always the maker's price.
    pub price: Price,
    /// Executed quantity.
    pub qty: Qty,
    /// Side of the taker order.
    pub taker_side: Side,
}

impl Fill {
    /// Side of the maker order.
    #[must_use]
    pub const fn maker_side(&self) -> Side {
        self.taker_side.opposite()
    }
}

/// Outcome of a successful [`OrderBook::submit`].
///
/// `filled + resting + cancelled` always equals the submitted quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Execution {
    /// Quantity executed immediately.
    pub filled: Qty,
    /// Quantity left resting on the book (limit orders only).
    pub resting: Qty,
    /// Quantity cancelled because it could not be filled (IOC and market).
    pub cancelled: Qty,
}

/// Errors returned by the order book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookError {
    /// The order quantity was zero.
    ZeroQuantity,
    /// The limit price was zero or negative.
    InvalidPrice(Price),
    /// An order with this id is already resting on the book.
    DuplicateOrderId(OrderId),
    /// No live order with this id.
    UnknownOrder(OrderId),
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroQuantity => f.write_str("order quantity must be greater than zero"),
            Self::InvalidPrice(p) => write!(f, "invalid limit price {p}: must be positive"),
            Self::DuplicateOrderId(id) => write!(f, "order id {id} is already live"),
            Self::UnknownOrder(id) => write!(f, "unknown order id {id}"),
        }
    }
}

impl Error for BookError {}

#[derive(Debug, Clone, Copy)]
struct Resting {
    id: OrderId,
    qty: Qty,
}

#[derive(Debug)]
struct Level {
    price: Price,
    total: Qty,
    orders: VecDeque<Resting>,
}

/// One side of the book. Levels are sorted so that the best price is last:
/// bids ascending, asks descending.
#[derive(Debug)]
struct Ladder {
    side: Side,
    levels: Vec<Level>,
}

impl Ladder {
    fn with_capacity(side: Side, levels: usize) -> Self {
        Self {
            side,
            levels: Vec::with_capacity(levels),
        }
    }

    fn search(&self, price: Price) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self.levels.binary_search_by(|l| l.price.cmp(&price)),
            Side::Sell => self.levels.binary_search_by(|l| price.cmp(&l.price)),
        }
    }

    fn best(&self) -> Option<&Level> {
        self.levels.last()
    }
}

/// A price-time priority limit order book.
#[derive(Debug)]
pub struct OrderBook {
    bids: Ladder,
    asks: Ladder,
    index: HashMap<OrderId, (Side, Price)>,
    pool: Vec<VecDeque<Resting>>,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBook {
    /// Creates a book with modest default capacities.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(64, 1024)
    }

    /// Creates a book preallocated for `levels_per_side` price levels per
    /// side and `orders` simultaneously resting orders.
    #[must_use]
    pub fn with_capacity(levels_per_side: usize, orders: usize) -> Self {
        let pool = (0..levels_per_side * 2)
            .map(|_| VecDeque::with_capacity(LEVEL_QUEUE_CAPACITY))
            .collect();
        Self {
            bids: Ladder::with_capacity(Side::Buy, levels_per_side),
            asks: Ladder::with_capacity(Side::Sell, levels_per_side),
            index: HashMap::with_capacity(orders),
            pool,
        }
    }

    /// Submits an order, matching it against the opposite side.
    ///
    /// Fills are appended to `fills` (the buffer is not cleared, so callers
    /// can reuse one `Vec` across calls). Trades execute at the maker's price
    /// in price-then-time priority. The unfilled remainder of a limit order
    /// rests on the book; for IOC and market orders it is cancelled.
    ///
    /// # Errors
    ///
    /// Rejects zero quantities, non-positive limit prices and ids that are
    /// already live. A rejected order has no effect on the book.
    pub fn submit(&mut self, order: Order, fills: &mut Vec<Fill>) -> Result<Execution, BookError> {
        if order.qty == 0 {
            return Err(BookError::ZeroQuantity);
        }
        if let Some(price) = order.limit_price() {
            if price <= 0 {
                return Err(BookError::InvalidPrice(price));
            }
        }
        if self.index.contains_key(&order.id) {
            return Err(BookError::DuplicateOrderId(order.id));
        }

        let remaining = self.match_order(&order, fills);
        let filled = order.qty - remaining;
        let execution = match order.kind {
            OrderKind::Limit { price } if remaining > 0 => {
                self.rest(order.id, order.side, price, remaining);
                Execution {
                    filled,
                    resting: remaining,
                    cancelled: 0,
                }
            }
            _ => Execution {
                filled,
                resting: 0,
                cancelled: remaining,
            },
        };
        Ok(execution)
    }

    /// Cancels a resting order and returns its remaining quantity.
    ///
    /// # Errors
    ///
    /// Returns [`BookError::UnknownOrder`] if no live order has this id
    /// (for example because it was already filled or cancelled).
    pub fn cancel(&mut self, id: OrderId) -> Result<Qty, BookError> {
        let (side, price) = self.index.remove(&id).ok_or(BookError::UnknownOrder(id))?;
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let i = ladder
            .search(price)
            .expect("indexed order must have a price level");
        let level = &mut ladder.levels[i];
        let pos = level
            .orders
            .iter()
            .position(|o| o.id == id)
            .expect("indexed order must be queued at its level");
        let removed = level
            .orders
            .remove(pos)
            .expect("position is within the queue");
        level.total -= removed.qty;
        if level.orders.is_empty() {
            let level = ladder.levels.remove(i);
            self.pool.push(level.orders);
        }
        Ok(removed.qty)
    }

    /// Best (highest) bid price.
    #[must_use]
    pub fn best_bid(&self) -> Option<Price> {
        self.bids.best().map(|l| l.price)
    }

    /// Best (lowest) ask price.
    #[must_use]
    pub fn best_ask(&self) -> Option<Price> {
        self.asks.best().map(|l| l.price)
    }

    /// Best ask minus best bid, when both sides are present.
    #[must_use]
    pub fn spread(&self) -> Option<Price> {
        Some(self.best_ask()? - self.best_bid()?)
    }

    /// Total resting quantity at `price` on `side` (zero if no such level).
    #[must_use]
    pub fn depth_at(&self, side: Side, price: Price) -> Qty {
        let ladder = self.ladder(side);
        ladder.search(price).map_or(0, |i| ladder.levels[i].total)
    }

    /// Price levels of `side` as `(price, total qty)`, best first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (Price, Qty)> + '_ {
        self.ladder(side)
            .levels
            .iter()
            .rev()
            .map(|l| (l.price, l.total))
    }

    /// Number of price levels on `side`.
    #[must_use]
    pub fn level_count(&self, side: Side) -> usize {
        self.ladder(side).levels.len()
    }

    /// Number of live resting orders on both sides.
    #[must_use]
    pub fn order_count(&self) -> usize {
        self.index.len()
    }

    /// `true` if no orders are resting.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// `true` if an order with this id is resting.
    #[must_use]
    pub fn contains(&self, id: OrderId) -> bool {
        self.index.contains_key(&id)
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Matches `order` against the contra side and returns the unfilled qty.
    fn match_order(&mut self, order: &Order, fills: &mut Vec<Fill>) -> Qty {
        let limit = order.limit_price();
        let contra = match order.side {
            Side::Buy => &mut self.asks,
            Side::Sell => &mut self.bids,
        };
        let mut remaining = order.qty;

        while remaining > 0 {
            let Some(level) = contra.levels.last_mut() else {
                break;
            };
            if let Some(limit) = limit {
                let crosses = match order.side {
                    Side::Buy => level.price <= limit,
                    Side::Sell => level.price >= limit,
                };
                if !crosses {
                    break;
                }
            }

            while remaining > 0 {
                let Some(maker) = level.orders.front_mut() else {
                    break;
                };
                let qty = remaining.min(maker.qty);
                fills.push(Fill {
                    maker_id: maker.id,
                    taker_id: order.id,
                    price: level.price,
                    qty,
                    taker_side: order.side,
                });
                maker.qty -= qty;
                level.total -= qty;
                remaining -= qty;
                if maker.qty == 0 {
                    let id = maker.id;
                    level.orders.pop_front();
                    self.index.remove(&id);
                }
            }

            if level.orders.is_empty() {
                if let Some(level) = contra.levels.pop() {
                    self.pool.push(level.orders);
                }
            }
        }
        remaining
    }

    fn rest(&mut self, id: OrderId, side: Side, price: Price, qty: Qty) {
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        match ladder.search(price) {
            Ok(i) => {
                let level = &mut ladder.levels[i];
                level.orders.push_back(Resting { id, qty });
                level.total += qty;
            }
            Err(i) => {
                let mut orders = self
                    .pool
                    .pop()
                    .unwrap_or_else(|| VecDeque::with_capacity(LEVEL_QUEUE_CAPACITY));
                orders.push_back(Resting { id, qty });
                ladder.levels.insert(
                    i,
                    Level {
                        price,
                        total: qty,
                        orders,
                    },
                );
            }
        }
        self.index.insert(id, (side, price));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book_with(orders: &[Order]) -> OrderBook {
        let mut book = OrderBook::new();
        let mut fills = Vec::new();
        for order in orders {
            book.submit(*order, &mut fills).expect("valid order");
        }
        assert!(fills.is_empty(), "setup orders must not trade");
        book
    }

    #[test]
    fn empty_book_has_no_top_of_book() {
        let book = OrderBook::new();
        assert_eq!(book.best_bid(), None);
        assert_eq!(book.best_ask(), None);
        assert_eq!(book.spread(), None);
        assert!(book.is_empty());
    }

    #[test]
    fn non_crossing_limits_rest_and_set_top_of_book() {
        let book = book_with(&[
            Order::limit(1, Side::Buy, 99, 5),
            Order::limit(2, Side::Buy, 100, 3),
            Order::limit(3, Side::Sell, 102, 4),
            Order::limit(4, Side::Sell, 101, 2),
        ]);
        assert_eq!(book.best_bid(), Some(100));
        assert_eq!(book.best_ask(), Some(101));
        assert_eq!(book.spread(), Some(1));
        assert_eq!(book.order_count(), 4);
        assert_eq!(
            book.levels(Side::Sell).collect::<Vec<_>>(),
            vec![(101, 2), (102, 4)]
        );
        assert_eq!(
            book.levels(Side::Buy).collect::<Vec<_>>(),
            vec![(100, 3), (99, 5)]
        );
    }

    #[test]
    fn crossing_limit_fills_at_maker_price() {
        let mut book = book_with(&[Order::limit(1, Side::Sell, 100, 5)]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::limit(2, Side::Buy, 105, 5), &mut fills)
            .unwrap();
        assert_eq!(
            exec,
            Execution {
                filled: 5,
                resting: 0,
                cancelled: 0
            }
        );
        assert_eq!(
            fills,
            vec![Fill {
                maker_id: 1,
                taker_id: 2,
                price: 100,
                qty: 5,
                taker_side: Side::Buy
            }]
        );
        assert!(book.is_empty());
        assert_eq!(fills[0].maker_side(), Side::Sell);
    }

    #[test]
    fn partial_fill_rests_taker_remainder() {
        let mut book = book_with(&[Order::limit(1, Side::Sell, 100, 3)]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::limit(2, Side::Buy, 100, 10), &mut fills)
            .unwrap();
        assert_eq!(exec.filled, 3);
        assert_eq!(exec.resting, 7);
        assert_eq!(book.best_bid(), Some(100));
        assert_eq!(book.best_ask(), None);
        assert_eq!(book.depth_at(Side::Buy, 100), 7);
        assert!(book.contains(2));
    }

    #[test]
    fn partial_fill_leaves_maker_remainder_at_front() {
        let mut book = book_with(&[
            Order::limit(1, Side::Buy, 100, 10),
            Order::limit(2, Side::Buy, 100, 4),
        ]);
        let mut fills = Vec::new();
        book.submit(Order::limit(3, Side::Sell, 100, 6), &mut fills)
            .unwrap();
        assert_eq!(fills.len(), 1);
        assert_eq!((fills[0].maker_id, fills[0].qty), (1, 6));
        assert_eq!(book.depth_at(Side::Buy, 100), 8);

        // Order 1 keeps its queue position for the next taker.
        fills.clear();
        book.submit(Order::limit(4, Side::Sell, 100, 5), &mut fills)
            .unwrap();
        let got: Vec<_> = fills.iter().map(|f| (f.maker_id, f.qty)).collect();
        assert_eq!(got, vec![(1, 4), (2, 1)]);
    }

    #[test]
    fn time_priority_within_a_level() {
        let mut book = book_with(&[
            Order::limit(10, Side::Sell, 100, 2),
            Order::limit(11, Side::Sell, 100, 2),
            Order::limit(12, Side::Sell, 100, 2),
        ]);
        let mut fills = Vec::new();
        book.submit(Order::limit(20, Side::Buy, 100, 5), &mut fills)
            .unwrap();
        let got: Vec<_> = fills.iter().map(|f| (f.maker_id, f.qty)).collect();
        assert_eq!(got, vec![(10, 2), (11, 2), (12, 1)]);
        assert_eq!(book.depth_at(Side::Sell, 100), 1);
    }

    #[test]
    fn price_priority_beats_time_priority() {
        let mut book = book_with(&[
            Order::limit(1, Side::Buy, 99, 5),
            Order::limit(2, Side::Buy, 101, 5),
            Order::limit(3, Side::Buy, 100, 5),
        ]);
        let mut fills = Vec::new();
        book.submit(Order::limit(4, Side::Sell, 99, 12), &mut fills)
            .unwrap();
        let got: Vec<_> = fills.iter().map(|f| (f.maker_id, f.price)).collect();
        assert_eq!(got, vec![(2, 101), (3, 100), (1, 99)]);
        assert_eq!(book.depth_at(Side::Buy, 99), 3);
    }

    #[test]
    fn limit_does_not_trade_through_its_price() {
        let mut book = book_with(&[
            Order::limit(1, Side::Sell, 100, 1),
            Order::limit(2, Side::Sell, 103, 1),
        ]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::limit(3, Side::Buy, 101, 5), &mut fills)
            .unwrap();
        assert_eq!(exec.filled, 1);
        assert_eq!(exec.resting, 4);
        assert_eq!(book.best_bid(), Some(101));
        assert_eq!(book.best_ask(), Some(103));
    }

    #[test]
    fn cancel_removes_order_and_empty_level() {
        let mut book = book_with(&[
            Order::limit(1, Side::Buy, 100, 5),
            Order::limit(2, Side::Buy, 99, 5),
        ]);
        assert_eq!(book.cancel(1), Ok(5));
        assert_eq!(book.best_bid(), Some(99));
        assert_eq!(book.level_count(Side::Buy), 1);
        assert_eq!(book.cancel(1), Err(BookError::UnknownOrder(1)));
        assert_eq!(book.cancel(42), Err(BookError::UnknownOrder(42)));
    }

    #[test]
    fn cancel_in_middle_of_queue_preserves_priority() {
        let mut book = book_with(&[
            Order::limit(1, Side::Sell, 100, 1),
            Order::limit(2, Side::Sell, 100, 1),
            Order::limit(3, Side::Sell, 100, 1),
        ]);
        assert_eq!(book.cancel(2), Ok(1));
        assert_eq!(book.depth_at(Side::Sell, 100), 2);
        let mut fills = Vec::new();
        book.submit(Order::market(9, Side::Buy, 2), &mut fills)
            .unwrap();
        let makers: Vec<_> = fills.iter().map(|f| f.maker_id).collect();
        assert_eq!(makers, vec![1, 3]);
    }

    #[test]
    fn filled_order_cannot_be_cancelled() {
        let mut book = book_with(&[Order::limit(1, Side::Sell, 100, 1)]);
        let mut fills = Vec::new();
        book.submit(Order::market(2, Side::Buy, 1), &mut fills)
            .unwrap();
        assert_eq!(book.cancel(1), Err(BookError::UnknownOrder(1)));
    }

    #[test]
    fn market_order_walks_levels() {
        let mut book = book_with(&[
            Order::limit(1, Side::Sell, 100, 2),
            Order::limit(2, Side::Sell, 101, 3),
            Order::limit(3, Side::Sell, 105, 10),
        ]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::market(4, Side::Buy, 8), &mut fills)
            .unwrap();
        assert_eq!(exec.filled, 8);
        let got: Vec<_> = fills.iter().map(|f| (f.price, f.qty)).collect();
        assert_eq!(got, vec![(100, 2), (101, 3), (105, 3)]);
        assert_eq!(book.best_ask(), Some(105));
        assert_eq!(book.depth_at(Side::Sell, 105), 7);
    }

    #[test]
    fn market_order_remainder_is_cancelled_not_rested() {
        let mut book = book_with(&[Order::limit(1, Side::Buy, 100, 4)]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::market(2, Side::Sell, 10), &mut fills)
            .unwrap();
        assert_eq!(
            exec,
            Execution {
                filled: 4,
                resting: 0,
                cancelled: 6
            }
        );
        assert!(book.is_empty());
        assert!(!book.contains(2));
    }

    #[test]
    fn ioc_remainder_is_cancelled() {
        let mut book = book_with(&[
            Order::limit(1, Side::Sell, 100, 3),
            Order::limit(2, Side::Sell, 102, 3),
        ]);
        let mut fills = Vec::new();
        let exec = book
            .submit(Order::ioc(3, Side::Buy, 101, 5), &mut fills)
            .unwrap();
        assert_eq!(exec.filled, 3);
        assert_eq!(exec.cancelled, 2);
        assert_eq!(exec.resting, 0);
        assert_eq!(book.best_bid(), None);
        assert_eq!(book.best_ask(), Some(102));

        // A non-crossing IOC does nothing at all.
        fills.clear();
        let exec = book
            .submit(Order::ioc(4, Side::Buy, 101, 5), &mut fills)
            .unwrap();
        assert_eq!(exec.cancelled, 5);
        assert!(fills.is_empty());
        assert_eq!(book.order_count(), 1);
    }

    #[test]
    fn invalid_orders_are_rejected_without_side_effects() {
        let mut book = book_with(&[Order::limit(1, Side::Buy, 100, 1)]);
        let mut fills = Vec::new();
        assert_eq!(
            book.submit(Order::limit(2, Side::Buy, 100, 0), &mut fills),
            Err(BookError::ZeroQuantity)
        );
        assert_eq!(
            book.submit(Order::limit(3, Side::Sell, 0, 1), &mut fills),
            Err(BookError::InvalidPrice(0))
        );
        assert_eq!(
            book.submit(Order::limit(1, Side::Sell, 100, 1), &mut fills),
            Err(BookError::DuplicateOrderId(1))
        );
        assert!(fills.is_empty());
        assert_eq!(book.order_count(), 1);
        assert_eq!(book.depth_at(Side::Buy, 100), 1);
    }

    #[test]
    fn warm_book_reuses_buffers() {
        let mut book = OrderBook::with_capacity(8, 64);
        let mut fills = Vec::with_capacity(16);
        let capacity = fills.capacity();
        for round in 0..100u64 {
            fills.clear();
            let id = round * 2;
            book.submit(
                Order::limit(id, Side::Sell, 100 + (round % 4) as i64, 3),
                &mut fills,
            )
            .unwrap();
            book.submit(Order::ioc(id + 1, Side::Buy, 200, 3), &mut fills)
                .unwrap();
            assert_eq!(fills.len(), 1);
        }
        assert_eq!(fills.capacity(), capacity);
        assert!(book.is_empty());
    }
}
