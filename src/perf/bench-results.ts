/**
 * Readers for benchmark results: criterion's on-disk output
 * (`target/criterion/**\/<baseline>/{benchmark,estimates,sample}.json`, the
 * layout of criterion 0.3 to 0.5) and the Bencher Metric Format (BMF) the
 * example benchmark writes. Every file is validated; a bad one is a
 * {@link ConfigError} naming the file and the key, and nothing is returned
 * half-read.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { readTextFile } from "../core/read-text-file.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";

/** One benchmark's result, times in nanoseconds per iteration. */
export interface Measurement {
  /** Criterion's `full_id`, or the BMF benchmark name (`<name>/<measure>` unless the measure is `latency`). */
  id: string;
  unit: "ns";
  /** Per-iteration time of each sample, ns (empty for BMF, which stores only summaries). */
  samples: number[];
  /** Criterion: the mean's point estimate. BMF: `value`. */
  pointEstimate: number;
  /** Criterion: lower bound of the mean's confidence interval. BMF: `lower_value`. */
  lower?: number;
  /** Criterion: upper bound of the mean's confidence interval. BMF: `upper_value`. */
  upper?: number;
  /** Further point estimates (criterion: `median`, `median_abs_dev`, `std_dev`, `slope` when present). */
  extra?: Record<string, number>;
}

/** The three files criterion writes per benchmark and baseline that the gate reads. */
export const CRITERION_FILES = ["benchmark.json", "estimates.json", "sample.json"] as const;

/** One of {@link CRITERION_FILES}. */
export type CriterionFile = (typeof CRITERION_FILES)[number];

/** A criterion file's text and the path its errors name; throws a {@link ConfigError} naming the path when it cannot be had. */
export type CriterionFileReader = (file: CriterionFile) => { path: string; text: string };

/** Folders under `target/criterion` that never hold a benchmark's results. */
const SKIPPED_DIRS = new Set(["report"]);

const numberArray = z.array(z.number({ error: "expected a finite number" }), { error: "expected an array of numbers" });

/** `sample.json` (criterion's `SavedSample`): total time (ns) of each sample and its iteration count. */
const sampleSchema = z.object({
  sampling_mode: z.enum(["Linear", "Flat"], { error: 'expected "Linear" or "Flat" (criterion\'s ActualSamplingMode)' }).optional(),
  iters: numberArray,
  times: numberArray,
});

const estimateSchema = z.object(
  {
    confidence_interval: z.object({
      confidence_level: z.number(),
      lower_bound: z.number(),
      upper_bound: z.number(),
    }),
    point_estimate: z.number(),
    standard_error: z.number(),
  },
  { error: "expected an estimate object" },
);

/** `estimates.json` (criterion's `Estimates`); `slope` is null in flat sampling mode. */
const estimatesSchema = z.object({
  mean: estimateSchema,
  median: estimateSchema,
  median_abs_dev: estimateSchema,
  slope: estimateSchema.nullish(),
  std_dev: estimateSchema,
});

/** `benchmark.json` (criterion's `BenchmarkId`); throughput is an externally tagged enum such as `{"Bytes": 1024}`. */
const benchmarkSchema = z.object({
  group_id: z.string(),
  function_id: z.string().nullable(),
  value_str: z.string().nullable(),
  throughput: z
    .record(
      z.string(),
      z.int({ error: "expected a whole number (bytes, elements or bits per iteration)" }).min(0, { error: "expected a number >= 0" }),
      { error: 'expected an object such as {"Bytes": 1024}' },
    )
    .refine((units) => Object.keys(units).length === 1, { error: 'expected exactly one unit, such as {"Bytes": 1024}' })
    .nullish(),
  full_id: z.string().min(1, { error: "expected a non-empty string" }),
  directory_name: z.string(),
  title: z.string(),
});

/**
 * Reads every criterion result saved under `criterionDir` (usually
 * `target/criterion`) for one baseline: `"new"` (the latest run), `"base"`
 * (the previous run) or a name given to `--save-baseline`.
 * @returns One measurement per benchmark, sorted by id.
 * @throws ConfigError naming the file and field when any file is missing or
 *   malformed, or when there are no results for `which` at all.
 */
