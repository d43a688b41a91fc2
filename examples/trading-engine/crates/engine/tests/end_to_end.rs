//! End-to-end tests: market updates flow through strategy, risk and the
//! order book of the simulated venue.

use engine::orderbook::Side;
use engine::risk::{RiskLimits, RiskReject};
use engine::sim::MarketSim;
use engine::strategy::{MarketEvent, MarketMakerConfig};
use engine::{Engine, EngineConfig, Liquidity, OwnFill, OwnOrder, RejectReason};

/// A strategy whose quotes are easy to predict: fair value is the latest mid
/// (alpha 1, no skew, trades ignored), one tick either side, 5 lots.
fn strategy() -> MarketMakerConfig {
    MarketMakerConfig {
        mid_alpha: 1.0,
        trade_alpha: 0.0,
        half_spread_ticks: 1,
        quote_qty: 5,
        skew_ticks_per_lot: 0.0,
        max_inventory: 1_000,
        warmup_quotes: 2,
    }
}

fn engine(limits: RiskLimits, strategy: MarketMakerConfig) -> Engine {
    Engine::new(EngineConfig {
        limits,
        strategy,
        ..EngineConfig::default()
    })
    .expect("valid config")
}

fn limits(max_position: u64, max_daily_loss: i64) -> RiskLimits {
    RiskLimits {
        max_position,
        max_daily_loss,
        max_order_qty: 10,
    }
}

fn quote(bid: i64, ask: i64) -> MarketEvent {
    MarketEvent::quote(bid, 10, ask, 10)
}

/// Engine that has warmed up around mid 100 and quotes 99 / 101.
fn quoting_engine(limits: RiskLimits) -> Engine {
    let mut e = engine(limits, strategy());
    assert!(e.on_event(&quote(99, 101)).submitted.is_empty());
    let report = e.on_event(&quote(99, 101));
    assert_eq!(report.submitted.len(), 2);
    e
}

#[test]
fn quotes_both_sides_after_warm_up() {
    let mut e = engine(limits(100, 10_000), strategy());
    let report = e.on_event(&quote(99, 101));
    assert!(report.submitted.is_empty(), "still warming up");

    let report = e.on_event(&quote(99, 101));
    assert_eq!(
        report.submitted,
        vec![
            OwnOrder {
                id: 1,
                side: Side::Buy,
                price: 99,
                qty: 5
            },
            OwnOrder {
                id: 2,
                side: Side::Sell,
                price: 101,
                qty: 5
            },
        ]
    );
    assert!(report.fills.is_empty() && report.rejects.is_empty());

    // External 10 lots plus our 5 on each side of the venue.
    assert_eq!(e.book().depth_at(Side::Buy, 99), 15);
    assert_eq!(e.book().depth_at(Side::Sell, 101), 15);

    // An unchanged market does not churn orders.
    let report = e.on_event(&quote(99, 101));
    assert!(report.submitted.is_empty() && report.cancelled.is_empty());
    assert_eq!(e.stats().orders_submitted, 2);
}

#[test]
fn trade_prints_fill_resting_quotes_then_position_limit_rejects() {
    let mut e = quoting_engine(limits(12, 10_000));

    // A 15-lot sell sweeps the external bid (time priority) and then ours.
    let report = e.on_event(&MarketEvent::trade(99, 15, Side::Sell));
    assert_eq!(
        report.fills,
        vec![OwnFill {
            order_id: 1,
            side: Side::Buy,
            price: 99,
            qty: 5,
            liquidity: Liquidity::Maker
        }]
    );
    // The filled bid is replaced; the untouched ask stays.
    assert_eq!(report.submitted.len(), 1);
    assert_eq!(report.submitted[0].side, Side::Buy);
    assert!(report.cancelled.is_empty());
    assert_eq!(e.position(), 5);

    // Second fill takes us to 10; another 5-lot bid would mean 15 > 12.
    let report = e.on_event(&MarketEvent::trade(99, 5, Side::Sell));
    assert_eq!(report.fills.len(), 1);
    assert_eq!(
        report.rejects[0].reason,
        RejectReason::Risk(RiskReject::PositionLimitExceeded {
            projected: 15,
            limit: 12
        })
    );
    assert_eq!(e.position(), 10);
    assert_eq!(e.working_order(Side::Buy), None);
    assert!(e.working_order(Side::Sell).is_some());
    assert_eq!(e.stats().rejects.max_position, 1);
    assert_eq!(e.strategy().inventory(), 10);
}

