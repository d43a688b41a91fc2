/**
 * `shriven-pipeline alerts render|check`: the Prometheus alerting rules and the Alertmanager config generated from
 * `[monitor.thresholds]` (src/alerts/), written to a folder, and checked with promtool and amtool.
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `alerts render|check [--source DIR] [--out DIR] [--webhook-file PATH]` */
export const command: CliCommand = {
  name: "alerts",
  operands: "render|check",
  summary: "Prometheus alerting rules and an Alertmanager config for Slack from [monitor.thresholds]; check them with promtool and amtool",
  usage: ["render|check [--source DIR] [--out DIR] [--webhook-file PATH]"],
  options: {
    source: { type: "string" },
    out: { type: "string" },
    "webhook-file": { type: "string" },
  },
  run: lazyRun(() => import("../actions/alerts.js")),
};