export function readCriterionDirectory(criterionDir: string, which: string): Measurement[] {
  checkBaselineName(which);
  if (!existsSync(criterionDir) || !statSync(criterionDir).isDirectory()) {
    throw new ConfigError(criterionDir, ["directory not found (expected criterion's output, e.g. target/criterion)"]);
  }
  const dirs = findResultDirs(criterionDir, which);
  if (dirs.length === 0) {
    throw new ConfigError(criterionDir, [
      `no results for baseline "${which}" under ${criterionDir} (expected <benchmark>/${which}/benchmark.json, estimates.json and sample.json)`,
    ]);
  }
  const measurements = dirs.map(readResultDir);
  const duplicates = duplicateIds(measurements.map((m) => m.id));
  if (duplicates.length > 0)
    throw new ConfigError(
      criterionDir,
      duplicates.map((id) => `${id}: benchmark id appears more than once`),
    );
  return measurements.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function checkBaselineName(which: string): void {
  if (which === "" || which === "." || which === ".." || /[/\\]/.test(which) || SKIPPED_DIRS.has(which)) {
    throw new ConfigError("criterion baseline name", [
      `"${which}" is not a baseline name (expected "new", "base" or a --save-baseline name)`,
    ]);
  }
}

/** Folders named `which` holding at least one of criterion's files, in path order; `report/` folders and symlinks are skipped. */
function findResultDirs(dir: string, which: string): string[] {
  const found: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !SKIPPED_DIRS.has(e.name))
    .map((e) => e.name)
    .sort();
  for (const name of entries) {
    const child = join(dir, name);
    if (name === which && CRITERION_FILES.some((file) => existsSync(join(child, file)))) found.push(child);
    else found.push(...findResultDirs(child, which));
  }
  return found;
}

function readResultDir(dir: string): Measurement {
  return parseCriterionResult((file) => {
    const path = join(dir, file);
    return { path, text: readTextFile(path) };
  });
}

/**
 * Validates one benchmark's criterion files (`benchmark.json`, then
 * `estimates.json`, then `sample.json`, as `read` hands them over) and turns
 * them into a measurement: criterion's `full_id`, the per-iteration time of
 * each sample (`times[i] / iters[i]`, criterion's own `avg_times` in
 * `analysis/mod.rs`), and the mean's estimate and interval.
 * @throws ConfigError naming the file and the key of every problem.
 */
export function parseCriterionResult(read: CriterionFileReader): Measurement {
  const benchmark = parseCriterionFile(read("benchmark.json"), benchmarkSchema);
  const estimates = parseCriterionFile(read("estimates.json"), estimatesSchema);
  const sampleFile = read("sample.json");
  const sample = parseCriterionFile(sampleFile, sampleSchema);
  const samples = perIterationTimes(sampleFile.path, sample.iters, sample.times);
  const { mean } = estimates;
  return {
    id: benchmark.full_id,
    unit: "ns",
    samples,
    pointEstimate: mean.point_estimate,
    lower: mean.confidence_interval.lower_bound,
    upper: mean.confidence_interval.upper_bound,
    extra: extraEstimates(estimates),
  };
}

function extraEstimates(estimates: z.output<typeof estimatesSchema>): Record<string, number> {
  const extra: Record<string, number> = {
    median: estimates.median.point_estimate,
    median_abs_dev: estimates.median_abs_dev.point_estimate,
    std_dev: estimates.std_dev.point_estimate,
  };
  if (estimates.slope) extra.slope = estimates.slope.point_estimate;
  return extra;
}

/** `times[i] / iters[i]`, after checking both are non-empty, equally long, finite and > 0. */
function perIterationTimes(file: string, iters: readonly number[], times: readonly number[]): number[] {
  const problems: string[] = [];
  if (iters.length === 0 || times.length === 0) problems.push("iters, times: no samples (expected at least one)");
  else if (iters.length !== times.length) problems.push(`iters, times: lengths differ (${iters.length} iters, ${times.length} times)`);
  problems.push(...positiveProblems("iters", iters), ...positiveProblems("times", times));
  if (problems.length > 0) throw new ConfigError(file, problems);
  return times.map((time, i) => time / (iters[i] as number));
}

