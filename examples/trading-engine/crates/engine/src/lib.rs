//! The ShrivenQuant trading engine.
//!
//! [`Engine`] wires the three building blocks together for every market
//! update:
//!
//! 1. the update is applied to a simulated venue (an [`OrderBook`] holding
//!    the external market's top of book alongside our own orders; trade
//!    prints are replayed as external IOC orders, which is how our resting
//!    quotes get filled),
//! 2. the [`MarketMaker`] strategy turns the update into [`OrderIntent`]s,
//! 3. every new order passes the [`RiskEngine`] pre-trade check before it is
//!    submitted to the book; fills of our orders flow back into risk and
//!    strategy.
//!
//! The [`sim`] module generates a deterministic synthetic market, [`demo`]
//! runs a complete session on it, and [`cli`] parses the command line of the
//! `shriven-quant` binary. [`paper`] speaks the paper-trading protocol on
//! stdin/stdout, using the exact [`decimal`] numbers and the small [`json`]
//! reader and writer.

pub mod cli;
pub mod decimal;
pub mod demo;
pub mod json;
pub mod paper;
pub mod sim;

use std::error::Error;
use std::fmt;

pub use orderbook;
pub use risk;
pub use strategy;

use orderbook::{BookError, Fill, Order, OrderBook, OrderId, Price, Qty, Side};
use risk::{RiskEngine, RiskLimits, RiskReject};
use strategy::{ConfigError, MarketEvent, MarketMaker, MarketMakerConfig, OrderIntent};

/// Version of the engine (the workspace version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Order ids at or above this value belong to the simulated external market;
/// ids below it are our own.
pub const EXTERNAL_ID_BASE: OrderId = 1 << 62;

/// Configuration of an [`Engine`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Pre-trade risk limits.
    pub limits: RiskLimits,
    /// Strategy parameters.
    pub strategy: MarketMakerConfig,
    /// Price levels per side to preallocate in the book.
    pub book_levels: usize,
    /// Resting orders to preallocate in the book.
    pub book_orders: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            limits: RiskLimits::default(),
            strategy: MarketMakerConfig::default(),
            book_levels: 64,
            book_orders: 256,
        }
    }
}

/// Error constructing an [`Engine`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EngineError {
    /// The strategy configuration is invalid.
    Strategy(ConfigError),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Strategy(e) => write!(f, "invalid strategy configuration: {e}"),
        }
    }
}

impl Error for EngineError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Strategy(e) => Some(e),
        }
    }
}

impl From<ConfigError> for EngineError {
    fn from(e: ConfigError) -> Self {
        Self::Strategy(e)
    }
}

/// Whether our order added or removed liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liquidity {
    /// Our resting order was hit.
    Maker,
    /// Our incoming order crossed the spread.
    Taker,
}

/// One of our orders, as submitted or as currently working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnOrder {
    /// Order id.
    pub id: OrderId,
    /// Side.
    pub side: Side,
    /// Limit price in ticks.
    pub price: Price,
    /// Quantity (submitted, or remaining for working orders).
    pub qty: Qty,
}

/// An execution of one of our orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnFill {
    /// Our order id.
    pub order_id: OrderId,
    /// Our side.
    pub side: Side,
    /// Execution price.
    pub price: Price,
    /// Executed quantity.
    pub qty: Qty,
    /// Maker or taker.
    pub liquidity: Liquidity,
}

/// Why an intended order was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// Refused by the pre-trade risk check.
    Risk(RiskReject),
    /// Refused by the order book.
    Book(BookError),
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Risk(r) => write!(f, "risk: {r}"),
            Self::Book(b) => write!(f, "book: {b}"),
        }
    }
}

/// An intended order that was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// Side of the intended order.
    pub side: Side,
    /// Intended price.
    pub price: Price,
    /// Intended quantity.
    pub qty: Qty,
    /// Why it was refused.
    pub reason: RejectReason,
}

/// What happened to our orders while processing one market event.
///
/// The buffers are reused between events, so processing is allocation-free
/// after warm-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Orders sent to the book.
    pub submitted: Vec<OwnOrder>,
    /// Ids of our orders that were cancelled.
    pub cancelled: Vec<OrderId>,
    /// Executions of our orders.
    pub fills: Vec<OwnFill>,
    /// Intended orders that were refused.
    pub rejects: Vec<Rejection>,
}

impl StepReport {
    fn clear(&mut self) {
        self.submitted.clear();
        self.cancelled.clear();
        self.fills.clear();
        self.rejects.clear();
    }
}

/// Reject counters per risk reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectCounts {
    /// Kill switch engaged.
    pub kill_switch: u64,
    /// Zero quantity.
    pub zero_qty: u64,
    /// Order quantity above limit.
    pub max_order_qty: u64,
    /// Position limit.
    pub max_position: u64,
    /// Daily loss limit.
    pub max_daily_loss: u64,
    /// Refused by the order book.
    pub book: u64,
}

