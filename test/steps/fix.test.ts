/**
 * The fix commands as data (src/steps/dev/fix.ts) and the host's all-or-nothing
 * fix of a workspace (src/cli/fix-workspace.ts) with a scripted runner: what
 * each fix runs, how its result reads, and that an interrupted, timed-out or
 * crashing fix leaves every file as it was.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixWorkspace } from "../../src/cli/fix-workspace.js";
import { defaultPipelineConfig, parsePipelineConfig } from "../../src/config/pipeline-config.js";
import type { Command, ExecResult, Runner } from "../../src/core/command.js";
import { runStage } from "../../src/engine/stage.js";
import { devStage } from "../../src/stages/dev.js";
import { allStepIds } from "../../src/stages/registry.js";
import { FixFailedError, fixCommands, isFixableSource, readFixResult, unfixedWarnings } from "../../src/steps/dev/fix.js";
import { RecordingRunner } from "../helpers/recording-runner.js";
import { tempDir } from "../helpers/temp.js";

const DEFAULTS = defaultPipelineConfig(allStepIds()).steps;

function result(partial: Partial<ExecResult>): ExecResult {
  const stdout = partial.stdout ?? "";
  const stderr = partial.stderr ?? "";
  return {
    exitCode: 0,
    durationMs: 1,
    timedOut: false,
    cancelled: false,
    outputs: {},
    output: stdout + stderr,
    ...partial,
    stdout,
    stderr,
  };
}

function compilerMessage(level: string, text: string, file: string, line: number, code: string): string {
  return JSON.stringify({
    reason: "compiler-message",
    message: { level, message: text, code: { code }, spans: [{ file_name: file, line_start: line, column_start: 5, is_primary: true }] },
  });
}

describe("fix commands", () => {
  it("fmt is cargo fmt --all; clippy is cargo clippy --fix on every target, then cargo fmt --all", () => {
    expect(fixCommands("fmt", DEFAULTS).map((f) => f.command.argv)).toEqual([["cargo", "fmt", "--all"]]);
    expect(fixCommands("clippy", DEFAULTS).map((f) => [f.tool, f.command.argv])).toEqual([
      [
        "cargo clippy --fix",
        [
          "cargo",
          "clippy",
          "--fix",
          "--workspace",
          "--all-targets",
          "--allow-dirty",
          "--allow-staged",
          "--allow-no-vcs",
          "--message-format=json",
        ],
      ],
      ["cargo fmt --all", ["cargo", "fmt", "--all"]],
    ]);
  });

  it("clippy --fix builds where the clippy step builds (cache, target dir, registry token); fmt builds nothing", async () => {
    const runner = new RecordingRunner();
    await runStage({ stage: devStage, runner, workspaceDir: "/w", jobs: 1, only: new Set(["clippy"]) });
    // The step's cargo clippy (it first looks for a clippy baseline with ls).
    const step = runner.commands.find((c) => c.argv[0] === "cargo") as Command;
    const [clippy, fmt] = fixCommands("clippy", DEFAULTS).map((f) => f.command);
    expect(clippy?.caches).toEqual(step.caches);
    expect(clippy?.env).toEqual(step.env);
    expect(clippy?.secretEnv).toEqual(step.secretEnv);
    expect(fmt?.caches).toBeUndefined();
    expect(fmt?.secretEnv).toBeUndefined();
  });

  it("takes extra arguments and timeouts from [steps.fmt] and [steps.clippy], else the steps' defaults", () => {
    expect(fixCommands("clippy", DEFAULTS).map((f) => f.command.timeoutMs)).toEqual([600_000, 120_000]);
    const config = parsePipelineConfig(
      '[steps.clippy]\nextra_args = ["--features", "simd"]\ntimeout_seconds = 900\n[steps.fmt]\nextra_args = ["--package", "risk"]\n',
      "shriven-pipeline.toml",
      allStepIds(),
    );
    const [clippy, fmt] = fixCommands("clippy", config.steps).map((f) => f.command);
    expect(clippy?.argv.slice(-2)).toEqual(["--features", "simd"]);
    expect(clippy?.timeoutMs).toBe(900_000);
    expect(fmt?.argv).toEqual(["cargo", "fmt", "--all", "--package", "risk"]);
    expect(fmt?.timeoutMs).toBe(120_000);
  });
});

describe("readFixResult", () => {
  const [clippyFix, fmtFix] = fixCommands("clippy", DEFAULTS) as [
    ReturnType<typeof fixCommands>[number],
    ReturnType<typeof fixCommands>[number],
  ];

  it("returns the diagnostics of a passing fix", () => {
    const stdout = compilerMessage("warning", "the loop variable `i` is only used to index `prices`", "crates/a/src/lib.rs", 7, "x");
    expect(readFixResult(clippyFix, result({ stdout })).map((d) => d.line)).toEqual([7]);
    expect(readFixResult(fmtFix, result({ stdout: "" }))).toEqual([]);
  });

  it("names the first compile error of a failing clippy --fix", () => {
    const stdout = [
      compilerMessage("error", "mismatched types", "crates/engine/src/lib.rs", 563, "E0308"),
      compilerMessage("error", "cannot find value `x`", "crates/engine/src/lib.rs", 570, "E0425"),
    ].join("\n");
    const failed = (() => {
      try {
        readFixResult(clippyFix, result({ exitCode: 101, stdout }));
      } catch (error) {
        return error;
      }
    })() as FixFailedError;
    expect(failed).toBeInstanceOf(FixFailedError);
    expect(failed.summary).toBe("cargo clippy --fix failed: 2 errors: crates/engine/src/lib.rs:563: mismatched types");
    expect(failed.details).toEqual([
      "crates/engine/src/lib.rs:563:5: error[E0308]: mismatched types",
      "crates/engine/src/lib.rs:570:5: error[E0425]: cannot find value `x`",
    ]);
    expect(failed.message).toContain("\n    crates/engine/src/lib.rs:570:5: error[E0425]");
  });

  it("quotes the tool's own error line when there are no JSON messages, and says when it timed out", () => {
    expect(() =>
      readFixResult(fmtFix, result({ exitCode: 1, stderr: "error: this file contains an unclosed delimiter\n --> x.rs:3:1\n" })),
    ).toThrow("cargo fmt --all failed (exit code 1): error: this file contains an unclosed delimiter");
    expect(() => readFixResult(clippyFix, result({ exitCode: null, timedOut: true }))).toThrow("cargo clippy --fix timed out after 600 s");
  });

  it("lists each unfixed warning once, without the line numbers later fixes move", () => {
    const lint = (line: number) =>
      compilerMessage("warning", "needless range loop", "crates/a/src/lib.rs", line, "clippy::needless_range_loop");
    const diagnostics = readFixResult(clippyFix, result({ stdout: [lint(522), lint(331)].join("\n") }));
    expect(diagnostics).toHaveLength(2);
    expect(unfixedWarnings(diagnostics)).toEqual(["crates/a/src/lib.rs: warning[clippy::needless_range_loop]: needless range loop"]);
  });
});

describe("isFixableSource", () => {
  it.each([
    ["crates/a/src/lib.rs", true],
    ["build.rs", true],
    ["src/target/mod.rs", true],
    ["target.rs", true],
    ["target/debug/build/a/out/gen.rs", false],
    [".git/hooks/x.rs", false],
    ["web/node_modules/pkg/a.rs", false],
    ["Cargo.toml", false],
  ])("%s → %s", (path, expected) => {
    expect(isFixableSource(path)).toBe(expected);
  });
});

/** A runner that rewrites files as a tool would, then answers as scripted. */
class ScriptedRunner implements Runner {
  readonly name = "scripted";
  constructor(
    private readonly workspace: string,
    private readonly script: (command: Command, write: (path: string, text: string) => void) => ExecResult,
  ) {}

