//! The `paper` command: the engine side of the paper-trading protocol,
//! version 1 (`docs/paper-trading-protocol.md` in the repository).
//!
//! [`run`] reads the harness's messages, one JSON object per line, and writes
//! the replies: the `hello` handshake, then for every message with `seq = N`
//! the orders and cancels of the strategy followed by one
//! `{"type":"ready","seq":N,"processing_ns":…}`, and `bye` after `end`.
//! Nothing else is written to the output; diagnostics are the caller's (and
//! go to stderr).
//!
//! Prices and quantities are converted exactly (see [`crate::decimal`]) into
//! integer ticks and lots of each symbol's `tick` and `lot` from `hello`, and
//! written back with the tick's and lot's number of decimals.
//!
//! # Strategy
//!
//! A deterministic one-size market maker per symbol:
//!
//! - it quotes one limit order per side, at the best bid and the best ask of
//!   the latest `quote`, each moved away from the market by
//!   [`SKEW_TICKS_PER_QUOTE`] tick per order size of inventory on the side
//!   that would add to it (at most [`MAX_SKEW_TICKS`]);
//! - at most one order per side is open; when its price is
//!   [`REPLACE_DISTANCE_TICKS`] or more away from the current target it is
//!   cancelled, and replaced once the cancel (or a final fill) is confirmed;
//! - a new order is sized so that the position counted from fills plus every
//!   open order on that side (the worst case) never exceeds `max_position`;
//! - once its own P&L estimate (realised + open position marked at the side
//!   it would be closed at, minus fees rounded up) is at or below
//!   [`LOSS_STOP_PERCENT`] % of `-max_daily_loss`, it stops for the rest of
//!   the run: orders that add exposure are cancelled and only orders that
//!   reduce the position (never flip it) are sent;
//! - after a `reject`, that side waits for the next `quote`; after
//!   [`MAX_REJECTS`] rejects it sends no new orders at all.
//!
//! Position and P&L accounting reuse [`risk::RiskEngine`] (integer ticks x
//! lots).

use std::error::Error;
use std::fmt::{self, Write as _};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::time::Instant;

use orderbook::Side;
use risk::{RiskEngine, RiskLimits};

use crate::decimal::{Decimal, DecimalError, Rounding};
use crate::json::{Json, JsonError, Obj, ObjectWriter, Value};

/// Protocol version implemented.
pub const PROTOCOL_VERSION: u64 = 1;
/// A resting order this many ticks (or more) away from its target price is
/// cancelled and replaced.
pub const REPLACE_DISTANCE_TICKS: i64 = 2;
/// Ticks a quote moves away from the market per order size of inventory.
pub const SKEW_TICKS_PER_QUOTE: i64 = 1;
/// Largest inventory skew in ticks.
pub const MAX_SKEW_TICKS: i64 = 5;
/// Loss stop: no new exposure once P&L is at this percentage of
/// `-max_daily_loss`.
pub const LOSS_STOP_PERCENT: i128 = 80;
/// After this many rejects the strategy sends no new orders.
pub const MAX_REJECTS: u64 = 50;
/// Warnings printed before they are only counted.
const MAX_WARNINGS: u64 = 20;
/// Longest excerpt of an offending line quoted in an error.
const QUOTE_LIMIT: usize = 200;
/// Capacity of the stdin and stdout buffers.
const IO_BUFFER: usize = 64 * 1024;
/// Bound on position limits in lots, so that sums never overflow.
const MAX_LOTS: i64 = i64::MAX / 8;

/// Parameters of the `paper` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperOptions {
    /// Order size in base units (rounded down to each symbol's lot, at least
    /// one lot).
    pub qty: Decimal,
}

impl Default for PaperOptions {
    fn default() -> Self {
        Self {
            qty: Decimal::new(1, 3).unwrap_or(Decimal::ZERO),
        }
    }
}

/// Why a paper session ended unsuccessfully.
#[derive(Debug)]
pub enum PaperError {
    /// The harness broke the protocol (malformed line, version mismatch,
    /// bad `hello`, unexpected message): exit status 2.
    Protocol(String),
    /// Input ended before `end`: exit status 1.
    Eof(String),
    /// Reading or writing failed: exit status 1.
    Io(io::Error),
}

impl PaperError {
    /// Process exit status for this error.
    #[must_use]
    pub const fn exit_code(&self) -> u8 {
        match self {
            Self::Protocol(_) => 2,
            Self::Eof(_) | Self::Io(_) => 1,
        }
    }
}

impl fmt::Display for PaperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(m) => write!(f, "protocol error: {m}"),
            Self::Eof(m) => f.write_str(m),
            Self::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl Error for PaperError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for PaperError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Counters of a completed session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaperSummary {
    /// Harness messages answered (excluding `hello` and `end`).
    pub messages: u64,
    /// Orders sent.
    pub orders: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Fills received.
    pub fills: u64,
    /// Rejects received.
    pub rejects: u64,
    /// Unexpected but harmless harness messages (e.g. a fill before the
    /// ack), reported on stderr.
    pub warnings: u64,
    /// Whether the loss stop was triggered.
    pub loss_stop: bool,
    /// Final position per symbol, e.g. `BTCUSDT 0.00200`.
    pub positions: Vec<String>,
}

