/**
 * Edge cases of the dev-stage steps, each produced by the real cargo on a
 * tiny crate: output the happy path never shows.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runStage } from "../../src/engine/stage.js";
import type { Step, StepResult } from "../../src/engine/step.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { checkStep } from "../../src/steps/dev/check.js";
import { clippyStep } from "../../src/steps/dev/clippy.js";
import { fmtStep } from "../../src/steps/dev/fmt.js";
import { testStep } from "../../src/steps/dev/test.js";
import { tempDir } from "../helpers/temp.js";

const MANIFEST = '[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ndoctest = false\n';

function crate(files: Record<string, string>, manifest = MANIFEST): string {
  const dir = tempDir("shriven-tiny-");
  writeFileSync(join(dir, "Cargo.toml"), manifest);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function runStep(step: Step, workspace: string): Promise<StepResult> {
  const outcome = await runStage({
    stage: { name: "dev", environment: "development", description: "edge", groups: [[step]] },
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    jobs: 1,
  });
  return outcome.steps[0] as StepResult;
}

describe("dev-stage steps on odd inputs (real cargo)", () => {
  it("fmt: a file rustfmt cannot parse fails with rustfmt's error, not a diff list", async () => {
    const result = await runStep(fmtStep, crate({ "src/lib.rs": "pub fn broken( {\n" }));
    expect(result.status).toBe("failed");
    expect(result.summary).toMatch(/^rustfmt failed \(exit code 1\): error: /);
  });

  it("fmt: lists every unformatted file with workspace-relative paths and lines", async () => {
    const dir = crate({ "src/lib.rs": "pub mod a;\npub mod b;\n", "src/a.rs": "pub fn  a() {}\n", "src/b.rs": "pub fn b()->u8{1}\n" });
    const result = await runStep(fmtStep, dir);
    expect(result.summary).toBe("2 unformatted files: src/a.rs, src/b.rs (run cargo fmt)");
    expect(result.details).toEqual(["src/a.rs: differs at line 1", "src/b.rs: differs at line 1"]);
  });

  it("check: passes with warnings as warned, naming each warning", async () => {
    const result = await runStep(checkStep, crate({ "src/lib.rs": "pub fn f() {\n    let unused = 1;\n}\n" }));
    expect(result.status).toBe("warned");
    expect(result.summary).toBe("Passed with 1 warning");
    expect(result.details).toEqual(["src/lib.rs:2:9: warning[unused_variables]: unused variable: `unused`"]);
  });

  it("check: a broken manifest fails with cargo's own message", async () => {
    const result = await runStep(checkStep, crate({ "src/lib.rs": "" }, "[package]\nname = 3\n"));
    expect(result.status).toBe("failed");
    expect(result.summary).toMatch(/^cargo check failed \(exit code 101\): error: /);
  });

  it("test: a test binary that aborts is a failure that says the binary stopped", async () => {
    const lib =
      "#[cfg(test)]\nmod tests {\n    #[test]\n    fn ok() {}\n    #[test]\n    fn dies() {\n        std::process::abort();\n    }\n}\n";
    const result = await runStep(testStep, crate({ "src/lib.rs": lib }));
    expect(result.status).toBe("failed");
    expect(result.summary).toMatch(/cargo test exited with code 101: tiny \(src\/lib\.rs\) stopped without a result$/);
    expect(result.details).toContain("tiny (src/lib.rs): the test binary stopped without a result (crashed or killed)");
  });

  it("test: a workspace without tests is a warning, not a pass", async () => {
    const result = await runStep(testStep, crate({ "src/lib.rs": "pub fn f() {}\n" }));
    expect(result).toMatchObject({ status: "warned", summary: "No tests found" });
  });

  it("test: compile errors in test code fail with file and line", async () => {
    const lib = '#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        let x: u8 = "a";\n    }\n}\n';
    const result = await runStep(testStep, crate({ "src/lib.rs": lib }));
    expect(result.summary).toBe("tests do not compile: 1 error: src/lib.rs:5: mismatched types");
  });

  it("test: counts ignored tests apart", async () => {
    const lib = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn a() {}\n    #[test]\n    #[ignore]\n    fn b() {}\n}\n";
    const result = await runStep(testStep, crate({ "src/lib.rs": lib }));
    expect(result).toMatchObject({ status: "passed", summary: "1/1 passed, 1 ignored" });
  });

  it("clippy: a broken manifest fails with cargo's message, not 'No warnings'", async () => {
    const result = await runStep(clippyStep, crate({ "src/lib.rs": "" }, "[package]\nname = 3\n"));
    expect(result.status).toBe("failed");
    expect(result.summary).toMatch(/^cargo clippy failed \(exit code 101\): error: /);
  });

  it("clippy: lints in the lint target directory, apart from the test build", async () => {
    const dir = crate({ "src/lib.rs": "pub fn f() {}\n" });
    expect((await runStep(clippyStep, dir)).summary).toBe("No warnings");
    const { existsSync } = await import("node:fs");
    expect(existsSync(join(dir, "target/shriven-lint/debug"))).toBe(true);
    expect(existsSync(join(dir, "target/debug"))).toBe(false);
  });
});
