/**
 * Memory-growth analysis: sample a process's resident set size (RSS) while it
 * runs and decide whether it leaks.
 *
 * The analysis is robust by construction: the warm-up (start-up allocations,
 * caches filling) is cut off by time, and the start and end levels are medians
 * of a quarter of the remaining samples each, so a single spike in either
 * window does not move the verdict.
 */
import { readFile } from "node:fs/promises";

/** One RSS reading. */
export interface RssSample {
  /** Milliseconds since the first sample. */
  readonly atMs: number;
  /** Resident set size in KiB (`VmRSS` of `/proc/<pid>/status`). */
  readonly rssKiB: number;
}

/** Thresholds of {@link analyzeMemoryGrowth}. */
export interface MemoryGrowthOptions {
  /** Fraction of the sampled time span treated as warm-up and ignored, in [0, 1); default 0.2. */
  readonly warmupFraction?: number;
  /** Growth (percent of the baseline) above which the verdict is "warn"; default 10. */
  readonly warnPercent?: number;
  /** Growth (percent of the baseline) above which the verdict is "fail"; default 20. */
  readonly failPercent?: number;
}

/** Outcome of {@link analyzeMemoryGrowth}. */
export interface MemoryGrowth {
  /** "insufficient" when fewer than {@link MIN_ANALYZED_SAMPLES} samples follow the warm-up. */
  readonly verdict: "ok" | "warn" | "fail" | "insufficient";
  /** Median RSS (KiB) of the first quarter of the post-warm-up samples. */
  readonly baselineKiB: number;
  /** Median RSS (KiB) of the last quarter of the post-warm-up samples. */
  readonly finalKiB: number;
  /** (final − baseline) / baseline × 100; `Infinity` when the baseline is 0 and the final level is not. */
  readonly growthPercent: number;
  /** Least-squares slope of RSS over time after the warm-up, in KiB per minute. */
  readonly slopeKiBPerMinute: number;
  /** Number of samples analysed (after the warm-up). */
  readonly samples: number;
  /** One human-readable sentence explaining the verdict. */
  readonly reason: string;
}

/** Fewest post-warm-up samples a verdict is based on. */
export const MIN_ANALYZED_SAMPLES = 8;

const DEFAULTS = { warmupFraction: 0.2, warnPercent: 10, failPercent: 20 } as const;

/**
 * Decides whether `samples` (sorted by time) show memory growth.
 *
 * Samples in the first `warmupFraction` of the time span are dropped. Of the
 * rest, the baseline is the median of the first quarter and the final level
 * the median of the last quarter; growth above `failPercent` fails, above
 * `warnPercent` warns. Pure: no I/O.
 *
 * @throws Error for a non-finite or negative time or RSS, times that go
 *   backwards, or invalid thresholds.
 */
export function analyzeMemoryGrowth(samples: readonly RssSample[], options: MemoryGrowthOptions = {}): MemoryGrowth {
  const settings = resolveOptions(options);
  validateSamples(samples);
  const analysed = afterWarmup(samples, settings.warmupFraction);
  const quarter = Math.max(1, Math.floor(analysed.length / 4));
  const baselineKiB = median(analysed.slice(0, quarter).map((s) => s.rssKiB));
  const finalKiB = median(analysed.slice(-quarter).map((s) => s.rssKiB));
  const stats = {
    baselineKiB,
    finalKiB,
    growthPercent: growthPercent(baselineKiB, finalKiB),
    slopeKiBPerMinute: slopePerMs(analysed) * 60_000,
    samples: analysed.length,
  };
  const verdict = decide(stats, settings);
  return { verdict, ...stats, reason: explain(verdict, stats, settings) };
}

type Settings = Required<MemoryGrowthOptions>;
type Stats = Omit<MemoryGrowth, "verdict" | "reason">;

function resolveOptions(options: MemoryGrowthOptions): Settings {
  const settings = {
    warmupFraction: options.warmupFraction ?? DEFAULTS.warmupFraction,
    warnPercent: options.warnPercent ?? DEFAULTS.warnPercent,
    failPercent: options.failPercent ?? DEFAULTS.failPercent,
  };
  const { warmupFraction, warnPercent, failPercent } = settings;
  if (!Number.isFinite(warmupFraction) || warmupFraction < 0 || warmupFraction >= 1) {
    throw new Error(`warmupFraction must be a number in [0, 1), got ${warmupFraction}`);
  }
  if (!Number.isFinite(warnPercent) || warnPercent < 0) throw new Error(`warnPercent must be a finite number ≥ 0, got ${warnPercent}`);
  if (!Number.isFinite(failPercent) || failPercent < warnPercent) {
    throw new Error(`failPercent must be a finite number ≥ warnPercent (${warnPercent}), got ${failPercent}`);
  }
  return settings;
}

