//! Pre-trade risk checks for the ShrivenQuant engine.
//!
//! [`RiskLimits`] holds the configured limits and can be parsed from
//! environment-style key/value pairs (`MAX_POSITION_SIZE`, `MAX_DAILY_LOSS`
//! and optionally `MAX_ORDER_QTY`). [`RiskEngine`] tracks the position and
//! P&L from fills and mark prices and vets every new order with
//! [`RiskEngine::check_order`], which returns a [`RiskReject`] describing the
//! first violated limit.
//!
//! Money amounts (P&L, loss limit) are expressed in price ticks times lots.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;

use orderbook::{Price, Qty, Side};

/// Environment key for [`RiskLimits::max_position`].
pub const MAX_POSITION_SIZE_KEY: &str = "MAX_POSITION_SIZE";
/// Environment key for [`RiskLimits::max_daily_loss`].
pub const MAX_DAILY_LOSS_KEY: &str = "MAX_DAILY_LOSS";
/// Environment key for [`RiskLimits::max_order_qty`].
pub const MAX_ORDER_QTY_KEY: &str = "MAX_ORDER_QTY";

/// Configured risk limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLimits {
    /// Maximum absolute position (lots) an order may lead to.
    pub max_position: Qty,
    /// Maximum tolerated loss for the day (ticks x lots, positive number).
    /// Once realised + unrealised P&L is at or below `-max_daily_loss`, only
    /// orders that reduce the position are accepted.
    pub max_daily_loss: i64,
    /// Maximum quantity of a single order (lots).
    pub max_order_qty: Qty,
}

impl Default for RiskLimits {
    /// Conservative defaults used when a key is not configured.
    fn default() -> Self {
        Self {
            max_position: 100,
            max_daily_loss: 50_000,
            max_order_qty: 50,
        }
    }
}

impl RiskLimits {
    /// Parses limits from key/value pairs such as `std::env::vars()`.
    ///
    /// Recognised keys are [`MAX_POSITION_SIZE_KEY`], [`MAX_DAILY_LOSS_KEY`]
    /// and [`MAX_ORDER_QTY_KEY`]; other keys are ignored and missing keys keep
    /// their [`Default`] value. Values must be positive whole numbers;
    /// surrounding whitespace and `_` digit separators are accepted.
    ///
    /// # Errors
    ///
    /// Returns a [`LimitsError`] naming the key and the offending value.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, LimitsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut limits = Self::default();
        for (key, value) in pairs {
            let value = value.as_ref();
            match key.as_ref() {
                MAX_POSITION_SIZE_KEY => {
                    limits.max_position = parse_positive(MAX_POSITION_SIZE_KEY, value, Qty::MAX)?;
                }
                MAX_DAILY_LOSS_KEY => {
                    let max = i64::MAX.unsigned_abs();
                    let loss = parse_positive(MAX_DAILY_LOSS_KEY, value, max)?;
                    limits.max_daily_loss = i64::try_from(loss).unwrap_or(i64::MAX);
                }
                MAX_ORDER_QTY_KEY => {
                    limits.max_order_qty = parse_positive(MAX_ORDER_QTY_KEY, value, Qty::MAX)?;
                }
                _ => {}
            }
        }
        Ok(limits)
    }

    /// Parses limits from a map of settings (see [`RiskLimits::from_pairs`]).
    ///
    /// # Errors
    ///
    /// Returns a [`LimitsError`] for the first invalid value.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, LimitsError> {
        Self::from_pairs(map)
    }

    /// Reads limits from the process environment.
    ///
    /// # Errors
    ///
    /// Returns a [`LimitsError`] if a recognised variable is set to an
    /// invalid or non-UTF-8 value.
    pub fn from_env() -> Result<Self, LimitsError> {
        let mut pairs = Vec::with_capacity(3);
        for key in [MAX_POSITION_SIZE_KEY, MAX_DAILY_LOSS_KEY, MAX_ORDER_QTY_KEY] {
            match std::env::var(key) {
                Ok(value) => pairs.push((key, value)),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(raw)) => {
                    return Err(LimitsError {
                        key,
                        value: raw.to_string_lossy().into_owned(),
                        kind: LimitsErrorKind::NotUnicode,
                    });
                }
            }
        }
        Self::from_pairs(pairs)
    }
}

