/**
 * Comparing a measurement with a baseline: one line per benchmark (baseline,
 * new, change with its interval, verdict), the instruction count, and the
 * latency limits.
 */
import type { PerfMeasurement } from "./baseline.js";
import { bootstrapChange, type ChangeEstimate, type ChangeVerdict, decideChange, formatChange, instructionChange } from "./regression.js";

/** One compared measure. */
export interface ComparedMeasure {
  readonly id: string;
  readonly change: ChangeEstimate;
  readonly verdict: ChangeVerdict;
  /** Whether this measure decides the gate. */
  readonly gates: boolean;
}

/** The full comparison. */
export interface PerfComparison {
  readonly measures: readonly ComparedMeasure[];
  /** Benchmarks over their p99 limit: `order_handling p99 120000 ns > 100000 ns`. */
  readonly latencyBreaches: readonly string[];
  /** Benchmarks new since the baseline, or gone from it. */
  readonly unmatched: readonly string[];
  /** Latency limits of benchmarks measured without a p99 (criterion records sample means, not per-call latencies). */
  readonly uncheckedLimits: readonly string[];
}

/** Compares `current` with `baseline` at `thresholdPercent`; `gate` says which measure decides. */
export function comparePerf(
  baseline: PerfMeasurement,
  current: PerfMeasurement,
  options: {
    thresholdPercent: number;
    gate: "instructions" | "wall-time";
    latencyLimitsNs: Readonly<Record<string, number>>;
    /** Compare the fastest runs (default) or the means. */
    statistic?: "min" | "mean";
  },
): PerfComparison {
  const measures: ComparedMeasure[] = [];
  const unmatched: string[] = [];
  for (const [id, now] of Object.entries(current.benchmarks)) {
    const before = baseline.benchmarks[id];
    if (before === undefined) {
      unmatched.push(`${id}: new, no baseline`);
      continue;
    }
    const change = bootstrapChange(before.samples, now.samples, {
      statistic: options.statistic ?? "min",
      ...(before.runs === undefined ? {} : { baselineRuns: before.runs }),
      ...(now.runs === undefined ? {} : { currentRuns: now.runs }),
    });
    measures.push({ id, change, verdict: decideChange(change, options.thresholdPercent), gates: options.gate === "wall-time" });
  }
  for (const id of Object.keys(baseline.benchmarks))
    if (current.benchmarks[id] === undefined) unmatched.push(`${id}: in the baseline, not measured now`);
  if (baseline.instructions !== undefined && current.instructions !== undefined) {
    const change = instructionChange(baseline.instructions, current.instructions);
    measures.push({
      id: "instructions",
      change,
      verdict: decideChange(change, options.thresholdPercent),
      gates: options.gate === "instructions",
    });
  }
  const latencyBreaches = Object.entries(options.latencyLimitsNs).flatMap(([id, limit]) => {
    const p99 = current.benchmarks[id]?.p99;
    return p99 !== undefined && p99 > limit ? [`${id} p99 ${Math.round(p99)} ns > ${limit} ns`] : [];
  });
  const uncheckedLimits = Object.entries(options.latencyLimitsNs).flatMap(([id, limit]) =>
    current.benchmarks[id] !== undefined && current.benchmarks[id].p99 === undefined
      ? [`${id}: p99 limit ${limit} ns not checked (measured without a p99; criterion records means of batches of iterations)`]
      : [],
  );
  return { measures, latencyBreaches, unmatched, uncheckedLimits };
}

/** `order_handling: 40.1 → 44.3 ns, +10.5% [+8.2%, +12.9%], regressed (gates)` */
export function describeMeasure(m: ComparedMeasure): string {
  const unit = m.id === "instructions" ? " Ir" : " ns";
  const value = (v: number) => (m.id === "instructions" ? String(Math.round(v)) : v.toFixed(1));
  return `${m.id}: ${value(m.change.baseline)} → ${value(m.change.current)}${unit}, ${formatChange(m.change)}, ${m.verdict}${m.gates ? " (gates)" : " (informs)"}`;
}
