/**
 * `shriven-pipeline audit-log`: check, prune and read the tamper-evident audit
 * log that deployments, rollbacks, stage results, benchmarks and approvals are
 * recorded in (see src/audit-log/).
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `audit-log verify | prune | show`: each subcommand parses its own options. */
export const command: CliCommand = {
  name: "audit-log",
  summary: "The tamper-evident audit log: verify, prune (signed checkpoint), show, push to a git ref",
  usage: [
    "verify [--file F | --from-ref REF [--remote origin]] [--public-key F] | prune --signing-key-file F [--days 90] | show [--last N]",
    "push [--remote origin] [--ref refs/shriven-pipeline/audit] [--records F]",
  ],
  run: lazyRun(() => import("../actions/audit-log.js")),
};
