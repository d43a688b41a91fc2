//! A short deterministic trading session on simulated data.

use std::fmt;

use orderbook::Price;
use risk::RiskLimits;
use strategy::{MarketEvent, MarketMakerConfig};

use crate::sim::MarketSim;
use crate::{Engine, EngineConfig, EngineError, EngineStats};

/// Parameters of a demo session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Number of market events to simulate.
    pub events: usize,
    /// Seed of the market simulator.
    pub seed: u64,
    /// Starting mid price in ticks.
    pub start_mid: Price,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            events: 20_000,
            seed: 42,
            start_mid: 10_000,
        }
    }
}

/// Result of a demo session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    /// Options the session ran with.
    pub options: DemoOptions,
    /// Limits the session ran with.
    pub limits: RiskLimits,
    /// Engine counters at the end of the session.
    pub stats: EngineStats,
    /// Final signed position in lots.
    pub position: i64,
    /// Realised P&L (ticks x lots).
    pub realised_pnl: i64,
    /// Unrealised P&L at the final mark (ticks x lots).
    pub unrealised_pnl: i64,
    /// Last simulated mid price.
    pub final_mid: Price,
}

/// Runs a demo session with the default strategy and the given limits.
///
/// The strategy's inventory cap is lowered to the risk position limit, so the
/// strategy shrinks its quotes as it approaches the limit instead of having
/// them rejected; the risk engine stays the hard backstop.
///
/// # Errors
///
/// Returns an [`EngineError`] if the engine cannot be configured.
pub fn run_demo(options: &DemoOptions, limits: RiskLimits) -> Result<DemoSummary, EngineError> {
    let defaults = MarketMakerConfig::default();
    let strategy = MarketMakerConfig {
        max_inventory: defaults.max_inventory.min(limits.max_position),
        ..defaults
    };
    let mut engine = Engine::new(EngineConfig {
        limits,
        strategy,
        ..EngineConfig::default()
    })?;
    let mut sim = MarketSim::new(options.seed, options.start_mid);
    for event in sim.by_ref().take(options.events) {
        engine.on_event(&event);
    }
    // Mark the remaining position at the simulator's final mid.
    let final_mid = sim.mid();
    engine.on_event(&MarketEvent::quote(final_mid - 1, 1, final_mid + 1, 1));

    let risk = engine.risk();
    Ok(DemoSummary {
        options: *options,
        limits,
        stats: *engine.stats(),
        position: risk.position(),
        realised_pnl: risk.realised_pnl(),
        unrealised_pnl: risk.unrealised_pnl(),
        final_mid,
    })
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "ShrivenQuant demo session")?;
        writeln!(
            f,
            "  market events     {} (seed {}, start mid {}, final mid {})",
            self.options.events, self.options.seed, self.options.start_mid, self.final_mid
        )?;
        writeln!(
            f,
            "  risk limits       max position {} lots, max daily loss {}, max order {} lots",
            self.limits.max_position, self.limits.max_daily_loss, self.limits.max_order_qty
        )?;
        writeln!(
            f,
            "  orders            {} submitted, {} cancelled",
            s.orders_submitted, s.orders_cancelled
        )?;
        writeln!(
            f,
            "  fills             {} ({} maker, {} taker), volume {} lots",
            s.fills,
            s.maker_fills,
            s.fills - s.maker_fills,
            s.volume
        )?;
        let r = &s.rejects;
        writeln!(
            f,
            "  risk rejects      {} (position {}, daily loss {}, order qty {}, kill switch {})",
            r.total(),
            r.max_position,
            r.max_daily_loss,
            r.max_order_qty,
            r.kill_switch
        )?;
        writeln!(f, "  position          {} lots", self.position)?;
        write!(
            f,
            "  pnl               realised {}, unrealised {}, total {}",
            self.realised_pnl,
            self.unrealised_pnl,
            self.realised_pnl.saturating_add(self.unrealised_pnl)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_deterministic_and_trades() {
        let options = DemoOptions {
            events: 3_000,
            ..DemoOptions::default()
        };
        let a = run_demo(&options, RiskLimits::default()).unwrap();
        let b = run_demo(&options, RiskLimits::default()).unwrap();
        assert_eq!(a, b);
        assert!(a.stats.orders_submitted > 0);
        assert!(a.stats.fills > 0);
        assert!(a.position.unsigned_abs() <= a.limits.max_position);
        assert!(a.to_string().contains("ShrivenQuant demo session"));
    }
}
