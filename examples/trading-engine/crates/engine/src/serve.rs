//! The `serve` command: the engine trading on its simulated market, observed
//! over HTTP in the Prometheus text format (version 0.0.4).
//!
//! One thread feeds [`MarketSim`] events through [`Engine::on_event`] at a
//! steady pace (`--events-per-second`) and records, after every event, the
//! time the engine spent on it and the engine's counters. The main thread
//! accepts HTTP connections on a std-only [`TcpListener`] and hands them to
//! [`HTTP_WORKERS`] threads started with it (at most [`MAX_CONNECTIONS`]
//! waiting; more are refused with 503):
//!
//! - `GET /metrics`: the metrics below, `text/plain; version=0.0.4`;
//! - `GET /health`: `200 ok`.
//!
//! Requests whose head exceeds [`MAX_REQUEST_BYTES`] are refused with 431;
//! every connection is closed after one response.
//!
//! Metrics: `shriven_order_latency_seconds` (summary; quantiles 0.5 and 0.99
//! over the last [`LATENCY_WINDOW`] events), `shriven_order_latency_distribution_seconds`
//! (histogram over every event, buckets [`LATENCY_BUCKETS`]),
//! `shriven_process_resident_memory_bytes`
//! (from `/proc/self/statm`), `shriven_events_total`, `shriven_errors_total`
//! (invalid market events and orders the venue refused; risk rejects are the
//! risk engine doing its job, not errors), `shriven_orders_total`,
//! `shriven_risk_limit_utilization_ratio` (absolute position over the maximum
//! position), `shriven_pnl_realized_quote` and `shriven_pnl_unrealized_quote`
//! (P&L in quote-currency units: in the simulated market a price tick is one
//! quote unit, so P&L is ticks times lots), `shriven_heartbeat_timestamp_seconds`
//! (Unix time of the last market event processed), `shriven_connected` (1
//! while the engine consumes market data) and `shriven_panics_total`.
//!
//! The fault-injection options of [`ServeOptions`] (`--inject-latency-us`,
//! `--leak-bytes-per-second`, `--error-every`) are test aids for the
//! post-deploy monitor.

use std::error::Error;
use std::fmt::{self, Write as _};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use engine::cli::{ServeOptions, TradingMode};
use engine::risk::RiskLimits;
use engine::sim::MarketSim;
use engine::strategy::MarketMakerConfig;
use engine::{Engine, EngineConfig, EngineError, EngineStats};

/// Largest accepted request head (request line and headers), in bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Events the latency quantiles are computed over.
pub const LATENCY_WINDOW: usize = 4096;
/// Upper bounds of the latency histogram's buckets: `le` label and
/// nanoseconds (a value equal to a bound is counted in its bucket). They
/// resolve the alert thresholds of 100, 150 and 200 µs; `+Inf` follows.
pub const LATENCY_BUCKETS: [(&str, u64); 8] = [
    ("0.000025", 25_000),
    ("0.00005", 50_000),
    ("0.0001", 100_000),
    ("0.00015", 150_000),
    ("0.0002", 200_000),
    ("0.0005", 500_000),
    ("0.001", 1_000_000),
    ("0.005", 5_000_000),
];
/// Threads answering HTTP, all started with the server: the number of scrapes
/// never changes the process's threads or memory.
pub const HTTP_WORKERS: usize = 4;
/// Connections waiting for a worker; more are refused with 503.
pub const MAX_CONNECTIONS: usize = 32;
/// `Content-Type` of `/metrics`.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Timeout of every read and write on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// A request head must arrive completely within this time.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// After answering, unread input up to this size is drained before closing,
/// so the client reads the response instead of a connection reset.
const LINGER_BYTES: usize = 256 * 1024;
/// Starting mid price of the simulated market, in ticks.
const START_MID: i64 = 10_000;
/// The memory-leak test aid grows memory in steps of this size.
const LEAK_CHUNK: u64 = 64 * 1024;

