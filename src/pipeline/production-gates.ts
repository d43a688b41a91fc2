/**
 * Production's gates are not configuration: no `[steps.<id>] enabled = false` and no `--only` can leave a step of
 * the production stage out. The one way past a gate is the pipeline document's emergency hotfix
 * (`run production --emergency REASON`), which skips only what that procedure allows — see
 * `EMERGENCY_SKIPS` (steps/production/emergency.ts) and docs/stages.md ("Emergency hotfix").
 */
import type { StepSettings } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { type Stage, stageStepIds } from "../engine/stage.js";
import { EMERGENCY_SKIPS } from "../steps/production/emergency.js";

/** Shortest `--emergency` reason accepted (after trimming), as for `--override-window`. */
export const MIN_EMERGENCY_REASON_LENGTH = 10;

/** A production step that was switched off or left out: exit code 2, before any step runs. */
export class ProductionGateError extends UsageError {
  override readonly name: string = "ProductionGateError";
}

/** The emergency of a production run: its reason, and the steps it skips with the report's line for each. */
export interface Emergency {
  readonly reason: string;
  readonly skips: ReadonlyMap<string, string>;
}

/**
 * Refuses a production run that would leave a gate out: a step disabled in the pipeline config, or `--only`.
 * Other stages pass unchecked.
 * @param configFile The config file, for the message (undefined: defaults, nothing disabled).
 * @throws ProductionGateError naming each gate and the setting, and the emergency procedure.
 */
export function checkProductionGates(
  stage: Stage,
  settings: Readonly<Record<string, StepSettings>>,
  configFile: string | undefined,
  only: readonly string[] | undefined,
): void {
  if (stage.name !== "production") return;
  const titles = new Map(stage.groups.flat().map((step) => [step.id, step.title]));
  const problems = stageStepIds(stage)
    .filter((id) => settings[id]?.enabled === false)
    .map((id) => `[steps.${id}] enabled = false in ${configFile ?? "the pipeline config"} switches off the ${titles.get(id)} gate`);
  if (only !== undefined) {
    const left = stageStepIds(stage).filter((id) => !only.includes(id));
    if (left.length > 0) problems.push(`--only ${only.join(",")} leaves out the gates ${left.join(", ")}`);
  }
  if (problems.length === 0) return;
  throw new ProductionGateError(
    `production's gates cannot be switched off: ${problems.join("; ")}. Remove the setting; the one way past a gate is the emergency hotfix, run production --emergency "REASON" (docs/stages.md, "Emergency hotfix")`,
  );
}

/**
 * The emergency of `run production --emergency REASON`.
 * @throws UsageError for a reason shorter than {@link MIN_EMERGENCY_REASON_LENGTH} characters.
 */
export function emergencyOf(reason: string, stage: Stage): Emergency {
  const trimmed = reason.trim();
  if (trimmed.length < MIN_EMERGENCY_REASON_LENGTH)
    throw new UsageError(
      `--emergency: the emergency hotfix needs its own reason, at least ${MIN_EMERGENCY_REASON_LENGTH} characters saying why the release cannot go through every gate (got ${JSON.stringify(reason)})`,
    );
  const titles = new Map(stage.groups.flat().map((step) => [step.id, step.title]));
  return {
    reason: trimmed,
    skips: new Map(
      [...EMERGENCY_SKIPS].filter(([id]) => titles.has(id)).map(([id, why]) => [id, `Skipped by the emergency hotfix: ${why}`]),
    ),
  };
}

/** One line per skipped gate: `Performance validation (performance): benchmarks …`. */
export function emergencySkipLines(stage: Stage): string[] {
  const titles = new Map(stage.groups.flat().map((step) => [step.id, step.title]));
  return [...EMERGENCY_SKIPS].filter(([id]) => titles.has(id)).map(([id, why]) => `${titles.get(id)} (${id}): ${why}`);
}