  async exec(command: Command): Promise<ExecResult> {
    return this.script(command, (path, text) => writeFileSync(join(this.workspace, path), text));
  }
}

function workspace(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const FILES = { "Cargo.toml": "[workspace]\n", "crates/a/src/lib.rs": "fn  a() {}\n", "crates/b/src/lib.rs": "fn b() {}\n" };

describe("fixWorkspace: all or nothing", () => {
  it("lists the files the tools rewrote", async () => {
    const dir = workspace(FILES);
    const runner = new ScriptedRunner(dir, (_command, write) => {
      write("crates/a/src/lib.rs", "fn a() {}\n");
      write("target/debug/gen.rs", "// build output\n");
      return result({});
    });
    mkdirSync(join(dir, "target/debug"), { recursive: true });
    const run = await fixWorkspace({ workspace: dir, kind: "fmt", steps: DEFAULTS, runner });
    expect(run).toEqual({ status: "fixed", changed: ["crates/a/src/lib.rs"], remaining: [] });
  });

  it("puts every rewritten file back when a later command fails", async () => {
    const dir = workspace(FILES);
    const runner = new ScriptedRunner(dir, (command, write) => {
      if (command.argv.includes("clippy")) {
        write("crates/b/src/lib.rs", "fn b() { /* fixed */ }\n");
        return result({});
      }
      write("crates/a/src/lib.rs", "fn a() {}\n");
      return result({ exitCode: 1, stderr: "error: rustfmt crashed\n" });
    });
    const run = await fixWorkspace({ workspace: dir, kind: "clippy", steps: DEFAULTS, runner });
    expect(run.status).toBe("failed");
    expect(run.status === "failed" && run.error.summary).toBe("cargo fmt --all failed (exit code 1): error: rustfmt crashed");
    expect(run.status === "failed" && run.restored).toEqual(["crates/a/src/lib.rs", "crates/b/src/lib.rs"]);
    for (const [path, text] of Object.entries(FILES)) expect(readFileSync(join(dir, path), "utf8")).toBe(text);
  });

  it("puts the files back when interrupted, and stops there", async () => {
    const dir = workspace(FILES);
    const ran: string[] = [];
    const runner = new ScriptedRunner(dir, (command, write) => {
      ran.push(command.argv[1] as string);
      write("crates/b/src/lib.rs", "half written");
      return result({ exitCode: null, cancelled: true });
    });
    const run = await fixWorkspace({ workspace: dir, kind: "clippy", steps: DEFAULTS, runner });
    expect(run).toEqual({ status: "interrupted", restored: ["crates/b/src/lib.rs"] });
    expect(ran).toEqual(["clippy"]);
    expect(readFileSync(join(dir, "crates/b/src/lib.rs"), "utf8")).toBe(FILES["crates/b/src/lib.rs"]);
  });

  it("puts the files back and rethrows when the runner itself throws", async () => {
    const dir = workspace(FILES);
    const runner = new ScriptedRunner(dir, (_command, write) => {
      write("crates/a/src/lib.rs", "half written");
      throw new TypeError("runner broke");
    });
    await expect(fixWorkspace({ workspace: dir, kind: "fmt", steps: DEFAULTS, runner })).rejects.toThrow("runner broke");
    expect(readFileSync(join(dir, "crates/a/src/lib.rs"), "utf8")).toBe(FILES["crates/a/src/lib.rs"]);
  });
});
