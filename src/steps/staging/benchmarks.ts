/** Staging's benchmarks against the baseline and the latency limits. */
import type { Step } from "../../engine/step.js";
import { perfStep } from "../dev/perf-check.js";

/** Benchmarks within 10 % of the baseline, latency limits held. */
export const benchmarksStep: Step = perfStep("staging", {
  id: "benchmarks",
  title: "Benchmarks",
  description: "benchmarks against the baseline: fail past 10 %, p99 over its limit, or no baseline",
});
