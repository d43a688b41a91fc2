/**
 * The dev stage end to end on copies of the example workspace, with the real
 * cargo, rustfmt and clippy: clean passes; each of four defects fails the
 * stage at its own step.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type RunReport, runReportSchema } from "../../src/report/report.js";
import { ADVISORY_SNAPSHOT_DATE } from "../helpers/advisory-data.js";
import { runCli } from "../helpers/cli.js";
import { advisoryDbArgs, copyExample, DEFECT_FILE, type Defect, FAILING_TEST, injectDefect } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

function readReport(source: string): RunReport {
  return runReportSchema.parse(JSON.parse(readFileSync(join(source, "target/shriven-pipeline/dev/report.json"), "utf8")));
}

function statuses(report: RunReport): Record<string, string> {
  return Object.fromEntries(report.steps.map((s) => [s.id, s.status]));
}

describe("dev stage on the example workspace", () => {
  it("passes on the clean example with real cargo, rustfmt and clippy", async () => {
    const source = copyExample(tempDir());
    const run = await runCli(["run", "dev", "--source", source, ...advisoryDbArgs()]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = readReport(source);
    expect(statuses(report)).toEqual({
      fmt: "passed",
      check: "passed",
      // The bundled snapshot is older than dev's 7 days: a warning, never a failure.
      audit: "warned",
      licenses: "passed",
      secrets: "passed",
      test: "passed",
      clippy: "passed",
      "perf-check": "passed",
    });
    const tests = report.steps.find((s) => s.id === "test");
    expect(tests?.summary).toMatch(/^(\d+)\/\1 passed$/);
    expect(tests?.tests?.length).toBeGreaterThanOrEqual(40);
    expect(report.steps.find((s) => s.id === "clippy")?.summary).toBe("No warnings");
    expect(report.steps.find((s) => s.id === "audit")?.summary).toMatch(
      new RegExp(`^No vulnerabilities \\(0 crates; local snapshot of ${ADVISORY_SNAPSHOT_DATE}, \\d+ days old, over dev's 7-day limit\\)$`),
    );
    expect(run.stdout).toContain("✅ Formatting: Passed");
    expect(run.stdout).toContain("✅ Clippy: No warnings");
    expect(run.stdout).toContain("dev stage passed");
  });

  const cases: [Defect, string, RegExp, string[]][] = [
    ["unformatted", "fmt", new RegExp(`^1 unformatted file: ${DEFECT_FILE.unformatted} \\(run cargo fmt\\)$`), ["test", "clippy"]],
    ["compile-error", "check", new RegExp(`^1 error: ${DEFECT_FILE["compile-error"]}:\\d+: mismatched types$`), ["test", "clippy"]],
    ["failing-test", "test", new RegExp(`^\\d+/\\d+ passed; failed: ${FAILING_TEST}$`), []],
    ["clippy-warning", "clippy", new RegExp(`${DEFECT_FILE["clippy-warning"]}:\\d+: .*\\[clippy::needless_range_loop\\]$`), []],
  ];

  it.each(cases)("fails at the right step for a copy with %s", async (defect, failingStep, summary, skippedLater) => {
    const source = copyExample(tempDir());
    injectDefect(source, defect);
    const run = await runCli(["run", "dev", "--source", source, ...advisoryDbArgs()]);
    expect(run.code).toBe(1);
    const report = readReport(source);
    expect(report.status).toBe("failed");
    expect(report.exitCode).toBe(1);
    const failed = report.steps.filter((s) => s.status === "failed");
    expect(failed.map((s) => s.id)).toEqual([failingStep]);
    expect(failed[0]?.summary).toMatch(summary);
    for (const id of skippedLater) expect(statuses(report)[id]).toBe("skipped");
    const others = report.steps.filter((s) => s.id !== failingStep).map((s) => s.status);
    expect(others.every((s) => s === "passed" || s === "warned" || s === "skipped" || s === "cancelled")).toBe(true);
    expect(run.stdout).toContain(`❌ ${failed[0]?.title}: ${failed[0]?.summary}`);
  });

  it("names the failing test with its panic in the details and the JUnit file", async () => {
    const source = copyExample(tempDir());
    injectDefect(source, "failing-test");
    await runCli(["run", "dev", "--source", source, "--only", "test"]);
    const report = readReport(source);
    const step = report.steps.find((s) => s.id === "test");
    expect(step?.details.join("\n")).toMatch(new RegExp(`${FAILING_TEST}: panicked at crates/orderbook/src/lib.rs:\\d+:\\d+: assertion`));
    const failing = step?.tests?.find((t) => t.name === FAILING_TEST);
    expect(failing?.status).toBe("failed");
    expect(failing?.message).toContain("defect injected by the pipeline tests");
    const junit = readFileSync(join(source, "target/shriven-pipeline/dev/junit.xml"), "utf8");
    expect(junit).toContain(`name="${FAILING_TEST}"><failure message=`);
  });
});