/// Panics anywhere in the process, counted by the hook [`run_serve`] installs.
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Why `serve` could not start.
#[derive(Debug)]
pub enum ServeError {
    /// The engine could not be configured.
    Engine(EngineError),
    /// The listen address is not loopback and `--listen-any` was not given.
    NotLoopback(SocketAddr),
    /// Binding the listener failed.
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// The engine thread could not be started.
    Thread(io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine(e) => write!(f, "cannot configure the engine: {e}"),
            Self::NotLoopback(addr) => write!(
                f,
                "refusing to listen on {addr}: not a loopback address (add --listen-any)"
            ),
            Self::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::Thread(e) => write!(f, "cannot start the engine thread: {e}"),
        }
    }
}

impl Error for ServeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Engine(e) => Some(e),
            Self::Listen { source, .. } => Some(source),
            Self::Thread(e) => Some(e),
            Self::NotLoopback(_) => None,
        }
    }
}

/// Runs the engine and serves its metrics until the process is killed (or
/// `--max-seconds` pass). `on_listening` is told the bound address (useful
/// with port 0) once the listener accepts connections.
///
/// # Errors
///
/// Returns a [`ServeError`] when the engine cannot be configured or the
/// listener cannot be bound.
pub fn run_serve(
    options: &ServeOptions,
    limits: RiskLimits,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    if !options.listen_any && !options.listen.ip().is_loopback() {
        return Err(ServeError::NotLoopback(options.listen));
    }
    let engine = Engine::new(engine_config(limits)).map_err(ServeError::Engine)?;
    let listen_error = |source| ServeError::Listen {
        addr: options.listen,
        source,
    };
    let listener = TcpListener::bind(options.listen).map_err(listen_error)?;
    let local = listener.local_addr().map_err(listen_error)?;

    count_panics();
    let metrics = Arc::new(Mutex::new(EngineMetrics::in_mode(options.trading_mode)));
    let engine_metrics = Arc::clone(&metrics);
    let engine_options = *options;
    thread::Builder::new()
        .name("engine".to_owned())
        .spawn(move || {
            run_engine(
                engine,
                &engine_options,
                limits.max_position,
                &engine_metrics,
            )
        })
        .map_err(ServeError::Thread)?;
    if let Some(seconds) = options.max_seconds {
        thread::spawn(move || {
            thread::sleep(Duration::from_secs(seconds));
            std::process::exit(0);
        });
    }

    on_listening(local);
    serve_http(&listener, &metrics, page_size());
    Ok(())
}

/// The demo's engine: the strategy's inventory cap is lowered to the risk
/// position limit, so quotes shrink near the limit instead of being rejected.
fn engine_config(limits: RiskLimits) -> EngineConfig {
    let defaults = MarketMakerConfig::default();
    EngineConfig {
        limits,
        strategy: MarketMakerConfig {
            max_inventory: defaults.max_inventory.min(limits.max_position),
            ..defaults
        },
        ..EngineConfig::default()
    }
}

/// Counts every panic of the process, then reports it as before.
fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::Relaxed);
        previous(info);
    }));
}

fn lock(metrics: &Mutex<EngineMetrics>) -> MutexGuard<'_, EngineMetrics> {
    metrics.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks the engine disconnected when its thread ends, also by a panic.
struct Disconnect<'a>(&'a Mutex<EngineMetrics>);

impl Drop for Disconnect<'_> {
    fn drop(&mut self) {
        lock(self.0).connected = false;
    }
}

/// The engine thread: paced market events, one measurement per event.
fn run_engine(
    mut engine: Engine,
    options: &ServeOptions,
    max_position: u64,
    metrics: &Mutex<EngineMetrics>,
) {
    let _disconnect = Disconnect(metrics);
    let inject = Duration::from_micros(options.inject_latency_us);
    let started = Instant::now();
    let mut leaked: Vec<Vec<u8>> = Vec::new();
    let mut leaked_bytes: u64 = 0;
    let mut injected_errors: u64 = 0;
    let sim = MarketSim::new(options.seed, START_MID);
    for (index, event) in (0_u64..).zip(sim) {
        pace(started, index, options.events_per_second);
        let t0 = Instant::now();
        engine.on_event(&event);
        if !inject.is_zero() {
            while t0.elapsed() < inject {
                std::hint::spin_loop();
            }
        }
        let elapsed = t0.elapsed();

        if options.error_every > 0 && (index + 1) % options.error_every == 0 {
            injected_errors += 1;
        }
        if options.leak_bytes_per_second > 0 {
            let due = options.leak_bytes_per_second as f64 * started.elapsed().as_secs_f64();
            while (leaked_bytes + LEAK_CHUNK) as f64 <= due {
                // A non-zero fill touches every page, so resident memory grows.
                leaked.push(vec![0xA5; LEAK_CHUNK as usize]);
                leaked_bytes += LEAK_CHUNK;
            }
            std::hint::black_box(&leaked);
        }
        let gauges = Gauges {
            risk_utilization: if max_position == 0 {
                0.0
            } else {
                engine.position().unsigned_abs() as f64 / max_position as f64
            },
            realized_pnl: engine.risk().realised_pnl(),
            unrealized_pnl: engine.risk().unrealised_pnl(),
            heartbeat_unix_seconds: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64()),
        };
        lock(metrics).record(elapsed, engine.stats(), injected_errors, gauges);
    }
}

