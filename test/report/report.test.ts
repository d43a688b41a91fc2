import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { LiveProgress, PlainProgress } from "../../src/cli/progress.js";
import { renderConsoleSummary } from "../../src/report/console.js";
import { countTests, renderJunit } from "../../src/report/junit.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { exitCodeFor, formatDuration, type RunReport, runReportSchema } from "../../src/report/report.js";
import { devStage } from "../../src/stages/dev.js";

const HOSTILE = "a <b> & \"c\" 'd' \u001b[31mred\u001b[0m \u0000 | pipe ``` fence";

function report(overrides: Partial<RunReport> = {}): RunReport {
  return runReportSchema.parse({
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: "0.1.0" },
    stage: "dev",
    environment: { name: "development", variables: { TRADING_MODE: "paper" } },
    runner: "host",
    workspace: "/w",
    startedAt: "2026-11-27T05:00:00.000Z",
    finishedAt: "2026-11-27T05:00:12.300Z",
    durationMs: 12300,
    status: "failed",
    exitCode: 1,
    steps: [
      { id: "fmt", title: "Formatting", status: "passed", summary: "Passed", details: [], artifacts: [], durationMs: 310 },
      {
        id: "test",
        title: "Tests",
        status: "failed",
        summary: "1/2 passed; failed: tests::b",
        details: [`orderbook (src/lib.rs): tests::b: ${HOSTILE}`],
        artifacts: [],
        durationMs: 2100,
        logFile: "/w/target/shriven-pipeline/dev/logs/test.log",
        tests: [
          { suite: "orderbook (src/lib.rs)", name: "tests::a", status: "passed" },
          { suite: "orderbook (src/lib.rs)", name: "tests::b", status: "failed", message: `panicked\n${HOSTILE}` },
          { suite: "risk (src/lib.rs)", name: "tests::slow", status: "ignored" },
        ],
      },
      {
        id: "clippy",
        title: "Clippy",
        status: "cancelled",
        summary: "Cancelled: Tests failed",
        details: [],
        artifacts: [],
        durationMs: 900,
      },
      { id: "later", title: "Later", status: "skipped", summary: "Not run: Tests failed", details: [], artifacts: [], durationMs: 0 },
    ],
    ...overrides,
  });
}

describe("report renderings", () => {
  it("renders the console summary in the pipeline document's style", () => {
    const text = renderConsoleSummary(report(), "/w/report.json");
    expect(text.split("\n")).toEqual([
      "✅ Formatting: Passed (310 ms)",
      "❌ Tests: 1/2 passed; failed: tests::b (2.1 s)",
      `    orderbook (src/lib.rs): tests::b: ${HOSTILE}`,
      "    log: /w/target/shriven-pipeline/dev/logs/test.log",
      "🚫 Clippy: Cancelled: Tests failed (900 ms)",
      "⏭️ Later: Not run: Tests failed",
      "",
      "dev stage failed in 12.3 s — report: /w/report.json",
      "",
    ]);
  });

  it("writes JUnit XML that parses, with hostile text escaped and control characters removed", () => {
    const xml = renderJunit(report());
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain("\u001b");
    expect(xml).not.toContain("\u0000");
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    expect(parsed.testsuites).toMatchObject({ tests: "3", failures: "1", skipped: "1" });
    const suites = [parsed.testsuites.testsuite].flat();
    expect(suites.map((s: { name: string }) => s.name)).toEqual(["orderbook (src/lib.rs)", "risk (src/lib.rs)"]);
    const failure = suites[0].testcase[1].failure;
    expect(failure.message).toBe("panicked");
    expect(failure["#text"]).toContain("a <b> & \"c\" 'd' [31mred[0m");
    expect(countTests(report())).toBe(3);
  });

  it("writes Markdown whose table survives pipes and whose code block survives fences", () => {
    const markdown = renderMarkdown(report());
    expect(markdown).toContain("### shriven-pipeline · dev stage: ❌ failed (12.3 s)");
    expect(markdown).toContain("| ❌ | Tests | 1/2 passed; failed: tests::b | 2.1 s |");
    expect(markdown).not.toContain("\u001b");
    expect(markdown).not.toContain("\u0000");
    const piped = renderMarkdown(report({ steps: [{ ...report().steps[0], summary: "a | b" } as never] }));
    expect(piped).toContain("| ✅ | Formatting | a \\| b | 310 ms |");
    const fences = markdown.split("\n").filter((l) => l.startsWith("```"));
    expect(fences).toEqual(["```text", "```"]);
    expect(renderMarkdown(report({ status: "warned", exitCode: 0 }))).toContain("⚠️ passed with warnings");
  });

  it("maps statuses to exit codes and formats durations", () => {
    expect([exitCodeFor("passed"), exitCodeFor("warned"), exitCodeFor("failed"), exitCodeFor("cancelled")]).toEqual([0, 0, 1, 130]);
    expect([formatDuration(0), formatDuration(999), formatDuration(1000), formatDuration(61_250)]).toEqual([
      "0 ms",
      "999 ms",
      "1.0 s",
      "61.3 s",
    ]);
  });

  it("rejects a report that is not well formed", () => {
    expect(() => report({ status: "green" as never })).toThrow();
    expect(() => report({ startedAt: "yesterday" })).toThrow();
  });
});

describe("progress views", () => {
  it("prints one plain line per event for CI logs", () => {
    let out = "";
    const view = new PlainProgress({ write: (t: string) => (out += t) }, devStage);
    view.onEvent({ type: "step-started", step: devStage.groups[0]?.[0] as never, startedAt: Date.now() });
    view.onEvent({ type: "step-finished", result: report().steps[0] as never });
    expect(out).toBe("[dev] ▶ Formatting started\n[dev] ✅ Formatting: Passed (310 ms)\n");
  });

  it("redraws one line per step in place on a terminal", () => {
    let out = "";
    const view = new LiveProgress({ write: (t: string) => (out += t) }, devStage);
    view.onEvent({ type: "step-started", step: devStage.groups[0]?.[0] as never, startedAt: Date.now() });
    view.onEvent({ type: "step-finished", result: report().steps[0] as never });
    view.stop();
    const frames = out.split(`\u001b[${devStage.groups.flat().length}A`);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    const last = (frames.at(-1) as string).split("\n").map((l) => l.replace("\u001b[2K", ""));
    expect(last.slice(0, 3)).toEqual(["✅ Formatting: Passed (310 ms)", "·  Compilation: waiting", "·  Security: waiting"]);
    expect(frames[1]).toMatch(/Formatting: running \d+ ms/);
  });
});
