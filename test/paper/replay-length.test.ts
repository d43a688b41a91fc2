/**
 * `[paper] min_market_seconds`: the staging stage paper-trades at least that
 * much market data, first event to last (the pipeline document's hour by
 * default); shorter data stops before the engine is built or anything is
 * replayed, naming the data's span and files. Also the market checks made at
 * the same point: `[paper] market` reaches the readers, and COIN-M (inverse)
 * contracts are refused by the linear accounting of the harness.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { loadPipelineConfig } from "../../src/config/pipeline-config.js";
import { PipelineError } from "../../src/core/errors.js";
import type { StepContext } from "../../src/engine/step.js";
import { readMarketData } from "../../src/market/read-market.js";
import { type PaperPolicy, paperPolicyFrom } from "../../src/paper/policy.js";
import { marketSeconds, replayLengthProblem } from "../../src/paper/replay-length.js";
import { PaperSetupError, runPaperJob } from "../../src/paper/run-paper.js";
import { allStepIds } from "../../src/stages/registry.js";
import { paperTradingStep } from "../../src/steps/staging/paper-trading.js";
import { runCli } from "../helpers/cli.js";
import { EXAMPLE } from "../helpers/example.js";
import { MARKET_CAPTURE_DIR, MARKET_CAPTURE_FILES } from "../helpers/market-data.js";
import { tape } from "../helpers/tape.js";
import { tempDir } from "../helpers/temp.js";
import { at, coinmSnapshot, futuresDepth, futuresQuote, futuresTrade, markPrice } from "../market/capture-lines.js";

const ENGINE = join(import.meta.dirname, "../fixtures/engines/scripted-engine.mjs");
const ENVIRONMENT = resolveEnvironment({ environment: "test", processEnv: {} });

/** A workspace holding 20 s of USD-M futures data (quotes every second, a trade, mark prices) as `btcusdt-usdm.txt`. */
function futuresWorkspace(): string {
  const dir = tempDir("shriven-paper-length-");
  const lines = [futuresDepth(at(0), 100, 110, 95), markPrice(at(0))];
  for (let s = 0; s <= 20; s++) lines.push(futuresQuote(at(s * 1000), 200 + s));
  lines.push(futuresTrade(at(20_000), 7001));
  writeFileSync(join(dir, "btcusdt-usdm.txt"), `${lines.join("\n")}\n`);
  return dir;
}

/** The policy of a job on `btcusdt-usdm.txt` with the scripted idle engine and a build that would fail. */
function policy(extra: Parameters<typeof paperPolicyFrom>[0] = {}): PaperPolicy {
  return paperPolicyFrom({
    data: ["btcusdt-usdm.txt"],
    build_command: [process.execPath, "-e", "process.exit(3)"],
    engine_command: [process.execPath, ENGINE, "idle"],
    message_timeout_seconds: 10,
    ...extra,
  });
}

const SHORT =
  "market data too short to replay: 20.0 s, from 2024-08-08T23:54:14.000Z to 2024-08-08T23:54:34.000Z in btcusdt-usdm.txt; " +
  "[paper] min_market_seconds = 3600 (the staging stage paper-trades at least that much history): give more data, or lower min_market_seconds with a comment saying why";

