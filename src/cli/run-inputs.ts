/**
 * The options of `run` checked before a stage starts: those only some stages
 * take (production's --tag, --override-window, --emergency, --policy-ref and --wait-starts-at, --local), --jobs and --only.
 */
import { UsageError } from "../core/errors.js";
import { parseRfc3339 } from "../core/rfc3339.js";
import { MIN_OVERRIDE_REASON_LENGTH } from "../deploy-window/override.js";
import type { RunInputs } from "../engine/step.js";
import { MIN_EMERGENCY_REASON_LENGTH } from "../pipeline/production-gates.js";
import { checkReleaseTag } from "../supply-chain/release-tag.js";

/** The stage-specific options of `run` as given. */
export interface StageOptions {
  readonly tag?: string | undefined;
  readonly "override-window"?: string | undefined;
  readonly emergency?: string | undefined;
  readonly local?: boolean | undefined;
  readonly "policy-ref"?: string | undefined;
  readonly "wait-starts-at"?: string | undefined;
}

/**
 * The options of `run` that only some stages take: production's, and --local (staging and production).
 * @throws UsageError for an option the stage does not take, a missing or malformed --tag, or a short override reason.
 */
export function runInputs(stage: string, values: StageOptions): RunInputs {
  if (stage === "staging" && values.local === true) {
    const other = (["tag", "override-window", "emergency", "policy-ref", "wait-starts-at"] as const).find((k) => values[k] !== undefined);
    if (other !== undefined) throw new UsageError(`--${other} is an option of run production, not of run staging`);
    return { localRehearsal: true };
  }
  const given = (["tag", "override-window", "emergency", "local", "policy-ref", "wait-starts-at"] as const).filter(
    (k) => values[k] !== undefined,
  );
  if (stage !== "production") {
    if (given.length > 0)
      throw new UsageError(
        `--${given[0]} is an option of run production${given[0] === "local" ? " and run staging" : ""}, not of run ${stage}`,
      );
    return {};
  }
  const tag = values.tag;
  if (tag === undefined || tag.trim() === "") throw new UsageError("run production needs --tag vX.Y.Z (the release tag)");
  // Its form only: pre-production validation checks it against the repository's tags and [release].
  const form = checkReleaseTag(tag, [], { allowPrerelease: true });
  if (!form.ok) throw new UsageError(`--tag: ${form.reason}`);
  const override = values["override-window"];
  if (override !== undefined && override.trim().length < MIN_OVERRIDE_REASON_LENGTH)
    throw new UsageError(
      `--override-window: the override needs its own reason, at least ${MIN_OVERRIDE_REASON_LENGTH} characters saying why the deploy cannot wait`,
    );
  const waitText = values["wait-starts-at"];
  const waitStartsAt = waitText === undefined ? undefined : parseRfc3339(waitText)?.date;
  if (waitText !== undefined && waitStartsAt === undefined)
    throw new UsageError(`--wait-starts-at: expected an RFC 3339 time such as 2026-11-28T10:00:00Z, got ${JSON.stringify(waitText)}`);
  const policyRef = values["policy-ref"];
  if (policyRef !== undefined && (policyRef.trim() === "" || policyRef.startsWith("-")))
    throw new UsageError(`--policy-ref: expected a git ref such as origin/main, got ${JSON.stringify(policyRef)}`);
  const emergency = values.emergency;
  if (emergency !== undefined && emergency.trim().length < MIN_EMERGENCY_REASON_LENGTH)
    throw new UsageError(
      `--emergency: the emergency hotfix needs its own reason, at least ${MIN_EMERGENCY_REASON_LENGTH} characters saying why the release cannot go through every gate`,
    );
  return {
    tag,
    ...(override === undefined ? {} : { overrideWindow: override }),
    ...(emergency === undefined ? {} : { emergency: emergency.trim() }),
    ...(values.local === true ? { localRehearsal: true } : {}),
    ...(policyRef === undefined ? {} : { policyRef }),
    ...(waitStartsAt === undefined ? {} : { waitStartsAt }),
  };
}

/** `--jobs N`: a whole number from 1 to 64. @throws UsageError otherwise. */
export function parseJobs(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) {
    throw new UsageError(`--jobs: expected a whole number from 1 to 64, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** `--only STEP[,STEP]`: the step ids. @throws UsageError for an empty entry. */
export function parseOnly(text: string): string[] {
  const ids = text.split(",").map((s) => s.trim());
  if (ids.some((id) => id === "")) throw new UsageError(`--only: expected step ids separated by commas, got ${JSON.stringify(text)}`);
  return ids;
}