impl fmt::Display for PaperSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "paper: {} messages, {} orders, {} cancels, {} fills, {} rejects, {} warnings, loss stop {}",
            self.messages,
            self.orders,
            self.cancels,
            self.fills,
            self.rejects,
            self.warnings,
            if self.loss_stop {
                "triggered"
            } else {
                "not triggered"
            }
        )?;
        for position in &self.positions {
            write!(f, "; position {position}")?;
        }
        Ok(())
    }
}

/// Runs a paper-trading session: reads harness messages from `input`, writes
/// replies to `output` until `end`.
///
/// Output is buffered and flushed after `hello`, at `bye`, and whenever no
/// complete line is left in the input buffer (before blocking on a read).
///
/// # Errors
///
/// [`PaperError::Protocol`] for a malformed or unexpected harness line or a
/// protocol version other than [`PROTOCOL_VERSION`], [`PaperError::Eof`] if
/// the input ends before `end`, [`PaperError::Io`] if reading or writing
/// fails.
pub fn run<R: Read, W: Write>(
    options: &PaperOptions,
    input: R,
    output: W,
) -> Result<PaperSummary, PaperError> {
    let mut reader = BufReader::with_capacity(IO_BUFFER, input);
    let mut writer = BufWriter::with_capacity(IO_BUFFER, output);
    let mut line = String::with_capacity(1024);
    let mut json = Json::new();
    let mut out: Vec<u8> = Vec::with_capacity(4096);

    if !read_line(&mut reader, &mut line)? {
        return Err(PaperError::Eof("input closed before hello".to_owned()));
    }
    let text = trim_newline(&line);
    json.parse(text).map_err(|e| malformed(text, &e))?;
    let mut trader = Trader::from_hello(json.root(), options)
        .map_err(|e| PaperError::Protocol(format!("{e}; hello: {}", excerpt(text))))?;
    let engine = format!("shriven-quant {}", crate::VERSION);
    ObjectWriter::new(&mut out)
        .str("type", "hello")
        .u64("protocol", PROTOCOL_VERSION)
        .str("engine", &engine)
        .finish();
    writer.write_all(&out)?;
    writer.flush()?;
    out.clear();

    let mut expected_seq: u64 = 1;
    loop {
        if !reader.buffer().contains(&b'\n') {
            // No complete line buffered: the next read may block.
            writer.flush()?;
        }
        if !read_line(&mut reader, &mut line)? {
            return Err(PaperError::Eof(format!(
                "input closed without end (expected seq {expected_seq})"
            )));
        }
        let started = Instant::now();
        let text = trim_newline(&line);
        json.parse(text).map_err(|e| malformed(text, &e))?;
        let root = json.root();
        let header = str_field(root, "type").and_then(|kind| {
            let seq = seq_field(root)?;
            Ok((kind, seq))
        });
        let (kind, seq) = header.map_err(|e| bad_line(&e, text))?;
        if seq != expected_seq {
            return Err(bad_line(
                &format!("seq {seq} where {expected_seq} was expected"),
                text,
            ));
        }
        if kind == "end" {
            ObjectWriter::new(&mut out)
                .str("type", "bye")
                .u64("seq", seq)
                .finish();
            writer.write_all(&out)?;
            writer.flush()?;
            return Ok(trader.summary(expected_seq - 1));
        }
        trader
            .on_message(kind, root, seq, &mut out)
            .map_err(|e| bad_line(&e, text))?;
        let elapsed = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        ObjectWriter::new(&mut out)
            .str("type", "ready")
            .u64("seq", seq)
            .u64("processing_ns", elapsed)
            .finish();
        writer.write_all(&out)?;
        out.clear();
        expected_seq += 1;
    }
}

/// Reads the next line into `line` (cleared first); `false` at end of input.
fn read_line<R: Read>(reader: &mut BufReader<R>, line: &mut String) -> Result<bool, PaperError> {
    line.clear();
    match reader.read_line(line) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(PaperError::Protocol(
            "input line is not valid UTF-8".to_owned(),
        )),
        Err(e) => Err(PaperError::Io(e)),
    }
}

fn trim_newline(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The line, cut to [`QUOTE_LIMIT`] characters, quoted.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

fn malformed(text: &str, e: &JsonError) -> PaperError {
    PaperError::Protocol(format!("malformed line ({e}): {}", excerpt(text)))
}

fn bad_line(reason: &str, text: &str) -> PaperError {
    PaperError::Protocol(format!("{reason} in line {}", excerpt(text)))
}

fn str_field<'a>(obj: Obj<'a>, key: &str) -> Result<&'a str, String> {
    match obj.get(key) {
        Some(Value::Str(s)) => Ok(s),
        Some(v) => Err(format!(
            "field {key:?} must be a string, not a {}",
            v.type_name()
        )),
        None => Err(format!("missing field {key:?}")),
    }
}

fn seq_field(obj: Obj<'_>) -> Result<u64, String> {
    match obj.get("seq") {
        Some(v) => v
            .as_u64()
            .filter(|seq| *seq > 0)
            .ok_or_else(|| "field \"seq\" must be a positive integer".to_owned()),
        None => Err("missing field \"seq\"".to_owned()),
    }
}

fn decimal_field(obj: Obj<'_>, key: &str) -> Result<Decimal, String> {
    let text = str_field(obj, key)?;
    Decimal::parse_non_negative(text).map_err(|e| format!("field {key:?} = {text:?}: {e}"))
}

