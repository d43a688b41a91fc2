/**
 * The end-of-run summary of tests skipped for missing tools: what the
 * reporter prints from a run's results, that `needs` skips and names the
 * tool, that the install commands are `.ci/run`'s packages, and a real
 * nested vitest run with the tools hidden from PATH.
 */
import { readFileSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import type { TaskMeta } from "vitest";
import { describe, expect, it, vi } from "vitest";
import type { TestModule } from "vitest/node";
import { closingLine } from "../../vitest.config.js";
import { installCommand, missingToolsSummary } from "../helpers/skip-summary.js";
import { tempDir } from "../helpers/temp.js";
import { hasTool, needs, TOOLS, type ToolName } from "../helpers/tools.js";

const ROOT = resolve(import.meta.dirname, "../..");

type FakeTest = { state: "passed" | "failed" | "skipped"; missingTools?: ToolName[] };

/** A test module as the reporter reads it: its path and its tests' states and meta. */
function fakeModule(file: string, tests: FakeTest[], loadError?: string): TestModule {
  const cases = tests.map(({ state, missingTools }) => ({
    result: () => ({ state }),
    meta: (): TaskMeta => (missingTools === undefined ? {} : { missingTools }),
  }));
  const failed = loadError !== undefined || tests.some((test) => test.state === "failed");
  return {
    relativeModuleId: file,
    state: () => (failed ? "failed" : "passed"),
    errors: () => (loadError === undefined ? [] : [{ message: loadError }]),
    children: { allTests: () => cases.values() },
  } as unknown as TestModule;
}

/** What the closing reporter writes at the end of a run of `modules`. */
function reported(modules: TestModule[]): string {
  const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  try {
    closingLine.onTestRunEnd?.(modules, [], "passed");
    return write.mock.calls.map(([chunk]) => String(chunk)).join("");
  } finally {
    write.mockRestore();
  }
}

describe("the missing-tools summary", () => {
  it("names each missing tool, its skipped tests per file and its install command, then one command for all, before the closing line", () => {
    const text = reported([
      fakeModule("test/release/minisign.test.ts", [
        { state: "passed" },
        { state: "skipped", missingTools: ["minisign"] },
        { state: "skipped", missingTools: ["minisign"] },
      ]),
      fakeModule("test/deploy/ssh.test.ts", [{ state: "failed" }, { state: "skipped", missingTools: ["sshd"] }]),
      fakeModule("test/release/release-cli.test.ts", [{ state: "skipped", missingTools: ["minisign"] }, { state: "skipped" }]),
    ]);
    expect(text).toBe(
      [
        "",
        "Skipped for missing tools: 4 tests did not run, for lack of 2 tools.",
        "  minisign: 3 tests skipped (test/release/minisign.test.ts 2, test/release/release-cli.test.ts 1)",
        `    ${TOOLS.minisign.what}; install: apt-get install -y minisign`,
        "  sshd: 1 test skipped (test/deploy/ssh.test.ts 1)",
        `    ${TOOLS.sshd.what}; install: apt-get install -y openssh-server`,
        "Install them (as root): apt-get install -y minisign openssh-server",
        ".ci/run installs every tool the tests need, then runs npm test.",
        "",
        "vitest: 1 passed, 1 failed, 5 skipped",
        "",
      ].join("\n"),
    );
  });

  it("counts a test file that failed to load, which has no tests, so the closing line never reads as all clear", () => {
    const text = reported([
      fakeModule("test/a.test.ts", [{ state: "passed" }]),
      fakeModule("test/b.test.ts", [], "SyntaxError: Unexpected token"),
      fakeModule("test/c.test.ts", [{ state: "failed" }]),
    ]);
    expect(text).toBe("\nvitest: 1 passed, 1 failed, 0 skipped, 1 test file failed to load\n");
  });

  it("prints only the closing line when nothing was skipped for a tool", () => {
    const text = reported([fakeModule("test/a.test.ts", [{ state: "passed" }, { state: "skipped" }])]);
    expect(text).toBe("\nvitest: 1 passed, 0 failed, 1 skipped\n");
  });

  it("counts a test that needs two missing tools under each, once in the total, tools in table order", () => {
    const text = missingToolsSummary([
      { file: "test/deploy/staging-stage.test.ts", missingTools: ["sshd", "minisign", "sshd"] },
      { file: "test/perf/bench-results.test.ts", missingTools: ["criterion"] },
    ]);
    expect(text.split("\n")[0]).toBe("Skipped for missing tools: 2 tests did not run, for lack of 3 tools.");
    expect(text).toContain("  minisign: 1 test skipped (test/deploy/staging-stage.test.ts 1)\n");
    expect(text).toContain("  sshd: 1 test skipped (test/deploy/staging-stage.test.ts 1)\n");
    expect(text).toContain("  criterion: 1 test skipped (test/perf/bench-results.test.ts 1)\n");
    expect(text).toContain("Install them (as root): apt-get install -y minisign openssh-server librust-criterion-dev\n");
    expect(missingToolsSummary([])).toBe("");
  });

  it("installs with .ci/run's packages: every package .ci/run installs belongs to a tool, every tool's package is installed or essential", () => {
    const ciRun = readFileSync(join(ROOT, ".ci/run"), "utf8");
    const ciPackages = (/^packages=\(([^)]*)\)$/m.exec(ciRun)?.[1] ?? "").split(/\s+/).filter(Boolean);
    expect(ciPackages.length).toBeGreaterThan(0);
    const toolPackages: string[] = Object.values(TOOLS).map((tool) => tool.debianPackage);
    expect(ciPackages.filter((name) => !toolPackages.includes(name))).toEqual([]);
    // coreutils is Essential in Debian: on every machine, never installed by .ci/run.
    expect(toolPackages.filter((name) => !ciPackages.includes(name))).toEqual(["coreutils"]);
    expect(installCommand(Object.keys(TOOLS) as ToolName[])).toBe(`apt-get install -y ${[...toolPackages].join(" ")}`);
  });

  it("needs() adds nothing to a test whose tools are all present (the run below shows the skip when they are not)", () => {
    const present = (Object.keys(TOOLS) as ToolName[]).filter((name) => hasTool(name));
    expect(needs(...present)).toEqual({});
  });

  it("a real run with minisign and sha256sum hidden from PATH skips their interop tests and ends with the summary", async () => {
    const bin = tempDir("shriven-path-");
    symlinkSync(process.execPath, join(bin, "node"));
    const files = ["test/release/checksums.test.ts", "test/adapters/minisign.e2e.test.ts"];
    const run = await execa(process.execPath, [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", ...files], {
      cwd: ROOT,
      env: { PATH: bin, HOME: homedir(), CI: "true" },
      extendEnv: false,
      reject: false,
    });
    expect(run.exitCode, run.stderr).toBe(0);
    const minisign = /^ {2}minisign: (\d+) tests skipped \(test\/adapters\/minisign\.e2e\.test\.ts (\d+)\)$/m.exec(run.stdout);
    expect(minisign?.[1]).toBe(minisign?.[2]);
    const skipped = Number(minisign?.[1]) + 1;
    const summary = run.stdout.slice(run.stdout.indexOf("Skipped for missing tools:")).split("\n");
    expect(summary).toEqual([
      `Skipped for missing tools: ${skipped} tests did not run, for lack of 2 tools.`,
      `  minisign: ${skipped - 1} tests skipped (test/adapters/minisign.e2e.test.ts ${skipped - 1})`,
      `    ${TOOLS.minisign.what}; install: apt-get install -y minisign`,
      "  sha256sum: 1 test skipped (test/release/checksums.test.ts 1)",
      `    ${TOOLS.sha256sum.what}; install: apt-get install -y coreutils`,
      "Install them (as root): apt-get install -y minisign coreutils",
      ".ci/run installs every tool the tests need, then runs npm test.",
      "",
      expect.stringMatching(new RegExp(`^vitest: \\d+ passed, 0 failed, ${skipped} skipped$`)),
    ]);
  }, 120_000);
});
