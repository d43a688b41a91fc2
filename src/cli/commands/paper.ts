/**
 * `shriven-pipeline paper`: paper trading on its own, outside a stage — replay
 * market data through the workspace's engine and gate on the outcome.
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `paper [--source DIR] [--data FILE]... [--env-file FILE]... [--out DIR] [--no-build] [--format text|json]` */
export const command: CliCommand = {
  name: "paper",
  summary: "Paper trading: replay market data through the engine against a simulated exchange",
  usage: ["[--source DIR] [--data FILE]... [--env-file FILE]... [--out DIR] [--no-build]", "[--format text|json]"],
  options: {
    source: { type: "string" },
    data: { type: "string", multiple: true },
    "env-file": { type: "string", multiple: true },
    out: { type: "string" },
    "no-build": { type: "boolean" },
    format: { type: "string" },
  },
  run: lazyRun(() => import("../actions/paper.js")),
};