fn steps_field(obj: Obj<'_>, key: &str, step: Decimal, rounding: Rounding) -> Result<i64, String> {
    let text = str_field(obj, key)?;
    Decimal::parse_non_negative(text)
        .and_then(|d| d.to_steps(step, rounding))
        .map_err(|e| format!("field {key:?} = {text:?}: {e}"))
}

fn side_field(obj: Obj<'_>) -> Result<Side, String> {
    match str_field(obj, "side")? {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(format!("field \"side\" = {other:?}: expected buy or sell")),
    }
}

const fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// One instrument from `hello` and the strategy's state for it.
#[derive(Debug)]
struct Symbol {
    name: String,
    tick: Decimal,
    lot: Decimal,
    /// Order size in lots.
    quote_lots: i64,
    /// `max_position` in lots (rounded down).
    max_lots: i64,
    /// Money units (10^-money_scale) per tick x lot.
    money_factor: i128,
    /// Best bid and ask in ticks, if the last quote was usable.
    book: Option<(i64, i64)>,
    /// Index of the open order per side ([`Side::index`]).
    open: [Option<usize>; 2],
    /// Side waits for the next quote after a reject.
    blocked: [bool; 2],
    risk: RiskEngine,
}

/// One of our orders.
#[derive(Debug, Clone, Copy)]
struct Order {
    symbol: usize,
    side: Side,
    price: i64,
    /// Open quantity in lots.
    leaves: i64,
    acked: bool,
    closed: bool,
    cancel_sent: bool,
}

/// The strategy and its book-keeping.
#[derive(Debug)]
struct Trader {
    symbols: Vec<Symbol>,
    /// Every order of the run; client id `b<n>` / `s<n>` is `orders[n - 1]`.
    orders: Vec<Order>,
    /// Loss stop threshold in money units (a positive number).
    loss_stop: i128,
    /// Fees paid so far in money units (rounded up).
    fees: i128,
    money_scale: u32,
    stopped: bool,
    halted: bool,
    client_id: String,
    summary: PaperSummary,
}

impl Trader {
    fn from_hello(hello: Obj<'_>, options: &PaperOptions) -> Result<Self, String> {
        match str_field(hello, "type")? {
            "hello" => {}
            other => return Err(format!("expected hello, got type {other:?}")),
        }
        let protocol = hello
            .get("protocol")
            .ok_or_else(|| "missing field \"protocol\"".to_owned())?;
        match protocol.as_u64() {
            Some(PROTOCOL_VERSION) => {}
            _ => {
                let shown = match protocol {
                    Value::Number(n) => n.to_owned(),
                    Value::Str(s) => format!("{s:?}"),
                    other => other.type_name().to_owned(),
                };
                return Err(format!(
                    "protocol version mismatch: harness speaks {shown}, this engine speaks {PROTOCOL_VERSION}"
                ));
            }
        }
        let max_position = decimal_field(hello, "max_position")?;
        let max_daily_loss = decimal_field(hello, "max_daily_loss")?;
        let list = hello
            .get("symbols")
            .ok_or_else(|| "missing field \"symbols\"".to_owned())?
            .as_array()
            .ok_or_else(|| "field \"symbols\" must be an array".to_owned())?;

        let mut specs = Vec::new();
        for entry in list.iter() {
            let entry = entry
                .as_object()
                .ok_or_else(|| "\"symbols\" must hold objects".to_owned())?;
            let name = str_field(entry, "symbol")?;
            if name.is_empty() {
                return Err("empty symbol name".to_owned());
            }
            if specs.iter().any(|(n, _, _)| n == name) {
                return Err(format!("symbol {name:?} listed twice"));
            }
            let tick = positive_step(entry, "tick", name)?;
            let lot = positive_step(entry, "lot", name)?;
            specs.push((name.to_owned(), tick, lot));
        }

        let money_scale = specs
            .iter()
            .map(|(_, tick, lot)| tick.scale() + lot.scale())
            .max()
            .unwrap_or(0);
        let loss_units = max_daily_loss
            .to_units(money_scale, Rounding::Floor)
            .map_err(|e| format!("max_daily_loss {max_daily_loss}: {e}"))?;
        let loss_stop = loss_units
            .checked_mul(LOSS_STOP_PERCENT)
            .map(|v| v / 100)
            .ok_or_else(|| format!("max_daily_loss {max_daily_loss}: too large"))?;

        let mut symbols = Vec::with_capacity(specs.len());
        for (name, tick, lot) in specs {
            let quote_lots = match options.qty.to_steps(lot, Rounding::Floor) {
                Ok(lots) if lots >= 1 => lots.min(MAX_LOTS),
                Ok(_) => 1,
                Err(e) => return Err(format!("--qty {} for {name}: {e}", options.qty)),
            };
            if options.qty.to_steps(lot, Rounding::Exact).ok() != Some(quote_lots) {
                eprintln!(
                    "paper: warning: --qty {} is not a whole number of lots ({lot}) of {name}; using {quote_lots} lot(s)",
                    options.qty
                );
            }
            let max_lots = match max_position.to_steps(lot, Rounding::Floor) {
                Ok(lots) => lots.min(MAX_LOTS),
                Err(DecimalError::Overflow) => MAX_LOTS,
                Err(e) => return Err(format!("max_position {max_position}: {e}")),
            };
            let money_factor = tick
                .mantissa()
                .checked_mul(lot.mantissa())
                .and_then(|m| {
                    let shift = money_scale - tick.scale() - lot.scale();
                    m.checked_mul(10i128.checked_pow(shift)?)
                })
                .ok_or_else(|| format!("tick {tick} x lot {lot} of {name}: too large"))?;
            symbols.push(Symbol {
                name,
                tick,
                lot,
                quote_lots,
                max_lots,
                money_factor,
                book: None,
                open: [None; 2],
                blocked: [false; 2],
                risk: RiskEngine::new(RiskLimits {
                    max_position: max_lots.unsigned_abs(),
                    max_daily_loss: i64::MAX,
                    max_order_qty: quote_lots.unsigned_abs(),
                }),
            });
        }
        Ok(Self {
            symbols,
            orders: Vec::with_capacity(1024),
            loss_stop,
            fees: 0,
            money_scale,
            stopped: false,
            halted: false,
            client_id: String::with_capacity(24),
            summary: PaperSummary::default(),
        })
    }