/// Sleeps until event `index` is due at `per_second` events per second.
fn pace(started: Instant, index: u64, per_second: u64) {
    let nanos = u128::from(index) * 1_000_000_000 / u128::from(per_second.max(1));
    let due = started + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
    let now = Instant::now();
    if due > now {
        thread::sleep(due - now);
    }
}

/// The engine's state after an event, as `/metrics` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gauges {
    /// Absolute position over the maximum position, 0 to 1.
    pub risk_utilization: f64,
    /// Realised P&L, in quote-currency units (ticks times lots).
    pub realized_pnl: i64,
    /// Unrealised P&L of the open position at the mark price, same units.
    pub unrealized_pnl: i64,
    /// Unix time (seconds) the event was processed at: the heartbeat.
    pub heartbeat_unix_seconds: f64,
}

/// What `/metrics` reports; updated by the engine thread after every event.
#[derive(Debug, Clone)]
pub struct EngineMetrics {
    /// Ring buffer of the latest per-event processing times (ns); the
    /// first `filled` slots hold measurements.
    latencies_ns: Vec<u64>,
    filled: usize,
    /// Next slot of the ring buffer.
    next: usize,
    latency_sum_seconds: f64,
    latency_count: u64,
    /// Events per histogram bucket (not cumulative), one slot per
    /// [`LATENCY_BUCKETS`] bound; those above the last are only in the count.
    latency_buckets: [u64; LATENCY_BUCKETS.len()],
    events: u64,
    errors: u64,
    orders: u64,
    gauges: Gauges,
    connected: bool,
    trading_mode: TradingMode,
}

impl EngineMetrics {
    /// No events yet; connected.
    #[must_use]
    pub fn new() -> Self {
        Self {
            // Written out in full now, so filling the window later does not
            // show as memory growth to the post-deploy monitor.
            latencies_ns: vec![u64::MAX; LATENCY_WINDOW],
            filled: 0,
            next: 0,
            latency_sum_seconds: 0.0,
            latency_count: 0,
            latency_buckets: [0; LATENCY_BUCKETS.len()],
            events: 0,
            errors: 0,
            orders: 0,
            gauges: Gauges::default(),
            connected: true,
            trading_mode: TradingMode::Paper,
        }
    }

    /// No events yet, trading in `mode`.
    #[must_use]
    pub fn in_mode(mode: TradingMode) -> Self {
        Self {
            trading_mode: mode,
            ..Self::new()
        }
    }

