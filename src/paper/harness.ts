/**
 * Paper trading: replays a market tape through the engine process while the
 * harness plays the exchange (docs/paper-trading-protocol.md). This module
 * runs the engine's process from start to exit around the replay: CPU pin,
 * RSS sampling, cancellation, handshake, replay loop, `end`, and the exit.
 * Nothing the engine says about its trading is used: fills, positions, P&L
 * and risk come from the harness's venue (venue.ts) and risk monitor.
 */

import type { MarketTape } from "../market/types.js";
import { type RssSample, sampleRss } from "../perf/memory-growth.js";
import { type CpuPin, pinToCurrentCpu } from "./cpu-pin.js";
import { EngineErrors } from "./engine-errors.js";
import { type EngineExit, EngineProcess, EngineStopped } from "./engine-process.js";
import { ReplyReader } from "./engine-replies.js";
import { endReplay, handshake } from "./handshake.js";
import type { PaperPolicy } from "./policy.js";
import { ReplayLoop } from "./replay-loop.js";
import { type PaperRun, summarizeRun } from "./run-summary.js";
import { ReplayVenue } from "./venue.js";

/** What the run needs. */
export interface PaperRunOptions {
  readonly tape: MarketTape;
  /** The engine's command, working directory and extra environment. */
  readonly engine: { readonly argv: readonly string[]; readonly cwd: string; readonly env: Readonly<Record<string, string>> };
  readonly policy: PaperPolicy;
  /** MAX_POSITION_SIZE (base units per symbol) and MAX_DAILY_LOSS (quote currency) of the environment profile. */
  readonly limits: { readonly maxPosition: number; readonly maxDailyLoss: number };
  readonly tradingMode: string;
  /** RSS sampling interval of the engine process (default 50 ms). */
  readonly rssIntervalMs?: number;
  readonly signal?: AbortSignal;
}

/** Time the engine gets to exit after `bye` or a closed stdin. */
const EXIT_GRACE_MS = 5000;

/**
 * Replays `options.tape` through the engine; never throws for engine misbehaviour (that is in the result).
 *
 * @throws RangeError when the order and response latencies add up to 0.
 * @throws Error when the engine cannot be started.
 */
export async function runPaperTrading(options: PaperRunOptions): Promise<PaperRun> {
  const { tape, policy } = options;
  const latency = { orderLatencyNs: policy.orderLatencyMs * 1e6, responseLatencyNs: policy.responseLatencyMs * 1e6 };
  if (!(latency.orderLatencyNs + latency.responseLatencyNs > 0))
    throw new RangeError("order_latency_ms + response_latency_ms must be above 0");
  const startedMs = performance.now();
  const errors = new EngineErrors();
  const fees = { makerFeeBps: policy.makerFeeBps, takerFeeBps: policy.takerFeeBps };
  const venue = new ReplayVenue(tape, fees, options.limits, latency.responseLatencyNs, errors);
  const pin = policy.pinCpu ? await pinToCurrentCpu() : undefined;
  const engine = await startEngine(options, pin);
  const stopSampling = new AbortController();
  const sampling = sampleRss(engine.pid, { intervalMs: options.rssIntervalMs ?? 50, signal: stopSampling.signal }).catch(
    () => [] as RssSample[],
  );
  const onAbort = (): void => {
    void engine.kill();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const replies = new ReplyReader(engine, tape, venue, errors, policy.messageTimeoutMs, latency.orderLatencyNs);
  const loop = new ReplayLoop(tape, engine, venue, replies, latency, options.signal);
  let fatal: string | undefined;
  let engineName: string | undefined;
  try {
    engineName = await handshake(engine, tape, options.limits, options.tradingMode, policy.messageTimeoutMs);
    await loop.run();
    await endReplay(engine, loop.seq + 1, policy.messageTimeoutMs, errors);
  } catch (error) {
    if (!(error instanceof EngineStopped)) throw error;
    fatal = error.message;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (fatal === undefined) fatal = exitProblem(await engine.stop(EXIT_GRACE_MS));
  else await engine.kill();
  await pin?.restore();
  stopSampling.abort();
  const rssSamples = await sampling;
  return summarizeRun({
    tape,
    engineName,
    pinnedCpu: pin?.cpu,
    fatal,
    errors,
    venue,
    replies,
    messagesSent: loop.messagesSent,
    rssSamples,
    memoryLimits: { warnPercent: policy.memoryWarnPercent, failPercent: policy.memoryFailPercent },
    startedMs,
    stderrTail: engine.stderr(),
  });
}

/**
 * Starts the engine; when it cannot start, the CPU pin is undone first.
 *
 * @throws Error when the engine cannot be started.
 */
async function startEngine(options: PaperRunOptions, pin: CpuPin | undefined): Promise<EngineProcess> {
  try {
    return await EngineProcess.start(options.engine.argv, options.engine.cwd, options.engine.env);
  } catch (error) {
    await pin?.restore();
    throw error;
  }
}

/** What was wrong with an engine's exit after `bye`: anything but a clean exit with code 0. */
function exitProblem(exit: EngineExit): string | undefined {
  if (exit.code === 0 && exit.signal === null) return undefined;
  return exit.signal !== null ? `the engine was killed by ${exit.signal} after bye` : `the engine exited with code ${exit.code} after bye`;
}
