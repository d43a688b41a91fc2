/**
 * The `[perf]` table of shriven-pipeline.toml: what to measure, where
 * baselines live, and the thresholds of each stage.
 */
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";

const argv = z
  .array(z.string({ error: "expected a string" }).min(1, { error: "expected a non-empty string" }), {
    error: "expected an array of strings",
  })
  .min(1, { error: "expected a command" });
const percent = z
  .number({ error: "expected a percentage" })
  .positive({ error: "expected a percentage above 0" })
  .max(1000, { error: "expected at most 1000" });

/** Schema of `[perf]`. */
export const perfPolicySchema = closedObject({
  bench_command: argv.optional(),
  repeats: z
    .int({ error: "expected a whole number" })
    .min(2, { error: "expected at least 2 (an interval needs two samples)" })
    .max(100, { error: "expected at most 100" })
    .optional(),
  instructions_command: argv.optional(),
  build_command: argv.optional(),
  gate: z.enum(["instructions", "wall-time"], { error: "expected instructions or wall-time" }).optional(),
  wall_time_statistic: z.enum(["min", "mean"], { error: "expected min or mean" }).optional(),
  baseline_dir: z.string({ error: "expected a path" }).min(1).optional(),
  baseline: z
    .string({ error: "expected a name" })
    .regex(/^[A-Za-z0-9._-]+$/, { error: "expected a name of letters, digits, . _ -" })
    .optional(),
  thresholds: closedObject({ dev: percent.optional(), staging: percent.optional(), production: percent.optional() }).optional(),
  alloc_command: argv
    .refine((a) => a.reduce((n, arg) => n + arg.split("{iterations}").length - 1, 0) === 1, {
      error: "expected {iterations} exactly once (the gate runs the command at N and at 2N iterations)",
    })
    .optional(),
  alloc_iterations: z
    .int({ error: "expected a whole number" })
    .min(100, { error: "expected at least 100" })
    .max(100_000_000, { error: "expected at most 100000000" })
    .optional(),
  memory_command: argv.optional(),
  memory_timeout_seconds: z.number({ error: "expected seconds" }).positive({ error: "expected seconds above 0" }).max(3600).optional(),
  latency_limits_ns: z
    .record(z.string(), z.number({ error: "expected nanoseconds" }).positive({ error: "expected nanoseconds above 0" }), {
      error: "expected a table of benchmark = nanoseconds",
    })
    .optional(),
});

/**
 * Runs of the bench command per measurement when `[perf] repeats` is not
 * set. A Bencher JSON run is one sample, so ten make the interval. A
 * criterion run already holds criterion's own samples (100 by default over
 * its measurement time), but they share that process's luck; whole runs
 * drift apart on a busy machine, and one run per side cannot see it: with a
 * 4 % drift between runs, one run against one cries wolf at 5 % in a quarter
 * to a half of comparisons. Three runs, resampled run by run (regression.ts),
 * measure the drift: 0.5 % false alarms in the same case, +20 % caught in
 * 96 % (test/perf/regression.test.ts), at three times criterion's time rather
 * than ten.
 */
export const DEFAULT_REPEATS = { bencher: 10, criterion: 3 } as const;

/** Performance settings, defaults applied. */
export interface PerfPolicy {
  /**
   * Runs the benchmarks. Criterion benchmarks need nothing more (their
   * `target/criterion/**\/new/` files are read); any other harness writes
   * Bencher Metric Format JSON to `$SHRIVEN_BENCH_JSON`.
   */
  readonly benchCommand: readonly string[];
  /** Runs of the bench command per measurement; unset, {@link DEFAULT_REPEATS} by what the first run wrote. */
  readonly repeats: number | undefined;
  /** Run under callgrind for instruction counts; none = wall time only. */
  readonly instructionsCommand: readonly string[] | undefined;
  /** Builds what `instructionsCommand` runs. */
  readonly buildCommand: readonly string[];
  /** Which measure decides the gate; the other one informs. */
  readonly gate: "instructions" | "wall-time";
  /** Wall time compares the fastest run (default: robust to whole runs slowed by other work) or the mean. */
  readonly wallTimeStatistic: "min" | "mean";
  /** Folder of the baselines, relative to the workspace. */
  readonly baselineDir: string;
  /** Baseline compared against. */
  readonly baseline: string;
  /** Regression thresholds in percent: dev warns, staging and production fail. */
  readonly thresholds: { readonly dev: number; readonly staging: number; readonly production: number };
  /** The hot path at `{iterations}` iterations, run under the allocation counter at N and 2N (production). */
  readonly allocCommand: readonly string[] | undefined;
  /** N of the allocation gate. */
  readonly allocIterations: number;
  /** A run of the engine whose RSS is sampled for growth (production); it must exit by itself. */
  readonly memoryCommand: readonly string[] | undefined;
  /** Time limit of the memory command. */
  readonly memoryTimeoutMs: number;
  /** p99 limits by benchmark id, in ns (order latency < 100 µs, risk check < 50 µs). */
  readonly latencyLimitsNs: Readonly<Record<string, number>>;
}

/** Applies the defaults of the pipeline document to `[perf]`. */
export function perfPolicyFrom(raw: z.output<typeof perfPolicySchema> | undefined): PerfPolicy {
  return {
    benchCommand: raw?.bench_command ?? ["cargo", "bench", "--package", "engine"],
    repeats: raw?.repeats,
    instructionsCommand: raw?.instructions_command,
    buildCommand: raw?.build_command ?? ["cargo", "build", "--release", "--package", "engine"],
    gate: raw?.gate ?? (raw?.instructions_command === undefined ? "wall-time" : "instructions"),
    wallTimeStatistic: raw?.wall_time_statistic ?? "min",
    baselineDir: raw?.baseline_dir ?? ".shriven-pipeline/baselines",
    baseline: raw?.baseline ?? "main",
    thresholds: { dev: raw?.thresholds?.dev ?? 5, staging: raw?.thresholds?.staging ?? 10, production: raw?.thresholds?.production ?? 5 },
    allocCommand: raw?.alloc_command,
    allocIterations: raw?.alloc_iterations ?? 20_000,
    memoryCommand: raw?.memory_command,
    memoryTimeoutMs: (raw?.memory_timeout_seconds ?? 120) * 1000,
    latencyLimitsNs: raw?.latency_limits_ns ?? { order_handling: 100_000, risk_check: 50_000 },
  };
}
