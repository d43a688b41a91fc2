/**
 * Paper-trading throughput on the real Binance capture (both files, merged):
 * - parse: reading the two gzip'd files into a tape, cold and from the parse cache;
 * - simulator alone: the in-process exchange applying every event (no engine);
 * - through the engine: the whole replay with the example engine process
 *   (`shriven-quant paper`, release build), the harness's exchange, risk
 *   monitor and protocol included.
 * Each figure is the median of the repeats, reported as a ratio to its target
 * (engine ≥ 150k events/s, so an hour of data replays in ≤ 10 s; simulator ≥ 3M events/s).
 *
 * Usage: npx tsx bench/paper.ts [--repeats N]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readMarketData } from "../src/market/read-market.js";
import type { MarketTape } from "../src/market/types.js";
import { Exchange } from "../src/paper/exchange.js";
import { runPaperTrading } from "../src/paper/harness.js";
import type { ExchangeReport } from "../src/paper/orders.js";
import { paperPolicyFrom } from "../src/paper/policy.js";
import { copyExample } from "../test/helpers/example.js";
import { MARKET_CAPTURE_DIR, MARKET_CAPTURE_FILES } from "../test/helpers/market-data.js";

const { values } = parseArgs({ options: { repeats: { type: "string", default: "5" } } });
const repeats = Number(values.repeats);
const FILES = MARKET_CAPTURE_FILES.map((f) => join(MARKET_CAPTURE_DIR, f));
const scratch = mkdtempSync(join(tmpdir(), "shriven-paper-bench-"));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function timed<T>(run: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const value = await run();
  return [value, performance.now() - started];
}

try {
  const cacheDir = join(scratch, "cache");
  const cold: number[] = [];
  const warm: number[] = [];
  let tape: MarketTape | undefined;
  for (let r = 0; r < repeats; r++) {
    rmSync(cacheDir, { recursive: true, force: true });
    cold.push((await timed(() => readMarketData(FILES, { cacheDir })))[1]);
    const [data, ms] = await timed(() => readMarketData(FILES, { cacheDir }));
    if (!data.cached.every(Boolean)) throw new Error("the second read did not come from the cache");
    warm.push(ms);
    tape = data.tape;
  }
  if (tape === undefined) throw new Error("--repeats must be at least 1");
  const events = tape.length;
  const simulatedSeconds = ((tape.t[events - 1] as number) - (tape.t[0] as number)) / 1e9;
  console.log(`data: ${fmt(events)} events, ${simulatedSeconds.toFixed(0)} s of market time`);
  console.log(`parse: cold ${median(cold).toFixed(0)} ms, from the cache ${median(warm).toFixed(1)} ms (median of ${repeats})`);

  const simulator: number[] = [];
  const out: ExchangeReport[] = [];
  for (let r = 0; r < repeats * 4; r++) {
    const exchange = new Exchange(tape, { makerFeeBps: 10, takerFeeBps: 10 });
    const [, ms] = await timed(() => {
      for (let i = 0; i < events; i++) exchange.onMarket(i, out);
    });
    simulator.push(events / (ms / 1000));
  }
  const sim = median(simulator);
  console.log(`simulator alone: ${fmt(sim)} events/s — ratio to the 3,000,000 target: ${(sim / 3e6).toFixed(2)}`);

  const source = copyExample(scratch);
  execFileSync("cargo", ["build", "--release", "--offline", "--package", "engine"], { cwd: source, stdio: "ignore" });
  const policy = paperPolicyFrom(undefined);
  const rates: number[] = [];
  let messages = 0;
  let fills = 0;
  // The first replay of the process runs while the JIT is still compiling the harness: reported on its own.
  for (let r = 0; r <= repeats; r++) {
    const run = await runPaperTrading({
      tape,
      engine: { argv: [join(source, "target/release/shriven-quant"), "paper"], cwd: source, env: {} },
      policy,
      limits: { maxPosition: 1000, maxDailyLoss: 100_000 },
      tradingMode: "paper",
    });
    if (run.fatal !== undefined || run.errorCount > 0) throw new Error(`the replay failed: ${run.fatal ?? run.errors[0]?.error}`);
    rates.push(run.eventsReplayed / (run.wallMs / 1000));
    messages = run.messagesSent;
    fills = run.fills.length;
  }
  const [first, ...warmRates] = rates as [number, ...number[]];
  const engine = median(warmRates);
  console.log(`through the engine process, first replay of the process: ${fmt(first)} events/s`);
  console.log(
    `through the engine process: ${fmt(engine)} events/s (${fmt(messages)} messages, ${fills} fills per replay) — ratio to the 150,000 target: ${(engine / 150_000).toFixed(2)}; one hour of this market in ${((3600 / simulatedSeconds) * (events / engine)).toFixed(1)} s`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
