/**
 * `shriven-pipeline perf`: measure the workspace's benchmarks (and
 * instruction counts), compare with a baseline, or save a new baseline with
 * an audit record of who saved it, when and why — also as criterion's
 * baseline of that name, or adopted from one (src/perf/criterion-baseline.ts).
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `perf [--source DIR] [--baseline NAME] [--save-baseline NAME --reason TEXT [--from-criterion NAME]]` */
export const command: CliCommand = {
  name: "perf",
  summary: "Measure benchmarks and instruction counts against a baseline, or save one",
  usage: ["[--source DIR] [--baseline NAME] [--save-baseline NAME --reason TEXT [--from-criterion NAME]]"],
  options: {
    source: { type: "string" },
    baseline: { type: "string" },
    "save-baseline": { type: "string" },
    reason: { type: "string" },
    "from-criterion": { type: "string" },
  },
  run: lazyRun(() => import("../actions/perf.js")),
};
