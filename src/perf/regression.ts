/**
 * Deciding whether a benchmark regressed, from samples rather than point
 * estimates: a bootstrap confidence interval for the relative change of the
 * mean, and a verdict only when the whole interval is past the threshold.
 * Instruction counts are repeatable, so they compare directly.
 *
 * Samples come in runs. A Bencher JSON run gives one sample (its mean); a
 * criterion run gives one per criterion sample (the per-iteration time of a
 * batch of iterations), all sharing that process's luck: its code layout, CPU
 * frequency and neighbours. Resampling such samples as if independent would
 * ignore the spread between runs, so runs are resampled first and samples
 * within each drawn run next (the two-stage bootstrap of clustered data,
 * Davison & Hinkley, *Bootstrap Methods and their Application*, 1997, §3.8).
 * With one run per side it is the plain bootstrap of that run's samples —
 * what criterion itself does (`analysis/compare.rs`) — and covers only the
 * noise within the run, which is why criterion results default to three runs
 * (`DEFAULT_REPEATS`, policy.ts).
 */

/** The relative change of a measure between a baseline and a new run. */
export interface ChangeEstimate {
  readonly baseline: number;
  readonly current: number;
  /** (current − baseline) / baseline × 100. */
  readonly changePercent: number;
  /** The confidence interval of changePercent. */
  readonly lowerPercent: number;
  readonly upperPercent: number;
}

/** What a comparison concludes. */
export type ChangeVerdict = "regressed" | "improved" | "unchanged";

/** Options of {@link bootstrapChange}. */
export interface BootstrapOptions {
  /** Resamples drawn (default 2000). */
  readonly resamples?: number;
  /** Confidence level of the interval (default 0.95). */
  readonly confidence?: number;
  /** Seed of the resampling generator, so a comparison is reproducible (default 1). */
  readonly seed?: number;
  /**
   * What is compared: the mean of the runs, or the fastest run (robust when
   * other work on the machine slows whole runs down, default "mean").
   */
  readonly statistic?: "mean" | "min";
  /**
   * How many of the baseline's samples each run gave, in order (they add up
   * to the number of samples); absent, every sample is a run of its own.
   */
  readonly baselineRuns?: readonly number[];
  /** The same for the current samples. */
  readonly currentRuns?: readonly number[];
}

/** mulberry32: a small, fast, seeded generator; statistical quality is ample for resampling. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function resampled(values: readonly number[], random: () => number, statistic: "mean" | "min"): number {
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[Math.floor(random() * values.length)] as number;
    sum += v;
    if (v < min) min = v;
  }
  return statistic === "min" ? min : sum / values.length;
}

/** Draws runs with replacement, then as many samples as each drawn run has from within it, and returns the statistic of all drawn. */
function resampledRuns(runs: readonly (readonly number[])[], random: () => number, statistic: "mean" | "min"): number {
  let sum = 0;
  let count = 0;
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs.length; r++) {
    const run = runs[Math.floor(random() * runs.length)] as readonly number[];
    for (let i = 0; i < run.length; i++) {
      const v = run[Math.floor(random() * run.length)] as number;
      sum += v;
      count++;
      if (v < min) min = v;
    }
  }
  return statistic === "min" ? min : sum / count;
}

function check(name: string, samples: readonly number[]): void {
  if (samples.length < 2) throw new RangeError(`${name}: at least 2 samples are needed for an interval, got ${samples.length}`);
  for (const s of samples) if (!Number.isFinite(s) || s <= 0) throw new RangeError(`${name}: samples must be finite and > 0, got ${s}`);
}

/** A resampler of `samples`: run by run when `runs` says how they group, sample by sample otherwise. */
function resampler(name: string, samples: readonly number[], runs: readonly number[] | undefined, statistic: "mean" | "min") {
  if (runs === undefined) return (random: () => number) => resampled(samples, random, statistic);
  const total = runs.reduce((a, b) => a + b, 0);
  if (runs.length === 0 || runs.some((n) => !Number.isInteger(n) || n < 1) || total !== samples.length)
    throw new RangeError(`${name}: runs must be whole numbers >= 1 adding up to the ${samples.length} samples, got [${runs.join(", ")}]`);
  const groups: number[][] = [];
  let start = 0;
  for (const n of runs) {
    groups.push(samples.slice(start, start + n));
    start += n;
  }
  return (random: () => number) => resampledRuns(groups, random, statistic);
}

/**
 * The relative change of the mean (or of the fastest sample) from `baseline`
 * to `current` samples, with a percentile-bootstrap confidence interval (both
 * sides resampled independently, run by run when the options group them).
 */
export function bootstrapChange(baseline: readonly number[], current: readonly number[], options: BootstrapOptions = {}): ChangeEstimate {
  check("baseline", baseline);
  check("current", current);
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const random = generator(options.seed ?? 1);
  const statistic = options.statistic ?? "mean";
  const resampleBaseline = resampler("baseline", baseline, options.baselineRuns, statistic);
  const resampleCurrent = resampler("current", current, options.currentRuns, statistic);
  const changes = new Float64Array(resamples);
  for (let i = 0; i < resamples; i++) changes[i] = (resampleCurrent(random) / resampleBaseline(random) - 1) * 100;
  changes.sort();
  const tail = (1 - confidence) / 2;
  const at = (q: number) => changes[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))] as number;
  const base = statistic === "min" ? Math.min(...baseline) : mean(baseline);
  const now = statistic === "min" ? Math.min(...current) : mean(current);
  return { baseline: base, current: now, changePercent: (now / base - 1) * 100, lowerPercent: at(tail), upperPercent: at(1 - tail) };
}

/**
 * A verdict only when the whole interval is past the threshold: regressed
 * when even its lower end is slower by more than `thresholdPercent`, improved
 * when even its upper end is faster by more than it, unchanged otherwise.
 */
export function decideChange(change: ChangeEstimate, thresholdPercent: number): ChangeVerdict {
  if (change.lowerPercent > thresholdPercent) return "regressed";
  if (change.upperPercent < -thresholdPercent) return "improved";
  return "unchanged";
}

/** Instruction counts are exact: the change is a single number, and the interval collapses to it. */
export function instructionChange(baseline: number, current: number): ChangeEstimate {
  if (!(baseline > 0) || !(current > 0)) throw new RangeError(`instruction counts must be > 0, got ${baseline} and ${current}`);
  const percent = (current / baseline - 1) * 100;
  return { baseline, current, changePercent: percent, lowerPercent: percent, upperPercent: percent };
}

/** `+10.3% [+8.1%, +12.6%]` */
export function formatChange(change: ChangeEstimate): string {
  const pct = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`;
  if (change.lowerPercent === change.upperPercent) return pct(change.changePercent);
  return `${pct(change.changePercent)} [${pct(change.lowerPercent)}, ${pct(change.upperPercent)}]`;
}
