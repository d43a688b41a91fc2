/**
 * Measuring performance through a step's runner, so the same measurement runs
 * on the host and in Dagger: the benchmark command `repeats` times, reading
 * after each run the Bencher JSON it wrote and criterion's results of that run,
 * and optionally the instructions command under callgrind.
 */
import { posix } from "node:path";
import { relativeToWorkspace, TEST_TARGET } from "../cargo/commands.js";
import type { Command, ExecResult } from "../core/command.js";
import { PipelineError } from "../core/errors.js";
import type { PerfMeasurement } from "./baseline.js";
import { type BenchOutput, type BenchRunPaths, collectCommand, parseBenchOutput } from "./bench-output.js";
import { readBencherJson } from "./bench-results.js";
import { callgrindArgv, readCallgrindInstructions } from "./callgrind.js";
import { DEFAULT_REPEATS, type PerfPolicy } from "./policy.js";

/** What measuring needs from a step: its workspace and its runner (a step's context is one). */
export interface MeasureContext {
  /** The workspace as the runner sees it. */
  readonly workspaceDir: string;
  /** Runs a command through the step's runner (its log, signal and timeout). */
  exec(command: Command): Promise<ExecResult>;
}

/** A measurement failed; the message says which command and why. */
export class MeasurementError extends PipelineError {
  override readonly name: string = "MeasurementError";
}

/** Where measurement files go: inside the build cache, so later commands of the step see them. */
const PERF_DIR = "target/shriven-pipeline/perf";

/** What criterion contributed to a measurement (its last run). */
export interface CriterionRunSummary {
  /** Where criterion wrote (`CRITERION_HOME`), as the commands see it. */
  readonly home: string;
  /** Each measured benchmark's folder under `home` (the parent of its `new/`), by id. */
  readonly directories: Readonly<Record<string, string>>;
  /** Benchmark folders (relative to `home`) whose results are from earlier runs: not counted. */
  readonly notRun: readonly string[];
  /** Baselines criterion holds under `home` (`base`, `--save-baseline` names). */
  readonly savedBaselines: readonly string[];
}

/** A measurement, and where criterion's part of it lies. */
export interface MeasuredRun {
  readonly measurement: PerfMeasurement;
  /** Present when the bench command ran criterion benchmarks. */
  readonly criterion?: CriterionRunSummary;
}

function expectSuccess(result: ExecResult, what: string): void {
  if (result.exitCode === 0) return;
  const line = result.stderr.split("\n").find((l) => /error/i.test(l)) ?? result.stderr.trim().split("\n").at(-1) ?? "";
  throw new MeasurementError(`${what} failed (exit code ${result.exitCode ?? "none"})${line === "" ? "" : `: ${line.trim()}`}`);
}

async function readFile(context: MeasureContext, path: string): Promise<string> {
  const result = await context.exec({ argv: ["cat", path], caches: [TEST_TARGET] });
  expectSuccess(result, `reading ${path}`);
  return result.stdout;
}

/** What criterion cannot write new results with: it measures nothing, or keeps `new/` as it was (criterion 0.4+ `--discard-baseline`). */
const NO_NEW_RESULTS = ["--discard-baseline", "--load-baseline"];

/**
 * Runs the bench command once and reads what it wrote. Before the run the
 * Bencher JSON of an earlier run is removed and the marker touched, so only
 * this run's files count (see bench-output.ts).
 */
async function benchRun(context: MeasureContext, policy: PerfPolicy, run: number, home: string): Promise<BenchOutput> {
  const dir = posix.join(context.workspaceDir, PERF_DIR);
  const paths: BenchRunPaths = {
    bencherFile: posix.join(dir, `bench-${run}.json`),
    criterionHome: home,
    marker: posix.join(dir, `bench-${run}.started`),
  };
  expectSuccess(
    await context.exec({
      argv: ["sh", "-c", 'mkdir -p "$1" && rm -f "$2" && touch "$3"', "sh", dir, paths.bencherFile, paths.marker],
      caches: [TEST_TARGET],
    }),
    `preparing ${PERF_DIR}`,
  );
  const command = policy.benchCommand.join(" ");
  const bench = await context.exec({
    argv: policy.benchCommand,
    env: {
      CARGO_TERM_COLOR: "never",
      CARGO_TARGET_DIR: TEST_TARGET.path,
      // Criterion resolves a relative CARGO_TARGET_DIR against the bench's working directory, which cargo sets to the
      // package's folder (lib.rs, default output directory): an absolute home keeps every package's results in one place.
      CRITERION_HOME: home,
      SHRIVEN_BENCH_JSON: paths.bencherFile,
    },
    caches: [TEST_TARGET],
  });
  expectSuccess(bench, `benchmark run ${run} (${command})`);
  const listing = await context.exec({ ...collectCommand(paths), caches: [TEST_TARGET] });
  expectSuccess(listing, `reading the results of benchmark run ${run}`);
  const output = parseBenchOutput(listing.stdout, paths, (path) => relativeToWorkspace(path, context.workspaceDir));
  if (output.bencher === undefined && output.criterion.length === 0) {
    const stale =
      output.notRun.length === 0 ? "" : ` (${output.notRun.length} benchmark folder(s) there hold results of earlier runs only)`;
    const flags = policy.benchCommand.filter((arg) => NO_NEW_RESULTS.includes(arg));
    throw new MeasurementError(
      `benchmark run ${run} (${command}) wrote no results: no Bencher JSON at $SHRIVEN_BENCH_JSON (${PERF_DIR}/bench-${run}.json) and no criterion results newer than the run's start under ${relativeToWorkspace(home, context.workspaceDir)}${stale}${flags.length === 0 ? "" : `; criterion writes none with ${flags.join(" ")}`}`,
    );
  }
  return output;
}

