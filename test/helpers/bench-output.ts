/**
 * Runs the perf gate's own listing of a bench run's results (the command
 * `measure` runs after each bench run) on the host over a folder a test
 * wrote, with the run's start marker dated as the test says.
 */
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { relativeToWorkspace } from "../../src/cargo/commands.js";
import { type BenchOutput, type BenchRunPaths, collectCommand, parseBenchOutput } from "../../src/perf/bench-output.js";
import { HostRunner } from "../../src/runners/host-runner.js";

/** The gate's paths in `workspace`: criterion's home `target/criterion`, the Bencher file and the marker beside it. */
export function benchRunPaths(workspace: string): BenchRunPaths {
  const perf = join(workspace, "target", "shriven-pipeline", "perf");
  return {
    bencherFile: join(perf, "bench-1.json"),
    criterionHome: join(workspace, "target", "criterion"),
    marker: join(perf, "bench-1.started"),
  };
}

/** Touches the marker as of `startedAtMs` (files older than it are from earlier runs). */
export function markRunStart(paths: BenchRunPaths, startedAtMs: number): void {
  mkdirSync(join(paths.marker, ".."), { recursive: true });
  writeFileSync(paths.marker, "");
  utimesSync(paths.marker, startedAtMs / 1000, startedAtMs / 1000);
}

/** Lists the run's results with the gate's command; returns its raw output (or exit failure) and the parsed result. */
export async function collectBenchOutput(workspace: string, paths: BenchRunPaths = benchRunPaths(workspace)) {
  const result = await new HostRunner({ workspace }).exec(collectCommand(paths));
  if (result.exitCode !== 0) throw new Error(`collect command failed (exit ${result.exitCode}): ${result.stderr}`);
  return {
    stdout: result.stdout,
    parse: (): BenchOutput => parseBenchOutput(result.stdout, paths, (p) => relativeToWorkspace(p, workspace)),
  };
}