    /// Records one processed event.
    pub fn record(
        &mut self,
        elapsed: Duration,
        stats: &EngineStats,
        injected_errors: u64,
        gauges: Gauges,
    ) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.latencies_ns[self.next] = ns;
        self.next = (self.next + 1) % LATENCY_WINDOW;
        self.filled = (self.filled + 1).min(LATENCY_WINDOW);
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|&(_, le)| ns <= le) {
            self.latency_buckets[bucket] += 1;
        }
        self.latency_sum_seconds += elapsed.as_secs_f64();
        self.latency_count += 1;
        self.events = stats.events;
        self.errors = stats.invalid_events + stats.rejects.book + injected_errors;
        self.orders = stats.orders_submitted;
        self.gauges = gauges;
    }

    /// The metrics in the Prometheus text format; the resident-memory family
    /// is left out when it could not be read.
    #[must_use]
    pub fn render(&self, resident_bytes: Option<u64>, panics: u64) -> String {
        // A copy of the whole window (not just the filled part), so the
        // memory a scrape touches does not grow while the window fills.
        let mut window = self.latencies_ns.clone();
        let sorted = &mut window[..self.filled];
        sorted.sort_unstable();
        let sorted = &*sorted;
        let mut out = String::with_capacity(4096);
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "shriven_order_latency_seconds",
            "summary",
            "Engine processing time per market event (order book, strategy, risk check), quantiles over the last 4096 events.",
        );
        let mut lines = String::new();
        for (label, q) in [("0.5", 0.5), ("0.99", 0.99)] {
            let value = quantile_ns(sorted, q).map_or(f64::NAN, |ns| ns as f64 / 1e9);
            let _ = writeln!(
                lines,
                "shriven_order_latency_seconds{{quantile=\"{label}\"}} {}",
                prom_float(value)
            );
        }
        let _ = writeln!(
            lines,
            "shriven_order_latency_seconds_sum {}\nshriven_order_latency_seconds_count {}",
            prom_float(self.latency_sum_seconds),
            self.latency_count
        );
        out.push_str(&lines);
        self.render_histogram(&mut out);

        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        if let Some(bytes) = resident_bytes {
            metric(
                "shriven_process_resident_memory_bytes",
                "gauge",
                "Resident memory of the process in bytes (from /proc/self/statm).",
                bytes.to_string(),
            );
        }
        metric(
            "shriven_events_total",
            "counter",
            "Market events processed.",
            self.events.to_string(),
        );
        metric(
            "shriven_errors_total",
            "counter",
            "Invalid market events and orders the venue refused (risk rejects are not errors).",
            self.errors.to_string(),
        );
        metric(
            "shriven_orders_total",
            "counter",
            "Orders sent to the venue.",
            self.orders.to_string(),
        );
        metric(
            "shriven_risk_limit_utilization_ratio",
            "gauge",
            "Absolute position over the maximum position (0 to 1).",
            prom_float(self.gauges.risk_utilization),
        );
        metric(
            "shriven_pnl_realized_quote",
            "gauge",
            "Realised P&L in quote-currency units (price ticks times lots).",
            self.gauges.realized_pnl.to_string(),
        );
        metric(
            "shriven_pnl_unrealized_quote",
            "gauge",
            "Unrealised P&L of the open position at the mark price, in quote-currency units.",
            self.gauges.unrealized_pnl.to_string(),
        );
        metric(
            "shriven_heartbeat_timestamp_seconds",
            "gauge",
            "Unix time of the last market event the engine processed (0 before the first).",
            prom_float(self.gauges.heartbeat_unix_seconds),
        );
        metric(
            "shriven_connected",
            "gauge",
            "1 while the engine consumes market data, 0 once it stopped.",
            u8::from(self.connected).to_string(),
        );
        metric(
            "shriven_panics_total",
            "counter",
            "Panics in the process.",
            panics.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP shriven_trading_mode The TRADING_MODE the engine runs in (1 for its mode).\n\
             # TYPE shriven_trading_mode gauge\n\
             shriven_trading_mode{{mode=\"{}\"}} 1",
            self.trading_mode.as_str()
        );
        out
    }

    /// The latency histogram: cumulative buckets, `+Inf` equal to the count.
    fn render_histogram(&self, out: &mut String) {
        const NAME: &str = "shriven_order_latency_distribution_seconds";
        let _ = writeln!(
            out,
            "# HELP {NAME} Engine processing time per market event (order book, strategy, risk check), every event since the start.\n# TYPE {NAME} histogram"
        );
        let mut cumulative = 0;
        for ((le, _), count) in LATENCY_BUCKETS.iter().zip(self.latency_buckets) {
            cumulative += count;
            let _ = writeln!(out, "{NAME}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(
            out,
            "{NAME}_bucket{{le=\"+Inf\"}} {count}\n{NAME}_sum {}\n{NAME}_count {count}",
            prom_float(self.latency_sum_seconds),
            count = self.latency_count
        );
    }
}

impl Default for EngineMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Nearest-rank quantile of sorted values; `None` when there are none.
fn quantile_ns(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A float as Prometheus writes it (`NaN`, `+Inf`, `-Inf`, plain decimals).
fn prom_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        value.to_string()
    }
}