/** Samples gathered so far for one benchmark; `runs` only for criterion's. */
interface Gathered {
  readonly from: "bencher" | "criterion";
  readonly samples: number[];
  readonly runs: number[];
  readonly p99: number[];
}

/**
 * Runs the benchmarks and the instruction count, returning what a baseline stores.
 *
 * Runs: `[perf] repeats`, or when unset {@link DEFAULT_REPEATS} by what the
 * first run wrote. A Bencher JSON run gives one sample per benchmark (its
 * value, with `upper_value` as the p99). A criterion run gives criterion's own
 * samples: the per-iteration time of each batch (`sample.json`, `times[i] /
 * iters[i]`), recorded with how many each run gave so the comparison resamples
 * run by run (regression.ts). Criterion's point estimates are not used: the
 * gate's statistic (fastest or mean) and interval come from the samples, the
 * same way for both inputs.
 */
export async function measure(context: MeasureContext, policy: PerfPolicy): Promise<MeasuredRun> {
  const home = posix.join(context.workspaceDir, TEST_TARGET.path, "criterion");
  const gathered = new Map<string, Gathered>();
  let planned = policy.repeats;
  let first: BenchOutput | undefined;
  let last: BenchOutput | undefined;
  for (let run = 1; run <= (planned ?? 1); run++) {
    const output = await benchRun(context, policy, run, home);
    first ??= output;
    planned ??= output.bencher === undefined ? DEFAULT_REPEATS.criterion : DEFAULT_REPEATS.bencher;
    if (first.bencher !== undefined && output.bencher === undefined)
      throw new MeasurementError(`benchmark run ${run} wrote no Bencher JSON at $SHRIVEN_BENCH_JSON, though run 1 did`);
    if (first.criterion.length > 0 && output.criterion.length === 0)
      throw new MeasurementError(`benchmark run ${run} wrote no criterion results, though run 1 did`);
    gather(gathered, output, run);
    last = output;
  }
  const benchmarks = Object.fromEntries(
    [...gathered].map(([id, g]) => [
      id,
      g.from === "criterion"
        ? { samples: g.samples, runs: g.runs }
        : g.p99.length === 0
          ? { samples: g.samples }
          : { samples: g.samples, p99: median(g.p99) },
    ]),
  );
  const criterion = last === undefined || last.criterion.length === 0 ? undefined : summary(home, last);
  const measured = (measurement: PerfMeasurement): MeasuredRun => (criterion === undefined ? { measurement } : { measurement, criterion });
  if (policy.instructionsCommand === undefined) return measured({ benchmarks });
  const build = await context.exec({
    argv: policy.buildCommand,
    env: { CARGO_TERM_COLOR: "never", CARGO_TARGET_DIR: TEST_TARGET.path },
    caches: [TEST_TARGET],
  });
  expectSuccess(build, policy.buildCommand.join(" "));
  const out = posix.join(context.workspaceDir, PERF_DIR, "callgrind.out");
  const counted = await context.exec({ argv: callgrindArgv(policy.instructionsCommand, out), caches: [TEST_TARGET] });
  expectSuccess(counted, `callgrind of ${policy.instructionsCommand.join(" ")}`);
  return measured({ benchmarks, instructions: readCallgrindInstructions(await readFile(context, out), `${PERF_DIR}/callgrind.out`) });
}

/** Adds one run's results to `gathered`; an id from both inputs is refused, in one run or across runs. */
function gather(gathered: Map<string, Gathered>, output: BenchOutput, run: number): void {
  const add = (id: string, from: Gathered["from"]): Gathered => {
    const entry = gathered.get(id) ?? { from, samples: [], runs: [], p99: [] };
    if (entry.from !== from) throw new MeasurementError(`${id}: measured both by criterion and in the Bencher JSON; rename one of them`);
    gathered.set(id, entry);
    return entry;
  };
  for (const { measurement } of output.criterion) {
    const entry = add(measurement.id, "criterion");
    entry.samples.push(...measurement.samples);
    entry.runs.push(measurement.samples.length);
  }
  if (output.bencher === undefined) return;
  for (const m of readBencherJson(output.bencher.text, `${PERF_DIR}/bench-${run}.json`)) {
    const entry = add(m.id, "bencher");
    entry.samples.push(m.pointEstimate);
    if (m.upper !== undefined) entry.p99.push(m.upper);
  }
}

function summary(home: string, output: BenchOutput): CriterionRunSummary {
  return {
    home,
    directories: Object.fromEntries(output.criterion.map((r) => [r.measurement.id, r.directory])),
    notRun: output.notRun,
    savedBaselines: output.savedBaselines,
  };
}

/** The middle value (the lower middle for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}
