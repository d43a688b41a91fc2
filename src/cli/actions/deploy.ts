/** `shriven-pipeline deploy`: a signed release to the pinned hosts of an environment. */
import { resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { deployRelease } from "../../deploy/deploy-release.js";
import { MIN_EMERGENCY_REASON_LENGTH } from "../../pipeline/production-gates.js";
import { type OptionValues, text } from "../args.js";
import type { CliCommand } from "../command.js";
import { runDeployAction } from "../deploy-run.js";

/**
 * The emergency reason of a production deploy, which production needs: its deploys go through `run production`.
 * @throws UsageError for a production deploy without `--emergency REASON` (or with a short reason), and for
 *   `--emergency` anywhere else.
 */
function emergencyOf(values: OptionValues): string | undefined {
  const emergency = text(values.emergency);
  if (text(values.env) !== "production") {
    if (emergency !== undefined) throw new UsageError("--emergency is for deploy --env production only");
    return undefined;
  }
  if (emergency === undefined)
    throw new UsageError(
      'deploy --env production is refused: production deploys go through `shriven-pipeline run production --tag vX.Y.Z` (tag, audit, licences, performance, two approvals, deployment window, monitoring, release). In an emergency hotfix only: deploy --env production --emergency "REASON" (audit-logged and announced); to go back to a retained release, use rollback',
    );
  if (emergency.trim().length < MIN_EMERGENCY_REASON_LENGTH)
    throw new UsageError(
      `--emergency: the emergency deploy needs its own reason, at least ${MIN_EMERGENCY_REASON_LENGTH} characters saying why it cannot go through run production`,
    );
  return emergency.trim();
}

/** Runs `deploy` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = ({ values }, io) => {
  const emergency = emergencyOf(values);
  const release = text(values.release);
  if (release === undefined)
    throw new UsageError("deploy needs --release DIR (a signed release folder made by `shriven-pipeline release`)");
  return runDeployAction(values, io, { action: "deploy", target: release, ...(emergency === undefined ? {} : { emergency }) }, (basics) =>
    deployRelease({ ...basics, releaseDir: resolve(io.cwd, release) }),
  );
};
