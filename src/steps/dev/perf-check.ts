import { posix } from "node:path";
import { ConfigError } from "../../core/errors.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { type PerfMeasurement, parseBaseline } from "../../perf/baseline.js";
import { BenchOutputError } from "../../perf/bench-output.js";
import { comparePerf, describeMeasure } from "../../perf/compare.js";
import { type CriterionRunSummary, type MeasuredRun, MeasurementError, measure } from "../../perf/measure.js";
import { formatChange } from "../../perf/regression.js";

/** The stage a performance step gates: its threshold, and whether findings fail or warn. */
export type PerfStage = "dev" | "staging" | "production";

function measuredLines(m: PerfMeasurement): string[] {
  const lines = Object.entries(m.benchmarks).map(([id, b]) => {
    const mean = b.samples.reduce((a, c) => a + c, 0) / b.samples.length;
    const over =
      b.runs === undefined
        ? `${b.samples.length} runs`
        : `${b.samples.length} criterion samples in ${b.runs.length} run${b.runs.length === 1 ? "" : "s"}`;
    return `${id}: mean ${mean.toFixed(1)} ns over ${over}${b.p99 === undefined ? "" : `, p99 ${Math.round(b.p99)} ns`}`;
  });
  return m.instructions === undefined ? lines : [...lines, `instructions: ${m.instructions} Ir`];
}

/** Benchmarks criterion left from earlier runs, which this measurement did not count. */
function notRunLines(criterion: CriterionRunSummary | undefined): string[] {
  if (criterion === undefined || criterion.notRun.length === 0) return [];
  return [`not run this time, earlier criterion results ignored: ${criterion.notRun.join(", ")}`];
}

async function runPerf(context: StepContext, stage: PerfStage): Promise<StepOutcome> {
  const policy = context.policies.perf;
  const finding = stage === "dev" ? "warned" : "failed";
  let measured: MeasuredRun;
  try {
    measured = await measure(context, policy);
  } catch (error) {
    if (error instanceof MeasurementError || error instanceof ConfigError || error instanceof BenchOutputError)
      return { status: finding, summary: `not measured: ${error.message}` };
    throw error;
  }
  const current = measured.measurement;
  const file = posix.join(policy.baselineDir, `${policy.baseline}.json`);
  const stored = await context.exec({ argv: ["cat", file] });
  if (stored.exitCode !== 0) {
    const adopt = measured.criterion?.savedBaselines.includes(policy.baseline)
      ? `; criterion holds a baseline "${policy.baseline}" (cargo bench -- --save-baseline ${policy.baseline}): adopt it with shriven-pipeline perf --from-criterion ${policy.baseline} --save-baseline ${policy.baseline} --reason "…"`
      : "";
    return {
      status: stage === "dev" ? "passed" : "failed",
      summary: `No baseline "${policy.baseline}" yet (save one: shriven-pipeline perf --save-baseline ${policy.baseline} --reason "…")${adopt}`,
      details: [...measuredLines(current), ...notRunLines(measured.criterion)],
      data: measured,
    };
  }
  let baseline: PerfMeasurement;
  try {
    baseline = parseBaseline(stored.stdout, file);
  } catch (error) {
    if (error instanceof ConfigError)
      return { status: finding, summary: `baseline unreadable: ${error.message}`, details: measuredLines(current) };
    throw error;
  }
  const comparison = comparePerf(baseline, current, {
    thresholdPercent: policy.thresholds[stage],
    gate: policy.gate,
    latencyLimitsNs: stage === "dev" ? {} : policy.latencyLimitsNs,
    statistic: policy.wallTimeStatistic,
  });
  const details = [
    ...comparison.measures.map(describeMeasure),
    ...comparison.latencyBreaches,
    ...comparison.unmatched,
    ...comparison.uncheckedLimits,
    ...notRunLines(measured.criterion),
  ];
  const degraded = comparison.measures.filter((m) => m.gates && m.verdict === "regressed");
  const data = { ...measured, baseline: policy.baseline, comparison };
  if (degraded.length > 0 || comparison.latencyBreaches.length > 0) {
    const what = [...degraded.map((m) => `${m.id} degraded ${formatChange(m.change)}`), ...comparison.latencyBreaches];
    return { status: finding, summary: what.join("; "), details, data };
  }
  const gating = comparison.measures.filter((m) => m.gates);
  const changes = gating.map((m) => `${m.id} ${formatChange(m.change)}`).join(", ");
  return { status: "passed", summary: `No regressions against "${policy.baseline}" (${changes})`, details, data };
}

/**
 * Benchmarks (and instruction counts) against the baseline. In dev every
 * finding is a warning; in staging and production a regression past the
 * stage's threshold, a p99 over its limit, a benchmark that does not run or a
 * missing baseline fails the step.
 */
export function perfStep(stage: PerfStage, identity: { id: string; title: string; description: string }): Step {
  return { ...identity, defaultTimeoutSeconds: 900, run: (context) => runPerf(context, stage) };
}

/** The dev stage's performance check: warnings only. */
export const perfCheckStep = perfStep("dev", {
  id: "perf-check",
  title: "Performance",
  description: "benchmarks and instruction counts against the baseline (warnings only)",
});