/// The process's resident memory: resident pages of `/proc/self/statm`
/// times the page size.
fn resident_bytes(page_size: u64) -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_ascii_whitespace().nth(1)?.parse().ok()?;
    pages.checked_mul(page_size)
}

/// The page size from the auxiliary vector (`AT_PAGESZ`), else 4096.
fn page_size() -> u64 {
    const AT_PAGESZ: usize = 6;
    const WORD: usize = std::mem::size_of::<usize>();
    let Ok(auxv) = std::fs::read("/proc/self/auxv") else {
        return 4096;
    };
    let word = |bytes: &[u8]| <[u8; WORD]>::try_from(bytes).map(usize::from_ne_bytes);
    for pair in auxv.chunks_exact(2 * WORD) {
        if let (Ok(AT_PAGESZ), Ok(size)) = (word(&pair[..WORD]), word(&pair[WORD..])) {
            if size > 0 {
                return size as u64;
            }
        }
    }
    4096
}

/// Accepts connections forever, one thread per connection.
fn serve_http(listener: &TcpListener, metrics: &Arc<Mutex<EngineMetrics>>, page_size: u64) {
    let (queue, waiting) = mpsc::sync_channel::<TcpStream>(MAX_CONNECTIONS);
    let waiting = Arc::new(Mutex::new(waiting));
    for _ in 0..HTTP_WORKERS {
        let waiting = Arc::clone(&waiting);
        let metrics = Arc::clone(metrics);
        let _ = thread::Builder::new()
            .name("http".to_owned())
            .spawn(move || {
                // One render before the first request: the allocator sets this thread up now, so
                // answering scrapes later never shows as memory growth to the post-deploy monitor.
                drop(lock(&metrics).render(resident_bytes(page_size), 0));
                loop {
                    let next = waiting
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    let Ok(stream) = next else { return };
                    let _ = handle_connection(stream, &metrics, page_size);
                }
            });
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors and the like: back off instead of spinning.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        if let Err(TrySendError::Full(stream) | TrySendError::Disconnected(stream)) =
            queue.try_send(stream)
        {
            let busy = Response::text(503, "Service Unavailable", "too many connections\n");
            let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
            let _ = (&stream).write_all(&busy.to_bytes());
        }
    }
}

fn handle_connection(
    mut stream: TcpStream,
    metrics: &Mutex<EngineMetrics>,
    page_size: u64,
) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let response = match read_request_head(&mut stream)? {
        Head::Complete(head) => route(&head, || {
            let snapshot = lock(metrics).clone();
            snapshot.render(resident_bytes(page_size), PANICS.load(Ordering::Relaxed))
        }),
        Head::TooLarge => Response::text(
            431,
            "Request Header Fields Too Large",
            "request head larger than 8192 bytes\n",
        ),
        Head::TimedOut => Response::text(408, "Request Timeout", "request incomplete\n"),
        Head::Closed => return Ok(()),
    };
    stream.write_all(&response.to_bytes())?;
    stream.flush()?;
    // Lingering close: without draining, unread input turns the close into a
    // reset that can destroy the response before the client reads it.
    stream.shutdown(Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut sink = [0_u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

/// The outcome of reading a request head.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// The head, up to and including its blank line.
    Complete(Vec<u8>),
    /// The head exceeded [`MAX_REQUEST_BYTES`].
    TooLarge,
    /// The head did not arrive in time.
    TimedOut,
    /// The client closed the connection before completing a head.
    Closed,
}

/// Reads a request head (request line and headers), at most
/// [`MAX_REQUEST_BYTES`]; the body, if any, is never read.
///
/// # Errors
///
/// Returns read errors other than timeouts.
pub fn read_request_head(stream: &mut impl Read) -> io::Result<Head> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0_u8; 1024];
    loop {
        if let Some(end) = head_end(&head) {
            if end > MAX_REQUEST_BYTES {
                return Ok(Head::TooLarge);
            }
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() > MAX_REQUEST_BYTES {
            return Ok(Head::TooLarge);
        }
        if Instant::now() >= deadline {
            return Ok(Head::TimedOut);
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(Head::Closed),
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Head::TimedOut);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Index just past the blank line ending a head (`\r\n\r\n`, or `\n\n`).
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// An HTTP response; the connection is closed after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Answer to `HEAD`: headers only.
    pub head_only: bool,
    /// Send `Allow: GET, HEAD` (with 405).
    pub allow: bool,
}

impl Response {
    /// A plain-text response.
    #[must_use]
    pub fn text(status: u16, reason: &'static str, body: &str) -> Self {
        Self {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            head_only: false,
            allow: false,
        }
    }

    /// Status line, headers and body.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.allow {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        if !self.head_only {
            out.push_str(&self.body);
        }
        out.into_bytes()
    }
}

