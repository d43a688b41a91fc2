/**
 * Findings where the code is, end to end: in GitHub Actions (GITHUB_ACTIONS=true) each planted defect of the
 * example workspace comes out of `run dev` as exactly one `::error` workflow command at its file and line, and
 * clippy's as a result of `clippy.sarif` that validates against the SARIF 2.1.0 schema. Real cargo, rustfmt, clippy.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { copyExample, DEFECT_FILE, type Defect, injectDefect } from "../helpers/example.js";
import { validateSarif } from "../helpers/sarif.js";
import { tempDir } from "../helpers/temp.js";

/** The 1-based line of the first line of `file` containing `text`. */
function lineOf(source: string, file: string, text: string): number {
  const index = readFileSync(join(source, file), "utf8")
    .split("\n")
    .findIndex((line) => line.includes(text));
  expect(index).toBeGreaterThanOrEqual(0);
  return index + 1;
}

function errorLines(stdout: string): string[] {
  return stdout.split("\n").filter((line) => line.startsWith("::error"));
}

const GITHUB = { CI: "true", GITHUB_ACTIONS: "true" };

const cases: [Defect, string, string][] = [
  ["unformatted", "fmt", "pub fn  "],
  ["compile-error", "check", '"not a number"'],
  ["failing-test", "test", '"defect injected by the pipeline tests");'],
  ["clippy-warning", "clippy", "for i in 0..prices.len()"],
];

describe("GitHub annotations of a dev run (real cargo)", () => {
  it.each(cases)("%s: exactly one ::error at the defect's file and line", async (defect, step, marker) => {
    const source = copyExample(tempDir());
    injectDefect(source, defect);
    const line = lineOf(source, DEFECT_FILE[defect], marker);
    const run = await runCli(["run", "dev", "--source", source, "--only", step], { env: GITHUB });
    expect(run.code).toBe(1);
    const errors = errorLines(run.stdout);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^::error file=${DEFECT_FILE[defect]},line=${line}[,:]`));
    expect(run.stdout.split("\n").filter((l) => l.startsWith("::warning"))).toEqual([]);
    expect(errors[0]).not.toContain("stack backtrace");
  });

  it("clippy's finding is also in clippy.sarif next to report.json, valid SARIF 2.1.0", async () => {
    const source = copyExample(tempDir());
    injectDefect(source, "clippy-warning");
    const line = lineOf(source, DEFECT_FILE["clippy-warning"], "for i in 0..prices.len()");
    // Outside GitHub Actions no workflow command is printed.
    const run = await runCli(["run", "dev", "--source", source, "--only", "clippy"], { env: { CI: "true" } });
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain("::error");
    const sarif = JSON.parse(readFileSync(join(source, "target/shriven-pipeline/dev/clippy.sarif"), "utf8")) as {
      runs: { tool: { driver: { name: string; rules: { id: string }[] } }; results: Record<string, unknown>[] }[];
    };
    expect(validateSarif(sarif)).toBe(true);
    const [first] = sarif.runs;
    expect(first?.tool.driver.rules.map((r) => r.id)).toEqual(["clippy::needless_range_loop"]);
    expect(first?.results).toEqual([
      {
        ruleId: "clippy::needless_range_loop",
        level: "error",
        message: { text: expect.stringContaining("the loop variable `i` is only used to index `prices`") },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: DEFECT_FILE["clippy-warning"] },
              region: { startLine: line, startColumn: expect.any(Number), endLine: line, endColumn: expect.any(Number) },
            },
          },
        ],
      },
    ]);
  });
});
