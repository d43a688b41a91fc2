//! Runs the `shriven-quant paper` binary as the harness would: over pipes,
//! one message at a time, waiting for each `ready` (which only arrives if the
//! engine flushes before blocking on stdin).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use engine::json::Json;

const TIMEOUT: Duration = Duration::from_secs(20);

const HELLO: &str = r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"BTCUSDT","tick":"0.01","lot":"0.00001"}],"max_position":"0.002","max_daily_loss":"100000","trading_mode":"paper"}"#;

struct Engine {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Engine {
    fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shriven-quant"))
            .arg("paper")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shriven-quant");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn recv(&self) -> String {
        self.lines
            .recv_timeout(TIMEOUT)
            .expect("engine replied within the timeout")
    }

    /// Sends one message and returns every reply up to and including its
    /// `ready` (or `bye`), with `processing_ns` checked and blanked.
    fn exchange(&mut self, line: &str) -> Vec<String> {
        self.send(line);
        let mut replies = Vec::new();
        loop {
            let reply = self.recv();
            let (kind, normalised) = check_reply(&reply);
            replies.push(normalised);
            if kind == "ready" || kind == "bye" {
                return replies;
            }
        }
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for exit; returns the status code, remaining stdout and stderr.
    fn finish(mut self) -> (i32, Vec<String>, String) {
        self.close_stdin();
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let rest: Vec<String> = self.lines.try_iter().collect();
        (status.code().expect("exit code"), rest, stderr)
    }
}

/// Checks that a reply is a JSON object with a known `type`; for `ready`,
/// that `processing_ns` is an integer, which is then blanked out.
fn check_reply(line: &str) -> (String, String) {
    let mut json = Json::new();
    json.parse(line)
        .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line}"));
    let root = json.root();
    let kind = root
        .get("type")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("reply without type: {line}"))
        .to_owned();
    assert!(
        ["hello", "new", "cancel", "ready", "bye"].contains(&kind.as_str()),
        "unexpected reply {line}"
    );
    if kind != "hello" {
        assert!(root.get("seq").and_then(|v| v.as_u64()).is_some(), "{line}");
    }
    if kind == "ready" {
        assert!(
            root.get("processing_ns").and_then(|v| v.as_u64()).is_some(),
            "{line}"
        );
        let at = line.find(r#","processing_ns":"#).unwrap();
        return (kind, format!("{}}}", &line[..at]));
    }
    (kind, line.to_owned())
}

fn handshake(engine: &mut Engine, hello: &str) {
    engine.send(hello);
    assert_eq!(
        engine.recv(),
        format!(
            r#"{{"type":"hello","protocol":1,"engine":"shriven-quant {}"}}"#,
            engine::VERSION
        )
    );
}

fn quote(seq: u64, bid: &str, ask: &str) -> String {
    format!(
        r#"{{"type":"quote","seq":{seq},"ts":"1723161254116723068","symbol":"BTCUSDT","bid":"{bid}","bid_qty":"3.78826","ask":"{ask}","ask_qty":"1.6052"}}"#
    )
}

fn fill(seq: u64, id: &str, price: &str, qty: &str, leaves: &str) -> String {
    format!(
        r#"{{"type":"fill","seq":{seq},"ts":"1723161254126723068","client_id":"{id}","price":"{price}","qty":"{qty}","fee":"0.06183764","liquidity":"maker","leaves":"{leaves}"}}"#
    )
}

fn new(seq: u64, id: &str, side: &str, price: &str) -> String {
    format!(
        r#"{{"type":"new","seq":{seq},"client_id":"{id}","symbol":"BTCUSDT","side":"{side}","order_type":"limit","price":"{price}","qty":"0.00100"}}"#
    )
}

