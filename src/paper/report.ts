/**
 * The paper-trading report: every figure from the harness's own exchange and
 * risk monitor, the gates of the staging stage ("paper trading profitable",
 * "zero errors", latency, memory), as JSON and Markdown.
 */
import { EventKind, type MarketTape, type MarketType, marketName, type Venue } from "../market/types.js";
import { percentiles } from "./metrics.js";
import type { PaperPolicy } from "./policy.js";
import type { PaperRun } from "./run-summary.js";

/** The outcome of one gate; `not-assessed` when its check is switched off or has nothing to judge. */
export type GateStatus = "passed" | "warned" | "failed" | "not-assessed";

/** One gate of the staging stage and why it came out so. */
export interface PaperGate {
  readonly id: "profit" | "errors" | "latency" | "memory" | "risk";
  readonly status: GateStatus;
  readonly detail: string;
}

/** Median, 99th percentile and maximum of a latency, in ns. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** The report as written to `paper-report.json`. */
export interface PaperReport {
  readonly version: 1;
  readonly verdict: "passed" | "warned" | "failed";
  readonly summary: string;
  readonly engine: { readonly command: readonly string[]; readonly name: string | undefined; readonly fatal: string | undefined };
  readonly data: {
    readonly sources: readonly string[];
    /** Each instrument replayed: its symbol, venue and market (`spot`, `usdm`, `coinm`). */
    readonly instruments: readonly { readonly symbol: string; readonly venue: Venue; readonly market: MarketType }[];
    readonly events: number;
    readonly trades: number;
    readonly quotes: number;
    readonly depthUpdates: number;
    readonly snapshots: number;
    readonly from: string | undefined;
    readonly to: string | undefined;
    readonly simulatedSeconds: number;
    readonly faults: MarketTape["faults"];
    /**
     * Messages read and deliberately left out, with why: aggTrades beside the trades, mark prices,
     * partial books, futures trade records that are no execution.
     */
    readonly ignored: MarketTape["ignored"];
    /** Per source file, whether it was read from the parse cache (set by the job). */
    readonly fromCache?: readonly boolean[];
  };
  readonly settings: {
    readonly orderLatencyMs: number;
    readonly responseLatencyMs: number;
    readonly makerFeeBps: number;
    readonly takerFeeBps: number;
    readonly maxPosition: number;
    readonly maxDailyLoss: number;
  };
  readonly pnl: {
    readonly realised: number;
    readonly unrealised: number;
    readonly fees: number;
    readonly net: number;
    readonly maxDrawdown: number;
    readonly sharpePerMinute: number | null;
    readonly sharpeAnnualised: number | null;
  };
  readonly symbols: PaperRun["symbols"];
  readonly orders: PaperRun["orders"] & { readonly fills: number; readonly fillRatio: number | null };
  readonly latency: {
    readonly messages: number;
    readonly engineReportedNs: LatencySummary | null;
    readonly harnessObservedNs: LatencySummary | null;
  };
  readonly risk: { readonly breaches: PaperRun["breaches"]; readonly warnings: readonly string[] };
  readonly memory: {
    readonly verdict: string;
    readonly growthPercent: number | null;
    readonly baselineKiB: number | null;
    readonly finalKiB: number | null;
    readonly samples: number;
    readonly reason: string;
  };
  readonly errors: { readonly count: number; readonly listed: PaperRun["errors"] };
  readonly throughput: { readonly wallSeconds: number; readonly eventsPerSecond: number; readonly messages: number };
  readonly gates: readonly PaperGate[];
  readonly equityCurve: readonly { readonly time: string; readonly equity: number }[];
}

function summarize(values: readonly number[]): LatencySummary | null {
  const p = percentiles(values, [50, 99, 100]);
  return p === undefined ? null : { p50: p[0] as number, p99: p[1] as number, max: p[2] as number };
}

/** The UTC time of tape time `t` (ns after the tape's base), to the millisecond. */
export function isoTime(tape: MarketTape, t: number): string {
  const ms = Number(tape.baseNs / 1_000_000n) + t / 1e6;
  return new Date(ms).toISOString();
}

/** Money for messages: 2 decimals when large, more when small. */
export function money(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(2) : Number(x.toPrecision(6)).toString();
}

