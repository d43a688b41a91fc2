//! Runs `shriven-quant serve` and talks HTTP to it over loopback: the metrics
//! parse as the Prometheus text format, `/health` answers, oversized requests
//! are refused, and the fault-injection test aids show in the metrics.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A running `serve`; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shriven-quant"))
            .args(["serve", "--listen", "127.0.0.1:0", "--max-seconds", "120"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn shriven-quant serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let line = rx.recv_timeout(TIMEOUT).expect("serve prints its address");
        let addr = line
            .trim()
            .strip_prefix("shriven-quant serve: listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("a socket address");
        Self { child, addr }
    }

    /// Sends raw bytes; returns (status, headers, body).
    fn raw(&self, request: &[u8]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(request).expect("send request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read response");
        let text = String::from_utf8(response).expect("UTF-8 response");
        let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        (status, head.to_owned(), body.to_owned())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.raw(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
    }

    /// Polls /metrics until `done` holds for the parsed samples.
    fn metrics_until(&self, done: impl Fn(&Samples) -> bool) -> Samples {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let (status, head, body) = self.get("/metrics");
            assert_eq!(status, 200, "{head}");
            let samples = parse(&body);
            if done(&samples) {
                return samples;
            }
            assert!(Instant::now() < deadline, "condition never met:\n{body}");
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Series (name plus labels as written) → value.
type Samples = BTreeMap<String, f64>;

/// A tiny Prometheus text-format parser: checks that every sample belongs to
/// a family announced by HELP and TYPE lines, that label sets are well formed
/// and that every value is a float.
fn parse(text: &str) -> Samples {
    let mut typed = BTreeMap::new();
    let mut helped = Vec::new();
    let mut samples = Samples::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(&at);
            assert!(!help.is_empty(), "{at}");
            helped.push(name.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(&at);
            assert!(
                ["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind),
                "{at}"
            );
            assert!(
                typed.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{at}"
            );
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{at}");
        let (series, value) = line.rsplit_once(' ').expect(&at);
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect(&at);
                for pair in labels.split(',') {
                    let (key, quoted) = pair.split_once('=').expect(&at);
                    assert!(
                        key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{at}"
                    );
                    assert!(
                        quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                        "{at}"
                    );
                }
                name
            }
            None => series,
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{at}"
        );
        let family = [("_sum", "summary"), ("_count", "summary")]
            .iter()
            .chain(&[
                ("_bucket", "histogram"),
                ("_sum", "histogram"),
                ("_count", "histogram"),
            ])
            .find_map(|(suffix, kind)| {
                name.strip_suffix(suffix)
                    .filter(|f| typed.get(*f).is_some_and(|k| k == kind))
            })
            .unwrap_or(name);
        assert!(typed.contains_key(family), "{at}: no TYPE for {family}");
        assert!(
            helped.iter().any(|h| h == family),
            "{at}: no HELP for {family}"
        );
        let value: f64 = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().expect(&at),
        };
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{at}: duplicate"
        );
    }
    samples
}

const P99: &str = "shriven_order_latency_seconds{quantile=\"0.99\"}";
const HISTOGRAM: &str = "shriven_order_latency_distribution_seconds";
const LE: [&str; 9] = [
    "0.000025", "0.00005", "0.0001", "0.00015", "0.0002", "0.0005", "0.001", "0.005", "+Inf",
];

/// The histogram's cumulative bucket counts, in `LE` order.
fn buckets(samples: &Samples) -> Vec<f64> {
    LE.iter()
        .map(|le| samples[&format!("{HISTOGRAM}_bucket{{le=\"{le}\"}}")])
        .collect()
}

#[test]
fn metrics_parse_and_health_answers() {
    let server = Server::start(&["--events-per-second", "2000"]);
    let (status, head, body) = server.get("/health");
    assert_eq!((status, body.as_str()), (200, "ok\n"), "{head}");

    let (status, head, _) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(
        head.contains("\r\nContent-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    let samples =
        server.metrics_until(|s| s.get("shriven_events_total").is_some_and(|e| *e >= 200.0));
    for series in [
        "shriven_order_latency_seconds{quantile=\"0.5\"}",
        P99,
        "shriven_order_latency_seconds_sum",
        "shriven_order_latency_seconds_count",
        "shriven_process_resident_memory_bytes",
        "shriven_events_total",
        "shriven_errors_total",
        "shriven_orders_total",
        "shriven_risk_limit_utilization_ratio",
        "shriven_pnl_realized_quote",
        "shriven_pnl_unrealized_quote",
        "shriven_heartbeat_timestamp_seconds",
        "shriven_connected",
        "shriven_panics_total",
        "shriven_order_latency_distribution_seconds_sum",
        "shriven_order_latency_distribution_seconds_count",
    ] {
        assert!(
            samples.contains_key(series),
            "{series} missing: {samples:?}"
        );
    }
    let p99 = samples[P99];
    assert!(p99 > 0.0 && p99 < 0.01, "p99 {p99}");
    assert!(samples["shriven_order_latency_seconds{quantile=\"0.5\"}"] <= p99);
    assert!(samples["shriven_process_resident_memory_bytes"] > 100_000.0);
    assert!(samples["shriven_orders_total"] > 0.0);
    assert_eq!(samples["shriven_errors_total"], 0.0);
    assert_eq!(samples["shriven_connected"], 1.0);
    assert_eq!(samples["shriven_panics_total"], 0.0);
    let risk = samples["shriven_risk_limit_utilization_ratio"];
    assert!((0.0..=1.0).contains(&risk), "risk {risk}");
    let counts = buckets(&samples);
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert_eq!(counts[8], samples[&format!("{HISTOGRAM}_count")]);
    assert_eq!(
        samples[&format!("{HISTOGRAM}_count")],
        samples["shriven_order_latency_seconds_count"]
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let heartbeat = samples["shriven_heartbeat_timestamp_seconds"];
    assert!(
        (now - heartbeat).abs() < 30.0,
        "heartbeat {heartbeat}, now {now}"
    );
    for pnl in ["shriven_pnl_realized_quote", "shriven_pnl_unrealized_quote"] {
        assert!(
            samples[pnl].is_finite() && samples[pnl].fract() == 0.0,
            "{pnl}"
        );
    }

    assert_eq!(server.get("/nothing").0, 404);
    assert_eq!(server.raw(b"DELETE /metrics HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(server.raw(b"hello\r\n\r\n").0, 400);
}

#[test]
fn oversized_requests_are_refused_and_the_server_keeps_serving() {
    let server = Server::start(&[]);
    let mut request = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    request.resize(64 * 1024, b'a');
    request.extend_from_slice(b"\r\n\r\n");
    let (status, head, _) = server.raw(&request);
    assert_eq!(status, 431, "{head}");
    assert_eq!(server.get("/health").0, 200);
}

#[test]
fn fault_injection_shows_in_the_metrics() {
    let server = Server::start(&[
        "--inject-latency-us",
        "300",
        "--error-every",
        "10",
        "--leak-bytes-per-second",
        "33554432",
    ]);
    let first = server.metrics_until(|s| s.get("shriven_events_total").is_some_and(|e| *e >= 50.0));
    let rss = first["shriven_process_resident_memory_bytes"];
    let later = server.metrics_until(|s| {
        s["shriven_process_resident_memory_bytes"] >= rss + 16.0 * 1024.0 * 1024.0
    });
    assert!(
        later[P99] >= 300e-6,
        "p99 {} below the injected 300 µs",
        later[P99]
    );
    let counts = buckets(&later);
    assert_eq!(
        counts[4], 0.0,
        "no event faster than the injected 300 µs: {counts:?}"
    );
    assert!(counts[8] >= 50.0, "{counts:?}");
    let (events, errors) = (later["shriven_events_total"], later["shriven_errors_total"]);
    assert!(
        errors >= (events / 10.0).floor() - 1.0 && errors > 0.0,
        "{errors} of {events}"
    );
}

#[test]
fn non_loopback_listen_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_shriven-quant"))
        .args(["serve", "--listen", "0.0.0.0:0", "--max-seconds", "5"])
        .output()
        .expect("run shriven-quant");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}