impl RejectCounts {
    /// Sum of all counters.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.kill_switch
            + self.zero_qty
            + self.max_order_qty
            + self.max_position
            + self.max_daily_loss
            + self.book
    }

    fn record(&mut self, reason: &RejectReason) {
        let counter = match reason {
            RejectReason::Risk(RiskReject::KillSwitchEngaged) => &mut self.kill_switch,
            RejectReason::Risk(RiskReject::ZeroQuantity) => &mut self.zero_qty,
            RejectReason::Risk(RiskReject::OrderQtyExceeded { .. }) => &mut self.max_order_qty,
            RejectReason::Risk(RiskReject::PositionLimitExceeded { .. }) => &mut self.max_position,
            RejectReason::Risk(RiskReject::DailyLossExceeded { .. }) => &mut self.max_daily_loss,
            RejectReason::Book(_) => &mut self.book,
        };
        *counter += 1;
    }
}

/// Cumulative counters of an [`Engine`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Market events processed.
    pub events: u64,
    /// Market events ignored as invalid (crossed quote, zero qty, ...).
    pub invalid_events: u64,
    /// Our orders sent to the book.
    pub orders_submitted: u64,
    /// Our orders cancelled.
    pub orders_cancelled: u64,
    /// Executions of our orders.
    pub fills: u64,
    /// Executions where we provided liquidity.
    pub maker_fills: u64,
    /// Lots traded by us.
    pub volume: u64,
    /// Refused intents by reason.
    pub rejects: RejectCounts,
}

/// Strategy -> risk -> order book pipeline on a simulated venue.
#[derive(Debug)]
pub struct Engine {
    book: OrderBook,
    risk: RiskEngine,
    strategy: MarketMaker,
    working: [Option<OwnOrder>; 2],
    external: [Option<OrderId>; 2],
    next_own_id: OrderId,
    next_external_id: OrderId,
    fills: Vec<Fill>,
    intents: Vec<OrderIntent>,
    report: StepReport,
    stats: EngineStats,
}

