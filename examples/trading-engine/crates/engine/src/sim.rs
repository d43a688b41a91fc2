//! Deterministic synthetic market data.
//!
//! [`MarketSim`] produces a reproducible stream of [`MarketEvent`]s: the mid
//! price follows a tick-sized random walk that is gently pulled back towards
//! its starting level, the spread is two ticks, and trade prints hit the bid
//! or lift the offer at random. The same seed always yields the same stream,
//! which keeps demos, tests and benchmarks deterministic.

use orderbook::{Price, Qty, Side};
use strategy::MarketEvent;

/// SplitMix64 pseudo-random generator: tiny, fast and good enough for
/// simulation (not for cryptography).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator from a seed.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform value in `0..n` (`n` must be non-zero).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Deterministic market simulator; an endless iterator of market events.
#[derive(Debug, Clone)]
pub struct MarketSim {
    rng: SplitMix64,
    anchor: Price,
    mid: Price,
    pending_trade: Option<MarketEvent>,
}

impl MarketSim {
    /// Probability (percent) that a quote update is followed by a trade.
    const TRADE_PERCENT: u64 = 35;

    /// Creates a simulator starting at `start_mid` ticks (at least 2).
    #[must_use]
    pub fn new(seed: u64, start_mid: Price) -> Self {
        let start_mid = start_mid.max(2);
        Self {
            rng: SplitMix64::new(seed),
            anchor: start_mid,
            mid: start_mid,
            pending_trade: None,
        }
    }

    /// Current mid price in ticks.
    #[must_use]
    pub const fn mid(&self) -> Price {
        self.mid
    }

    fn next_quote(&mut self) -> MarketEvent {
        // Up/down probabilities (percent) tilt against the deviation from
        // the anchor, so the walk is mean-reverting.
        let deviation = (self.mid - self.anchor).clamp(-40, 40);
        let tilt = u64::try_from(deviation.abs() / 2).unwrap_or(0);
        let (p_up, p_down) = if deviation > 0 {
            (25 - tilt / 2, 25 + tilt / 2)
        } else {
            (25 + tilt / 2, 25 - tilt / 2)
        };
        let roll = self.rng.below(100);
        if roll < p_up {
            self.mid += 1;
        } else if roll < p_up + p_down && self.mid > 2 {
            self.mid -= 1;
        }

        let bid = self.mid - 1;
        let ask = self.mid + 1;
        let bid_qty = 10 + self.rng.below(51);
        let ask_qty = 10 + self.rng.below(51);

        if self.rng.below(100) < Self::TRADE_PERCENT {
            let qty: Qty = 1 + self.rng.below(20);
            self.pending_trade = Some(if self.rng.below(2) == 0 {
                MarketEvent::trade(ask, qty, Side::Buy)
            } else {
                MarketEvent::trade(bid, qty, Side::Sell)
            });
        }
        MarketEvent::quote(bid, bid_qty, ask, ask_qty)
    }
}

impl Iterator for MarketSim {
    type Item = MarketEvent;

    fn next(&mut self) -> Option<MarketEvent> {
        Some(match self.pending_trade.take() {
            Some(trade) => trade,
            None => self.next_quote(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<_> = MarketSim::new(7, 10_000).take(500).collect();
        let b: Vec<_> = MarketSim::new(7, 10_000).take(500).collect();
        let c: Vec<_> = MarketSim::new(8, 10_000).take(500).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn events_are_valid_and_trades_print_at_touch() {
        let mut last_quote = None;
        for event in MarketSim::new(1, 10_000).take(5_000) {
            assert!(event.is_valid(), "{event:?}");
            match event {
                MarketEvent::Quote { bid, ask, .. } => {
                    assert_eq!(ask - bid, 2);
                    last_quote = Some((bid, ask));
                }
                MarketEvent::Trade {
                    price, aggressor, ..
                } => {
                    let (bid, ask) = last_quote.expect("trade follows a quote");
                    let expected = if aggressor == Side::Buy { ask } else { bid };
                    assert_eq!(price, expected);
                }
            }
        }
    }
}
