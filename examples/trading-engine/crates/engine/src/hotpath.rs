//! The `hotpath` command: the engine's per-event hot path in a tight loop.
//!
//! Setup builds one [`Engine`] (order book, risk engine, strategy) and one
//! market simulator. Every iteration then feeds one simulated market event
//! through [`Engine::on_event`]: the venue's order book handles the update,
//! the strategy turns it into quotes, each new order passes the pre-trade
//! risk check and is submitted to the book, and fills flow back into risk
//! and strategy. The engine reuses its buffers and the simulator generates
//! events on the fly, so after setup and warm-up an iteration performs no
//! heap allocation: the number of allocations of a run does not grow with
//! the number of iterations, which the CI allocation gate checks.
//!
//! The run ends with a checksum over everything that happened, so the work
//! cannot be optimised away and two runs can be compared.

use std::fmt;

use engine::cli::HotpathOptions;
use engine::risk::RiskLimits;
use engine::sim::MarketSim;
use engine::strategy::MarketMakerConfig;
use engine::{Engine, EngineConfig, EngineError, StepReport};

/// Seed of the market simulator (fixed, so the checksum is reproducible).
const SEED: u64 = 42;
/// Starting mid price in ticks.
const START_MID: i64 = 100_000;

/// Result of a hot-path run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotpathSummary {
    /// Iterations (market events) processed.
    pub iterations: u64,
    /// FNV-1a checksum over every order, cancel, fill and reject.
    pub checksum: u64,
    /// Our orders sent to the book.
    pub orders: u64,
    /// Executions of our orders.
    pub fills: u64,
    /// Intended orders refused by risk or the book.
    pub rejects: u64,
}

impl fmt::Display for HotpathSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hotpath iterations={} checksum={:016x} orders={} fills={} rejects={}",
            self.iterations, self.checksum, self.orders, self.fills, self.rejects
        )
    }
}

/// The daily loss limit never stops the session; the strategy's inventory
/// cap (50 lots) lies above the risk position limit (40 lots), so the
/// pre-trade check both accepts and rejects orders on the hot path.
fn config() -> EngineConfig {
    let limits = RiskLimits {
        max_position: 40,
        max_daily_loss: i64::MAX / 2,
        max_order_qty: 50,
    };
    let strategy = MarketMakerConfig {
        max_inventory: 50,
        ..MarketMakerConfig::default()
    };
    EngineConfig {
        limits,
        strategy,
        ..EngineConfig::default()
    }
}

/// 64-bit FNV-1a over a stream of words.
struct Checksum(u64);

impl Checksum {
    const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn add(&mut self, word: u64) {
        for byte in word.to_le_bytes() {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn add_report(&mut self, report: &StepReport) {
        for order in &report.submitted {
            self.add(order.id);
            self.add(order.price.unsigned_abs());
            self.add(order.qty);
        }
        for id in &report.cancelled {
            self.add(*id);
        }
        for fill in &report.fills {
            self.add(fill.order_id);
            self.add(fill.price.unsigned_abs());
            self.add(fill.qty);
        }
        for reject in &report.rejects {
            self.add(reject.price.unsigned_abs());
            self.add(reject.qty);
        }
    }
}

/// Builds the engine once, then runs `options.iterations` market events
/// through its hot path.
///
/// # Errors
///
/// Returns an [`EngineError`] if the engine cannot be configured.
pub fn run_hotpath(options: &HotpathOptions) -> Result<HotpathSummary, EngineError> {
    let mut engine = Engine::new(config())?;
    let mut sim = MarketSim::new(SEED, START_MID);
    let mut checksum = Checksum::new();
    let iterations = usize::try_from(options.iterations).unwrap_or(usize::MAX);
    for event in sim.by_ref().take(iterations) {
        let report = engine.on_event(std::hint::black_box(&event));
        checksum.add_report(report);
    }
    let stats = engine.stats();
    checksum.add(stats.events);
    checksum.add(engine.position().unsigned_abs());
    Ok(HotpathSummary {
        iterations: stats.events,
        checksum: checksum.0,
        orders: stats.orders_submitted,
        fills: stats.fills,
        rejects: stats.rejects.total(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(iterations: u64) -> HotpathSummary {
        run_hotpath(&HotpathOptions { iterations }).expect("valid engine config")
    }

    #[test]
    fn deterministic_and_trades() {
        let a = run(5_000);
        assert_eq!(a, run(5_000));
        assert_eq!(a.iterations, 5_000);
        assert!(a.orders > 0 && a.fills > 0 && a.rejects > 0, "{a}");
        assert_ne!(a.checksum, run(6_000).checksum);
    }

    #[test]
    fn prints_one_line() {
        let line = run(10).to_string();
        assert!(
            line.starts_with("hotpath iterations=10 checksum="),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
