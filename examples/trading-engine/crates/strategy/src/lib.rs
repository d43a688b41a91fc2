//! Trading strategies for the ShrivenQuant engine.
//!
//! The only strategy is [`MarketMaker`], an inventory-skewed, mean-reverting
//! market maker. It keeps an exponentially weighted moving average (EWMA) of
//! the mid price (and, with a separate weight, of trade prices) as its fair
//! value, shifts that fair value against its inventory, and quotes one bid
//! and one ask a fixed number of ticks around it.
//!
//! Because the EWMA lags the market, a fast move away from fair value makes
//! one of the quotes cross the spread: the strategy then takes liquidity,
//! betting that the price reverts towards its average.

use std::error::Error;
use std::fmt;

use orderbook::{Price, Qty, Side};

/// A market data update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketEvent {
    /// New best bid and offer.
    Quote {
        /// Best bid price in ticks.
        bid: Price,
        /// Quantity at the best bid.
        bid_qty: Qty,
        /// Best ask price in ticks.
        ask: Price,
        /// Quantity at the best ask.
        ask_qty: Qty,
    },
    /// A trade printed on the market.
    Trade {
        /// Trade price in ticks.
        price: Price,
        /// Trade quantity.
        qty: Qty,
        /// Side of the aggressive (taker) order.
        aggressor: Side,
    },
}

impl MarketEvent {
    /// Creates a [`MarketEvent::Quote`].
    #[must_use]
    pub const fn quote(bid: Price, bid_qty: Qty, ask: Price, ask_qty: Qty) -> Self {
        Self::Quote {
            bid,
            bid_qty,
            ask,
            ask_qty,
        }
    }

    /// Creates a [`MarketEvent::Trade`].
    #[must_use]
    pub const fn trade(price: Price, qty: Qty, aggressor: Side) -> Self {
        Self::Trade {
            price,
            qty,
            aggressor,
        }
    }

    /// `true` if prices and quantities are usable: positive prices, a
    /// non-crossed quote, a non-zero trade quantity.
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        match *self {
            Self::Quote { bid, ask, .. } => bid > 0 && ask > bid,
            Self::Trade { price, qty, .. } => price > 0 && qty > 0,
        }
    }
}

/// What the strategy wants on one side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderIntent {
    /// Keep exactly one limit order working on `side` at `price` for `qty`.
    Quote {
        /// Side of the quote.
        side: Side,
        /// Limit price in ticks.
        price: Price,
        /// Quantity in lots.
        qty: Qty,
    },
    /// Have no order working on `side`.
    Cancel {
        /// Side to pull.
        side: Side,
    },
}

impl OrderIntent {
    /// Side the intent applies to.
    #[must_use]
    pub const fn side(&self) -> Side {
        match *self {
            Self::Quote { side, .. } | Self::Cancel { side } => side,
        }
    }
}

/// Parameters of the [`MarketMaker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketMakerConfig {
    /// EWMA weight of each new mid price, in `(0, 1]`.
    pub mid_alpha: f64,
    /// EWMA weight of each trade price, in `[0, 1]` (0 ignores trades).
    pub trade_alpha: f64,
    /// Distance in ticks from fair value to each quote (at least 1).
    pub half_spread_ticks: i64,
    /// Size of each quote in lots (non-zero).
    pub quote_qty: Qty,
    /// Fair value shift in ticks per lot of inventory (non-negative).
    pub skew_ticks_per_lot: f64,
    /// Inventory (absolute lots) beyond which the side that would add to it
    /// is pulled.
    pub max_inventory: Qty,
    /// Number of quote updates required before quoting.
    pub warmup_quotes: u32,
}

impl Default for MarketMakerConfig {
    fn default() -> Self {
        Self {
            mid_alpha: 0.05,
            trade_alpha: 0.02,
            half_spread_ticks: 2,
            quote_qty: 5,
            skew_ticks_per_lot: 0.1,
            max_inventory: 50,
            warmup_quotes: 20,
        }
    }
}

