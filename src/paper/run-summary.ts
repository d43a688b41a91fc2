/**
 * What a paper-trading run measured, gathered at its end: fills and order
 * counts from the venue, positions, P&L and risk from its risk monitor, the
 * equity curve with its drawdown and Sharpe ratio, the engine's errors and
 * latencies, and the growth of its memory.
 */
import type { MarketTape } from "../market/types.js";
import { analyzeMemoryGrowth, type MemoryGrowth, type RssSample } from "../perf/memory-growth.js";
import type { EngineError, EngineErrors } from "./engine-errors.js";
import type { ReplyReader } from "./engine-replies.js";
import { type EquityPoint, maxDrawdown, sharpe } from "./metrics.js";
import type { PaperFill, ReplayVenue } from "./venue.js";

/** Everything a run measured; the report is made from it. */
export interface PaperRun {
  readonly engineName: string | undefined;
  /** The CPU the harness and the engine shared, when they were pinned. */
  readonly pinnedCpu: number | undefined;
  /** Set when the run stopped early (handshake, timeout, crash, too many errors). */
  readonly fatal: string | undefined;
  readonly errors: readonly EngineError[];
  readonly errorCount: number;
  readonly fills: readonly PaperFill[];
  readonly orders: {
    readonly sent: number;
    readonly acked: number;
    readonly rejected: number;
    readonly cancelRequests: number;
    readonly cancelled: number;
    readonly orderedQty: number;
    readonly filledQty: number;
  };
  readonly symbols: readonly {
    readonly symbol: string;
    readonly position: number;
    readonly realised: number;
    readonly unrealised: number;
    readonly fees: number;
    readonly mark: number | undefined;
  }[];
  readonly pnl: { readonly realised: number; readonly unrealised: number; readonly fees: number; readonly net: number };
  readonly equity: readonly EquityPoint[];
  readonly drawdown: ReturnType<typeof maxDrawdown>;
  readonly sharpe: ReturnType<typeof sharpe>;
  readonly breaches: readonly { readonly clientId: string; readonly reason: string }[];
  readonly warnings: readonly string[];
  readonly latency: {
    readonly messages: number;
    readonly engineNs: readonly number[];
    readonly observedNs: readonly number[];
  };
  readonly memory: MemoryGrowth | undefined;
  readonly rssSamples: readonly RssSample[];
  readonly messagesSent: number;
  readonly eventsReplayed: number;
  readonly wallMs: number;
  readonly stderrTail: string;
}

/** The parts of a finished run that {@link summarizeRun} gathers. */
export interface FinishedRun {
  readonly tape: MarketTape;
  readonly engineName: string | undefined;
  readonly pinnedCpu: number | undefined;
  readonly fatal: string | undefined;
  readonly errors: EngineErrors;
  readonly venue: ReplayVenue;
  readonly replies: ReplyReader;
  readonly messagesSent: number;
  readonly rssSamples: readonly RssSample[];
  /** The memory gate's levels: warn and fail above this RSS growth. */
  readonly memoryLimits: { readonly warnPercent: number; readonly failPercent: number };
  /** performance.now() when the run started. */
  readonly startedMs: number;
  readonly stderrTail: string;
}

/** The run's figures, from its venue, risk monitor, errors and replies. */
export function summarizeRun(run: FinishedRun): PaperRun {
  const { venue } = run;
  const risk = venue.risk;
  let memory: MemoryGrowth | undefined;
  try {
    memory = analyzeMemoryGrowth(run.rssSamples, run.memoryLimits);
  } catch {
    memory = undefined;
  }
  const equity = venue.recorder.points();
  const symbols = run.tape.symbols.map((s, i) => ({
    symbol: s.symbol,
    position: risk.position(i),
    realised: risk.realised(i),
    unrealised: risk.unrealised(i),
    fees: risk.fees(i),
    mark: risk.markPrice(i),
  }));
  const realised = symbols.reduce((a, s) => a + s.realised, 0);
  const unrealised = symbols.reduce((a, s) => a + s.unrealised, 0);
  const fees = symbols.reduce((a, s) => a + s.fees, 0);
  const { engineNs, observedNs } = run.replies;
  return {
    engineName: run.engineName,
    pinnedCpu: run.pinnedCpu,
    fatal: run.fatal,
    errors: run.errors.kept,
    errorCount: run.errors.count,
    fills: venue.fills,
    orders: venue.orders,
    symbols,
    pnl: { realised, unrealised, fees, net: realised + unrealised - fees },
    equity,
    drawdown: maxDrawdown(equity),
    sharpe: sharpe(equity),
    breaches: risk.breaches.map((b) => ({ clientId: b.clientId, reason: b.reason })),
    warnings: risk.warnings.map((w) => w.message),
    latency: { messages: engineNs.length, engineNs, observedNs },
    memory,
    rssSamples: run.rssSamples,
    messagesSent: run.messagesSent,
    eventsReplayed: venue.eventsReplayed,
    wallMs: performance.now() - run.startedMs,
    stderrTail: run.stderrTail,
  };
}
