import { auditStep } from "../steps/audit.js";
import { licensesStep } from "../steps/licenses.js";
import {
  approvalStep,
  deployProductionStep,
  deployWindowStep,
  githubReleaseStep,
  hotPathStep,
  monitoringStep,
  performanceStep,
  preValidationStep,
  productionReleaseStep,
} from "../steps/production.js";
import type { Stage } from "./stage.js";

/**
 * The production stage, in the pipeline document's order: pre-production
 * validation (tag and profile, audit, licences side by side) → optimized
 * signed build → performance validation (benchmarks, then the hot path's
 * allocations and memory) → approval gate and deployment window → deploy to
 * the pinned production hosts → post-deploy monitoring (critical rolls back)
 * → GitHub release. Stage notifications go out as for every stage. Fail fast:
 * no production host is touched unless every gate before the deploy passed.
 */
export const productionStage: Stage = {
  name: "production",
  environment: "production",
  description:
    "A release tag: validation, optimized signed build, performance validation, approval, deployment window, deploy, monitoring, GitHub release",
  groups: [
    [preValidationStep, auditStep, licensesStep],
    [productionReleaseStep],
    [performanceStep],
    [hotPathStep],
    [approvalStep, deployWindowStep],
    [deployProductionStep],
    [monitoringStep],
    [githubReleaseStep],
  ],
};