impl Engine {
    /// Creates an engine.
    ///
    /// # Errors
    ///
    /// Returns [`EngineError::Strategy`] for an invalid strategy configuration.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let strategy = MarketMaker::new(config.strategy)?;
        Ok(Self {
            book: OrderBook::with_capacity(config.book_levels, config.book_orders),
            risk: RiskEngine::new(config.limits),
            strategy,
            working: [None; 2],
            external: [None; 2],
            next_own_id: 1,
            next_external_id: EXTERNAL_ID_BASE,
            fills: Vec::with_capacity(64),
            intents: Vec::with_capacity(4),
            report: StepReport {
                submitted: Vec::with_capacity(4),
                cancelled: Vec::with_capacity(4),
                fills: Vec::with_capacity(64),
                rejects: Vec::with_capacity(4),
            },
            stats: EngineStats::default(),
        })
    }

    /// Processes one market update and returns what happened to our orders.
    pub fn on_event(&mut self, event: &MarketEvent) -> &StepReport {
        self.report.clear();
        self.stats.events += 1;
        if !event.is_valid() {
            self.stats.invalid_events += 1;
            return &self.report;
        }

        match *event {
            MarketEvent::Quote {
                bid,
                bid_qty,
                ask,
                ask_qty,
            } => {
                self.risk.on_mark(bid + (ask - bid) / 2);
                self.refresh_external_quote(bid, bid_qty, ask, ask_qty);
            }
            MarketEvent::Trade {
                price,
                qty,
                aggressor,
            } => {
                let id = self.next_external_id();
                self.submit_external(Order::ioc(id, aggressor, price, qty));
            }
        }

        let mut intents = std::mem::take(&mut self.intents);
        intents.clear();
        self.strategy.on_event(event, &mut intents);
        self.apply_intents(&intents);
        self.intents = intents;
        &self.report
    }

    /// Engages the risk kill switch and cancels all our working orders.
    /// Returns the number of orders cancelled.
    pub fn engage_kill_switch(&mut self) -> usize {
        self.risk.engage_kill_switch();
        let before = self.stats.orders_cancelled;
        self.cancel_own(Side::Buy);
        self.cancel_own(Side::Sell);
        usize::try_from(self.stats.orders_cancelled - before).unwrap_or(usize::MAX)
    }

    /// Releases the risk kill switch; quoting resumes on the next event.
    pub fn release_kill_switch(&mut self) {
        self.risk.release_kill_switch();
    }

    /// Report of the most recent event.
    #[must_use]
    pub const fn last_report(&self) -> &StepReport {
        &self.report
    }

    /// Cumulative counters.
    #[must_use]
    pub const fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// The risk engine (position, P&L, limits).
    #[must_use]
    pub const fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// The strategy.
    #[must_use]
    pub const fn strategy(&self) -> &MarketMaker {
        &self.strategy
    }

    /// The simulated venue's order book.
    #[must_use]
    pub const fn book(&self) -> &OrderBook {
        &self.book
    }

    /// Our working order on `side`, if any.
    #[must_use]
    pub const fn working_order(&self, side: Side) -> Option<OwnOrder> {
        self.working[side.index()]
    }

    /// Our signed position in lots.
    #[must_use]
    pub const fn position(&self) -> i64 {
        self.risk.position()
    }

    fn next_external_id(&mut self) -> OrderId {
        let id = self.next_external_id;
        self.next_external_id += 1;
        id
    }

    fn refresh_external_quote(&mut self, bid: Price, bid_qty: Qty, ask: Price, ask_qty: Qty) {
        for slot in &mut self.external {
            if let Some(id) = slot.take() {
                // The previous quote may already be fully traded away.
                let _ = self.book.cancel(id);
            }
        }
        for (side, price, qty) in [(Side::Buy, bid, bid_qty), (Side::Sell, ask, ask_qty)] {
            if qty == 0 {
                continue;
            }
            let id = self.next_external_id();
            if let Some(exec) = self.submit_external(Order::limit(id, side, price, qty)) {
                if exec.resting > 0 {
                    self.external[side.index()] = Some(id);
                }
            }
        }
    }

    fn submit_external(&mut self, order: Order) -> Option<orderbook::Execution> {
        self.fills.clear();
        let result = self.book.submit(order, &mut self.fills).ok();
        self.process_fills();
        result
    }

    /// Two phases so that a new quote never trades against our own stale
    /// quote on the other side: first pull every order that must change,
    /// then send the new ones.
    fn apply_intents(&mut self, intents: &[OrderIntent]) {
        for intent in intents {
            match *intent {
                OrderIntent::Cancel { side } => self.cancel_own(side),
                OrderIntent::Quote { side, price, qty } => {
                    if let Some(working) = self.working[side.index()] {
                        let unchanged = working.price == price && working.qty <= qty;
                        if !unchanged || self.risk.check_order(side, working.qty).is_err() {
                            self.cancel_own(side);
                        }
                    }
                }
            }
        }
        for intent in intents {
            if let OrderIntent::Quote { side, price, qty } = *intent {
                if self.working[side.index()].is_none() {
                    self.submit_own(side, price, qty);
                }
            }
        }
    }

    fn submit_own(&mut self, side: Side, price: Price, qty: Qty) {
        if let Err(reject) = self.risk.check_order(side, qty) {
            self.reject(side, price, qty, RejectReason::Risk(reject));
            return;
        }
        // Self-trade prevention: pull our opposite order if we would cross it.
        if let Some(opposite) = self.working[side.opposite().index()] {
            let crosses = match side {
                Side::Buy => price >= opposite.price,
                Side::Sell => price <= opposite.price,
            };
            if crosses {
                self.cancel_own(side.opposite());
            }
        }

        let id = self.next_own_id;
        self.fills.clear();
        match self
            .book
            .submit(Order::limit(id, side, price, qty), &mut self.fills)
        {
            Ok(exec) => {
                self.next_own_id += 1;
                self.stats.orders_submitted += 1;
                let order = OwnOrder {
                    id,
                    side,
                    price,
                    qty,
                };
                self.report.submitted.push(order);
                if exec.resting > 0 {
                    self.working[side.index()] = Some(OwnOrder {
                        qty: exec.resting,
                        ..order
                    });
                }
                self.process_fills();
            }
            Err(e) => self.reject(side, price, qty, RejectReason::Book(e)),
        }
    }

    fn reject(&mut self, side: Side, price: Price, qty: Qty, reason: RejectReason) {
        self.stats.rejects.record(&reason);
        self.report.rejects.push(Rejection {
            side,
            price,
            qty,
            reason,
        });
    }

    fn cancel_own(&mut self, side: Side) {
        if let Some(order) = self.working[side.index()].take() {
            if self.book.cancel(order.id).is_ok() {
                self.stats.orders_cancelled += 1;
                self.report.cancelled.push(order.id);
            }
        }
    }

    fn process_fills(&mut self) {
        let fills = std::mem::take(&mut self.fills);
        for fill in &fills {
            if fill.maker_id < EXTERNAL_ID_BASE {
                let side = fill.maker_side();
                if let Some(working) = &mut self.working[side.index()] {
                    if working.id == fill.maker_id {
                        working.qty -= fill.qty;
                        if working.qty == 0 {
                            self.working[side.index()] = None;
                        }
                    }
                }
                self.record_own_fill(fill.maker_id, side, fill, Liquidity::Maker);
            }
            if fill.taker_id < EXTERNAL_ID_BASE {
                self.record_own_fill(fill.taker_id, fill.taker_side, fill, Liquidity::Taker);
            }
        }
        self.fills = fills;
    }

    fn record_own_fill(
        &mut self,
        order_id: OrderId,
        side: Side,
        fill: &Fill,
        liquidity: Liquidity,
    ) {
        self.risk.on_fill(side, fill.price, fill.qty);
        self.strategy.on_fill(side, fill.qty);
        self.stats.fills += 1;
        self.stats.volume += fill.qty;
        if liquidity == Liquidity::Maker {
            self.stats.maker_fills += 1;
        }
        self.report.fills.push(OwnFill {
            order_id,
            side,
            price: fill.price,
            qty: fill.qty,
            liquidity,
        });
    }
}