#[test]
fn kill_switch_cancels_working_orders_and_blocks_new_ones() {
    let mut e = quoting_engine(limits(100, 10_000));
    assert_eq!(e.engage_kill_switch(), 2);
    assert!(e.book().levels(Side::Buy).all(|(_, qty)| qty == 10));
    assert_eq!(e.working_order(Side::Buy), None);
    assert_eq!(e.working_order(Side::Sell), None);

    let report = e.on_event(&quote(99, 101));
    assert!(report.submitted.is_empty());
    assert_eq!(report.rejects.len(), 2);
    assert!(report
        .rejects
        .iter()
        .all(|r| r.reason == RejectReason::Risk(RiskReject::KillSwitchEngaged)));

    e.release_kill_switch();
    let report = e.on_event(&quote(99, 101));
    assert_eq!(report.submitted.len(), 2);
    assert!(report.rejects.is_empty());
}

#[test]
fn daily_loss_limit_blocks_buys_but_lets_position_be_reduced() {
    let mut e = quoting_engine(limits(100, 40));
    e.on_event(&MarketEvent::trade(99, 15, Side::Sell));
    e.on_event(&MarketEvent::trade(99, 5, Side::Sell));
    assert_eq!(e.position(), 10);

    // The market gaps down through our bid at 99: the new external offer at 96
    // fills it (we are long 15 @ 99, marked at 95 => -60 <= -40).
    let report = e.on_event(&quote(94, 96)).clone();
    assert_eq!(report.fills.len(), 1);
    assert_eq!(report.fills[0].price, 99);
    assert_eq!(report.fills[0].liquidity, Liquidity::Maker);
    assert_eq!(e.position(), 15);
    assert_eq!(e.risk().total_pnl(), -60);
    assert!(e.risk().loss_limit_breached());

    // Adding to the position is refused, selling to reduce it is not.
    assert_eq!(report.rejects.len(), 1);
    assert_eq!(report.rejects[0].side, Side::Buy);
    assert_eq!(
        report.rejects[0].reason,
        RejectReason::Risk(RiskReject::DailyLossExceeded {
            pnl: -60,
            limit: 40
        })
    );
    assert_eq!(report.submitted.len(), 1);
    assert_eq!(report.submitted[0].side, Side::Sell);
    assert_eq!(report.submitted[0].price, 96);
}

#[test]
fn lagging_fair_value_crosses_the_spread_as_taker() {
    let config = MarketMakerConfig {
        mid_alpha: 0.5,
        ..strategy()
    };
    let mut e = engine(limits(100, 10_000), config);
    e.on_event(&quote(99, 101));
    e.on_event(&quote(99, 101));

    // Mid drops 100 -> 90: the external offer at 91 first trades through our
    // resting bid (maker @ 99); the EWMA is now 95, so the new bid at 94
    // lifts the rest of that offer (taker @ 91).
    let report = e.on_event(&quote(89, 91));
    let fills: Vec<_> = report
        .fills
        .iter()
        .map(|f| (f.side, f.price, f.qty, f.liquidity))
        .collect();
    assert_eq!(
        fills,
        vec![
            (Side::Buy, 99, 5, Liquidity::Maker),
            (Side::Buy, 91, 5, Liquidity::Taker),
        ]
    );
    assert_eq!(e.position(), 10);
    assert_eq!(e.working_order(Side::Buy), None, "bid fully filled");
    let ask = e.working_order(Side::Sell).expect("ask requoted");
    assert_eq!(ask.price, 96);
    assert_eq!(e.stats().maker_fills, 1);
    assert_eq!(e.stats().fills, 2);
}

#[test]
fn invalid_market_events_are_ignored() {
    let mut e = quoting_engine(limits(100, 10_000));
    let before = *e.stats();
    let report = e.on_event(&quote(101, 99));
    assert_eq!(report, &engine::StepReport::default());
    e.on_event(&MarketEvent::trade(100, 0, Side::Buy));
    assert_eq!(e.stats().invalid_events, before.invalid_events + 2);
    assert_eq!(e.stats().orders_submitted, before.orders_submitted);
    assert_eq!(e.position(), 0);
}

#[test]
fn simulated_session_respects_risk_invariants() {
    let max_position = 20;
    let mut e = engine(
        limits(max_position, 1_000_000),
        MarketMakerConfig {
            max_inventory: 1_000, // let risk, not the strategy, cap inventory
            ..MarketMakerConfig::default()
        },
    );
    let mut signed_volume = 0i64;
    for event in MarketSim::new(2024, 10_000).take(5_000) {
        let report = e.on_event(&event);
        for fill in &report.fills {
            signed_volume += fill.side.sign() * i64::try_from(fill.qty).unwrap();
        }
        assert!(e.position().unsigned_abs() <= max_position);
        if let (Some(bid), Some(ask)) = (e.working_order(Side::Buy), e.working_order(Side::Sell)) {
            assert!(bid.price < ask.price, "own quotes never cross");
        }
    }
    let stats = e.stats();
    assert_eq!(signed_volume, e.position());
    assert_eq!(e.strategy().inventory(), e.position());
    assert!(stats.fills > 0);
    assert!(stats.rejects.max_position > 0, "limit was exercised");
}
