//! Command-line parsing for the `shriven-quant` binary.

use std::error::Error;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};

use crate::decimal::Decimal;
use crate::demo::DemoOptions;
use crate::paper::PaperOptions;

/// Usage text printed by `--help` and on usage errors.
pub const USAGE: &str = "\
Usage: shriven-quant <COMMAND>

Commands:
  demo [--events N] [--seed S]   Run a deterministic simulated trading session
  hotpath [--iterations N]       Run N market events through the order-handling
                                 and risk-check hot path; print a checksum
  paper [--qty DECIMAL]          Trade on the paper-trading protocol v1: harness
                                 messages on stdin, orders on stdout; DECIMAL is
                                 the order size in base units (default 0.001)
  serve [--listen ADDR:PORT] [--listen-any] [--events-per-second N]
        [--seed S] [--max-seconds N]
                                 Run the engine on the simulated market at N
                                 events per second (default 1000) and serve
                                 Prometheus metrics over HTTP: GET /metrics
                                 (text format 0.0.4) and GET /health. Listens
                                 on 127.0.0.1:9100 by default (port 0 picks a
                                 free port; the address is printed on stdout);
                                 an address that is not loopback is refused
                                 unless --listen-any is given. --max-seconds
                                 stops the server after N seconds
  help                           Print this help
  version                        Print the version (also -V, --version)

Risk limits of demo are read from the environment (paper takes
max_position and max_daily_loss from the harness's hello instead):
  MAX_POSITION_SIZE   maximum absolute position in lots
  MAX_DAILY_LOSS      maximum daily loss in ticks x lots
  MAX_ORDER_QTY       maximum single order quantity in lots
(serve reads them from the environment too).

Test aids of serve (fault injection for the post-deploy monitor's tests;
never use them in production):
  --inject-latency-us N          busy-wait N microseconds in every event, so
                                 the latency quantiles rise
  --leak-bytes-per-second N      grow resident memory by N bytes per second
  --error-every N                count every Nth event as an error";

/// A parsed command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Print the version.
    Version,
    /// Print usage.
    Help,
    /// Run the demo session.
    Demo(DemoOptions),
    /// Run the hot path in a loop.
    Hotpath(HotpathOptions),
    /// Trade on the paper-trading protocol over stdin/stdout.
    Paper(PaperOptions),
    /// Run the engine on the simulated market and serve metrics over HTTP.
    Serve(ServeOptions),
}

/// Parameters of the `hotpath` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotpathOptions {
    /// Market events to run through the hot path (at least 1).
    pub iterations: u64,
}

impl Default for HotpathOptions {
    fn default() -> Self {
        Self {
            iterations: 100_000,
        }
    }
}

/// Parameters of the `serve` command.
///
/// `inject_latency_us`, `leak_bytes_per_second` and `error_every` are test
/// aids: they inject faults so the post-deploy monitor can be tested against
/// the real binary. They are all off (0) by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Address of the HTTP listener (`--listen`, default `127.0.0.1:9100`).
    pub listen: SocketAddr,
    /// Allow an address that is not loopback (`--listen-any`).
    pub listen_any: bool,
    /// Simulated market events per second (`--events-per-second`, 1 to
    /// 1 000 000, default 1000).
    pub events_per_second: u64,
    /// Seed of the market simulator (`--seed`, default 42).
    pub seed: u64,
    /// Stop after this many seconds (`--max-seconds`); `None` serves until
    /// the process is killed.
    pub max_seconds: Option<u64>,
    /// Test aid: busy-wait this many microseconds in every event
    /// (`--inject-latency-us`, at most 1 000 000).
    pub inject_latency_us: u64,
    /// Test aid: grow resident memory by this many bytes per second
    /// (`--leak-bytes-per-second`).
    pub leak_bytes_per_second: u64,
    /// Test aid: count every Nth event as an error (`--error-every`; 0 is off).
    pub error_every: u64,
    /// The `TRADING_MODE` of the environment profile, reported in the
    /// metrics (not a command-line option: the deploy sets it).
    pub trading_mode: TradingMode,
}

/// Whether orders reach a real venue (`live`) or stay simulated (`paper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradingMode {
    /// Simulated trading; the default when `TRADING_MODE` is not set.
    #[default]
    Paper,
    /// Real orders.
    Live,
}

impl TradingMode {
    /// The mode named by a `TRADING_MODE` value; unset is paper.
    ///
    /// # Errors
    ///
    /// [`CliError::InvalidValue`] for anything but `paper` or `live`.
    pub fn from_env_value(value: Option<&str>) -> Result<Self, CliError> {
        match value {
            None | Some("paper") => Ok(Self::Paper),
            Some("live") => Ok(Self::Live),
            Some(other) => Err(CliError::InvalidValue {
                option: "TRADING_MODE",
                value: other.to_owned(),
            }),
        }
    }