function validateSamples(samples: readonly RssSample[]): void {
  samples.forEach((sample, i) => {
    for (const key of ["atMs", "rssKiB"] as const) {
      const value = sample[key];
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new Error(`sample ${i}: ${key} must be a finite number ≥ 0, got ${String(value)}`);
      }
    }
    const previous = samples[i - 1];
    if (previous !== undefined && sample.atMs < previous.atMs) {
      throw new Error(`samples must be sorted by atMs: sample ${i} (${sample.atMs} ms) comes before sample ${i - 1} (${previous.atMs} ms)`);
    }
  });
}

function afterWarmup(samples: readonly RssSample[], warmupFraction: number): readonly RssSample[] {
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return [];
  const cutoff = first.atMs + (last.atMs - first.atMs) * warmupFraction;
  return samples.filter((s) => s.atMs >= cutoff);
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function growthPercent(baselineKiB: number, finalKiB: number): number {
  if (baselineKiB === 0) return finalKiB === 0 ? 0 : Number.POSITIVE_INFINITY;
  return ((finalKiB - baselineKiB) / baselineKiB) * 100;
}

/** Least-squares slope of RSS against time (KiB per ms); 0 without a time spread. */
function slopePerMs(samples: readonly RssSample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const meanT = samples.reduce((sum, s) => sum + s.atMs, 0) / n;
  const meanR = samples.reduce((sum, s) => sum + s.rssKiB, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const s of samples) {
    covariance += (s.atMs - meanT) * (s.rssKiB - meanR);
    variance += (s.atMs - meanT) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

function decide(stats: Stats, settings: Settings): MemoryGrowth["verdict"] {
  if (stats.samples < MIN_ANALYZED_SAMPLES) return "insufficient";
  if (stats.growthPercent > settings.failPercent) return "fail";
  if (stats.growthPercent > settings.warnPercent) return "warn";
  return "ok";
}

function explain(verdict: MemoryGrowth["verdict"], stats: Stats, settings: Settings): string {
  if (verdict === "insufficient") {
    return (
      `only ${stats.samples} sample(s) after the warm-up, at least ${MIN_ANALYZED_SAMPLES} are needed: ` +
      "sample more often (smaller interval) or run the process longer"
    );
  }
  const change =
    `RSS ${stats.growthPercent >= 0 ? "grew" : "shrank"} ${Math.abs(stats.growthPercent).toFixed(1)}% ` +
    `(median ${fmtKiB(stats.baselineKiB)} → ${fmtKiB(stats.finalKiB)} KiB, slope ${stats.slopeKiBPerMinute.toFixed(0)} KiB/min, ` +
    `${stats.samples} samples after warm-up)`;
  if (verdict === "fail") return `${change}, above the failure threshold of ${settings.failPercent}%: likely a memory leak`;
  if (verdict === "warn") return `${change}, above the warning threshold of ${settings.warnPercent}%`;
  return `${change}, within the warning threshold of ${settings.warnPercent}%`;
}

function fmtKiB(kib: number): string {
  return Number.isInteger(kib) ? String(kib) : kib.toFixed(1);
}

/** Options of {@link sampleRss}. */
export interface SampleRssOptions {
  /** Pause between two readings, in ms (> 0). */
  readonly intervalMs: number;
  /** Stops sampling when aborted; the samples taken so far are returned. */
  readonly signal: AbortSignal;
}

/**
 * Reads `VmRSS` from `/proc/<pid>/status` every `intervalMs` until the
 * process is gone (or a zombie, which has no RSS) or `signal` aborts.
 * Linux only.
 *
 * @returns The samples, `atMs` relative to the first one (empty if the
 *   process was already gone or the signal already aborted).
 * @throws Error for an invalid pid or interval.
 */
export async function sampleRss(pid: number, options: SampleRssOptions): Promise<RssSample[]> {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pid must be a positive integer, got ${pid}`);
  validateInterval(options.intervalMs);
  const samples: RssSample[] = [];
  let startedAt: number | undefined;
  while (!options.signal.aborted) {
    const rssKiB = await readRssKiB(pid);
    if (rssKiB === undefined) break;
    const now = performance.now();
    startedAt ??= now;
    samples.push({ atMs: now - startedAt, rssKiB });
    await sleep(options.intervalMs, options.signal);
  }
  return samples;
}

function validateInterval(intervalMs: number): void {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new Error(`intervalMs must be a positive number of milliseconds, got ${intervalMs}`);
  }
}

/** `VmRSS` of `pid` in KiB, or undefined when the process is gone or a zombie. */
async function readRssKiB(pid: number): Promise<number | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return undefined;
    throw new Error(`cannot read /proc/${pid}/status: ${(error as Error).message}`);
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
