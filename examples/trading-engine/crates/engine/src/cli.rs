//! Command-line parsing for the `shriven-quant` binary.

use std::error::Error;
use std::fmt;

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
  help                           Print this help
  version                        Print the version (also -V, --version)

Risk limits of demo are read from the environment (paper takes
max_position and max_daily_loss from the harness's hello instead):
  MAX_POSITION_SIZE   maximum absolute position in lots
  MAX_DAILY_LOSS      maximum daily loss in ticks x lots
  MAX_ORDER_QTY       maximum single order quantity in lots";

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
}