impl MarketMakerConfig {
    /// Validates the parameters.
    ///
    /// # Errors
    ///
    /// Returns the first invalid parameter as a [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.mid_alpha > 0.0 && self.mid_alpha <= 1.0) {
            return Err(ConfigError::MidAlpha(self.mid_alpha));
        }
        if !(0.0..=1.0).contains(&self.trade_alpha) {
            return Err(ConfigError::TradeAlpha(self.trade_alpha));
        }
        if self.half_spread_ticks < 1 {
            return Err(ConfigError::HalfSpread(self.half_spread_ticks));
        }
        if self.quote_qty == 0 {
            return Err(ConfigError::ZeroQuoteQty);
        }
        if !(self.skew_ticks_per_lot >= 0.0 && self.skew_ticks_per_lot.is_finite()) {
            return Err(ConfigError::Skew(self.skew_ticks_per_lot));
        }
        Ok(())
    }
}

/// An invalid [`MarketMakerConfig`] parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigError {
    /// `mid_alpha` outside `(0, 1]`.
    MidAlpha(f64),
    /// `trade_alpha` outside `[0, 1]`.
    TradeAlpha(f64),
    /// `half_spread_ticks` below 1.
    HalfSpread(i64),
    /// `quote_qty` is zero.
    ZeroQuoteQty,
    /// `skew_ticks_per_lot` negative or not finite.
    Skew(f64),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MidAlpha(a) => write!(f, "mid_alpha must be in (0, 1], got {a}"),
            Self::TradeAlpha(a) => write!(f, "trade_alpha must be in [0, 1], got {a}"),
            Self::HalfSpread(h) => write!(f, "half_spread_ticks must be >= 1, got {h}"),
            Self::ZeroQuoteQty => f.write_str("quote_qty must be greater than zero"),
            Self::Skew(s) => write!(f, "skew_ticks_per_lot must be finite and >= 0, got {s}"),
        }
    }
}

impl Error for ConfigError {}

/// Inventory-skewed EWMA market maker.
#[derive(Debug, Clone)]
pub struct MarketMaker {
    config: MarketMakerConfig,
    ewma: Option<f64>,
    quotes_seen: u32,
    inventory: i64,
}