describe("the replay's length", () => {
  it("names the span and the files of data shorter than the minimum, and passes data as long", () => {
    const two = tape([
      { t: 0, kind: "trade", price: 1, qty: 1, id: 1 },
      { t: 90e9, kind: "trade", price: 1, qty: 1, id: 2 },
    ]);
    expect(marketSeconds(two)).toBe(90);
    expect(replayLengthProblem(two, ["a.gz", "b.gz"], 3600)).toBe(
      "market data too short to replay: 90.0 s, from 1970-01-01T00:00:00.000Z to 1970-01-01T00:01:30.000Z in a.gz, b.gz; " +
        "[paper] min_market_seconds = 3600 (the staging stage paper-trades at least that much history): give more data, or lower min_market_seconds with a comment saying why",
    );
    expect(replayLengthProblem(two, ["a.gz"], 90)).toBeUndefined();
    expect(replayLengthProblem(tape([]), ["x.gz"], 1)).toContain("market data too short to replay: no events in x.gz;");
    expect(replayLengthProblem(tape([]), ["x.gz"], 0)).toBeUndefined();
  });

  it("the bundled capture (about 11 minutes) fails the default hour and passes the example's own setting", async () => {
    const { tape: bundled } = await readMarketData(MARKET_CAPTURE_FILES.map((f) => join(MARKET_CAPTURE_DIR, f)));
    expect(marketSeconds(bundled)).toBeCloseTo(650.6, 1);
    expect(replayLengthProblem(bundled, MARKET_CAPTURE_FILES, paperPolicyFrom(undefined).minMarketSeconds)).toMatch(
      /^market data too short to replay: 650\.6 s, from 2024-08-08T23:54:13\.937Z to 2024-08-09T00:05:04\.535Z in btcusdt_20240808\.gz, btcusdt_20240809\.gz; \[paper\] min_market_seconds = 3600 /,
    );
    const example = loadPipelineConfig({ workspace: EXAMPLE, stepIds: allStepIds() }).policies.paper;
    expect(example.minMarketSeconds).toBe(600);
    expect(replayLengthProblem(bundled, MARKET_CAPTURE_FILES, example.minMarketSeconds)).toBeUndefined();
  });

  it("a job on shorter data stops before building the engine, naming span and files", async () => {
    const source = futuresWorkspace();
    const job = runPaperJob({ source, policy: policy(), environment: ENVIRONMENT, outDir: join(source, "out") });
    await expect(job).rejects.toThrow(PaperSetupError);
    await expect(job).rejects.toThrow(SHORT);
  });

  it("the staging step fails on it, with the same message (a PipelineError: the stage fails the step with it)", async () => {
    const source = futuresWorkspace();
    const context = {
      services: { host: { workspace: source, environment: ENVIRONMENT } },
      policies: { paper: policy() },
      signal: new AbortController().signal,
    } as unknown as StepContext;
    const run = paperTradingStep.run(context);
    await expect(run).rejects.toThrow(PipelineError);
    await expect(run).rejects.toThrow(SHORT);
  });

  it("the paper command applies it too", async () => {
    const source = futuresWorkspace();
    const run = await runCli(["paper", "--source", source, "--data", join(source, "btcusdt-usdm.txt"), "--no-build"], { cwd: source });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`shriven-pipeline: ${SHORT}\n`);
  });

  it("a job on data as long as the minimum replays it; the report names the instruments' market and the messages left out", async () => {
    const source = futuresWorkspace();
    const { report } = await runPaperJob({
      source,
      policy: policy({ min_market_seconds: 20 }),
      environment: ENVIRONMENT,
      outDir: join(source, "out"),
      build: false,
    });
    expect(report.engine.name).toBe("scripted-engine idle");
    expect(report.data.simulatedSeconds).toBe(20);
    expect(report.data.instruments).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "usdm" }]);
    expect(report.data.ignored).toEqual([
      { kind: "markPrice", count: 1, firstLine: 2, reason: "mark price and funding are not simulated" },
    ]);
  });
});

describe("the market, checked before the replay", () => {
  it("[paper] market reaches the reader: data of another market is refused, naming file and line", async () => {
    const source = futuresWorkspace();
    writeFileSync(join(source, "shriven-pipeline.toml"), '[paper]\nmarket = "coinm"\nmin_market_seconds = 0\n');
    const run = await runCli(["paper", "--source", source, "--data", join(source, "btcusdt-usdm.txt"), "--no-build"], { cwd: source });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `shriven-pipeline: ${join(source, "btcusdt-usdm.txt")}: line 1 (symbol BTCUSDT) is Binance USD-M futures data, but [paper] market = "coinm"\n`,
    );
  });

  it("COIN-M (inverse) contracts are read but not paper-traded: the harness books linear P&L", async () => {
    const source = tempDir("shriven-paper-coinm-");
    const lines = [
      coinmSnapshot(at(0), 100, [["9638.0", "431"]], [["9638.2", "12"]]),
      futuresQuote(at(1), 101, "9638.0", "9638.2", "BTCUSD_PERP"),
    ];
    writeFileSync(join(source, "btcusd_perp.txt"), `${lines.join("\n")}\n`);
    const job = runPaperJob({
      source,
      policy: policy({ data: ["btcusd_perp.txt"], min_market_seconds: 0 }),
      environment: ENVIRONMENT,
      outDir: join(source, "out"),
    });
    await expect(job).rejects.toThrow(
      "BTCUSD_PERP is a Binance COIN-M futures contract: inverse (quantity in contracts, P&L in the coin), while the harness books linear instruments (quantity in the base asset, P&L in the quote currency); paper trading replays Binance spot and USD-M futures data",
    );
  });
});
