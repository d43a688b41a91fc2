/**
 * The paper-trading harness with real engine processes (a scripted Node engine
 * with planted faults) on synthetic tapes whose outcome is computed by hand.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPaperTrading } from "../../src/paper/harness.js";
import { paperPolicyFrom } from "../../src/paper/policy.js";
import { buildPaperReport, paperReportMarkdown } from "../../src/paper/report.js";
import type { PaperRun } from "../../src/paper/run-summary.js";
import { type TapeEvent, tape } from "../helpers/tape.js";

const ENGINE = join(import.meta.dirname, "../fixtures/engines/scripted-engine.mjs");
const MS = 1e6;
const LIMITS = { maxPosition: 1000, maxDailyLoss: 100_000 };

/** Quotes every ms: bid 100 + i, ask 101 + i, 5.25 on each side. */
function quotes(count: number, stepNs = MS): TapeEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    t: i * stepNs,
    kind: "quote" as const,
    bid: 100 + i,
    bidQty: 5.25,
    ask: 101 + i,
    askQty: 5.25,
    id: i + 1,
  }));
}

async function replay(
  events: TapeEvent[],
  strategy: string,
  fault?: string,
  extra: { rssIntervalMs?: number; policy?: Parameters<typeof paperPolicyFrom>[0] } = {},
) {
  const market = tape(events);
  const { policy: overrides, ...options } = extra;
  const policy = paperPolicyFrom({ message_timeout_seconds: 2, ...overrides });
  const argv = [process.execPath, ENGINE, strategy, ...(fault === undefined ? [] : ["--fault", fault])];
  const run = await runPaperTrading({
    tape: market,
    engine: { argv, cwd: import.meta.dirname, env: {} },
    policy,
    limits: LIMITS,
    tradingMode: "paper",
    ...options,
  });
  const report = buildPaperReport({ run, tape: market, sources: ["synthetic"], policy, engineCommand: argv, limits: LIMITS });
  return { run, report };
}

const gate = (report: ReturnType<typeof buildPaperReport>, id: string) => report.gates.find((g) => g.id === id);