fn parse_positive(key: &'static str, raw: &str, max: u64) -> Result<u64, LimitsError> {
    let err = |kind| LimitsError {
        key,
        value: raw.to_owned(),
        kind,
    };
    let cleaned: String = raw.trim().chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return Err(err(LimitsErrorKind::Empty));
    }
    let value: i128 = cleaned
        .parse()
        .map_err(|_| err(LimitsErrorKind::NotAnInteger))?;
    if value <= 0 {
        return Err(err(LimitsErrorKind::NotPositive));
    }
    u64::try_from(value)
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| err(LimitsErrorKind::OutOfRange))
}

/// Why a limit value could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsErrorKind {
    /// The value was empty or only whitespace.
    Empty,
    /// The value was not a whole number.
    NotAnInteger,
    /// The value was zero or negative.
    NotPositive,
    /// The value does not fit the limit's integer type.
    OutOfRange,
    /// The environment variable was not valid UTF-8.
    NotUnicode,
}

/// Error returned when parsing [`RiskLimits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsError {
    /// The offending key, e.g. `MAX_POSITION_SIZE`.
    pub key: &'static str,
    /// The raw value as supplied.
    pub value: String,
    /// What was wrong with it.
    pub kind: LimitsErrorKind,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reason = match self.kind {
            LimitsErrorKind::Empty => "value is empty",
            LimitsErrorKind::NotAnInteger => "expected a positive whole number",
            LimitsErrorKind::NotPositive => "must be greater than zero",
            LimitsErrorKind::OutOfRange => "value is too large",
            LimitsErrorKind::NotUnicode => "value is not valid UTF-8",
        };
        write!(f, "invalid {}={:?}: {reason}", self.key, self.value)
    }
}

impl Error for LimitsError {}

/// Reason a pre-trade check rejected an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskReject {
    /// The kill switch is engaged: all new orders are refused.
    KillSwitchEngaged,
    /// The order quantity was zero.
    ZeroQuantity,
    /// The order is larger than [`RiskLimits::max_order_qty`].
    OrderQtyExceeded {
        /// Requested quantity.
        qty: Qty,
        /// Configured limit.
        limit: Qty,
    },
    /// The position after a full fill would exceed [`RiskLimits::max_position`].
    PositionLimitExceeded {
        /// Signed position after the order.
        projected: i64,
        /// Configured absolute limit.
        limit: Qty,
    },
    /// The daily loss limit is reached and the order does not reduce risk.
    DailyLossExceeded {
        /// Current realised + unrealised P&L.
        pnl: i64,
        /// Configured loss limit (positive).
        limit: i64,
    },
}

impl RiskReject {
    /// Short machine-readable code, stable for logs and metrics.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::KillSwitchEngaged => "kill_switch",
            Self::ZeroQuantity => "zero_qty",
            Self::OrderQtyExceeded { .. } => "max_order_qty",
            Self::PositionLimitExceeded { .. } => "max_position",
            Self::DailyLossExceeded { .. } => "max_daily_loss",
        }
    }
}

impl fmt::Display for RiskReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KillSwitchEngaged => f.write_str("kill switch engaged"),
            Self::ZeroQuantity => f.write_str("order quantity is zero"),
            Self::OrderQtyExceeded { qty, limit } => {
                write!(f, "order quantity {qty} exceeds limit {limit}")
            }
            Self::PositionLimitExceeded { projected, limit } => {
                write!(f, "projected position {projected} exceeds limit {limit}")
            }
            Self::DailyLossExceeded { pnl, limit } => {
                write!(f, "daily P&L {pnl} breaches loss limit {limit}")
            }
        }
    }
}

impl Error for RiskReject {}