/// Answers a request head; `metrics` renders the `/metrics` body.
pub fn route(head: &[u8], metrics: impl FnOnce() -> String) -> Response {
    let bad = || Response::text(400, "Bad Request", "malformed request\n");
    let Ok(head) = std::str::from_utf8(head) else {
        return bad();
    };
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad();
    };
    if !version.starts_with("HTTP/1.") {
        return bad();
    }
    let path = target.split('?').next().unwrap_or(target);
    let head_only = method == "HEAD";
    let mut response = match (method, path) {
        ("GET" | "HEAD", "/metrics") => Response {
            content_type: METRICS_CONTENT_TYPE,
            ..Response::text(200, "OK", &metrics())
        },
        ("GET" | "HEAD", "/health") => Response::text(200, "OK", "ok\n"),
        (_, "/metrics" | "/health") => Response {
            allow: true,
            ..Response::text(405, "Method Not Allowed", "only GET and HEAD\n")
        },
        _ => Response::text(404, "Not Found", "not found; try /metrics or /health\n"),
    };
    response.head_only = head_only;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn metrics_with(latencies_us: &[u64]) -> EngineMetrics {
        let mut m = EngineMetrics::new();
        let stats = EngineStats {
            events: 10,
            invalid_events: 1,
            orders_submitted: 4,
            ..EngineStats::default()
        };
        for us in latencies_us {
            m.record(
                Duration::from_micros(*us),
                &stats,
                2,
                Gauges {
                    risk_utilization: 0.25,
                    realized_pnl: -40,
                    unrealized_pnl: 15,
                    heartbeat_unix_seconds: 1_764_000_000.5,
                },
            );
        }
        m
    }

    fn value_of(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
            .to_owned()
    }

    #[test]
    fn quantiles_are_nearest_rank_over_the_window() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile_ns(&values, 0.5), Some(50));
        assert_eq!(quantile_ns(&values, 0.99), Some(99));
        assert_eq!(quantile_ns(&[7], 0.99), Some(7));
        assert_eq!(quantile_ns(&[], 0.5), None);

        let text = metrics_with(&(1..=100).collect::<Vec<_>>()).render(Some(4096), 0);
        let q = "shriven_order_latency_seconds{quantile=";
        assert_eq!(value_of(&text, &format!("{q}\"0.5\"}}")), "0.00005");
        assert_eq!(value_of(&text, &format!("{q}\"0.99\"}}")), "0.000099");
        assert_eq!(
            value_of(&text, "shriven_order_latency_seconds_count"),
            "100"
        );
        assert_eq!(value_of(&text, "shriven_errors_total"), "3");
        assert_eq!(value_of(&text, "shriven_events_total"), "10");
        assert_eq!(value_of(&text, "shriven_orders_total"), "4");
        assert_eq!(
            value_of(&text, "shriven_risk_limit_utilization_ratio"),
            "0.25"
        );
        assert_eq!(
            value_of(&text, "shriven_process_resident_memory_bytes"),
            "4096"
        );
        assert_eq!(value_of(&text, "shriven_connected"), "1");
        assert_eq!(value_of(&text, "shriven_panics_total"), "0");
    }

    #[test]
    fn the_window_slides() {
        let mut m = metrics_with(&[1_000; LATENCY_WINDOW]);
        let stats = EngineStats::default();
        for _ in 0..LATENCY_WINDOW {
            m.record(Duration::from_micros(1), &stats, 0, Gauges::default());
        }
        let text = m.render(None, 0);
        assert_eq!(
            value_of(&text, "shriven_order_latency_seconds{quantile=\"0.99\"}"),
            "0.000001"
        );
        assert_eq!(
            value_of(&text, "shriven_order_latency_seconds_count"),
            (2 * LATENCY_WINDOW).to_string()
        );
    }

    #[test]
    fn the_histogram_counts_cumulatively_with_bounds_inclusive() {
        let ns = |ns: u64| Duration::from_nanos(ns);
        let mut m = EngineMetrics::new();
        let stats = EngineStats::default();
        for elapsed in [
            ns(1),
            ns(25_000),
            ns(25_001),
            ns(100_000),
            ns(100_001),
            ns(150_000),
            ns(199_999),
            ns(200_000),
            ns(200_001),
            ns(5_000_000),
            ns(5_000_001),
            Duration::from_secs(3),
        ] {
            m.record(elapsed, &stats, 0, Gauges::default());
        }
        let text = m.render(None, 0);
        let bucket = |le: &str| {
            value_of(
                &text,
                &format!("shriven_order_latency_distribution_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        let expected = [
            ("0.000025", "2"),
            ("0.00005", "3"),
            ("0.0001", "4"),
            ("0.00015", "6"),
            ("0.0002", "8"),
            ("0.0005", "9"),
            ("0.001", "9"),
            ("0.005", "10"),
            ("+Inf", "12"),
        ];
        for (le, count) in expected {
            assert_eq!(bucket(le), count, "le={le}\n{text}");
        }
        assert_eq!(
            value_of(&text, "shriven_order_latency_distribution_seconds_count"),
            "12"
        );
        let sum: f64 = value_of(&text, "shriven_order_latency_distribution_seconds_sum")
            .parse()
            .unwrap();
        assert!((sum - 3.011_000_004).abs() < 1e-9, "{sum}");
        assert_eq!(
            value_of(&text, "shriven_order_latency_seconds_count"),
            "12",
            "the summary counts the same events"
        );
        // Buckets come in increasing order, each line once, before _sum and _count.
        let les: Vec<&str> = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("shriven_order_latency_distribution_seconds_bucket{le=\"")
            })
            .filter_map(|l| l.split('"').next())
            .collect();
        assert_eq!(les, expected.map(|(le, _)| le));
    }

    #[test]
    fn pnl_and_heartbeat_gauges_show_the_latest_event() {
        let mut m = metrics_with(&[10]);
        let text = m.render(None, 0);
        assert_eq!(value_of(&text, "shriven_pnl_realized_quote"), "-40");
        assert_eq!(value_of(&text, "shriven_pnl_unrealized_quote"), "15");
        assert_eq!(
            value_of(&text, "shriven_heartbeat_timestamp_seconds"),
            "1764000000.5"
        );
        let later = Gauges {
            risk_utilization: 0.5,
            realized_pnl: i64::MAX,
            unrealized_pnl: i64::MIN,
            heartbeat_unix_seconds: 1_764_000_001.25,
        };
        m.record(Duration::from_micros(1), &EngineStats::default(), 0, later);
        let text = m.render(None, 0);
        assert_eq!(
            value_of(&text, "shriven_pnl_realized_quote"),
            i64::MAX.to_string()
        );
        assert_eq!(
            value_of(&text, "shriven_pnl_unrealized_quote"),
            i64::MIN.to_string()
        );
        assert_eq!(
            value_of(&text, "shriven_heartbeat_timestamp_seconds"),
            "1764000001.25"
        );
        assert_eq!(
            value_of(&text, "shriven_risk_limit_utilization_ratio"),
            "0.5"
        );
        for family in [
            "shriven_pnl_realized_quote gauge",
            "shriven_pnl_unrealized_quote gauge",
            "shriven_heartbeat_timestamp_seconds gauge",
            "shriven_order_latency_distribution_seconds histogram",
        ] {
            assert!(text.contains(&format!("# TYPE {family}\n")), "{family}");
        }
    }

    #[test]
    fn empty_window_and_missing_memory() {
        let text = EngineMetrics::new().render(None, 3);
        assert_eq!(
            value_of(&text, "shriven_order_latency_seconds{quantile=\"0.5\"}"),
            "NaN"
        );
        assert!(!text.contains("resident_memory"), "{text}");
        assert_eq!(value_of(&text, "shriven_panics_total"), "3");
        assert_eq!(prom_float(f64::INFINITY), "+Inf");
        assert_eq!(prom_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(prom_float(1e-7), "0.0000001");
        let families = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        assert_eq!(
            families,
            text.lines().filter(|l| l.starts_with("# HELP ")).count()
        );
        assert_eq!(families, 12);
        assert_eq!(value_of(&text, "shriven_heartbeat_timestamp_seconds"), "0");
        assert_eq!(value_of(&text, "shriven_pnl_realized_quote"), "0");
        assert_eq!(
            value_of(
                &text,
                "shriven_order_latency_distribution_seconds_bucket{le=\"+Inf\"}"
            ),
            "0"
        );
        assert!(
            text.contains("shriven_trading_mode{mode=\"paper\"} 1"),
            "{text}"
        );
        let live = EngineMetrics::in_mode(TradingMode::Live).render(None, 0);
        assert!(
            live.contains("shriven_trading_mode{mode=\"live\"} 1"),
            "{live}"
        );
    }

    #[test]
    fn routes() {
        let get = |target: &str| {
            route(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes(), || {
                "m".to_owned()
            })
        };
        let health = get("/health");
        assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
        let metrics = get("/metrics?x=1");
        assert_eq!(
            (metrics.status, metrics.content_type, metrics.body.as_str()),
            (200, METRICS_CONTENT_TYPE, "m")
        );
        assert_eq!(get("/").status, 404);
        let post = route(b"POST /metrics HTTP/1.1\r\n\r\n", String::new);
        assert_eq!(post.status, 405);
        assert!(String::from_utf8(post.to_bytes())
            .unwrap()
            .contains("\r\nAllow: GET, HEAD\r\n"));
        let head = route(b"HEAD /health HTTP/1.0\r\n\r\n", String::new);
        let bytes = String::from_utf8(head.to_bytes()).unwrap();
        assert!(
            bytes.contains("Content-Length: 3\r\n") && bytes.ends_with("\r\n\r\n"),
            "{bytes}"
        );
        for bad in [
            &b"GET /metrics\r\n\r\n"[..],
            b"GET /metrics SPDY/3\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"\r\n\r\n",
            b"GET / HTTP/1.1 x\r\n\r\n",
        ] {
            assert_eq!(route(bad, String::new).status, 400, "{bad:?}");
        }
    }

    #[test]
    fn request_heads_are_bounded() {
        let read = |bytes: Vec<u8>| read_request_head(&mut Cursor::new(bytes)).unwrap();
        assert_eq!(
            read(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody".to_vec()),
            Head::Complete(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
        );
        assert_eq!(
            read(b"GET / HTTP/1.0\n\n".to_vec()),
            Head::Complete(b"GET / HTTP/1.0\n\n".to_vec())
        );
        assert_eq!(read(b"GET / HTTP/1.1\r\nHost".to_vec()), Head::Closed);
        let mut big = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        big.resize(MAX_REQUEST_BYTES + 10, b'a');
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(read(big), Head::TooLarge);
        let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
        endless.resize(10 * MAX_REQUEST_BYTES, b'a');
        assert_eq!(read(endless), Head::TooLarge);
        let mut exact = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        exact.resize(MAX_REQUEST_BYTES - 4, b'a');
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(matches!(read(exact), Head::Complete(h) if h.len() == MAX_REQUEST_BYTES));
    }

    #[test]
    fn memory_is_read_from_proc() {
        let size = page_size();
        assert!(size.is_power_of_two() && size >= 4096, "{size}");
        if std::path::Path::new("/proc/self/statm").exists() {
            assert!(resident_bytes(size).is_some_and(|b| b > 0));
        }
    }

    #[test]
    fn refuses_non_loopback_before_binding() {
        let options = ServeOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..ServeOptions::default()
        };
        let err = run_serve(&options, RiskLimits::default(), |_| {}).unwrap_err();
        assert!(matches!(err, ServeError::NotLoopback(_)), "{err}");
        assert!(err.to_string().contains("--listen-any"));
    }
}