    /// Prints a warning on stderr; after [`MAX_WARNINGS`] only counts it.
    fn warn(&mut self, message: fmt::Arguments<'_>) {
        self.summary.warnings += 1;
        if self.summary.warnings <= MAX_WARNINGS {
            eprintln!("paper: warning: {message}");
            if self.summary.warnings == MAX_WARNINGS {
                eprintln!("paper: further warnings are only counted");
            }
        }
    }

    fn summary(&self, messages: u64) -> PaperSummary {
        let mut summary = self.summary.clone();
        summary.messages = messages;
        summary.loss_stop = self.stopped;
        summary.positions = self
            .symbols
            .iter()
            .map(|s| {
                let lots = i128::from(s.risk.position());
                let base = Decimal::new(lots * s.lot.mantissa(), s.lot.scale())
                    .map_or_else(|_| format!("{lots} lots"), |d| d.to_string());
                format!("{} {base}", s.name)
            })
            .collect();
        summary
    }

    /// Handles one harness message (not `end`), appending orders and
    /// cancels to `out`.
    fn on_message(
        &mut self,
        kind: &str,
        msg: Obj<'_>,
        seq: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let symbol = match kind {
            "quote" => self.on_quote(msg)?,
            "trade" => {
                let symbol = self.symbol(msg)?;
                decimal_field(msg, "price")?;
                decimal_field(msg, "qty")?;
                side_field(msg)?;
                symbol
            }
            "ack" => {
                let index = self.order(msg)?;
                let order = self.orders[index];
                if order.acked || order.closed {
                    let state = if order.closed {
                        "closed"
                    } else {
                        "acknowledged"
                    };
                    self.warn(format_args!(
                        "ack for {state} order {}",
                        str_field(msg, "client_id")?
                    ));
                }
                self.orders[index].acked = true;
                order.symbol
            }
            "fill" => self.on_fill(msg)?,
            "cancelled" => {
                let index = self.order(msg)?;
                self.close(index);
                self.orders[index].symbol
            }
            "reject" => {
                let index = self.order(msg)?;
                self.close(index);
                let order = self.orders[index];
                self.symbols[order.symbol].blocked[order.side.index()] = true;
                self.summary.rejects += 1;
                if self.summary.rejects >= MAX_REJECTS && !self.halted {
                    self.halted = true;
                    eprintln!("paper: {MAX_REJECTS} orders rejected; sending no new orders");
                }
                order.symbol
            }
            "cancel_reject" => {
                let index = self.order(msg)?;
                if !self.orders[index].closed {
                    // The order was closed before the cancel arrived.
                    self.close(index);
                }
                self.orders[index].symbol
            }
            "hello" => return Err("unexpected second hello".to_owned()),
            other => return Err(format!("unknown message type {other:?}")),
        };
        self.requote(symbol, seq, out);
        Ok(())
    }