function gates(run: PaperRun, policy: PaperPolicy, engine: LatencySummary | null, observed: LatencySummary | null): PaperGate[] {
  const out: PaperGate[] = [];
  const net = run.pnl.net;
  out.push(
    !policy.requireProfit
      ? { id: "profit", status: "not-assessed", detail: `net P&L ${money(net)} after fees (require_profit = false)` }
      : net > 0
        ? { id: "profit", status: "passed", detail: `net P&L +${money(net)} after fees` }
        : { id: "profit", status: "failed", detail: `not profitable: net P&L ${money(net)} after ${money(run.pnl.fees)} fees` },
  );
  if (run.fatal !== undefined) out.push({ id: "errors", status: "failed", detail: `run stopped: ${run.fatal}` });
  else if (run.errorCount > 0) {
    const first = run.errors[0];
    out.push({
      id: "errors",
      status: "failed",
      detail: `${run.errorCount} engine error${run.errorCount === 1 ? "" : "s"}${first === undefined ? "" : `; first at message ${first.seq ?? "?"}: ${first.error}: ${first.line}`}`,
    });
  } else out.push({ id: "errors", status: "passed", detail: "zero engine errors" });
  if (engine === null || observed === null) out.push({ id: "latency", status: "not-assessed", detail: "no message was answered" });
  else {
    const problems: string[] = [];
    if (engine.p99 > policy.latencyP99LimitUs * 1000)
      problems.push(`engine-reported p99 ${(engine.p99 / 1000).toFixed(1)} µs > ${policy.latencyP99LimitUs} µs`);
    if (observed.p99 > policy.observedP99LimitUs * 1000)
      problems.push(`harness-observed p99 ${(observed.p99 / 1000).toFixed(1)} µs > ${policy.observedP99LimitUs} µs`);
    out.push(
      problems.length > 0
        ? { id: "latency", status: "failed", detail: problems.join("; ") }
        : {
            id: "latency",
            status: "passed",
            detail: `p99 ${(engine.p99 / 1000).toFixed(1)} µs engine-reported, ${(observed.p99 / 1000).toFixed(1)} µs harness-observed`,
          },
    );
  }
  const memory = run.memory;
  if (memory === undefined || memory.verdict === "insufficient")
    out.push({
      id: "memory",
      status: "not-assessed",
      detail: `too few RSS samples for a verdict (${run.rssSamples.length}); the run was too short`,
    });
  else
    out.push({
      id: "memory",
      status: memory.verdict === "ok" ? "passed" : memory.verdict === "warn" ? "warned" : "failed",
      detail: memory.reason,
    });
  out.push(
    run.warnings.length > 0
      ? { id: "risk", status: "warned", detail: run.warnings.join("; ") }
      : { id: "risk", status: "passed", detail: "risk limits below 80 %" },
  );
  return out;
}

/** Builds the report of a run. */
export function buildPaperReport(input: {
  readonly run: PaperRun;
  readonly tape: MarketTape;
  readonly sources: readonly string[];
  readonly policy: PaperPolicy;
  readonly engineCommand: readonly string[];
  readonly limits: { readonly maxPosition: number; readonly maxDailyLoss: number };
}): PaperReport {
  const { run, tape, policy } = input;
  const counts = { trades: 0, quotes: 0, depth: 0, snapshots: 0 };
  for (let i = 0; i < tape.length; i++) {
    const kind = tape.kind[i];
    if (kind === EventKind.Trade) counts.trades++;
    else if (kind === EventKind.Quote) counts.quotes++;
    else if (kind === EventKind.Depth) counts.depth++;
    else counts.snapshots++;
  }
  const first = tape.length > 0 ? (tape.t[0] as number) : undefined;
  const last = tape.length > 0 ? (tape.t[tape.length - 1] as number) : undefined;
  const engine = summarize(run.latency.engineNs);
  const observed = summarize(run.latency.observedNs);
  const gateList = gates(run, policy, engine, observed);
  const verdict = gateList.some((g) => g.status === "failed")
    ? "failed"
    : gateList.some((g) => g.status === "warned")
      ? "warned"
      : "passed";
  const failed = gateList.filter((g) => g.status === "failed").map((g) => g.detail);
  const fillCount = run.fills.length;
  return {
    version: 1,
    verdict,
    summary:
      failed.length > 0
        ? failed.join("; ")
        : `net P&L ${money(run.pnl.net)} after fees, ${fillCount} fills, ${run.errorCount} errors, ${tape.length} events`,
    engine: { command: input.engineCommand, name: run.engineName, fatal: run.fatal },
    data: {
      sources: input.sources,
      instruments: tape.symbols.map((s) => ({ symbol: s.symbol, venue: s.venue, market: s.market })),
      events: tape.length,
      trades: counts.trades,
      quotes: counts.quotes,
      depthUpdates: counts.depth,
      snapshots: counts.snapshots,
      from: first === undefined ? undefined : isoTime(tape, first),
      to: last === undefined ? undefined : isoTime(tape, last),
      simulatedSeconds: first === undefined || last === undefined ? 0 : (last - first) / 1e9,
      faults: tape.faults,
      ignored: tape.ignored,
    },
    settings: {
      orderLatencyMs: policy.orderLatencyMs,
      responseLatencyMs: policy.responseLatencyMs,
      makerFeeBps: policy.makerFeeBps,
      takerFeeBps: policy.takerFeeBps,
      maxPosition: input.limits.maxPosition,
      maxDailyLoss: input.limits.maxDailyLoss,
    },
    pnl: {
      ...run.pnl,
      maxDrawdown: run.drawdown.amount,
      sharpePerMinute: run.sharpe?.perMinute ?? null,
      sharpeAnnualised: run.sharpe?.annualised ?? null,
    },
    symbols: run.symbols,
    orders: { ...run.orders, fills: fillCount, fillRatio: run.orders.orderedQty > 0 ? run.orders.filledQty / run.orders.orderedQty : null },
    latency: { messages: run.latency.messages, engineReportedNs: engine, harnessObservedNs: observed },
    risk: { breaches: run.breaches, warnings: run.warnings },
    memory: {
      verdict: run.memory?.verdict ?? "insufficient",
      growthPercent: run.memory !== undefined && Number.isFinite(run.memory.growthPercent) ? run.memory.growthPercent : null,
      baselineKiB: run.memory?.baselineKiB ?? null,
      finalKiB: run.memory?.finalKiB ?? null,
      samples: run.rssSamples.length,
      reason: run.memory?.reason ?? "no RSS samples",
    },
    errors: { count: run.errorCount, listed: run.errors },
    throughput: {
      wallSeconds: run.wallMs / 1000,
      eventsPerSecond: run.wallMs > 0 ? run.eventsReplayed / (run.wallMs / 1000) : 0,
      messages: run.messagesSent,
    },
    gates: gateList,
    equityCurve: run.equity.map((p) => ({ time: isoTime(tape, p.t), equity: p.equity })),
  };
}

