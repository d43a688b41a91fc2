import type { Stage } from "../engine/stage.js";
import { auditStep } from "../steps/dev/audit.js";
import { licensesStep } from "../steps/dev/licenses.js";
import { approvalStep } from "../steps/production/approval.js";
import { deployProductionStep } from "../steps/production/deploy-production.js";
import { deployWindowStep } from "../steps/production/deploy-window.js";
import { githubReleaseStep } from "../steps/production/github-release.js";
import { hotPathStep } from "../steps/production/hot-path.js";
import { monitoringStep } from "../steps/production/monitoring.js";
import { performanceStep } from "../steps/production/performance.js";
import { preValidationStep } from "../steps/production/pre-validation.js";
import { promotionCheckStep } from "../steps/production/promotion.js";
import { productionReleaseStep } from "../steps/production/release-build.js";
import { secretsPreflightStep } from "../steps/shared/secrets-preflight.js";

/**
 * The production stage, in the pipeline document's order, after the secrets preflight: pre-production
 * validation (tag and profile, audit, licences side by side) → the tagged
 * commit is on the protected branch and staging promoted it → optimized
 * signed build, bit-for-bit what staging validated → performance validation (benchmarks, then the hot path's
 * allocations and memory) → approval gate and deployment window → deploy to
 * the pinned production hosts → post-deploy monitoring (critical rolls back)
 * → GitHub release. Stage notifications go out as for every stage. Fail fast:
 * no production host is touched unless every gate before the deploy passed.
 */
export const productionStage: Stage = {
  name: "production",
  environment: "production",
  description:
    "A release tag: secrets preflight, validation, promotion record, optimized signed build, performance validation, approval, deployment window, deploy, monitoring, GitHub release",
  groups: [
    [secretsPreflightStep],
    [preValidationStep, auditStep("production"), licensesStep],
    [promotionCheckStep],
    [productionReleaseStep],
    [performanceStep],
    [hotPathStep],
    [approvalStep, deployWindowStep],
    [deployProductionStep],
    [monitoringStep],
    [githubReleaseStep],
  ],
};