    fn symbol(&self, msg: Obj<'_>) -> Result<usize, String> {
        let name = str_field(msg, "symbol")?;
        self.symbols
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| format!("symbol {name:?} is not in hello"))
    }

    /// Index of the order named by the message's `client_id`.
    fn order(&self, msg: Obj<'_>) -> Result<usize, String> {
        let id = str_field(msg, "client_id")?;
        let bytes = id.as_bytes();
        let side = match bytes.first() {
            Some(b'b') => Some(Side::Buy),
            Some(b's') => Some(Side::Sell),
            _ => None,
        };
        let digits = &bytes[1.min(bytes.len())..];
        let canonical = !digits.is_empty()
            && digits[0] != b'0'
            && digits.len() <= 19
            && digits.iter().all(u8::is_ascii_digit);
        let number: Option<usize> = if canonical {
            id[1..].parse().ok()
        } else {
            None
        };
        match (side, number) {
            (Some(side), Some(n)) if n <= self.orders.len() && self.orders[n - 1].side == side => {
                Ok(n - 1)
            }
            _ => Err(format!("unknown client_id {id:?}")),
        }
    }

    fn on_quote(&mut self, msg: Obj<'_>) -> Result<usize, String> {
        let index = self.symbol(msg)?;
        let tick = self.symbols[index].tick;
        // Off-tick prices (should not happen) are rounded away from the
        // market, so our orders stay on the tick and never cross.
        let bid = steps_field(msg, "bid", tick, Rounding::Floor)?;
        let ask = steps_field(msg, "ask", tick, Rounding::Ceil)?;
        decimal_field(msg, "bid_qty")?;
        decimal_field(msg, "ask_qty")?;
        let symbol = &mut self.symbols[index];
        let book = (bid > 0 && ask > bid).then_some((bid, ask));
        if book != symbol.book {
            symbol.blocked = [false; 2];
        }
        symbol.book = book;
        symbol.mark();
        Ok(index)
    }

    fn on_fill(&mut self, msg: Obj<'_>) -> Result<usize, String> {
        let index = self.order(msg)?;
        let order = self.orders[index];
        let symbol = &self.symbols[order.symbol];
        let (tick, lot) = (symbol.tick, symbol.lot);
        let qty = steps_field(msg, "qty", lot, Rounding::Exact)?;
        let leaves = steps_field(msg, "leaves", lot, Rounding::Exact)?;
        if qty == 0 {
            return Err("fill with zero qty".to_owned());
        }
        // Our P&L estimate errs on the pessimistic side.
        let rounding = match order.side {
            Side::Buy => Rounding::Ceil,
            Side::Sell => Rounding::Floor,
        };
        let price = steps_field(msg, "price", tick, rounding)?;
        let fee_text = str_field(msg, "fee")?;
        let fee = Decimal::parse(fee_text)
            .and_then(|fee| fee.to_units(self.money_scale, Rounding::Ceil))
            .map_err(|e| format!("field \"fee\" = {fee_text:?}: {e}"))?;
        if order.closed || !order.acked {
            let state = if order.closed {
                "closed"
            } else {
                "unacknowledged"
            };
            self.warn(format_args!(
                "fill for {state} order {}",
                str_field(msg, "client_id")?
            ));
        }
        self.summary.fills += 1;
        self.fees = self.fees.saturating_add(fee);
        let symbol = &mut self.symbols[order.symbol];
        symbol.risk.on_fill(order.side, price, qty.unsigned_abs());
        symbol.mark();
        self.orders[index].leaves = leaves;
        if leaves == 0 {
            self.close(index);
        }
        Ok(order.symbol)
    }

    fn close(&mut self, index: usize) {
        let order = &mut self.orders[index];
        order.closed = true;
        order.leaves = 0;
        let open = &mut self.symbols[order.symbol].open[order.side.index()];
        if *open == Some(index) {
            *open = None;
        }
    }

    /// P&L estimate over all symbols, in money units.
    fn pnl(&self) -> i128 {
        self.symbols
            .iter()
            .map(|s| i128::from(s.risk.total_pnl()).saturating_mul(s.money_factor))
            .fold(0i128, i128::saturating_add)
            .saturating_sub(self.fees)
    }

    /// Brings the symbol's orders in line with the strategy's targets.
    fn requote(&mut self, symbol: usize, seq: u64, out: &mut Vec<u8>) {
        if !self.stopped && self.pnl() <= -self.loss_stop {
            self.stopped = true;
            eprintln!(
                "paper: loss stop at seq {seq}: P&L estimate {} <= -{}; only reducing positions from now on",
                Decimal::new(self.pnl(), self.money_scale).map_or_else(|e| e.to_string(), |d| d.to_string()),
                Decimal::new(self.loss_stop, self.money_scale).map_or_else(|e| e.to_string(), |d| d.to_string()),
            );
        }
        self.requote_side(symbol, Side::Buy, seq, out);
        self.requote_side(symbol, Side::Sell, seq, out);
    }

    fn requote_side(&mut self, index: usize, side: Side, seq: u64, out: &mut Vec<u8>) {
        let symbol = &self.symbols[index];
        let position = symbol.risk.position();
        let target = symbol.target_price(side);
        if let Some(open) = symbol.open[side.index()] {
            let order = self.orders[open];
            if order.cancel_sent {
                return;
            }
            let adds_exposure = match side {
                Side::Buy => position.saturating_add(order.leaves) > 0,
                Side::Sell => position.saturating_sub(order.leaves) < 0,
            };
            let stale = target.is_some_and(|p| (p - order.price).abs() >= REPLACE_DISTANCE_TICKS);
            if stale || (self.stopped && adds_exposure) {
                self.orders[open].cancel_sent = true;
                self.summary.cancels += 1;
                self.client_id.clear();
                let _ = write!(self.client_id, "{}{}", side_prefix(side), open + 1);
                ObjectWriter::new(out)
                    .str("type", "cancel")
                    .u64("seq", seq)
                    .str("client_id", &self.client_id)
                    .finish();
            }
            return;
        }
        if self.halted || symbol.blocked[side.index()] {
            return;
        }
        let Some(price) = target else {
            return;
        };
        // Worst case: the position plus every open order on this side (none:
        // the side is free) plus this order must stay within max_position.
        let room = if self.stopped {
            match side {
                Side::Buy => position.saturating_neg(),
                Side::Sell => position,
            }
        } else {
            match side {
                Side::Buy => symbol.max_lots.saturating_sub(position),
                Side::Sell => symbol.max_lots.saturating_add(position),
            }
        };
        let qty = symbol.quote_lots.min(room);
        if qty <= 0 {
            return;
        }
        let (tick, lot) = (symbol.tick, symbol.lot);
        let number = self.orders.len() + 1;
        self.orders.push(Order {
            symbol: index,
            side,
            price,
            leaves: qty,
            acked: false,
            closed: false,
            cancel_sent: false,
        });
        self.symbols[index].open[side.index()] = Some(number - 1);
        self.summary.orders += 1;
        self.client_id.clear();
        let _ = write!(self.client_id, "{}{number}", side_prefix(side));
        ObjectWriter::new(out)
            .str("type", "new")
            .u64("seq", seq)
            .str("client_id", &self.client_id)
            .str("symbol", &self.symbols[index].name)
            .str("side", side_name(side))
            .str("order_type", "limit")
            .decimal("price", i128::from(price) * tick.mantissa(), tick.scale())
            .decimal("qty", i128::from(qty) * lot.mantissa(), lot.scale())
            .finish();
    }
}

