/**
 * One paper-trading job on a workspace: read the market data (through the
 * parse cache) and check it is long enough and of a market the harness can
 * account, build the engine, replay the data through it, and write
 * `paper-report.json`, `paper-report.md` and every fill in `paper-fills.jsonl`.
 */
import { mkdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { execa } from "execa";
import { writeFileAtomically } from "../core/atomic-file.js";
import { PipelineError } from "../core/errors.js";
import { workspaceEnv } from "../core/least-privilege-env.js";
import { readMarketData } from "../market/read-market.js";
import { type MarketTape, marketName } from "../market/types.js";
import { runPaperTrading } from "./harness.js";
import type { PaperPolicy } from "./policy.js";
import { timeText } from "./protocol.js";
import { replayLengthProblem } from "./replay-length.js";
import { buildPaperReport, type PaperReport, paperReportMarkdown } from "./report.js";

/**
 * The environment profile a paper-trading job runs in, as far as the job reads
 * it: the profile's trading mode and risk limits, and its variables for the
 * engine's environment (an environment resolved by the config is one).
 */
export interface PaperEnvironment {
  /** The environment's name (`test`, `production`), for messages. */
  readonly name: string;
  readonly profile: {
    readonly TRADING_MODE: "paper" | "live";
    readonly MAX_POSITION_SIZE: number;
    readonly MAX_DAILY_LOSS: number;
  };
  /** Profile variables as strings, passed to the engine and its build. */
  readonly variables: Readonly<Record<string, string>>;
}

/** The job could not start (no data, a failed build, live trading mode); the message says why. */
export class PaperSetupError extends PipelineError {
  override readonly name: string = "PaperSetupError";
}

/** What one paper-trading job runs on. */
export interface PaperJob {
  /** The workspace (absolute). */
  readonly source: string;
  readonly policy: PaperPolicy;
  /** Market data files; relative ones are taken from the workspace. Default: the policy's `data`. */
  readonly data?: readonly string[];
  readonly environment: PaperEnvironment;
  /** Build the engine first (default true). */
  readonly build?: boolean;
  /** Where the report files go (absolute). */
  readonly outDir: string;
  /** Progress lines ("building the engine", "replaying 99,574 events"). */
  readonly progress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What a job wrote: the report, its files, and where the data came from. */
export interface PaperJobResult {
  readonly report: PaperReport;
  readonly files: { readonly json: string; readonly markdown: string; readonly fills: string };
  /** Whether each data file came from the parse cache. */
  readonly cached: readonly boolean[];
}

/**
 * Why the harness cannot account the tape's instruments, or undefined: it
 * books linear instruments (quantity in the base asset, P&L in the quote
 * currency), and COIN-M futures are inverse (quantity in contracts, P&L in the coin).
 */
function accountingProblem(tape: MarketTape): string | undefined {
  const inverse = tape.symbols.find((s) => s.market === "coinm");
  if (inverse === undefined) return undefined;
  return (
    `${inverse.symbol} is a ${marketName(inverse.venue, inverse.market)} contract: inverse (quantity in contracts, P&L in the coin), ` +
    "while the harness books linear instruments (quantity in the base asset, P&L in the quote currency); paper trading replays Binance spot and USD-M futures data"
  );
}

/**
 * Runs a paper-trading job; engine misbehaviour is in the report, setup problems
 * (no data, data shorter than `[paper] min_market_seconds`, a failed build…) throw PaperSetupError.
 */
export async function runPaperJob(job: PaperJob): Promise<PaperJobResult> {
  const { policy, environment } = job;
  if (environment.profile.TRADING_MODE !== "paper")
    throw new PaperSetupError(
      `paper trading runs with TRADING_MODE=paper; the ${environment.name} profile has TRADING_MODE=${environment.profile.TRADING_MODE}`,
    );
  const data = (job.data ?? policy.data).map((p) => (isAbsolute(p) ? p : join(job.source, p)));
  if (data.length === 0) throw new PaperSetupError("no market data: give --data FILE or set [paper] data = [...] in shriven-pipeline.toml");
  const { tape, cached } = await readMarketData(data, {
    policy: policy.faults,
    cacheDir: resolve(job.source, policy.cacheDir),
    maxGapSeconds: policy.maxGapSeconds,
    market: policy.market,
  });
  const named = data.map((p) => (relative(job.source, p).startsWith("..") ? p : relative(job.source, p)));
  const problem = accountingProblem(tape) ?? replayLengthProblem(tape, named, policy.minMarketSeconds);
  if (problem !== undefined) throw new PaperSetupError(problem);
  if (job.build ?? true) {
    job.progress?.(`building the engine: ${policy.buildCommand.join(" ")}`);
    const [file, ...args] = policy.buildCommand;
    const built = await execa(file as string, args, {
      cwd: job.source,
      env: workspaceEnv({ argv: policy.buildCommand, env: environment.variables }),
      extendEnv: false,
      reject: false,
      all: true,
      cancelSignal: job.signal,
    });
    if (built.exitCode !== 0) {
      const tail = (built.all ?? "").trim().split("\n").slice(-5).join("\n");
      throw new PaperSetupError(`building the engine failed (${policy.buildCommand.join(" ")}):\n${tail}`);
    }
  }
  job.progress?.(`replaying ${tape.length} events from ${data.length} file${data.length === 1 ? "" : "s"}`);
  const [program, ...rest] = policy.engineCommand;
  const argv = [program?.includes("/") ? resolve(job.source, program) : (program as string), ...rest];
  const limits = { maxPosition: environment.profile.MAX_POSITION_SIZE, maxDailyLoss: environment.profile.MAX_DAILY_LOSS };
  const run = await runPaperTrading({
    tape,
    engine: { argv, cwd: job.source, env: { ...environment.variables } },
    policy,
    limits,
    tradingMode: environment.profile.TRADING_MODE,
    ...(job.signal === undefined ? {} : { signal: job.signal }),
  });
  const built = buildPaperReport({ run, tape, sources: data, policy, engineCommand: policy.engineCommand, limits });
  const report: PaperReport = { ...built, data: { ...built.data, fromCache: cached } };
  mkdirSync(job.outDir, { recursive: true });
  const files = {
    json: join(job.outDir, "paper-report.json"),
    markdown: join(job.outDir, "paper-report.md"),
    fills: join(job.outDir, "paper-fills.jsonl"),
  };
  writeFileAtomically(
    files.fills,
    run.fills.map((f) => `${JSON.stringify({ ...f, time: timeText(Number(tape.baseNs / 1_000_000_000n), f.t) })}\n`).join(""),
  );
  writeFileAtomically(files.markdown, paperReportMarkdown(report));
  writeFileAtomically(files.json, `${JSON.stringify(report, null, 2)}\n`);
  return { report, files, cached };
}
