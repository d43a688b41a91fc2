/**
 * The clippy baseline with the real cargo clippy on tiny workspaces: saved by
 * the CLI, then used by the clippy step (the code the host and the Dagger
 * module both run).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runStage } from "../../src/engine/stage.js";
import type { StepResult } from "../../src/engine/step.js";
import { CLIPPY_BASELINE_AUDIT_FILE, CLIPPY_BASELINE_FILE, parseClippyBaseline } from "../../src/lint/clippy-baseline.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { clippyStep } from "../../src/steps/dev/clippy.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

const MANIFEST = '[package]\nname = "legacy"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ndoctest = false\n';

/** Three legacy lints: needless_range_loop (line 4), ptr_arg (line 11), needless_return (line 17). */
const LEGACY = `/// Sum of prices.
pub fn sum(prices: &[i64]) -> i64 {
    let mut total = 0;
    for i in 0..prices.len() {
        total += prices[i];
    }
    total
}

/// Number of fills.
pub fn count(fills: &Vec<u64>) -> usize {
    fills.len()
}

/// The price, unchanged.
pub fn same(x: i64) -> i64 {
    return x;
}
`;

const ENV = { CI: "true", USER: "alice" };

function workspace(files: Record<string, string>): string {
  const dir = tempDir("shriven-clippy-baseline-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const legacyCrate = () => workspace({ "Cargo.toml": MANIFEST, "src/lib.rs": LEGACY });

async function clippy(dir: string): Promise<StepResult> {
  const outcome = await runStage({
    stage: { name: "dev", environment: "development", description: "clippy", groups: [[clippyStep]] },
    runner: new HostRunner({ workspace: dir }),
    workspaceDir: dir,
    jobs: 1,
  });
  return outcome.steps[0] as StepResult;
}

async function save(dir: string, reason = "adopting the legacy engine") {
  return runCli(["clippy-baseline", "--save", "--reason", reason, "--source", dir], { env: ENV });
}

const newLines = (step: StepResult) => step.details.filter((d) => d.startsWith("new: "));

describe("clippy baseline (real cargo clippy)", () => {
  it("saves the 3 legacy lints with who, when, why and the clippy version; the step then warns with 3 baselined", async () => {
    const dir = legacyCrate();
    const saved = await save(dir);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toContain("✅ Saved the clippy baseline: 3 warnings");
    const baseline = parseClippyBaseline(readFileSync(join(dir, CLIPPY_BASELINE_FILE), "utf8"), CLIPPY_BASELINE_FILE);
    expect(baseline.warnings.map((w) => [w.code, w.file, w.line, w.snippet])).toEqual([
      ["clippy::needless_range_loop", "src/lib.rs", 4, "for i in 0..prices.len() {"],
      ["clippy::ptr_arg", "src/lib.rs", 11, "pub fn count(fills: &Vec<u64>) -> usize {"],
      ["clippy::needless_return", "src/lib.rs", 17, "return x;"],
    ]);
    expect(baseline).toMatchObject({ savedBy: "alice", reason: "adopting the legacy engine" });
    expect(baseline.toolchain).toBe(execFileSync("cargo", ["clippy", "--version"], { encoding: "utf8" }).trim());
    expect(Date.now() - Date.parse(baseline.savedAt)).toBeLessThan(10 * 60_000);
    const audit = readFileSync(join(dir, CLIPPY_BASELINE_AUDIT_FILE), "utf8").trim().split("\n");
    expect(audit.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ by: "alice", reason: "adopting the legacy engine", warnings: 3, toolchain: baseline.toolchain }),
    ]);

    const step = await clippy(dir);
    expect(step.status).toBe("warned");
    expect(step.summary).toBe("No new warnings; 3 baselined warnings left");
    expect(newLines(step)).toEqual([]);

    const shown = await runCli(["clippy-baseline", "--source", dir], { env: ENV });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("Clippy baseline .shriven-pipeline/clippy-baseline.json: 3 warnings");
    expect(shown.stdout).toContain("⚠️ Clippy: No new warnings; 3 baselined warnings left");
  });

  it("fails on a new lint, naming only it; lines inserted above the legacy lints do not make them new", async () => {
    const dir = legacyCrate();
    expect((await save(dir)).code).toBe(0);
    const inserted = `//! The legacy engine.\n\n/// Tick size.\npub const TICK: i64 = 1;\n\n${LEGACY}`;
    writeFileSync(join(dir, "src/lib.rs"), inserted);
    expect(await clippy(dir)).toMatchObject({ status: "warned", summary: "No new warnings; 3 baselined warnings left" });

    writeFileSync(
      join(dir, "src/lib.rs"),
      `${inserted}\n/// Mean.\npub fn mean(v: &Vec<f64>) -> f64 {\n    v.iter().sum::<f64>() / v.len() as f64\n}\n`,
    );
    const step = await clippy(dir);
    expect(step.status).toBe("failed");
    expect(step.summary).toMatch(/^1 new warning not in the clippy baseline: src\/lib\.rs:26: .*\[clippy::ptr_arg\] \(3 baselined\)$/);
    expect(newLines(step)).toEqual([expect.stringMatching(/^new: src\/lib\.rs:26:\d+: warning\[clippy::ptr_arg\]: /)]);
  });

  it("reports a fixed lint so the baseline can shrink; a re-save records it", async () => {
    const dir = legacyCrate();
    expect((await save(dir)).code).toBe(0);
    writeFileSync(join(dir, "src/lib.rs"), LEGACY.replace("    return x;", "    x"));
    const step = await clippy(dir);
    expect(step.status).toBe("warned");
    expect(step.summary).toBe(
      'No new warnings; 2 baselined warnings left, 1 fixed (shrink the baseline: shriven-pipeline clippy-baseline --save --reason "…")',
    );
    expect(step.details).toContainEqual(expect.stringMatching(/^fixed: src\/lib\.rs:17 \(as saved\): warning\[clippy::needless_return\]/));

    const resaved = await save(dir, "needless_return fixed");
    expect(resaved.stdout).toContain("against the previous baseline: 0 added, 1 removed");
    expect(parseClippyBaseline(readFileSync(join(dir, CLIPPY_BASELINE_FILE), "utf8"), "baseline").warnings).toHaveLength(2);
    const audit = readFileSync(join(dir, CLIPPY_BASELINE_AUDIT_FILE), "utf8").trim().split("\n");
    expect(JSON.parse(audit[1] as string)).toMatchObject({ reason: "needless_return fixed", warnings: 2, added: 0, removed: 1 });
    expect(await clippy(dir)).toMatchObject({ status: "warned", summary: "No new warnings; 2 baselined warnings left" });
  });

  it("a second warning identical to a baselined one (same lint, file and line text) is new", async () => {
    const dir = legacyCrate();
    expect((await save(dir)).code).toBe(0);
    writeFileSync(join(dir, "src/lib.rs"), `${LEGACY}\n/// Also unchanged.\npub fn again(x: i64) -> i64 {\n    return x;\n}\n`);
    const step = await clippy(dir);
    expect(step.status).toBe("failed");
    expect(newLines(step)).toEqual([
      expect.stringMatching(
        /^new: src\/lib\.rs:22:5: warning\[clippy::needless_return\]: .* \(2 identical in this file, at lines 17, 22; the baseline holds 1\)$/,
      ),
    ]);
  });

  it("without a baseline file any lint fails as before (-D warnings)", async () => {
    const step = await clippy(legacyCrate());
    expect(step.status).toBe("failed");
    expect(step.summary).toMatch(/^3 diagnostics \(warnings denied\): src\/lib\.rs:4: /);
    expect(step.details.every((d) => d.includes(": error[clippy::"))).toBe(true);
  });

  it("a baseline run lints the crates that depend on a linted one; -D warnings stops cargo at the first", async () => {
    const dir = workspace({
      "Cargo.toml": '[workspace]\nmembers = ["base", "top"]\nresolver = "2"\n',
      "base/Cargo.toml": '[package]\nname = "base"\nversion = "0.1.0"\nedition = "2021"\n',
      "base/src/lib.rs": LEGACY,
      "top/Cargo.toml": '[package]\nname = "top"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nbase = { path = "../base" }\n',
      "top/src/lib.rs": "/// Twice.\npub fn twice(x: i64) -> i64 {\n    return base::same(x) * 2;\n}\n",
    });
    const denied = await clippy(dir);
    expect(denied.status).toBe("failed");
    expect(denied.details.some((d) => d.startsWith("top/"))).toBe(false);

    expect((await save(dir)).code).toBe(0);
    const baseline = parseClippyBaseline(readFileSync(join(dir, CLIPPY_BASELINE_FILE), "utf8"), "baseline");
    expect(baseline.warnings.map((w) => w.file)).toEqual(["base/src/lib.rs", "base/src/lib.rs", "base/src/lib.rs", "top/src/lib.rs"]);
    expect(await clippy(dir)).toMatchObject({ status: "warned", summary: "No new warnings; 4 baselined warnings left" });
  });

  it("errors are never baselined: --save refuses a workspace that does not compile, and writes nothing", async () => {
    const dir = workspace({ "Cargo.toml": MANIFEST, "src/lib.rs": `${LEGACY}\npub fn broken() -> u64 {\n    "text"\n}\n` });
    const run = await save(dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /❌ 1 error: errors are never baselined[\s\S]*src\/lib\.rs:\d+:\d+: error\[E0308\][\s\S]*No baseline saved\./,
    );
    expect(existsSync(join(dir, ".shriven-pipeline"))).toBe(false);
  });

  it("--save without --reason (or with a blank one), and --reason without --save, are usage errors (exit 2)", async () => {
    const dir = legacyCrate();
    for (const args of [["--save"], ["--save", "--reason", "  "], ["--reason", "why"], ["--save", "--reason", "a\u001b[2Jb"]]) {
      const run = await runCli(["clippy-baseline", ...args, "--source", dir], { env: ENV });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^shriven-pipeline: --(save needs --reason TEXT|reason goes with --save|reason: expected text without control)/,
      );
    }
    expect(existsSync(join(dir, ".shriven-pipeline"))).toBe(false);
  });

  it("a hand-broken baseline: the step fails and the CLI exits 2, both naming the file and the field", async () => {
    const dir = legacyCrate();
    expect((await save(dir)).code).toBe(0);
    const file = join(dir, CLIPPY_BASELINE_FILE);
    const good = JSON.parse(readFileSync(file, "utf8"));
    const cases: Array<[string, RegExp]> = [
      ["{ not json", /not valid JSON/],
      [
        JSON.stringify({ ...good, schemaVersion: 9 }),
        /schemaVersion: expected 1 \(the format this version of shriven-pipeline reads\), got 9/,
      ],
      [JSON.stringify({ ...good, reason: undefined }), /reason: missing; expected why it was saved/],
      [
        JSON.stringify({ ...good, warnings: [{ ...good.warnings[0], file: "../../etc/passwd" }] }),
        /warnings\.0\.file: expected a path inside the workspace/,
      ],
    ];
    for (const [text, problem] of cases) {
      writeFileSync(file, text);
      const step = await clippy(dir);
      expect(step.status).toBe("failed");
      expect(step.summary).toMatch(new RegExp(`^unreadable clippy baseline \\.shriven-pipeline/clippy-baseline\\.json: ${problem.source}`));
      const shown = await runCli(["clippy-baseline", "--source", dir], { env: ENV });
      expect(shown.code).toBe(2);
      expect(shown.stderr).toContain(`configuration error in ${file}:`);
      expect(shown.stderr).toMatch(problem);
    }
  });
});