const fn side_prefix(side: Side) -> char {
    match side {
        Side::Buy => 'b',
        Side::Sell => 's',
    }
}

impl Symbol {
    /// Marks the position at the price it could be closed at.
    fn mark(&mut self) {
        if let Some((bid, ask)) = self.book {
            match self.risk.position() {
                p if p > 0 => self.risk.on_mark(bid),
                p if p < 0 => self.risk.on_mark(ask),
                _ => {}
            }
        }
    }

    /// Target price of our order on `side`: the best price on that side,
    /// moved away by the inventory skew.
    fn target_price(&self, side: Side) -> Option<i64> {
        let (bid, ask) = self.book?;
        let inventory = self.risk.position() / self.quote_lots;
        let price = match side {
            Side::Buy => bid - inventory.clamp(0, MAX_SKEW_TICKS) * SKEW_TICKS_PER_QUOTE,
            Side::Sell => ask + (-inventory).clamp(0, MAX_SKEW_TICKS) * SKEW_TICKS_PER_QUOTE,
        };
        (price > 0).then_some(price)
    }
}

fn positive_step(entry: Obj<'_>, key: &str, name: &str) -> Result<Decimal, String> {
    let text = str_field(entry, key)?;
    match Decimal::parse(text) {
        Ok(step) if step.is_positive() => Ok(step),
        Ok(_) => Err(format!("{key} {text:?} of {name} is not positive")),
        Err(e) => Err(format!("{key} {text:?} of {name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"BTCUSDT","tick":"0.01","lot":"0.00001"}],"max_position":"0.002","max_daily_loss":"100000","trading_mode":"paper"}"#;

    fn session(
        options: &PaperOptions,
        lines: &[&str],
    ) -> (Result<PaperSummary, PaperError>, Vec<String>) {
        let mut input = lines.join("\n");
        input.push('\n');
        let mut output = Vec::new();
        let result = run(options, input.as_bytes(), &mut output);
        let text = String::from_utf8(output).unwrap();
        (result, text.lines().map(str::to_owned).collect())
    }

    /// Output lines with the `processing_ns` value blanked out.
    fn replies(lines: &[&str]) -> Vec<String> {
        let (result, out) = session(&PaperOptions::default(), lines);
        result.unwrap_or_else(|e| panic!("session failed: {e}; output {out:#?}"));
        out.into_iter().map(|l| blank_ns(&l)).collect()
    }

    fn blank_ns(line: &str) -> String {
        match line.find(r#""processing_ns":"#) {
            Some(at) => format!("{}\"processing_ns\":_}}", &line[..at]),
            None => line.to_owned(),
        }
    }

    fn quote(seq: u64, bid: &str, ask: &str) -> String {
        format!(
            r#"{{"type":"quote","seq":{seq},"ts":"1","symbol":"BTCUSDT","bid":"{bid}","bid_qty":"1.5","ask":"{ask}","ask_qty":"2"}}"#
        )
    }

    fn report(kind: &str, seq: u64, id: &str) -> String {
        format!(
            r#"{{"type":"{kind}","seq":{seq},"ts":"1","client_id":"{id}","reason":"requested"}}"#
        )
    }

    fn fill(seq: u64, id: &str, price: &str, qty: &str, leaves: &str) -> String {
        format!(
            r#"{{"type":"fill","seq":{seq},"ts":"1","client_id":"{id}","price":"{price}","qty":"{qty}","fee":"0.0001","liquidity":"maker","leaves":"{leaves}"}}"#
        )
    }

    fn ready(seq: u64) -> String {
        format!(r#"{{"type":"ready","seq":{seq},"processing_ns":_}}"#)
    }

    fn new(seq: u64, id: &str, side: &str, price: &str, qty: &str) -> String {
        format!(
            r#"{{"type":"new","seq":{seq},"client_id":"{id}","symbol":"BTCUSDT","side":"{side}","order_type":"limit","price":"{price}","qty":"{qty}"}}"#
        )
    }

    fn cancel(seq: u64, id: &str) -> String {
        format!(r#"{{"type":"cancel","seq":{seq},"client_id":"{id}"}}"#)
    }

    fn hello_reply() -> String {
        format!(
            r#"{{"type":"hello","protocol":1,"engine":"shriven-quant {}"}}"#,
            crate::VERSION
        )
    }

    #[test]
    fn quotes_fills_skews_and_respects_max_position() {
        let lines = [
            HELLO.to_owned(),
            quote(1, "61837.00", "61837.02"),
            report("ack", 2, "b1"),
            fill(3, "b1", "61837.00", "0.001", "0"),
            fill(4, "b3", "61836.99", "0.00100", "0"),
            quote(5, "61837.00", "61837.02"),
            quote(6, "61837.03", "61837.05"),
            report("cancelled", 7, "s2"),
            r#"{"type":"trade","seq":8,"ts":"1","symbol":"BTCUSDT","price":"61837.05","qty":"0.5","side":"buy"}"#.to_owned(),
            r#"{"type":"end","seq":9}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            replies(&lines),
            [
                hello_reply(),
                new(1, "b1", "buy", "61837.00", "0.00100"),
                new(1, "s2", "sell", "61837.02", "0.00100"),
                ready(1),
                ready(2),
                // Long one order size: the new bid is skewed down one tick.
                new(3, "b3", "buy", "61836.99", "0.00100"),
                ready(3),
                // Long 0.002 = max_position: no further bid.
                ready(4),
                ready(5),
                // The ask is 3 ticks behind the market: cancel, then replace.
                cancel(6, "s2"),
                ready(6),
                new(7, "s4", "sell", "61837.05", "0.00100"),
                ready(7),
                ready(8),
                r#"{"type":"bye","seq":9}"#.to_owned(),
            ]
        );
    }

    #[test]
    fn partial_fills_keep_the_order_open_and_short_side_is_capped() {
        let options = PaperOptions {
            qty: Decimal::parse("0.0015").unwrap(),
        };
        let lines = [
            HELLO.to_owned(),
            quote(1, "100.00", "100.10"),
            fill(2, "s2", "100.10", "0.001", "0.0005"),
            fill(3, "s2", "100.10", "0.0005", "0"),
            quote(4, "100.00", "100.10"),
            r#"{"type":"end","seq":5}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (result, out) = session(&options, &lines);
        let summary = result.unwrap();
        let out: Vec<String> = out.iter().map(|l| blank_ns(l)).collect();
        assert_eq!(
            out,
            [
                hello_reply(),
                new(1, "b1", "buy", "100.00", "0.00150"),
                new(1, "s2", "sell", "100.10", "0.00150"),
                ready(1),
                // Still open: no new ask.
                ready(2),
                // Short 0.0015 of 0.002: the next ask is only 0.0005, and
                // one order size short skews it up a tick.
                new(3, "s3", "sell", "100.11", "0.00050"),
                ready(3),
                ready(4),
                r#"{"type":"bye","seq":5}"#.to_owned(),
            ]
        );
        assert_eq!(summary.fills, 2);
        assert_eq!(summary.positions, ["BTCUSDT -0.0015"]);
    }

    #[test]
    fn loss_stop_cancels_exposure_and_only_reduces() {
        let hello = r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"BTCUSDT","tick":"0.01","lot":"0.001"}],"max_position":"5","max_daily_loss":"10"}"#;
        let options = PaperOptions {
            qty: Decimal::parse("1").unwrap(),
        };
        let lines = [
            hello.to_owned(),
            quote(1, "100.00", "100.02"),
            fill(2, "b1", "100.00", "1", "0"),
            // Long 1 @ 100, marked at the bid 91: -9 <= -8 (80 % of 10).
            quote(3, "91.00", "91.02"),
            report("cancelled", 4, "b3"),
            report("cancelled", 5, "s2"),
            quote(6, "100.00", "100.02"),
            r#"{"type":"end","seq":7}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (result, out) = session(&options, &lines);
        let summary = result.unwrap();
        let out: Vec<String> = out.iter().map(|l| blank_ns(l)).collect();
        let new_ = |seq, id, side, price| new(seq, id, side, price, "1.000");
        assert_eq!(
            out,
            [
                hello_reply(),
                new_(1, "b1", "buy", "100.00"),
                new_(1, "s2", "sell", "100.02"),
                ready(1),
                new_(2, "b3", "buy", "99.99"),
                ready(2),
                cancel(3, "b3"),
                cancel(3, "s2"),
                ready(3),
                ready(4),
                // Reduce only: sell the long position, nothing more.
                new_(5, "s4", "sell", "91.02"),
                ready(5),
                // Stop is sticky even if the price recovers; the stale ask
                // may be replaced.
                cancel(6, "s4"),
                ready(6),
                r#"{"type":"bye","seq":7}"#.to_owned(),
            ]
        );
        assert!(summary.loss_stop);
    }

    #[test]
    fn rejects_block_a_side_until_the_next_quote_and_cancel_reject_closes() {
        let lines = [
            HELLO.to_owned(),
            quote(1, "10.00", "10.05"),
            report("reject", 2, "b1"),
            report("cancel_reject", 3, "s2"),
            quote(4, "10.00", "10.05"),
            quote(5, "10.01", "10.05"),
            r#"{"type":"end","seq":6}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            replies(&lines),
            [
                hello_reply(),
                new(1, "b1", "buy", "10.00", "0.00100"),
                new(1, "s2", "sell", "10.05", "0.00100"),
                ready(1),
                ready(2),
                // s2 is closed; the sell side is free again at once.
                new(3, "s3", "sell", "10.05", "0.00100"),
                ready(3),
                // Same book: the rejected buy side still waits.
                ready(4),
                new(5, "b4", "buy", "10.01", "0.00100"),
                ready(5),
                r#"{"type":"bye","seq":6}"#.to_owned(),
            ]
        );
    }

    #[test]
    fn crossed_or_empty_books_are_not_quoted() {
        let lines = [
            HELLO.to_owned(),
            quote(1, "10.05", "10.00"),
            quote(2, "0", "10.00"),
            r#"{"type":"end","seq":3}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            replies(&lines),
            [
                hello_reply(),
                ready(1),
                ready(2),
                r#"{"type":"bye","seq":3}"#.to_owned()
            ]
        );
    }

    fn error_of(lines: &[&str]) -> PaperError {
        match session(&PaperOptions::default(), lines).0 {
            Ok(_) => panic!("session succeeded: {lines:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn protocol_errors_exit_2() {
        let q1 = quote(1, "1.00", "1.01");
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (
                vec![
                    r#"{"type":"hello","protocol":2,"symbols":[],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "mismatch",
            ),
            (
                vec![
                    r#"{"type":"hello","protocol":"1","symbols":[],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "mismatch",
            ),
            (vec![r#"{"type":"quote","seq":1}"#], "expected hello"),
            (vec!["not json"], "malformed"),
            (
                vec![
                    r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"X","tick":"0","lot":"1"}],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "not positive",
            ),
            (
                vec![
                    r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"X","tick":"0.01","lot":"-1"}],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "not positive",
            ),
            (
                vec![
                    r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"X","tick":"1e-2","lot":"1"}],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "tick",
            ),
            (
                vec![
                    r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"X","tick":"0.01","lot":"1"}],"max_daily_loss":"1"}"#,
                ],
                "max_position",
            ),
            (
                vec![
                    r#"{"type":"hello","protocol":1,"symbols":[{"symbol":"X","tick":"0.01","lot":"1"},{"symbol":"X","tick":"0.01","lot":"1"}],"max_position":"1","max_daily_loss":"1"}"#,
                ],
                "twice",
            ),
            (vec![HELLO, ""], "malformed"),
            (vec![HELLO, r#"{"type":"quote","seq":1,"#], "malformed"),
            (
                vec![HELLO, r#"{"type":"modify","seq":1}"#],
                "unknown message type",
            ),
            (vec![HELLO, r#"{"type":"quote","seq":2}"#], "expected"),
            (vec![HELLO, r#"{"type":"quote","seq":"1"}"#], "seq"),
            (vec![HELLO, r#"{"seq":1}"#], "type"),
            (
                vec![HELLO, r#"{"type":"ack","seq":1,"client_id":"b1"}"#],
                "unknown client_id",
            ),
            (
                vec![
                    HELLO,
                    r#"{"type":"quote","seq":1,"symbol":"ETHUSDT","bid":"1","ask":"2","bid_qty":"1","ask_qty":"1"}"#,
                ],
                "not in hello",
            ),
            (
                vec![
                    HELLO,
                    r#"{"type":"quote","seq":1,"symbol":"BTCUSDT","bid":"1e3","ask":"2","bid_qty":"1","ask_qty":"1"}"#,
                ],
                "bid",
            ),
            (
                vec![
                    HELLO,
                    r#"{"type":"trade","seq":1,"symbol":"BTCUSDT","price":"1","qty":"1","side":"long"}"#,
                ],
                "side",
            ),
            (
                vec![
                    HELLO,
                    &q1,
                    r#"{"type":"fill","seq":2,"client_id":"b1","price":"1.00","qty":"0.000001","fee":"0","leaves":"0"}"#,
                ],
                "too many decimals",
            ),
            (
                vec![HELLO, &q1, r#"{"type":"ack","seq":2,"client_id":"s1"}"#],
                "unknown client_id",
            ),
            (
                vec![HELLO, &q1, r#"{"type":"ack","seq":2,"client_id":"b01"}"#],
                "unknown client_id",
            ),
            (vec![HELLO, r#"{"type":"hello","seq":1}"#], "second hello"),
        ];
        for (lines, needle) in cases {
            let error = error_of(&lines);
            assert_eq!(error.exit_code(), 2, "{lines:?}: {error}");
            assert!(error.to_string().contains(needle), "{lines:?}: {error}");
        }
    }

    #[test]
    fn eof_without_end_exits_1() {
        let q1 = quote(1, "1.00", "1.01");
        for lines in [vec![], vec![HELLO], vec![HELLO, q1.as_str()]] {
            let (result, _) = if lines.is_empty() {
                let mut output = Vec::new();
                (
                    run(&PaperOptions::default(), &b""[..], &mut output),
                    Vec::<String>::new(),
                )
            } else {
                session(&PaperOptions::default(), &lines)
            };
            let error = result.unwrap_err();
            assert_eq!(error.exit_code(), 1, "{error}");
        }
    }

    #[test]
    fn long_lines_are_truncated_in_errors() {
        let long = format!(r#"{{"type":"modify","seq":1,"x":"{}"}}"#, "y".repeat(500));
        let error = error_of(&[HELLO, &long]).to_string();
        assert!(error.len() < 400, "{error}");
        assert!(error.contains('…'));
    }
}
