/** Production's performance validation: the benchmarks against the baseline and the latency limits. */
import type { Step } from "../../engine/step.js";
import { perfStep } from "../dev/perf-check.js";

/** Benchmarks within 5 % of the baseline and the latency limits. */
export const performanceStep: Step = perfStep("production", {
  id: "performance",
  title: "Performance validation",
  description: "benchmarks against the baseline: fail past 5 %, a p99 over its limit, or no baseline",
});
