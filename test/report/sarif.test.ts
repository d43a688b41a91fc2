import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Finding } from "../../src/report/findings.js";
import type { RunReport } from "../../src/report/report.js";
import { clippySarif } from "../../src/report/sarif.js";
import { writeReport } from "../../src/report/write-report.js";
import { devReportWith } from "../helpers/run-report.js";
import { validateSarif } from "../helpers/sarif.js";
import { tempDir } from "../helpers/temp.js";

function report(clippy: { status: "failed" | "passed" | "skipped"; findings?: Finding[] } | undefined): RunReport {
  if (clippy === undefined) return devReportWith([]);
  const data = clippy.findings === undefined ? {} : { data: { findings: clippy.findings } };
  return devReportWith([{ id: "clippy", title: "Clippy", status: clippy.status, ...data }]);
}

const LINT: Finding = {
  level: "error",
  title: "Clippy: clippy::needless_range_loop",
  message: 'the loop variable `i` is only used to index `prices`\n"quoted" %0A ::error::x',
  file: "crates/risk dir/src/lib,rs:x#?.rs",
  line: 12,
  column: 5,
  endLine: 13,
  endColumn: 30,
  rule: "clippy::needless_range_loop",
};

describe("clippy.sarif", () => {
  it("the schema rejects what is not SARIF 2.1.0", () => {
    expect(validateSarif({ version: "2.0.0", runs: [] })).toBe(false);
    expect(validateSarif({ version: "2.1.0", runs: [{ tool: {} }] })).toBe(false);
  });

  it("holds each placed finding as a result of its lint rule, and validates", () => {
    const sarif = clippySarif(
      report({
        status: "failed",
        findings: [
          LINT,
          { ...LINT, line: 40, endLine: 40 },
          { level: "error", title: "Clippy: E0308", message: "mismatched", file: "src/a.rs", line: 1, rule: "E0308" },
          { level: "warning", title: "Clippy", message: "no place" },
        ],
      }),
    );
    expect(validateSarif(sarif)).toBe(true);
    expect(validateSarif.errors ?? []).toEqual([]);
    const run = (sarif as { runs: [{ tool: { driver: { name: string; rules: { id: string }[] } }; results: Record<string, unknown>[] }] })
      .runs[0];
    expect(run.tool.driver.name).toBe("clippy");
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual(["E0308", "clippy::needless_range_loop"]);
    expect(run.results).toHaveLength(3);
    expect(run.results[0]).toEqual({
      ruleId: "clippy::needless_range_loop",
      level: "error",
      message: { text: LINT.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: "crates/risk%20dir/src/lib%2Crs%3Ax%23%3F.rs" },
            region: { startLine: 12, startColumn: 5, endLine: 13, endColumn: 30 },
          },
        },
      ],
    });
  });

  it("an empty run when clippy passed; none when it did not run", () => {
    const clean = clippySarif(report({ status: "passed" }));
    expect(validateSarif(clean)).toBe(true);
    expect(clean).toMatchObject({ runs: [{ results: [] }] });
    expect(clippySarif(report({ status: "skipped" }))).toBeUndefined();
    expect(clippySarif(report(undefined))).toBeUndefined();
  });

  it("is written next to report.json when clippy ran", () => {
    const dir = tempDir("shriven-sarif-");
    const files = writeReport(report({ status: "failed", findings: [LINT] }), dir);
    expect(files.sarif).toBe(join(dir, "clippy.sarif"));
    expect(validateSarif(JSON.parse(readFileSync(join(dir, "clippy.sarif"), "utf8")))).toBe(true);
    expect(writeReport(report(undefined), tempDir("shriven-sarif-")).sarif).toBeUndefined();
  });
});