impl MarketMaker {
    /// Creates a market maker.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] if the configuration is invalid.
    pub fn new(config: MarketMakerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            ewma: None,
            quotes_seen: 0,
            inventory: 0,
        })
    }

    /// The configuration in use.
    #[must_use]
    pub const fn config(&self) -> &MarketMakerConfig {
        &self.config
    }

    /// Processes a market update and appends the desired orders to `intents`.
    ///
    /// Once warmed up, every valid update yields exactly one intent per side
    /// (bid first). Invalid updates are ignored and yield nothing. `intents`
    /// is not cleared, so the caller can reuse one buffer.
    pub fn on_event(&mut self, event: &MarketEvent, intents: &mut Vec<OrderIntent>) {
        if !event.is_valid() {
            return;
        }
        match *event {
            MarketEvent::Quote { bid, ask, .. } => {
                // Exact midpoint in f64; ticks are far below 2^53.
                let mid = (bid as f64 + ask as f64) / 2.0;
                self.update_ewma(mid, self.config.mid_alpha);
                self.quotes_seen = self.quotes_seen.saturating_add(1);
            }
            MarketEvent::Trade { price, .. } => {
                if self.ewma.is_some() {
                    self.update_ewma(price as f64, self.config.trade_alpha);
                }
            }
        }
        if self.is_warmed_up() {
            self.quote(intents);
        }
    }

    /// Records a fill of one of our orders.
    pub fn on_fill(&mut self, side: Side, qty: Qty) {
        let qty = i64::try_from(qty).unwrap_or(i64::MAX);
        self.inventory = self.inventory.saturating_add(side.sign() * qty);
    }

    /// Current EWMA of the market price, if any update was seen.
    #[must_use]
    pub const fn ewma(&self) -> Option<f64> {
        self.ewma
    }

    /// Inventory-adjusted fair value.
    #[must_use]
    pub fn fair_value(&self) -> Option<f64> {
        self.ewma
            .map(|ewma| ewma - self.config.skew_ticks_per_lot * self.inventory as f64)
    }

    /// Signed inventory in lots as seen by the strategy.
    #[must_use]
    pub const fn inventory(&self) -> i64 {
        self.inventory
    }

    /// `true` once enough quotes were seen to start quoting.
    #[must_use]
    pub const fn is_warmed_up(&self) -> bool {
        self.ewma.is_some() && self.quotes_seen >= self.config.warmup_quotes
    }

    fn update_ewma(&mut self, value: f64, alpha: f64) {
        self.ewma = Some(match self.ewma {
            Some(prev) => prev + alpha * (value - prev),
            None => value,
        });
    }

    fn quote(&self, intents: &mut Vec<OrderIntent>) {
        let Some(fair) = self.fair_value() else {
            return;
        };
        let half = self.config.half_spread_ticks as f64;
        let bid_px = (fair - half).floor() as Price;
        let ask_px = (fair + half).ceil() as Price;
        let max = i64::try_from(self.config.max_inventory).unwrap_or(i64::MAX);

        let room_long = max.saturating_sub(self.inventory);
        intents.push(if room_long > 0 && bid_px > 0 {
            OrderIntent::Quote {
                side: Side::Buy,
                price: bid_px,
                qty: self.config.quote_qty.min(room_long.unsigned_abs()),
            }
        } else {
            OrderIntent::Cancel { side: Side::Buy }
        });

        let room_short = max.saturating_add(self.inventory);
        intents.push(if room_short > 0 && ask_px > 0 {
            OrderIntent::Quote {
                side: Side::Sell,
                price: ask_px,
                qty: self.config.quote_qty.min(room_short.unsigned_abs()),
            }
        } else {
            OrderIntent::Cancel { side: Side::Sell }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MarketMakerConfig {
        MarketMakerConfig {
            mid_alpha: 0.5,
            trade_alpha: 0.25,
            half_spread_ticks: 2,
            quote_qty: 5,
            skew_ticks_per_lot: 0.5,
            max_inventory: 10,
            warmup_quotes: 3,
        }
    }

    fn warmed_up(mid: Price) -> MarketMaker {
        let mut mm = MarketMaker::new(config()).unwrap();
        let mut intents = Vec::new();
        for _ in 0..3 {
            mm.on_event(&MarketEvent::quote(mid - 1, 10, mid + 1, 10), &mut intents);
        }
        mm
    }

    fn quotes(mm: &mut MarketMaker, event: MarketEvent) -> Vec<OrderIntent> {
        let mut intents = Vec::new();
        mm.on_event(&event, &mut intents);
        intents
    }

    #[test]
    fn no_intents_before_warm_up() {
        let mut mm = MarketMaker::new(config()).unwrap();
        assert!(quotes(&mut mm, MarketEvent::quote(99, 1, 101, 1)).is_empty());
        assert!(quotes(&mut mm, MarketEvent::quote(99, 1, 101, 1)).is_empty());
        assert!(!mm.is_warmed_up());
        assert_eq!(quotes(&mut mm, MarketEvent::quote(99, 1, 101, 1)).len(), 2);
        assert!(mm.is_warmed_up());
    }

    #[test]
    fn ewma_tracks_mid_with_configured_weight() {
        let mut mm = MarketMaker::new(config()).unwrap();
        let mut intents = Vec::new();
        mm.on_event(&MarketEvent::quote(99, 1, 101, 1), &mut intents);
        assert_eq!(mm.ewma(), Some(100.0));
        mm.on_event(&MarketEvent::quote(103, 1, 105, 1), &mut intents);
        assert_eq!(mm.ewma(), Some(102.0));
        mm.on_event(&MarketEvent::trade(110, 3, Side::Buy), &mut intents);
        assert_eq!(mm.ewma(), Some(104.0));
    }

    #[test]
    fn flat_inventory_quotes_symmetrically() {
        let mut mm = warmed_up(1_000);
        let intents = quotes(&mut mm, MarketEvent::quote(999, 10, 1_001, 10));
        assert_eq!(
            intents,
            vec![
                OrderIntent::Quote {
                    side: Side::Buy,
                    price: 998,
                    qty: 5
                },
                OrderIntent::Quote {
                    side: Side::Sell,
                    price: 1_002,
                    qty: 5
                },
            ]
        );
    }

    #[test]
    fn long_inventory_skews_quotes_down() {
        let mut mm = warmed_up(1_000);
        mm.on_fill(Side::Buy, 4); // fair value shifts by -2 ticks
        assert_eq!(mm.inventory(), 4);
        assert_eq!(mm.fair_value(), Some(998.0));
        let intents = quotes(&mut mm, MarketEvent::quote(999, 10, 1_001, 10));
        assert_eq!(
            intents[0],
            OrderIntent::Quote {
                side: Side::Buy,
                price: 996,
                qty: 5
            }
        );
        assert_eq!(
            intents[1],
            OrderIntent::Quote {
                side: Side::Sell,
                price: 1_000,
                qty: 5
            }
        );
    }

    #[test]
    fn inventory_cap_pulls_and_shrinks_quotes() {
        let mut mm = warmed_up(1_000);
        mm.on_fill(Side::Buy, 7);
        let intents = quotes(&mut mm, MarketEvent::quote(999, 10, 1_001, 10));
        assert!(matches!(
            intents[0],
            OrderIntent::Quote {
                side: Side::Buy,
                qty: 3,
                ..
            }
        ));
        mm.on_fill(Side::Buy, 3);
        let intents = quotes(&mut mm, MarketEvent::quote(999, 10, 1_001, 10));
        assert_eq!(intents[0], OrderIntent::Cancel { side: Side::Buy });
        assert_eq!(intents[1].side(), Side::Sell);
        assert!(matches!(intents[1], OrderIntent::Quote { qty: 5, .. }));
    }

    #[test]
    fn sharp_drop_makes_bid_cross_the_market() {
        let mut mm = warmed_up(1_000);
        // Market gaps down by 10 ticks; the lagging EWMA (995) keeps our bid
        // above the new ask, i.e. a mean-reversion buy.
        let intents = quotes(&mut mm, MarketEvent::quote(989, 10, 991, 10));
        match intents[0] {
            OrderIntent::Quote {
                side: Side::Buy,
                price,
                ..
            } => assert!(price >= 991, "bid {price} should cross ask 991"),
            other => panic!("unexpected intent {other:?}"),
        }
    }

    #[test]
    fn invalid_events_are_ignored() {
        let mut mm = warmed_up(1_000);
        let before = mm.ewma();
        assert!(quotes(&mut mm, MarketEvent::quote(1_001, 1, 1_000, 1)).is_empty());
        assert!(quotes(&mut mm, MarketEvent::quote(0, 1, 5, 1)).is_empty());
        assert!(quotes(&mut mm, MarketEvent::trade(1_000, 0, Side::Sell)).is_empty());
        assert_eq!(mm.ewma(), before);
    }

    #[test]
    fn config_validation() {
        assert!(MarketMaker::new(MarketMakerConfig::default()).is_ok());
        let bad = [
            (
                MarketMakerConfig {
                    mid_alpha: 0.0,
                    ..config()
                },
                ConfigError::MidAlpha(0.0),
            ),
            (
                MarketMakerConfig {
                    trade_alpha: 1.5,
                    ..config()
                },
                ConfigError::TradeAlpha(1.5),
            ),
            (
                MarketMakerConfig {
                    half_spread_ticks: 0,
                    ..config()
                },
                ConfigError::HalfSpread(0),
            ),
            (
                MarketMakerConfig {
                    quote_qty: 0,
                    ..config()
                },
                ConfigError::ZeroQuoteQty,
            ),
            (
                MarketMakerConfig {
                    skew_ticks_per_lot: -1.0,
                    ..config()
                },
                ConfigError::Skew(-1.0),
            ),
        ];
        for (cfg, expected) in bad {
            assert_eq!(MarketMaker::new(cfg).unwrap_err(), expected);
        }
    }
}
