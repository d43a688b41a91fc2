/**
 * Measuring performance through a step's runner, so the same measurement runs
 * on the host and in Dagger: the benchmark command `repeats` times (each run's
 * mean is one sample), and optionally the instructions command under callgrind.
 */
import { posix } from "node:path";
import type { ExecResult } from "../core/command.js";
import type { StepContext } from "../core/step.js";
import { TEST_TARGET } from "../steps/cargo.js";
import type { PerfMeasurement } from "./baseline.js";
import { readBencherJson } from "./bench-results.js";
import { callgrindArgv, readCallgrindInstructions } from "./callgrind.js";
import type { PerfPolicy } from "./perf-policy.js";

/** A measurement failed; the message says which command and why. */
export class MeasurementError extends Error {
  override readonly name = "MeasurementError";
}

/** Where measurement files go: inside the build cache, so later commands of the step see them. */
const PERF_DIR = "target/shriven-pipeline/perf";

function expectSuccess(result: ExecResult, what: string): void {
  if (result.exitCode === 0) return;
  const line = result.stderr.split("\n").find((l) => /error/i.test(l)) ?? result.stderr.trim().split("\n").at(-1) ?? "";
  throw new MeasurementError(`${what} failed (exit code ${result.exitCode ?? "none"})${line === "" ? "" : `: ${line.trim()}`}`);
}

async function readFile(context: StepContext, path: string): Promise<string> {
  const result = await context.exec({ argv: ["cat", path], caches: [TEST_TARGET] });
  expectSuccess(result, `reading ${path}`);
  return result.stdout;
}

/** Runs the benchmarks and the instruction count, returning what a baseline stores. */
export async function measure(context: StepContext, policy: PerfPolicy): Promise<PerfMeasurement> {
  const runs: Record<string, { samples: number[]; p99: number[] }> = {};
  expectSuccess(
    await context.exec({ argv: ["mkdir", "-p", posix.join(context.workspaceDir, PERF_DIR)], caches: [TEST_TARGET] }),
    `creating ${PERF_DIR}`,
  );
  for (let run = 1; run <= policy.repeats; run++) {
    const file = posix.join(context.workspaceDir, PERF_DIR, `bench-${run}.json`);
    const bench = await context.exec({
      argv: policy.benchCommand,
      env: { CARGO_TERM_COLOR: "never", CARGO_TARGET_DIR: TEST_TARGET.path, SHRIVEN_BENCH_JSON: file },
      caches: [TEST_TARGET],
    });
    expectSuccess(bench, `benchmark run ${run} (${policy.benchCommand.join(" ")})`);
    for (const m of readBencherJson(await readFile(context, file), `${PERF_DIR}/bench-${run}.json`)) {
      const entry = runs[m.id] ?? { samples: [], p99: [] };
      entry.samples.push(m.pointEstimate);
      if (m.upper !== undefined) entry.p99.push(m.upper);
      runs[m.id] = entry;
    }
  }
  const benchmarks = Object.fromEntries(
    Object.entries(runs).map(([id, r]) => [id, r.p99.length === 0 ? { samples: r.samples } : { samples: r.samples, p99: median(r.p99) }]),
  );
  if (Object.keys(benchmarks).length === 0)
    throw new MeasurementError(`${policy.benchCommand.join(" ")} reported no benchmarks in $SHRIVEN_BENCH_JSON`);
  if (policy.instructionsCommand === undefined) return { benchmarks };
  const build = await context.exec({
    argv: policy.buildCommand,
    env: { CARGO_TERM_COLOR: "never", CARGO_TARGET_DIR: TEST_TARGET.path },
    caches: [TEST_TARGET],
  });
  expectSuccess(build, policy.buildCommand.join(" "));
  const out = posix.join(context.workspaceDir, PERF_DIR, "callgrind.out");
  const counted = await context.exec({ argv: callgrindArgv(policy.instructionsCommand, out), caches: [TEST_TARGET] });
  expectSuccess(counted, `callgrind of ${policy.instructionsCommand.join(" ")}`);
  return { benchmarks, instructions: readCallgrindInstructions(await readFile(context, out), `${PERF_DIR}/callgrind.out`) };
}

/** The middle value (the lower middle for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}
