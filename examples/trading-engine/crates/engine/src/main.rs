//! `shriven-quant`: command-line entry point of the ShrivenQuant engine.
//!
//! Kept deliberately thin: parse the command line, dispatch to one function
//! per command, map errors to exit codes (2 for usage errors, 1 for runtime
//! errors). New modes add a `Command` variant and a `run_*` function.
//! `paper` maps its own errors to exit codes: 2 for a protocol error of the
//! harness, 1 for input ending before `end` or an I/O error.
//! `serve` runs until it is killed (or `--max-seconds` pass); it fails with
//! 1 when it cannot listen or the engine cannot be configured.

mod hotpath;
mod serve;

use std::error::Error;
use std::io;
use std::process::ExitCode;
use std::time::Instant;

use engine::cli::{self, Command, HotpathOptions, ServeOptions, TradingMode, USAGE};
use engine::demo::{self, DemoOptions};
use engine::paper::{self, PaperOptions};
use engine::risk::RiskLimits;

fn main() -> ExitCode {
    let command = match cli::parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Box<dyn Error>> {
    match command {
        Command::Version => println!("shriven-quant {}", engine::VERSION),
        Command::Help => println!("{USAGE}"),
        Command::Demo(options) => run_demo(&options)?,
        Command::Hotpath(options) => run_hotpath(&options)?,
        Command::Paper(options) => return Ok(run_paper(&options)),
        Command::Serve(options) => run_serve(&options)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the paper-trading protocol on stdin/stdout; diagnostics go to
/// stderr, stdout carries protocol lines only.
fn run_paper(options: &PaperOptions) -> ExitCode {
    match paper::run(options, io::stdin().lock(), io::stdout().lock()) {
        Ok(summary) => {
            eprintln!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shriven-quant paper: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run_demo(options: &DemoOptions) -> Result<(), Box<dyn Error>> {
    let limits = RiskLimits::from_env()?;
    let started = Instant::now();
    let summary = demo::run_demo(options, limits)?;
    let elapsed = started.elapsed();
    println!("{summary}");
    let per_event_ns = elapsed.as_nanos() / options.events.max(1) as u128;
    println!(
        "  elapsed           {:.3} ms ({per_event_ns} ns/event)",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}

fn run_hotpath(options: &HotpathOptions) -> Result<(), Box<dyn Error>> {
    let summary = hotpath::run_hotpath(options)?;
    println!("{summary}");
    Ok(())
}

/// Serves metrics until killed; prints the bound address on stdout first, so
/// a caller that passed port 0 learns the port.
fn run_serve(options: &ServeOptions) -> Result<(), Box<dyn Error>> {
    let limits = RiskLimits::from_env()?;
    let options = ServeOptions {
        trading_mode: TradingMode::from_env_value(std::env::var("TRADING_MODE").ok().as_deref())?,
        ..*options
    };
    serve::run_serve(&options, limits, |addr| {
        println!("shriven-quant serve: listening on http://{addr}");
    })?;
    Ok(())
}
