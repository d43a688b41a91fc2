//! Latency benchmark of the hot paths, using only the standard library.
//!
//! Run with `cargo bench --package engine`. After a warm-up, each benchmark
//! times batches of 1000 operations (the fastest batch, per operation, is the
//! figure runs are compared by: the timer's cost vanishes in a batch, and the
//! fastest batch is the least disturbed by other work), then times every single
//! operation with `std::time::Instant`, subtracting the measured timer overhead
//! (median cost of an empty timed region), for mean, p50, p99 and max in
//! nanoseconds:
//!
//! - `order_handling`: one `OrderBook::submit` on a book holding ~400 orders
//!   over ~100 levels, cycling through passive limit orders that rest and
//!   IOC orders that take the top of book (so half the operations match).
//! - `risk_check`: one `RiskEngine::check_order` pre-trade check.
//! - `tick_to_trade`: one `Engine::on_event`, i.e. venue update, strategy,
//!   risk checks and order submission for a simulated market update.
//!
//! Environment:
//!
//! - `SHRIVEN_BENCH_ITERS`: measured iterations per benchmark (default
//!   500000; warm-up is a tenth of that, at least 1000).
//! - `SHRIVEN_BENCH_JSON`: if set to a path, results are also written there
//!   in Bencher Metric Format (BMF), one entry per benchmark with the single
//!   measure `latency` in nanoseconds:
//!   `{"order_handling": {"latency": {"value": <fastest batch per op>,
//!   "lower_value": <p50>, "upper_value": <p99>}}, "risk_check": {...},
//!   "tick_to_trade": {...}}`.
//!   The max is printed on stdout only.
//!
//! When the binary is not invoked with `--bench` (e.g. by
//! `cargo test --all-targets`), it runs a quick 1000-iteration smoke pass
//! unless `SHRIVEN_BENCH_ITERS` is set.

use std::fmt::Write as _;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use engine::orderbook::{Fill, Order, OrderBook, Side};
use engine::risk::{RiskEngine, RiskLimits};
use engine::sim::{MarketSim, SplitMix64};
use engine::{Engine, EngineConfig};

const DEFAULT_ITERS: usize = 500_000;
const SMOKE_ITERS: usize = 1_000;

/// Latency summary of one benchmark, in nanoseconds.
struct Summary {
    name: &'static str,
    iters: usize,
    mean: f64,
    /// Fastest batch, ns per operation.
    batched: f64,
    p50: u64,
    p99: u64,
    max: u64,
}

fn summarize(name: &'static str, measured: Measured) -> Summary {
    let Measured {
        mut samples,
        batched_ns,
    } = measured;
    samples.sort_unstable();
    let n = samples.len();
    let total: u128 = samples.iter().map(|&s| u128::from(s)).sum();
    Summary {
        name,
        iters: n,
        mean: total as f64 / n as f64,
        batched: batched_ns,
        p50: samples[n / 2],
        p99: samples[(n * 99 / 100).min(n - 1)],
        max: samples[n - 1],
    }
}

/// Operations per timed batch: enough that the timer's own cost vanishes.
const BATCH: usize = 1_000;

/// What one benchmark measured: per-operation samples (for percentiles) and
/// the fastest batch's time per operation (for comparing runs).
struct Measured {
    samples: Vec<u64>,
    batched_ns: f64,
}

