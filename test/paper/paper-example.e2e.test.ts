/**
 * Paper trading end to end: the example engine (`shriven-quant paper`, built
 * with real cargo) replays both real Binance capture files through the CLI,
 * and the report's numbers reconcile with the fills the harness made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PaperReport } from "../../src/paper/report.js";
import { runCli } from "../helpers/cli.js";
import { copyExample } from "../helpers/example.js";
import { MARKET_CAPTURE_DIR, MARKET_CAPTURE_FILES } from "../helpers/market-data.js";

const FILES = MARKET_CAPTURE_FILES.map((f) => join(MARKET_CAPTURE_DIR, f));

interface FillLine {
  readonly side: "buy" | "sell";
  readonly price: number;
  readonly qty: number;
  readonly fee: number;
  readonly liquidity: string;
}

describe("paper trading the example engine on the real capture", () => {
  const parent = mkdtempSync(join(tmpdir(), "shriven-paper-"));
  let source: string;
  let first: { code: number; stdout: string; stderr: string };
  let report: PaperReport;
  let fills: FillLine[];
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  beforeAll(async () => {
    source = copyExample(parent);
    // The example's own [paper] settings apply; the data comes from the command line.
    first = await runCli(["paper", "--source", source, ...FILES.flatMap((f) => ["--data", f]), "--format", "json"]);
    report = JSON.parse(first.stdout) as PaperReport;
    fills = readFileSync(join(source, "target/shriven-pipeline/paper/paper-fills.jsonl"), "utf8")
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as FillLine);
  }, 600_000);

  it("replays every event of both files with zero engine errors", () => {
    expect(first.stderr).toBe("");
    expect(report.engine.fatal).toBeUndefined();
    expect(report.engine.name).toMatch(/^shriven-quant \d+\.\d+\.\d+/);
    expect(report.errors.count).toBe(0);
    expect(report.data.trades).toBe(9757 + 10147);
    expect(report.data.quotes).toBe(28040 + 45134);
    expect(report.data.snapshots).toBe(1);
    expect(report.data.events).toBe(report.data.trades + report.data.quotes + report.data.depthUpdates + report.data.snapshots);
    expect(report.data.from).toMatch(/^2024-08-08T23:5/);
    expect(report.data.to).toMatch(/^2024-08-09T00:0/);
    expect(report.throughput.messages).toBeGreaterThanOrEqual(report.data.trades + report.data.quotes);
    expect(report.gates.find((g) => g.id === "errors")?.status).toBe("passed");
  });

  it("trades, and the position is the sum of the fills", () => {
    expect(report.orders.sent).toBeGreaterThan(0);
    expect(fills.length).toBe(report.orders.fills);
    expect(fills.length).toBeGreaterThan(0);
    const position = fills.reduce((p, f) => p + (f.side === "buy" ? f.qty : -f.qty), 0);
    expect(report.symbols[0]?.position).toBeCloseTo(position, 9);
    expect(Math.abs(position)).toBeLessThanOrEqual(report.settings.maxPosition);
    const filled = fills.reduce((q, f) => q + f.qty, 0);
    expect(report.orders.filledQty).toBeCloseTo(filled, 9);
  });

  it("P&L reconciles with the fills and the final mark: cash + position × mark − fees", () => {
    const cash = fills.reduce((c, f) => c + (f.side === "sell" ? 1 : -1) * f.price * f.qty, 0);
    const fees = fills.reduce((c, f) => c + f.fee, 0);
    const mark = report.symbols[0]?.mark ?? Number.NaN;
    const position = report.symbols[0]?.position ?? Number.NaN;
    expect(report.pnl.fees).toBeCloseTo(fees, 6);
    expect(report.pnl.realised + report.pnl.unrealised).toBeCloseTo(cash + position * mark, 6);
    expect(report.pnl.net).toBeCloseTo(cash + position * mark - fees, 6);
    // Fees at 10 bps of each fill's notional.
    for (const f of fills) expect(f.fee).toBeCloseTo(f.price * f.qty * 0.001, 9);
    // The equity curve ends at the net P&L and has one point per simulated minute.
    expect(report.equityCurve.at(-1)?.equity).toBeCloseTo(report.pnl.net, 6);
    expect(report.equityCurve.length).toBeGreaterThanOrEqual(11);
    expect(report.pnl.maxDrawdown).toBeGreaterThanOrEqual(0);
  });

  it("writes the JSON and Markdown reports, and a second replay reads the data from the parse cache", async () => {
    const markdown = readFileSync(join(source, "target/shriven-pipeline/paper/paper-report.md"), "utf8");
    expect(markdown).toMatch(/^## .* Paper trading: (passed|warned|failed)/);
    expect(markdown).toContain("| engine-reported |");
    const again = await runCli(["paper", "--source", source, ...FILES.flatMap((f) => ["--data", f]), "--no-build", "--format", "json"]);
    const second = JSON.parse(again.stdout) as PaperReport;
    expect(report.data.fromCache).toEqual([false, false]);
    expect(second.data.fromCache).toEqual([true, true]);
    // Deterministic: the same fills and P&L.
    expect(second.pnl).toEqual(report.pnl);
    expect(second.orders).toEqual(report.orders);
  }, 300_000);

  it("refuses to run without data, and names a data file that is not there", async () => {
    writeFileSync(join(source, "shriven-pipeline.toml"), "");
    const none = await runCli(["paper", "--source", source, "--no-build"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no market data: give --data FILE");
    const missing = await runCli(["paper", "--source", source, "--no-build", "--data", join(source, "nope.gz")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.gz");
  });
});