fn ready(seq: u64) -> String {
    format!(r#"{{"type":"ready","seq":{seq}}}"#)
}

#[test]
fn scripted_session() {
    let mut e = Engine::spawn(&[]);
    handshake(&mut e, HELLO);

    assert_eq!(
        e.exchange(&quote(1, "61837.00", "61837.02")),
        [
            new(1, "b1", "buy", "61837.00"),
            new(1, "s2", "sell", "61837.02"),
            ready(1)
        ]
    );
    assert_eq!(
        e.exchange(r#"{"type":"trade","seq":2,"ts":"1723161254087896568","symbol":"BTCUSDT","price":"61837.63","qty":"0.02","side":"sell"}"#),
        [ready(2)]
    );
    assert_eq!(
        e.exchange(r#"{"type":"ack","seq":3,"ts":"1723161254121723068","client_id":"b1"}"#),
        [ready(3)]
    );
    // Filled: the bid is replaced, skewed one tick down for the inventory.
    assert_eq!(
        e.exchange(&fill(4, "b1", "61837.00", "0.001", "0")),
        [new(4, "b3", "buy", "61836.99"), ready(4)]
    );
    // The market moves up 3 ticks: both orders are 3 ticks off their
    // targets (bid 61837.02 with the skew, ask 61837.05) and are cancelled...
    assert_eq!(
        e.exchange(&quote(5, "61837.03", "61837.05")),
        [
            r#"{"type":"cancel","seq":5,"client_id":"b3"}"#.to_owned(),
            r#"{"type":"cancel","seq":5,"client_id":"s2"}"#.to_owned(),
            ready(5)
        ]
    );
    // ...and each is replaced once its cancel is confirmed.
    assert_eq!(
        e.exchange(r#"{"type":"cancelled","seq":6,"ts":"1723161254131723068","client_id":"s2","reason":"requested"}"#),
        [new(6, "s4", "sell", "61837.05"), ready(6)]
    );
    // A quote while the bid's cancel is pending changes nothing.
    assert_eq!(e.exchange(&quote(7, "61837.03", "61837.05")), [ready(7)]);
    // The bid's cancel crossed a fill: the fill closes it; long 0.002 =
    // max_position, so no new bid. The late cancel_reject is not an error.
    assert_eq!(
        e.exchange(&fill(8, "b3", "61836.99", "0.001", "0")),
        [ready(8)]
    );
    assert_eq!(
        e.exchange(r#"{"type":"cancel_reject","seq":9,"ts":"1723161254141723068","client_id":"b3","reason":"order is closed"}"#),
        [ready(9)]
    );
    assert_eq!(
        e.exchange(r#"{"type":"end","seq":10}"#),
        [r#"{"type":"bye","seq":10}"#.to_owned()]
    );
    let (code, rest, stderr) = e.finish();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(rest.is_empty(), "unexpected output after bye: {rest:?}");
    assert!(stderr.contains("9 messages"), "{stderr}");
}

#[test]
fn no_further_orders_on_a_side_at_max_position() {
    let mut e = Engine::spawn(&[]);
    handshake(&mut e, HELLO);
    assert_eq!(e.exchange(&quote(1, "100.00", "100.02")).len(), 3);
    assert_eq!(
        e.exchange(&fill(2, "b1", "100.00", "0.001", "0")),
        [new(2, "b3", "buy", "99.99"), ready(2)]
    );
    // Long 0.002 = max_position.
    assert_eq!(
        e.exchange(&fill(3, "b3", "99.99", "0.00100", "0")),
        [ready(3)]
    );
    let mut seq = 4;
    for (bid, ask) in [
        ("100.00", "100.02"),
        ("99.00", "99.02"),
        ("101.00", "101.02"),
    ] {
        for reply in e.exchange(&quote(seq, bid, ask)) {
            assert!(
                !reply.contains(r#""side":"buy""#),
                "bid at max position: {reply}"
            );
        }
        seq += 1;
    }
    // Selling is still possible: the ask was cancelled by the moves; once
    // that is confirmed a new one is placed at the best ask.
    assert_eq!(
        e.exchange(&format!(
            r#"{{"type":"cancelled","seq":{seq},"ts":"1","client_id":"s2","reason":"requested"}}"#
        )),
        [new(seq, "s4", "sell", "101.02"), ready(seq)]
    );
    seq += 1;
    // The sell fills, position back to 0.001: buying resumes (one tick
    // below the bid for the remaining inventory), and a new ask is placed.
    assert_eq!(
        e.exchange(&fill(seq, "s4", "101.02", "0.001", "0")),
        [
            new(seq, "b5", "buy", "100.99"),
            new(seq, "s6", "sell", "101.02"),
            ready(seq)
        ]
    );
    seq += 1;
    assert_eq!(
        e.exchange(&format!(r#"{{"type":"end","seq":{seq}}}"#)),
        [format!(r#"{{"type":"bye","seq":{seq}}}"#)]
    );
    assert_eq!(e.finish().0, 0);
}

#[test]
fn protocol_mismatch_exits_2() {
    let mut e = Engine::spawn(&[]);
    e.send(&HELLO.replace(r#""protocol":1"#, r#""protocol":2"#));
    let (code, stdout, stderr) = e.finish();
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(stderr.contains("protocol version mismatch"), "{stderr}");
}

#[test]
fn eof_without_end_exits_1() {
    let mut e = Engine::spawn(&[]);
    handshake(&mut e, HELLO);
    assert_eq!(e.exchange(&quote(1, "61837.00", "61837.02")).len(), 3);
    e.close_stdin();
    let (code, stdout, stderr) = e.finish();
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(stderr.contains("without end"), "{stderr}");
}

#[test]
fn malformed_line_exits_2() {
    let mut e = Engine::spawn(&[]);
    handshake(&mut e, HELLO);
    e.send(r#"{"type":"quote","seq":1,"#);
    let (code, stdout, stderr) = e.finish();
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout:?}");
    assert!(stderr.contains("malformed"), "{stderr}");
}

#[test]
fn qty_option_and_bad_hello() {
    let mut e = Engine::spawn(&["--qty", "0.5"]);
    handshake(&mut e, HELLO.replace("0.002", "2").as_str());
    let replies = e.exchange(&quote(1, "61837.00", "61837.02"));
    assert!(replies[0].contains(r#""qty":"0.50000""#), "{replies:?}");
    e.send(r#"{"type":"end","seq":2}"#);
    assert_eq!(e.recv(), r#"{"type":"bye","seq":2}"#);
    assert_eq!(e.finish().0, 0);

    let mut e = Engine::spawn(&[]);
    e.send(&HELLO.replace(r#""tick":"0.01""#, r#""tick":"-0.01""#));
    let (code, stdout, stderr) = e.finish();
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(stderr.contains("not positive"), "{stderr}");
}