    /// `paper` or `live`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Live => "live",
        }
    }
}

impl ServeOptions {
    /// Highest accepted `--events-per-second`.
    pub const MAX_EVENTS_PER_SECOND: u64 = 1_000_000;
    /// Highest accepted `--inject-latency-us` (one second).
    pub const MAX_INJECT_LATENCY_US: u64 = 1_000_000;
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 9100)),
            listen_any: false,
            events_per_second: 1000,
            seed: 42,
            max_seconds: None,
            inject_latency_us: 0,
            leak_bytes_per_second: 0,
            error_every: 0,
            trading_mode: TradingMode::Paper,
        }
    }
}

/// A command-line usage error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// No command was given.
    MissingCommand,
    /// The command is not known.
    UnknownCommand(String),
    /// An option is not known for the command.
    UnknownOption(String),
    /// An option requires a value.
    MissingValue(&'static str),
    /// `serve --listen` names an address that is not loopback and
    /// `--listen-any` was not given.
    NotLoopback(SocketAddr),
    /// An option value could not be parsed.
    InvalidValue {
        /// The option, e.g. `--events`.
        option: &'static str,
        /// The raw value.
        value: String,
    },
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingCommand => f.write_str("no command given"),
            Self::UnknownCommand(c) => write!(f, "unknown command '{c}'"),
            Self::UnknownOption(o) => write!(f, "unknown option '{o}'"),
            Self::MissingValue(o) => write!(f, "option '{o}' requires a value"),
            Self::NotLoopback(addr) => write!(
                f,
                "refusing to listen on {addr}: not a loopback address (add --listen-any to serve metrics to the network)"
            ),
            Self::InvalidValue { option, value } => {
                write!(f, "invalid value '{value}' for '{option}'")
            }
        }
    }
}

impl Error for CliError {}

/// Parses the arguments that follow the program name.
///
/// # Errors
///
/// Returns a [`CliError`] describing the first problem found.
pub fn parse_args<I>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = String>,
{
    let mut args = args.into_iter();
    let command = args.next().ok_or(CliError::MissingCommand)?;
    match command.as_str() {
        "-V" | "--version" | "version" => Ok(Command::Version),
        "-h" | "--help" | "help" => Ok(Command::Help),
        "demo" => parse_demo(args).map(Command::Demo),
        "hotpath" => parse_hotpath(args).map(Command::Hotpath),
        "paper" => parse_paper(args).map(Command::Paper),
        "serve" => parse_serve(args).map(Command::Serve),
        _ => Err(CliError::UnknownCommand(command)),
    }
}

fn parse_demo(mut args: impl Iterator<Item = String>) -> Result<DemoOptions, CliError> {
    let mut options = DemoOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--events" => options.events = parse_value("--events", args.next())?,
            "--seed" => options.seed = parse_value("--seed", args.next())?,
            _ => return Err(CliError::UnknownOption(arg)),
        }
    }
    if options.events == 0 {
        return Err(CliError::InvalidValue {
            option: "--events",
            value: "0".to_owned(),
        });
    }
    Ok(options)
}

fn parse_hotpath(mut args: impl Iterator<Item = String>) -> Result<HotpathOptions, CliError> {
    let mut options = HotpathOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--iterations" => options.iterations = parse_value("--iterations", args.next())?,
            _ => return Err(CliError::UnknownOption(arg)),
        }
    }
    if options.iterations == 0 {
        return Err(CliError::InvalidValue {
            option: "--iterations",
            value: "0".to_owned(),
        });
    }
    Ok(options)
}

fn parse_paper(mut args: impl Iterator<Item = String>) -> Result<PaperOptions, CliError> {
    let mut options = PaperOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--qty" => {
                let value = args.next().ok_or(CliError::MissingValue("--qty"))?;
                options.qty = match Decimal::parse(&value) {
                    Ok(qty) if qty.is_positive() => qty,
                    _ => {
                        return Err(CliError::InvalidValue {
                            option: "--qty",
                            value,
                        })
                    }
                };
            }
            _ => return Err(CliError::UnknownOption(arg)),
        }
    }
    Ok(options)
}