/// Tracks position and P&L and performs pre-trade checks.
///
/// P&L uses average-cost accounting: realised P&L is booked when a position
/// is reduced, and unrealised P&L is marked against the latest mark price
/// (or the last fill price if no mark has been seen).
#[derive(Debug, Clone)]
pub struct RiskEngine {
    limits: RiskLimits,
    position: i64,
    /// Signed entry cost of the open position (price x signed qty).
    cost_basis: i128,
    realised: i128,
    mark: Option<Price>,
    last_fill_price: Option<Price>,
    kill_switch: bool,
}

impl RiskEngine {
    /// Creates a flat engine with the given limits.
    #[must_use]
    pub const fn new(limits: RiskLimits) -> Self {
        Self {
            limits,
            position: 0,
            cost_basis: 0,
            realised: 0,
            mark: None,
            last_fill_price: None,
            kill_switch: false,
        }
    }

    /// The configured limits.
    #[must_use]
    pub const fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    /// Checks whether a new order of `qty` lots on `side` may be sent.
    ///
    /// Checks run in order: kill switch, zero quantity, max order quantity,
    /// then - unless the order strictly reduces the absolute position -
    /// daily loss and max position.
    ///
    /// # Errors
    ///
    /// Returns the first violated limit as a [`RiskReject`].
    pub fn check_order(&self, side: Side, qty: Qty) -> Result<(), RiskReject> {
        if self.kill_switch {
            return Err(RiskReject::KillSwitchEngaged);
        }
        if qty == 0 {
            return Err(RiskReject::ZeroQuantity);
        }
        if qty > self.limits.max_order_qty {
            return Err(RiskReject::OrderQtyExceeded {
                qty,
                limit: self.limits.max_order_qty,
            });
        }
        let current = i128::from(self.position);
        let projected = current + i128::from(side.sign()) * i128::from(qty);
        if projected.abs() < current.abs() {
            // Risk-reducing orders are always allowed so positions can be flattened.
            return Ok(());
        }
        let pnl = self.total_pnl();
        if pnl <= -self.limits.max_daily_loss {
            return Err(RiskReject::DailyLossExceeded {
                pnl,
                limit: self.limits.max_daily_loss,
            });
        }
        if projected.unsigned_abs() > u128::from(self.limits.max_position) {
            return Err(RiskReject::PositionLimitExceeded {
                projected: saturate(projected),
                limit: self.limits.max_position,
            });
        }
        Ok(())
    }

    /// Books an execution of our own order.
    pub fn on_fill(&mut self, side: Side, price: Price, qty: Qty) {
        if qty == 0 {
            return;
        }
        self.last_fill_price = Some(price);
        let price = i128::from(price);
        let signed = i128::from(side.sign()) * i128::from(qty);
        let position = i128::from(self.position);

        let mut rest = signed;
        if position != 0 && position.signum() != signed.signum() {
            // Reducing (possibly flipping) the position.
            let closing = signed.abs().min(position.abs());
            let removed_cost = self.cost_basis * closing / position.abs();
            self.realised += position.signum() * price * closing - removed_cost;
            self.cost_basis -= removed_cost;
            rest = signed + position.signum() * closing;
            self.position = saturate(position - position.signum() * closing);
        }
        if rest != 0 {
            self.cost_basis += price * rest;
            self.position = saturate(i128::from(self.position) + rest);
        }
    }

    /// Updates the mark price used for unrealised P&L.
    pub fn on_mark(&mut self, price: Price) {
        self.mark = Some(price);
    }

    /// Signed position in lots (positive = long).
    #[must_use]
    pub const fn position(&self) -> i64 {
        self.position
    }

    /// Realised P&L in ticks x lots.
    #[must_use]
    pub fn realised_pnl(&self) -> i64 {
        saturate(self.realised)
    }

    /// Unrealised P&L of the open position at the mark price.
    #[must_use]
    pub fn unrealised_pnl(&self) -> i64 {
        saturate(self.unrealised())
    }

    /// Realised plus unrealised P&L.
    #[must_use]
    pub fn total_pnl(&self) -> i64 {
        saturate(self.realised + self.unrealised())
    }

