/**
 * `shriven-pipeline audit`: the RustSec audit of a Cargo.lock on its own,
 * outside a stage — a workspace's, or a lockfile outside any workspace.
 */
import { type CliCommand, lazyRun } from "../command.js";

/**
 * `audit [--source DIR | --lockfile FILE] [--advisory-db DIR|FILE] [--stage dev|staging|production] [--format text|json]`.
 * `--db` is the old name of `--advisory-db`, still read (the README named it until the flag had one name), with a notice.
 */
export const command: CliCommand = {
  name: "audit",
  summary:
    "RustSec audit of a Cargo.lock (exit 1 when a vulnerability is found, or the advisory data is older than the stage's [audit.max_age_days] in staging or production; default stage: dev)",
  usage: ["[--source DIR | --lockfile FILE] [--advisory-db DIR|FILE] [--stage dev|staging|production]", "[--format text|json]"],
  options: {
    source: { type: "string" },
    lockfile: { type: "string" },
    "advisory-db": { type: "string" },
    db: { type: "string" },
    stage: { type: "string" },
    format: { type: "string" },
  },
  run: lazyRun(() => import("../actions/audit.js")),
};
