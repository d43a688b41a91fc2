/**
 * One paper-trading job on a workspace: build the engine, read the market
 * data (through the parse cache), replay it through the engine, and write
 * `paper-report.json`, `paper-report.md` and every fill in `paper-fills.jsonl`.
 */
import { mkdirSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { execa } from "execa";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import { readMarketData } from "../market/read-market.js";
import { writeAtomic } from "../report/write-report.js";
import { runPaperTrading } from "./harness.js";
import type { PaperPolicy } from "./paper-policy.js";
import { timeText } from "./protocol.js";
import { buildPaperReport, type PaperReport, paperReportMarkdown } from "./report.js";

/** The job could not start (no data, a failed build, live trading mode); the message says why. */
export class PaperSetupError extends Error {
  override readonly name = "PaperSetupError";
}

export interface PaperJob {
  /** The workspace (absolute). */
  readonly source: string;
  readonly policy: PaperPolicy;
  /** Market data files; relative ones are taken from the workspace. Default: the policy's `data`. */
  readonly data?: readonly string[];
  readonly environment: ResolvedEnvironment;
  /** Build the engine first (default true). */
  readonly build?: boolean;
  /** Where the report files go (absolute). */
  readonly outDir: string;
  /** Progress lines ("building the engine", "replaying 99,574 events"). */
  readonly progress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface PaperJobResult {
  readonly report: PaperReport;
  readonly files: { readonly json: string; readonly markdown: string; readonly fills: string };
  /** Whether each data file came from the parse cache. */
  readonly cached: readonly boolean[];
}

/** Runs a paper-trading job; engine misbehaviour is in the report, setup problems throw PaperSetupError. */
export async function runPaperJob(job: PaperJob): Promise<PaperJobResult> {
  const { policy, environment } = job;
  if (environment.profile.TRADING_MODE !== "paper")
    throw new PaperSetupError(
      `paper trading runs with TRADING_MODE=paper; the ${environment.name} profile has TRADING_MODE=${environment.profile.TRADING_MODE}`,
    );
  const data = (job.data ?? policy.data).map((p) => (isAbsolute(p) ? p : join(job.source, p)));
  if (data.length === 0) throw new PaperSetupError("no market data: give --data FILE or set [paper] data = [...] in shriven-pipeline.toml");
  if (job.build ?? true) {
    job.progress?.(`building the engine: ${policy.buildCommand.join(" ")}`);
    const [file, ...args] = policy.buildCommand;
    const built = await execa(file as string, args, { cwd: job.source, reject: false, all: true, cancelSignal: job.signal });
    if (built.exitCode !== 0) {
      const tail = (built.all ?? "").trim().split("\n").slice(-5).join("\n");
      throw new PaperSetupError(`building the engine failed (${policy.buildCommand.join(" ")}):\n${tail}`);
    }
  }
  const { tape, cached } = await readMarketData(data, {
    policy: policy.faults,
    cacheDir: resolve(job.source, policy.cacheDir),
    maxGapSeconds: policy.maxGapSeconds,
  });
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
  writeAtomic(
    files.fills,
    run.fills.map((f) => `${JSON.stringify({ ...f, time: timeText(Number(tape.baseNs / 1_000_000_000n), f.t) })}\n`).join(""),
  );
  writeAtomic(files.markdown, paperReportMarkdown(report));
  writeAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  return { report, files, cached };
}