    /// `true` if the daily loss limit is reached.
    #[must_use]
    pub fn loss_limit_breached(&self) -> bool {
        self.total_pnl() <= -self.limits.max_daily_loss
    }

    /// Engages the kill switch: every subsequent order is rejected.
    pub fn engage_kill_switch(&mut self) {
        self.kill_switch = true;
    }

    /// Releases the kill switch.
    pub fn release_kill_switch(&mut self) {
        self.kill_switch = false;
    }

    /// `true` while the kill switch is engaged.
    #[must_use]
    pub const fn is_kill_switch_engaged(&self) -> bool {
        self.kill_switch
    }

    fn unrealised(&self) -> i128 {
        match self.mark.or(self.last_fill_price) {
            Some(mark) => i128::from(self.position) * i128::from(mark) - self.cost_basis,
            None => 0,
        }
    }
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_position: Qty, max_daily_loss: i64, max_order_qty: Qty) -> RiskLimits {
        RiskLimits {
            max_position,
            max_daily_loss,
            max_order_qty,
        }
    }

    #[test]
    fn parses_limits_from_pairs_and_ignores_other_keys() {
        let parsed = RiskLimits::from_pairs([
            ("PATH", "/usr/bin"),
            ("MAX_POSITION_SIZE", " 250 "),
            ("MAX_DAILY_LOSS", "1_000_000"),
            ("MAX_ORDER_QTY", "25"),
        ])
        .unwrap();
        assert_eq!(parsed, limits(250, 1_000_000, 25));
    }

    #[test]
    fn missing_keys_fall_back_to_defaults() {
        let mut map = HashMap::new();
        map.insert("MAX_DAILY_LOSS".to_string(), "777".to_string());
        let parsed = RiskLimits::from_map(&map).unwrap();
        assert_eq!(parsed.max_daily_loss, 777);
        assert_eq!(parsed.max_position, RiskLimits::default().max_position);
        assert_eq!(
            RiskLimits::from_pairs(Vec::<(String, String)>::new()),
            Ok(RiskLimits::default())
        );
    }

    #[test]
    fn bad_values_produce_clear_errors() {
        let cases = [
            ("MAX_POSITION_SIZE", "ten", LimitsErrorKind::NotAnInteger),
            ("MAX_POSITION_SIZE", "1.5", LimitsErrorKind::NotAnInteger),
            ("MAX_POSITION_SIZE", "0", LimitsErrorKind::NotPositive),
            ("MAX_DAILY_LOSS", "-500", LimitsErrorKind::NotPositive),
            ("MAX_DAILY_LOSS", "   ", LimitsErrorKind::Empty),
            (
                "MAX_DAILY_LOSS",
                "9223372036854775808",
                LimitsErrorKind::OutOfRange,
            ),
        ];
        for (key, value, kind) in cases {
            let err = RiskLimits::from_pairs([(key, value)]).unwrap_err();
            assert_eq!(err.key, key);
            assert_eq!(err.kind, kind, "{key}={value}");
        }
        let err = RiskLimits::from_pairs([("MAX_POSITION_SIZE", "ten")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid MAX_POSITION_SIZE=\"ten\": expected a positive whole number"
        );
    }

    #[test]
    fn rejects_oversized_and_zero_orders() {
        let risk = RiskEngine::new(limits(100, 1_000, 10));
        assert_eq!(risk.check_order(Side::Buy, 10), Ok(()));
        assert_eq!(
            risk.check_order(Side::Buy, 11),
            Err(RiskReject::OrderQtyExceeded { qty: 11, limit: 10 })
        );
        assert_eq!(
            risk.check_order(Side::Sell, 0),
            Err(RiskReject::ZeroQuantity)
        );
    }

    #[test]
    fn position_limit_applies_to_both_sides_but_reductions_pass() {
        let mut risk = RiskEngine::new(limits(10, 1_000_000, 10));
        risk.on_fill(Side::Buy, 100, 8);
        assert_eq!(risk.check_order(Side::Buy, 2), Ok(()));
        assert_eq!(
            risk.check_order(Side::Buy, 3),
            Err(RiskReject::PositionLimitExceeded {
                projected: 11,
                limit: 10
            })
        );
        // Selling 10 takes us from +8 to -2, which reduces absolute exposure.
        assert_eq!(risk.check_order(Side::Sell, 10), Ok(()));

        let mut short = RiskEngine::new(limits(10, 1_000_000, 20));
        short.on_fill(Side::Sell, 100, 9);
        assert_eq!(
            short.check_order(Side::Sell, 2),
            Err(RiskReject::PositionLimitExceeded {
                projected: -11,
                limit: 10
            })
        );
        // Flipping from -9 to +11 does not reduce exposure.
        assert_eq!(
            short.check_order(Side::Buy, 20),
            Err(RiskReject::PositionLimitExceeded {
                projected: 11,
                limit: 10
            })
        );
    }

    #[test]
    fn realised_pnl_long_and_short() {
        let mut risk = RiskEngine::new(RiskLimits::default());
        risk.on_fill(Side::Buy, 100, 10);
        risk.on_fill(Side::Sell, 110, 4);
        assert_eq!(risk.position(), 6);
        assert_eq!(risk.realised_pnl(), 40);

        let mut short = RiskEngine::new(RiskLimits::default());
        short.on_fill(Side::Sell, 100, 10);
        short.on_fill(Side::Buy, 90, 10);
        assert_eq!(short.position(), 0);
        assert_eq!(short.realised_pnl(), 100);
        assert_eq!(short.unrealised_pnl(), 0);
    }

    #[test]
    fn average_cost_and_position_flip() {
        let mut risk = RiskEngine::new(RiskLimits::default());
        risk.on_fill(Side::Buy, 100, 5);
        risk.on_fill(Side::Buy, 104, 5); // avg 102
        risk.on_fill(Side::Sell, 101, 15); // close 10 @101 (-10), open short 5 @101
        assert_eq!(risk.position(), -5);
        assert_eq!(risk.realised_pnl(), -10);
        risk.on_mark(99);
        assert_eq!(risk.unrealised_pnl(), 10);
        assert_eq!(risk.total_pnl(), 0);
    }

    #[test]
    fn unrealised_pnl_follows_mark() {
        let mut risk = RiskEngine::new(RiskLimits::default());
        risk.on_fill(Side::Buy, 100, 10);
        assert_eq!(risk.unrealised_pnl(), 0, "marked at last fill price");
        risk.on_mark(97);
        assert_eq!(risk.unrealised_pnl(), -30);
        assert_eq!(risk.total_pnl(), -30);
    }

    #[test]
    fn daily_loss_blocks_new_risk_but_allows_reduction() {
        let mut risk = RiskEngine::new(limits(100, 50, 10));
        risk.on_fill(Side::Buy, 100, 10);
        risk.on_mark(96);
        assert!(!risk.loss_limit_breached());
        assert_eq!(risk.check_order(Side::Buy, 1), Ok(()));
        risk.on_mark(95);
        assert!(risk.loss_limit_breached());
        assert_eq!(
            risk.check_order(Side::Buy, 1),
            Err(RiskReject::DailyLossExceeded {
                pnl: -50,
                limit: 50
            })
        );
        assert_eq!(risk.check_order(Side::Sell, 10), Ok(()));
        assert_eq!(
            risk.check_order(Side::Buy, 1).unwrap_err().code(),
            "max_daily_loss"
        );
    }

    #[test]
    fn kill_switch_blocks_everything_until_released() {
        let mut risk = RiskEngine::new(RiskLimits::default());
        risk.on_fill(Side::Buy, 100, 5);
        risk.engage_kill_switch();
        assert!(risk.is_kill_switch_engaged());
        assert_eq!(
            risk.check_order(Side::Sell, 5),
            Err(RiskReject::KillSwitchEngaged)
        );
        risk.release_kill_switch();
        assert_eq!(risk.check_order(Side::Sell, 5), Ok(()));
    }
}
