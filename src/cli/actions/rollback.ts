/** `shriven-pipeline rollback`: the hosts of an environment switched back to a retained release. */
import { UsageError } from "../../core/errors.js";
import { rollbackRelease } from "../../deploy/rollback.js";
import { text } from "../args.js";
import type { CliCommand } from "../command.js";
import { runDeployAction } from "../deploy-run.js";

/** Runs `rollback` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = ({ values }, io) => {
  const to = text(values.to);
  if (to === undefined) throw new UsageError("rollback needs --to vX.Y.Z (a release retained on the hosts)");
  return runDeployAction(values, io, { action: "rollback", target: to }, (basics) => rollbackRelease({ ...basics, to }));
};
