/** `shriven-pipeline rollback`: the hosts of an environment switched back to a retained release. */
import { UsageError } from "../../core/errors.js";
import { rollbackRelease } from "../../deploy/rollback.js";
import { text } from "../args.js";
import type { CliCommand } from "../command.js";
import { DEPLOY_OPTIONS, runDeployAction } from "../deploy-run.js";

/** `rollback --env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file F] [--break-lock]` */
export const command: CliCommand = {
  name: "rollback",
  summary: "Switch the hosts back to a retained release (signature re-verified, health-checked)",
  usage: ["--env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file FILE] [--break-lock]"],
  options: { ...DEPLOY_OPTIONS, to: { type: "string" } },
  run: ({ values }, io) => {
    const to = text(values.to);
    if (to === undefined) throw new UsageError("rollback needs --to vX.Y.Z (a release retained on the hosts)");
    return runDeployAction(values, io, { action: "rollback", target: to }, (basics) => rollbackRelease({ ...basics, to }));
  },
};
