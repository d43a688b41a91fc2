import type { Stage, StageName } from "../engine/stage.js";
import { devStage } from "./dev.js";
import { productionStage } from "./production.js";
import { stagingStage } from "./staging.js";

/** The stages this version can run. */
export const STAGES: Readonly<Record<StageName, Stage>> = { dev: devStage, staging: stagingStage, production: productionStage };

/** Every stage name of the pipeline document, available or not. */
export const STAGE_NAMES: readonly StageName[] = ["dev", "staging", "production"];

/** Every step id of every available stage, for validating config and `--only`. */
export function allStepIds(): string[] {
  return [...new Set(Object.values(STAGES).flatMap((stage) => stage.groups.flat().map((step) => step.id)))];
}
