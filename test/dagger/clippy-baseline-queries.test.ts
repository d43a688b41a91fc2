/**
 * The clippy function of the module with a clippy baseline in the workspace
 * (real SDK, queries recorded on 127.0.0.1): the baseline comes with the
 * source and is read in the container, and the step judges the container's
 * clippy output against it exactly as on the host.
 */
import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/cargo/messages.js";
import { ShrivenPipeline } from "../../src/index.js";
import { CLIPPY_BASELINE_FILE, makeClippyBaseline, serialiseClippyBaseline } from "../../src/lint/clippy-baseline.js";
import { clippyCommand } from "../../src/steps/dev/clippy.js";
import { type ExecAnswer, execArgvs, FakeEngine } from "../helpers/fake-engine.js";
import { cleanWorkspace, MANIFEST, withToolchain } from "../helpers/toolchain-execs.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const TOOLCHAIN = "clippy 0.1.95 (59807616e1 2026-04-14)";

/** A warning as cargo's JSON stream carries it (with the quoted source line). */
function message(line: number, text: string): string {
  return JSON.stringify({
    reason: "compiler-message",
    message: {
      level: "warning",
      message: "the loop variable `i` is only used to index `prices`",
      code: { code: "clippy::needless_range_loop" },
      spans: [
        {
          file_name: "crates/strategy/src/lib.rs",
          line_start: line,
          column_start: 14,
          is_primary: true,
          text: [{ text, highlight_start: 14, highlight_end: 30 }],
        },
      ],
      rendered: "warning: the loop variable",
    },
  });
}

const LEGACY: Diagnostic = {
  level: "warning",
  code: "clippy::needless_range_loop",
  message: "the loop variable `i` is only used to index `prices`",
  file: "crates/strategy/src/lib.rs",
  line: 7,
  column: 14,
  sourceLine: "    for i in 0..prices.len() {",
  rendered: "",
};

const BASELINE = serialiseClippyBaseline(
  makeClippyBaseline([LEGACY], { savedBy: "alice", reason: "legacy", toolchain: TOOLCHAIN, now: new Date("2026-05-01T00:00:00Z") })
    .baseline,
);

/** The container with a baseline in `.shriven-pipeline/` (or none), and clippy printing `warnings`. */
function container(withBaseline: boolean, warnings: readonly string[]) {
  return (argv: readonly string[]): ExecAnswer => {
    if (argv.includes("ls")) return { exitCode: 0, stdout: withBaseline ? "baselines\nclippy-baseline.json\n" : "baselines\n" };
    if (argv.includes("cat") && argv.includes(CLIPPY_BASELINE_FILE)) return { exitCode: 0, stdout: BASELINE };
    if (argv.includes("clippy") && argv.includes("--version")) return { exitCode: 0, stdout: `${TOOLCHAIN}\n` };
    if (argv.includes("clippy")) return { exitCode: argv.includes("-D") ? 101 : 0, stdout: warnings.map((w) => `${w}\n`).join("") };
    return cleanWorkspace(argv);
  };
}

async function clippyFunction(withBaseline: boolean, warnings: readonly string[]): Promise<string> {
  engine.reset({
    entries: ["Cargo.toml", "Cargo.lock", "crates", ".shriven-pipeline"],
    files: { "Cargo.toml": MANIFEST },
    exec: withToolchain(container(withBaseline, warnings)),
  });
  let output = "";
  await connection(async () => {
    output = await new ShrivenPipeline().clippy(dag.loadDirectoryFromID("workspace-directory-id" as never));
  });
  return output;
}

/** The clippy lint run the module sent (each query repeats the container's execs before it), without its `timeout` wrapper. */
function sentClippy(): string[] {
  const runs = new Set(
    engine.queries
      .flatMap(execArgvs)
      .filter((argv) => argv.includes("clippy") && argv.includes("--workspace"))
      .map((argv) => JSON.stringify(argv.slice(argv.indexOf("cargo")))),
  );
  expect(runs.size).toBe(1);
  return JSON.parse([...runs][0] as string);
}

describe("clippy with a baseline, in the toolchain container", () => {
  it("reads the baseline that came with the source and passes baselined warnings as warned, lines shifted", async () => {
    const output = await clippyFunction(true, [message(12, "        for i in 0..prices.len() {")]);
    expect(output).toMatch(/^⚠️ Clippy: No new warnings; 1 baselined warning left/);
    const read = engine.queries.flatMap(execArgvs).filter((argv) => argv.slice(-2).join(" ") === `cat ${CLIPPY_BASELINE_FILE}`);
    expect(read.length).toBeGreaterThan(0);
    expect(sentClippy()).toEqual([...clippyCommand([], "collect").argv]);
  });

  it("fails on a warning the baseline does not hold", async () => {
    await expect(
      clippyFunction(true, [message(7, "    for i in 0..prices.len() {"), message(30, "    for j in 0..asks.len() {")]),
    ).rejects.toThrow(
      /❌ Clippy: 1 new warning not in the clippy baseline: crates\/strategy\/src\/lib\.rs:30: [\s\S]*new: crates\/strategy\/src\/lib\.rs:30:14: warning\[clippy::needless_range_loop\]/,
    );
  });

  it("without a baseline file, denies every warning as before", async () => {
    await expect(clippyFunction(false, [message(7, "    for i in 0..prices.len() {")])).rejects.toThrow(
      /❌ Clippy: 1 diagnostic \(warnings denied\)/,
    );
    expect(sentClippy()).toEqual([...clippyCommand([], "deny").argv]);
  });
});