fn parse_serve(mut args: impl Iterator<Item = String>) -> Result<ServeOptions, CliError> {
    let mut options = ServeOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => options.listen = parse_value("--listen", args.next())?,
            "--listen-any" => options.listen_any = true,
            "--events-per-second" => {
                options.events_per_second = parse_value("--events-per-second", args.next())?;
            }
            "--seed" => options.seed = parse_value("--seed", args.next())?,
            "--max-seconds" => {
                options.max_seconds = Some(parse_value("--max-seconds", args.next())?)
            }
            "--inject-latency-us" => {
                options.inject_latency_us = parse_value("--inject-latency-us", args.next())?;
            }
            "--leak-bytes-per-second" => {
                options.leak_bytes_per_second =
                    parse_value("--leak-bytes-per-second", args.next())?;
            }
            "--error-every" => options.error_every = parse_value("--error-every", args.next())?,
            _ => return Err(CliError::UnknownOption(arg)),
        }
    }
    let out_of_range = |option: &'static str, value: u64| CliError::InvalidValue {
        option,
        value: value.to_string(),
    };
    if options.events_per_second == 0
        || options.events_per_second > ServeOptions::MAX_EVENTS_PER_SECOND
    {
        return Err(out_of_range(
            "--events-per-second",
            options.events_per_second,
        ));
    }
    if options.inject_latency_us > ServeOptions::MAX_INJECT_LATENCY_US {
        return Err(out_of_range(
            "--inject-latency-us",
            options.inject_latency_us,
        ));
    }
    if options.max_seconds == Some(0) {
        return Err(out_of_range("--max-seconds", 0));
    }
    if !options.listen_any && !options.listen.ip().is_loopback() {
        return Err(CliError::NotLoopback(options.listen));
    }
    Ok(options)
}