function positiveProblems(key: string, values: readonly number[]): string[] {
  return values.flatMap((value, i) =>
    Number.isFinite(value) && value > 0 ? [] : [`${key}.${i}: expected a finite number > 0, got ${value}`],
  );
}

/** Ids that occur more than once, each listed once. */
function duplicateIds(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) duplicates.add(id);
    seen.add(id);
  }
  return [...duplicates];
}

function parseCriterionFile<Schema extends z.ZodType>(file: { path: string; text: string }, schema: Schema): z.output<Schema> {
  return validate(parseJson(file.text, file.path), schema, file.path);
}

/** `JSON.parse`, with a hint for the non-JSON numbers some writers emit. */
function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const hint = /(^|[^\w"])-?(NaN|Infinity)\b/.test(text) ? " (NaN and Infinity are not JSON numbers)" : "";
    throw new ConfigError(file, [`invalid JSON: ${(error as Error).message}${hint}`]);
  }
}

function validate<Schema extends z.ZodType>(value: unknown, schema: Schema, file: string): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  return parsed.data;
}

const bmfValue = z.number({ error: "expected a finite number" }).min(0, { error: "expected a number >= 0" });

/** One BMF measure: `value`, with optional `lower_value` and `upper_value`. */
const bmfMetricSchema = closedObject({
  value: bmfValue,
  lower_value: bmfValue.optional(),
  upper_value: bmfValue.optional(),
});

const bmfSchema = z.record(
  z.string(),
  z.record(z.string(), bmfMetricSchema, { error: "expected an object mapping measure names to { value, lower_value?, upper_value? }" }),
  { error: "expected an object mapping benchmark names to measures" },
);

/**
 * Parses Bencher Metric Format JSON:
 * `{ "<benchmark>": { "<measure>": { "value", "lower_value"?, "upper_value"? } } }`.
 * Values are nanoseconds, finite and >= 0. `lower_value <= upper_value` is
 * required, but `value` need not lie between them (the example benchmark
 * writes the mean with p50 and p99 as bounds).
 * @param text File contents.
 * @param file Name used in error messages.
 * @returns One measurement per benchmark and measure, id `<benchmark>` for
 *   the `latency` measure and `<benchmark>/<measure>` otherwise, with no samples.
 * @throws ConfigError naming the file and the key path of every problem.
 */
export function readBencherJson(text: string, file: string): Measurement[] {
  const parsed = validate(parseJson(text, file), bmfSchema, file);
  const problems: string[] = [];
  const measurements: Measurement[] = [];
  const benchmarks = Object.entries(parsed);
  if (benchmarks.length === 0) problems.push("(top level): no benchmarks in the file");
  for (const [benchmark, measures] of benchmarks) {
    const entries = Object.entries(measures);
    if (entries.length === 0) problems.push(`${benchmark}: no measures (expected e.g. "latency")`);
    for (const [measure, metric] of entries) {
      if (metric.lower_value !== undefined && metric.upper_value !== undefined && metric.lower_value > metric.upper_value) {
        problems.push(`${benchmark}.${measure}: lower_value (${metric.lower_value}) is greater than upper_value (${metric.upper_value})`);
      }
      measurements.push(bmfMeasurement(benchmark, measure, metric));
    }
  }
  for (const id of duplicateIds(measurements.map((m) => m.id))) problems.push(`${id}: more than one benchmark and measure map to this id`);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return measurements;
}

function bmfMeasurement(benchmark: string, measure: string, metric: z.output<typeof bmfMetricSchema>): Measurement {
  const m: Measurement = {
    id: measure === "latency" ? benchmark : `${benchmark}/${measure}`,
    unit: "ns",
    samples: [],
    pointEstimate: metric.value,
  };
  if (metric.lower_value !== undefined) m.lower = metric.lower_value;
  if (metric.upper_value !== undefined) m.upper = metric.upper_value;
  return m;
}
