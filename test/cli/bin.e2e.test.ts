/**
 * The installed command (`bin/shriven-pipeline.js`, the bundled CLI) as a
 * real process: exit codes, report files that validate, the GitHub job
 * summary, and Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { XMLParser } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { advisoryDbArgs, copyExample, injectDefect } from "../helpers/example.js";
import { liveProcessesIn } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const BIN = resolve(import.meta.dirname, "../../bin/shriven-pipeline.js");

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Finished> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: "true", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<Finished>((resolveDone) => child.on("close", (code) => resolveDone({ code, stdout, stderr })));
  return { child, done };
}

describe("shriven-pipeline as a process", () => {
  it("passes the clean example and writes a report that validates, JUnit that parses and a job summary", async () => {
    const source = copyExample(tempDir());
    const reportDir = tempDir();
    const stepSummary = join(tempDir(), "summary.md");
    const { done } = start(["run", "dev", "--source", source, "--report-dir", reportDir, ...advisoryDbArgs()], {
      GITHUB_STEP_SUMMARY: stepSummary,
    });
    const run = await done;
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("\x1b[");
    expect(run.stdout).toMatch(/^\[dev\] ▶ (Formatting|Compilation) started$/m);

    const schema = JSON.parse(readFileSync(join(reportDir, "report.schema.json"), "utf8"));
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8"));
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    expect(validate.errors ?? []).toEqual([]);
    expect(validate(report)).toBe(true);
    expect(validate({ ...report, status: "green" })).toBe(false);
    expect(validate({ ...report, steps: [{ ...report.steps[0], durationMs: -1 }] })).toBe(false);
    expect(validate({ ...report, secrets: {} })).toBe(false);

    const testStep = report.steps.find((s: { id: string }) => s.id === "test");
    const seen: number = testStep.tests.length;
    expect(seen).toBeGreaterThanOrEqual(40);
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      readFileSync(join(reportDir, "junit.xml"), "utf8"),
    );
    const suites = [junit.testsuites.testsuite].flat();
    const cases = suites.flatMap((s: { testcase: unknown }) => [s.testcase].flat());
    expect(Number(junit.testsuites.tests)).toBe(seen);
    expect(cases).toHaveLength(seen);
    expect(Number(junit.testsuites.failures)).toBe(0);
    expect(suites.map((s: { name: string }) => s.name)).toContain("orderbook (src/lib.rs)");

    const markdown = readFileSync(stepSummary, "utf8");
    // Passed, with the audit's warning: the bundled advisory snapshot is older than dev's 7 days.
    expect(markdown).toContain("### shriven-pipeline · dev stage: ⚠️ passed with warnings");
    expect(markdown).toMatch(/\| ✅ \| Tests \| \d+\/\d+ passed \| [\d.]+ m?s \|/);
    expect(readFileSync(join(reportDir, "summary.md"), "utf8")).toBe(markdown.trimEnd().concat("\n"));
  });

  it("exits 1 when a gate fails and leaves no cargo, rustc or test process behind", async () => {
    const source = copyExample(tempDir());
    injectDefect(source, "clippy-warning");
    const run = await start(["run", "dev", "--source", source, ...advisoryDbArgs()]).done;
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("❌ Clippy:");
    expect(liveProcessesIn(source)).toEqual([]);
  });

  it("stops on Ctrl-C: running steps cancelled, exit 130, no process left", async () => {
    const source = copyExample(tempDir());
    const { child, done } = start(["run", "dev", "--source", source, ...advisoryDbArgs()]);
    await new Promise<void>((resolveStarted) => {
      child.stdout?.on("data", (c: Buffer) => {
        if (c.toString().includes("Compilation started")) resolveStarted();
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    const run = await done;
    expect(run.code).toBe(130);
    const report = JSON.parse(readFileSync(join(source, "target/shriven-pipeline/dev/report.json"), "utf8"));
    expect(report.status).toBe("cancelled");
    expect(report.steps.map((s: { status: string }) => s.status)).toContain("cancelled");
    expect(report.steps.find((s: { id: string }) => s.id === "test").summary).toBe("Not run: the run was interrupted");
    expect(liveProcessesIn(source)).toEqual([]);
  });
});