const ICON: Record<GateStatus, string> = { passed: "✅", warned: "⚠️", failed: "❌", "not-assessed": "➖" };

function ns(summary: LatencySummary | null): string {
  if (summary === null) return "– | – | –";
  return [summary.p50, summary.p99, summary.max].map((v) => `${(v / 1000).toFixed(1)} µs`).join(" | ");
}

/** The report as Markdown (for `paper-report.md` and the job summary). */
export function paperReportMarkdown(report: PaperReport): string {
  const lines = [
    `## ${ICON[report.verdict]} Paper trading: ${report.verdict}`,
    "",
    report.summary,
    "",
    "| gate | result | detail |",
    "|---|---|---|",
    ...report.gates.map((g) => `| ${g.id} | ${ICON[g.status]} ${g.status} | ${g.detail.replaceAll("|", "\\|")} |`),
    "",
    `Data: ${report.data.events} events (${report.data.trades} trades, ${report.data.quotes} quotes, ${report.data.depthUpdates} depth updates) from ${report.data.from ?? "–"} to ${report.data.to ?? "–"}, ${report.data.simulatedSeconds.toFixed(0)} s simulated in ${report.throughput.wallSeconds.toFixed(2)} s.`,
    `Instruments: ${report.data.instruments.map((i) => `${i.symbol} (${marketName(i.venue, i.market)})`).join(", ") || "–"}.`,
    "",
    "| P&L | quote currency |",
    "|---|---|",
    `| realised | ${money(report.pnl.realised)} |`,
    `| unrealised | ${money(report.pnl.unrealised)} |`,
    `| fees | ${money(report.pnl.fees)} |`,
    `| **net** | **${money(report.pnl.net)}** |`,
    `| max drawdown | ${money(report.pnl.maxDrawdown)} |`,
    `| Sharpe (per minute / annualised) | ${report.pnl.sharpePerMinute === null ? "–" : report.pnl.sharpePerMinute.toFixed(3)} / ${report.pnl.sharpeAnnualised === null ? "–" : report.pnl.sharpeAnnualised.toFixed(2)} |`,
    "",
    "| orders | fills | cancels | rejects | fill ratio |",
    "|---|---|---|---|---|",
    `| ${report.orders.sent} | ${report.orders.fills} | ${report.orders.cancelled} | ${report.orders.rejected} | ${report.orders.fillRatio === null ? "–" : `${(report.orders.fillRatio * 100).toFixed(1)} %`} |`,
    "",
    "| latency | p50 | p99 | max |",
    "|---|---|---|---|",
    `| engine-reported | ${ns(report.latency.engineReportedNs)} |`,
    `| harness-observed | ${ns(report.latency.harnessObservedNs)} |`,
  ];
  if (report.errors.count > 0) {
    lines.push("", `Engine errors (${report.errors.count}):`, "");
    for (const e of report.errors.listed.slice(0, 20))
      lines.push(`- message ${e.seq ?? "?"}: ${e.error} — \`${e.line.replaceAll("`", "'")}\``);
  }
  if (report.data.faults.length > 0) {
    lines.push("", "Data faults:", "");
    for (const f of report.data.faults) lines.push(`- ${f.count} ${f.kind} (first at line ${f.firstLine}: ${f.first})`);
  }
  if (report.data.ignored.length > 0) {
    lines.push("", "Messages left out on purpose:", "");
    for (const i of report.data.ignored) lines.push(`- ${i.count} ${i.kind} (first at line ${i.firstLine}): ${i.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