fn parse_value<T: std::str::FromStr>(
    option: &'static str,
    value: Option<String>,
) -> Result<T, CliError> {
    let value = value.ok_or(CliError::MissingValue(option))?;
    value
        .parse()
        .map_err(|_| CliError::InvalidValue { option, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, CliError> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn version_and_help_flags() {
        for flag in ["-V", "--version", "version"] {
            assert_eq!(parse(&[flag]), Ok(Command::Version));
        }
        for flag in ["-h", "--help", "help"] {
            assert_eq!(parse(&[flag]), Ok(Command::Help));
        }
        assert_eq!(parse(&[]), Err(CliError::MissingCommand));
        assert_eq!(
            parse(&["trade"]),
            Err(CliError::UnknownCommand("trade".to_owned()))
        );
    }

    #[test]
    fn demo_options() {
        assert_eq!(parse(&["demo"]), Ok(Command::Demo(DemoOptions::default())));
        let expected = DemoOptions {
            events: 500,
            seed: 9,
            ..DemoOptions::default()
        };
        assert_eq!(
            parse(&["demo", "--seed", "9", "--events", "500"]),
            Ok(Command::Demo(expected))
        );
    }

    #[test]
    fn demo_option_errors() {
        assert_eq!(
            parse(&["demo", "--events"]),
            Err(CliError::MissingValue("--events"))
        );
        assert_eq!(
            parse(&["demo", "--events", "lots"]),
            Err(CliError::InvalidValue {
                option: "--events",
                value: "lots".to_owned()
            })
        );
        assert!(parse(&["demo", "--events", "0"]).is_err());
        assert_eq!(
            parse(&["demo", "--fast"]),
            Err(CliError::UnknownOption("--fast".to_owned()))
        );
    }

    #[test]
    fn hotpath_options() {
        assert_eq!(
            parse(&["hotpath"]),
            Ok(Command::Hotpath(HotpathOptions::default()))
        );
        assert_eq!(
            parse(&["hotpath", "--iterations", "20000"]),
            Ok(Command::Hotpath(HotpathOptions { iterations: 20_000 }))
        );
        assert!(USAGE.contains("hotpath [--iterations N]"));
    }

    #[test]
    fn paper_options() {
        assert_eq!(
            parse(&["paper"]),
            Ok(Command::Paper(PaperOptions::default()))
        );
        assert_eq!(
            PaperOptions::default().qty,
            Decimal::parse("0.001").unwrap()
        );
        assert_eq!(
            parse(&["paper", "--qty", "0.25"]),
            Ok(Command::Paper(PaperOptions {
                qty: Decimal::parse("0.25").unwrap()
            }))
        );
        assert_eq!(
            parse(&["paper", "--qty", "2", "--qty", "0.00500"]),
            Ok(Command::Paper(PaperOptions {
                qty: Decimal::parse("0.005").unwrap()
            }))
        );
        assert!(USAGE.contains("paper [--qty DECIMAL]"));
    }

    #[test]
    fn paper_option_errors() {
        assert_eq!(
            parse(&["paper", "--qty"]),
            Err(CliError::MissingValue("--qty"))
        );
        for bad in ["0", "0.000", "-1", "1e-3", "abc", "", ".5", "1,5"] {
            assert_eq!(
                parse(&["paper", "--qty", bad]),
                Err(CliError::InvalidValue {
                    option: "--qty",
                    value: bad.to_owned()
                })
            );
        }
        assert_eq!(
            parse(&["paper", "--max-orders-per-second", "5"]),
            Err(CliError::UnknownOption(
                "--max-orders-per-second".to_owned()
            ))
        );
    }

    #[test]
    fn serve_options() {
        let defaults = ServeOptions::default();
        assert_eq!(parse(&["serve"]), Ok(Command::Serve(defaults)));
        assert_eq!(defaults.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(defaults.events_per_second, 1000);
        assert_eq!(
            (
                defaults.inject_latency_us,
                defaults.leak_bytes_per_second,
                defaults.error_every
            ),
            (0, 0, 0),
            "fault injection is off by default"
        );
        let expected = ServeOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            events_per_second: 250,
            seed: 7,
            max_seconds: Some(30),
            inject_latency_us: 300,
            leak_bytes_per_second: 1_048_576,
            error_every: 100,
            ..defaults
        };
        assert_eq!(
            parse(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--events-per-second",
                "250",
                "--seed",
                "7",
                "--max-seconds",
                "30",
                "--inject-latency-us",
                "300",
                "--leak-bytes-per-second",
                "1048576",
                "--error-every",
                "100",
            ]),
            Ok(Command::Serve(expected))
        );
        assert_eq!(
            parse(&["serve", "--listen", "[::1]:9100"]),
            Ok(Command::Serve(ServeOptions {
                listen: "[::1]:9100".parse().unwrap(),
                ..defaults
            }))
        );
        assert!(USAGE.contains("serve [--listen ADDR:PORT] [--listen-any]"));
        for aid in [
            "--inject-latency-us N",
            "--leak-bytes-per-second N",
            "--error-every N",
        ] {
            assert!(USAGE.contains(aid), "usage documents {aid}");
        }
    }

    #[test]
    fn serve_refuses_non_loopback_without_listen_any() {
        let any: SocketAddr = "0.0.0.0:9100".parse().unwrap();
        assert_eq!(
            parse(&["serve", "--listen", "0.0.0.0:9100"]),
            Err(CliError::NotLoopback(any))
        );
        assert!(CliError::NotLoopback(any)
            .to_string()
            .contains("--listen-any"));
        assert_eq!(
            parse(&["serve", "--listen-any", "--listen", "0.0.0.0:9100"]),
            Ok(Command::Serve(ServeOptions {
                listen: any,
                listen_any: true,
                ..ServeOptions::default()
            }))
        );
    }

    #[test]
    fn serve_option_errors() {
        assert_eq!(
            parse(&["serve", "--listen"]),
            Err(CliError::MissingValue("--listen"))
        );
        for bad in ["localhost:9100", "127.0.0.1", "127.0.0.1:70000", ""] {
            assert_eq!(
                parse(&["serve", "--listen", bad]),
                Err(CliError::InvalidValue {
                    option: "--listen",
                    value: bad.to_owned()
                })
            );
        }
        for (option, bad) in [
            ("--events-per-second", "0"),
            ("--events-per-second", "1000001"),
            ("--events-per-second", "fast"),
            ("--inject-latency-us", "1000001"),
            ("--inject-latency-us", "-1"),
            ("--max-seconds", "0"),
            ("--leak-bytes-per-second", "1.5"),
            ("--error-every", "x"),
        ] {
            assert_eq!(
                parse(&["serve", option, bad]),
                Err(CliError::InvalidValue {
                    option,
                    value: bad.to_owned()
                }),
                "{option} {bad}"
            );
        }
        assert_eq!(
            parse(&["serve", "--events", "5"]),
            Err(CliError::UnknownOption("--events".to_owned()))
        );
    }

    #[test]
    fn hotpath_option_errors() {
        assert_eq!(
            parse(&["hotpath", "--iterations"]),
            Err(CliError::MissingValue("--iterations"))
        );
        for bad in ["many", "-5", "1.5", "0"] {
            assert_eq!(
                parse(&["hotpath", "--iterations", bad]),
                Err(CliError::InvalidValue {
                    option: "--iterations",
                    value: bad.to_owned()
                })
            );
        }
        assert_eq!(
            parse(&["hotpath", "--events", "5"]),
            Err(CliError::UnknownOption("--events".to_owned()))
        );
    }

    #[test]
    fn trading_mode_from_the_environment() {
        assert_eq!(TradingMode::from_env_value(None), Ok(TradingMode::Paper));
        assert_eq!(
            TradingMode::from_env_value(Some("paper")),
            Ok(TradingMode::Paper)
        );
        assert_eq!(
            TradingMode::from_env_value(Some("live")),
            Ok(TradingMode::Live)
        );
        assert_eq!(
            TradingMode::from_env_value(Some("LIVE")),
            Err(CliError::InvalidValue {
                option: "TRADING_MODE",
                value: "LIVE".to_owned()
            })
        );
        assert_eq!(TradingMode::Live.as_str(), "live");
    }
}