/// Runs `op` `warmup` times untimed, then `iters` times in timed batches, then
/// `iters` times timed individually. The fastest batch is the least disturbed
/// by other work on the machine, so it is the figure runs are compared by.
fn measure(warmup: usize, iters: usize, overhead: u64, mut op: impl FnMut(usize)) -> Measured {
    for i in 0..warmup {
        op(i);
    }
    let mut batched_ns = f64::INFINITY;
    let mut i = warmup;
    for _ in 0..(iters / BATCH).max(1) {
        let start = Instant::now();
        for _ in 0..BATCH {
            op(i);
            i += 1;
        }
        batched_ns = batched_ns.min(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let mut samples = Vec::with_capacity(iters);
    for i in i..i + iters {
        let start = Instant::now();
        op(i);
        let elapsed = start.elapsed().as_nanos();
        let elapsed = u64::try_from(elapsed).unwrap_or(u64::MAX);
        samples.push(elapsed.saturating_sub(overhead));
    }
    Measured {
        samples,
        batched_ns,
    }
}

/// Median cost of timing an empty region.
fn timer_overhead() -> u64 {
    let mut samples = measure(1_000, 20_000, 0, |i| {
        black_box(i);
    })
    .samples;
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn bench_order_handling(warmup: usize, iters: usize, overhead: u64) -> Measured {
    const CENTER: i64 = 100_000;
    let mut book = OrderBook::with_capacity(256, 4_096);
    let mut fills: Vec<Fill> = Vec::with_capacity(64);
    let mut next_id = 1u64;
    // Seed 50 levels per side, 4 orders of 10 lots each.
    for depth in 1..=50 {
        for _ in 0..4 {
            for (side, price) in [(Side::Buy, CENTER - depth), (Side::Sell, CENTER + depth)] {
                book.submit(Order::limit(next_id, side, price, 10), &mut fills)
                    .expect("seed order");
                next_id += 1;
            }
        }
    }
    let mut rng = SplitMix64::new(7);
    // Cycle: rest a bid, take the best bid, rest an ask, take the best ask.
    // Adds and takes balance, so the book size stays constant.
    measure(warmup, iters, overhead, |i| {
        let offset = 1 + rng.below(20) as i64;
        let order = match i % 4 {
            0 => Order::limit(next_id, Side::Buy, CENTER - offset, 10),
            1 => Order::ioc(next_id, Side::Sell, 1, 10),
            2 => Order::limit(next_id, Side::Sell, CENTER + offset, 10),
            _ => Order::ioc(next_id, Side::Buy, i64::MAX, 10),
        };
        next_id += 1;
        fills.clear();
        let exec = book.submit(black_box(order), &mut fills);
        black_box(exec).expect("valid order");
    })
}

fn bench_risk_check(warmup: usize, iters: usize, overhead: u64) -> Measured {
    let mut risk = RiskEngine::new(RiskLimits {
        max_position: 1_000,
        max_daily_loss: 1_000_000,
        max_order_qty: 100,
    });
    risk.on_fill(Side::Buy, 100_000, 40);
    risk.on_mark(100_010);
    measure(warmup, iters, overhead, |i| {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let qty = 1 + (i % 100) as u64;
        let result = risk.check_order(black_box(side), black_box(qty));
        let _ = black_box(result);
    })
}

fn bench_tick_to_trade(warmup: usize, iters: usize, overhead: u64) -> Measured {
    let mut engine = Engine::new(EngineConfig {
        limits: RiskLimits {
            max_position: 200,
            max_daily_loss: i64::MAX / 2,
            max_order_qty: 50,
        },
        ..EngineConfig::default()
    })
    .expect("valid engine config");
    let mut sim = MarketSim::new(42, 100_000);
    let batched = (iters / BATCH).max(1) * BATCH;
    let events: Vec<_> = sim.by_ref().take(warmup + batched + iters).collect();
    measure(warmup, iters, overhead, |i| {
        let report = engine.on_event(black_box(&events[i]));
        black_box(report);
    })
}

fn iterations(bench_mode: bool) -> Result<usize, String> {
    match std::env::var("SHRIVEN_BENCH_ITERS") {
        Ok(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "SHRIVEN_BENCH_ITERS must be a positive integer, got {raw:?}"
            )),
        },
        Err(std::env::VarError::NotPresent) => Ok(if bench_mode {
            DEFAULT_ITERS
        } else {
            SMOKE_ITERS
        }),
        Err(e) => Err(format!("SHRIVEN_BENCH_ITERS: {e}")),
    }
}

fn to_bmf(results: &[Summary]) -> String {
    let mut json = String::from("{\n");
    for (i, r) in results.iter().enumerate() {
        let sep = if i + 1 == results.len() { "" } else { "," };
        let _ = writeln!(
            json,
            "  \"{}\": {{\"latency\": {{\"value\": {:.1}, \"lower_value\": {:.1}, \"upper_value\": {:.1}}}}}{sep}",
            r.name, r.batched, r.p50 as f64, r.p99 as f64
        );
    }
    json.push_str("}\n");
    json
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let iters = match iterations(bench_mode) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let warmup = (iters / 10).max(1_000);
    let started = Instant::now();
    let overhead = timer_overhead();

    let results = [
        summarize(
            "order_handling",
            bench_order_handling(warmup, iters, overhead),
        ),
        summarize("risk_check", bench_risk_check(warmup, iters, overhead)),
        summarize(
            "tick_to_trade",
            bench_tick_to_trade(warmup, iters, overhead),
        ),
    ];

    println!(
        "latency benchmark: {iters} iterations, {warmup} warm-up, timer overhead {overhead} ns (subtracted)"
    );
    println!(
        "{:<16} {:>10} {:>10} {:>11} {:>8} {:>8} {:>10}",
        "benchmark", "iters", "mean ns", "batched ns", "p50 ns", "p99 ns", "max ns"
    );
    for r in &results {
        println!(
            "{:<16} {:>10} {:>10.1} {:>11.1} {:>8} {:>8} {:>10}",
            r.name, r.iters, r.mean, r.batched, r.p50, r.p99, r.max
        );
    }
    println!("total time {:.3} s", started.elapsed().as_secs_f64());

    if let Some(path) = std::env::var_os("SHRIVEN_BENCH_JSON") {
        if let Err(e) = std::fs::write(&path, to_bmf(&results)) {
            eprintln!(
                "error: cannot write {}: {e}",
                std::path::Path::new(&path).display()
            );
            return ExitCode::FAILURE;
        }
        println!("wrote {}", std::path::Path::new(&path).display());
    }
    ExitCode::SUCCESS
}
