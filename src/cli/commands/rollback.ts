/** `shriven-pipeline rollback`: the hosts of an environment switched back to a retained release. */
import { type CliCommand, lazyRun } from "../command.js";
import { DEPLOY_OPTIONS } from "../deploy-options.js";

/** `rollback --env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file F] [--break-lock]` */
export const command: CliCommand = {
  name: "rollback",
  summary: "Switch the hosts back to a retained release (signature re-verified, health-checked)",
  usage: ["--env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file FILE] [--break-lock]"],
  options: { ...DEPLOY_OPTIONS, to: { type: "string" } },
  run: lazyRun(() => import("../actions/rollback.js")),
};