describe("paper trading harness (real engine processes)", () => {
  it("a market round trip: fills at the touch in simulated time, P&L and fees by hand", async () => {
    // The scripted engine is a Node process: its timing on a loaded 2-core CI machine (JIT on the
    // first message, GC) is not what this test checks, so its latency limits are out of the way.
    const { run, report } = await replay(quotes(20), "round-trip", undefined, {
      policy: { latency_p99_limit_us: 1e6, observed_p99_limit_us: 1e6 },
    });
    // The buy is written in reply to message 1 (the quote at 0 ms) and reaches the exchange at
    // 0 + 5 ms, after the 5 ms quote (market data first on a tie): 0.5 at the ask 106.
    // The sell answers message 10 (the 9 ms quote), arrives at 14 ms: 0.5 at the bid 114.
    expect(run.fills.map((f) => [f.side, f.price, f.qty, f.liquidity])).toEqual([
      ["buy", 106, 0.5, "taker"],
      ["sell", 114, 0.5, "taker"],
    ]);
    expect(run.fills.map((f) => f.t / MS)).toEqual([5, 14]);
    // Realised 0.5 × (114 − 106) = 4; taker fees 10 bps: 0.5 × 106 × 0.001 + 0.5 × 114 × 0.001 = 0.11.
    expect(run.pnl.realised).toBeCloseTo(4, 9);
    expect(run.pnl.fees).toBeCloseTo(0.11, 9);
    expect(run.pnl.net).toBeCloseTo(3.89, 9);
    expect(run.symbols[0]?.position).toBe(0);
    expect(run.errorCount).toBe(0);
    expect(run.fatal).toBeUndefined();
    expect(run.orders).toMatchObject({ sent: 2, acked: 2, rejected: 0, orderedQty: 1, filledQty: 1 });
    // 20 quotes + 2 acks + 2 fills reached the engine, each answered.
    expect(run.messagesSent).toBe(24);
    expect(run.latency.messages).toBe(24);
    expect(report.gates.filter((g) => g.status === "failed")).toEqual([]);
    expect(gate(report, "profit")?.status).toBe("passed");
    expect(gate(report, "errors")?.status).toBe("passed");
    expect(report.orders.fillRatio).toBe(1);
    expect(paperReportMarkdown(report)).toContain("| **net** | **3.89** |");
  });

  it("is deterministic: the same replay gives the same fills and messages", async () => {
    const events = quotes(300, MS / 4);
    const a = await replay(events, "round-trip");
    const b = await replay(events, "round-trip");
    expect(b.run.fills).toEqual(a.run.fills);
    expect(b.run.messagesSent).toBe(a.run.messagesSent);
    expect(b.run.pnl).toEqual(a.run.pnl);
  });

  it("a resting limit fills only from a trade through its price, as maker; open orders are cancelled at the end", async () => {
    const events: TapeEvent[] = [
      ...quotes(3),
      // The buy rests at 99 from 5 ms (bid 100 → 99 is behind the best, nobody known ahead).
      { t: 8 * MS, kind: "quote", bid: 98, bidQty: 5.25, ask: 99.5, askQty: 5.25, id: 10 },
      { t: 9 * MS, kind: "trade", price: 99.5, qty: 0.25, side: "buy", id: 1 },
      { t: 10 * MS, kind: "trade", price: 98.5, qty: 0.25, side: "sell", id: 2 },
      { t: 11 * MS, kind: "quote", bid: 98, bidQty: 5.25, ask: 99, askQty: 5.25, id: 11 },
    ];
    const { run } = await replay(events, "maker");
    // Only the sell-aggressor trade at 98.5 (through 99) fills it: 0.25 at 99, maker fee 10 bps = 0.02475.
    expect(run.fills.map((f) => [f.side, f.price, f.qty, f.liquidity])).toEqual([["buy", 99, 0.25, "maker"]]);
    expect(run.pnl.fees).toBeCloseTo(0.02475, 9);
    // Marked at the last mid (98 + 99) / 2 = 98.5: unrealised 0.25 × (98.5 − 99) = −0.125.
    expect(run.pnl.unrealised).toBeCloseTo(-0.125, 9);
    expect(run.orders.cancelled).toBe(1);
  });

  const faults: [string, RegExp, RegExp][] = [
    ["not-json", /not a JSON object/, /^\{"type":"new",$/],
    ["unknown-type", /unknown message type "modify"/, /"modify"/],
    ["bad-field", /field "qty" must be a decimal string/, /"qty":"-1"/],
    ["unknown-symbol", /order for unknown symbol "ETHUSDT"/, /ETHUSDT/],
    ["duplicate-id", /client_id "dup" used before/, /"client_id":"dup"/],
    ["unknown-cancel", /cancel of client_id "never-used", never used/, /never-used/],
    ["off-tick", /price 1\.0001 is not a multiple of the tick 1/, /1\.0001/],
    ["wrong-seq", /seq 8 in a reply to message 3/, /"seq":8/],
    ["breach", /order breaches a risk limit: position limit: \|5000\| > 1000/, /"qty":"5000"/],
  ];
  it.each(faults)("engine error %s: counted, quoted, and the errors gate fails", async (fault, error, line) => {
    const { run, report } = await replay(quotes(12), "idle", fault);
    expect(run.fatal).toBeUndefined();
    expect(run.errorCount).toBe(1);
    expect(run.errors[0]?.seq).toBe(3);
    expect(run.errors[0]?.error).toMatch(error);
    expect(run.errors[0]?.line).toMatch(line);
    expect(gate(report, "errors")).toMatchObject({ status: "failed" });
    expect(gate(report, "errors")?.detail).toMatch(/^1 engine error; first at message 3: /);
    expect(report.verdict).toBe("failed");
  });

  it("a risk breach is rejected by the exchange and listed", async () => {
    const { run } = await replay(quotes(12), "idle", "breach");
    expect(run.breaches).toEqual([{ clientId: "f3", reason: "position limit: |5000| > 1000" }]);
    expect(run.fills).toEqual([]);
    expect(run.orders.rejected).toBe(1);
  });

  const fatal: [string, RegExp][] = [
    ["no-ready", /no reply from the engine within 2 s/],
    ["crash", /the engine exited with code 3/],
    ["bad-version", /protocol version mismatch: the engine speaks 2, the harness 1/],
    ["no-hello", /handshake failed: not a JSON object .*hello there/],
    ["exit-after-bye", /the engine exited with code 4 after bye/],
  ];
  it.each(fatal)("fatal engine fault %s stops the run with the reason", async (fault, reason) => {
    const started = performance.now();
    const { run, report } = await replay(quotes(12), "idle", fault);
    expect(run.fatal).toMatch(reason);
    expect(gate(report, "errors")?.detail).toMatch(/^run stopped: /);
    expect(report.verdict).toBe("failed");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("a missing engine program is a clear error", async () => {
    await expect(
      runPaperTrading({
        tape: tape(quotes(2)),
        engine: { argv: ["/nonexistent/engine"], cwd: import.meta.dirname, env: {} },
        policy: paperPolicyFrom(undefined),
        limits: LIMITS,
        tradingMode: "paper",
      }),
    ).rejects.toThrow(/cannot start the engine \/nonexistent\/engine: .*ENOENT/);
  });

  it("the latency gate fails an engine that takes 300 µs per message", async () => {
    const { report } = await replay(quotes(50), "idle", "slow");
    expect(report.latency.engineReportedNs?.p99).toBeGreaterThan(300_000);
    expect(gate(report, "latency")).toMatchObject({ status: "failed" });
    expect(gate(report, "latency")?.detail).toMatch(/^engine-reported p99 \d+\.\d µs > 100 µs/);
  });

  it("samples the engine's memory: a leaking engine fails the memory gate, a steady one passes", async () => {
    // 64 KiB kept per message, 300 µs per message: ~1,500 messages, ~0.5 s, +90 MiB.
    const slowQuotes = quotes(1500, MS / 10);
    const leaking = await replay(slowQuotes, "idle", "leak", { rssIntervalMs: 10 });
    const steady = await replay(slowQuotes, "idle", "slow", { rssIntervalMs: 10 });
    const growth = (r: { run: PaperRun }) => r.run.memory?.growthPercent ?? Number.NaN;
    expect(gate(leaking.report, "memory")?.status).toBe("failed");
    expect(growth(leaking)).toBeGreaterThan(20);
    expect(gate(steady.report, "memory")?.status).toBe("passed");
    expect(growth(steady)).toBeLessThan(10);
  });
});
