import type { Stage } from "../engine/stage.js";
import { secretsPreflightStep } from "../steps/shared/secrets-preflight.js";
import { benchmarksStep } from "../steps/staging/benchmarks.js";
import { deployTestStep } from "../steps/staging/deploy-test.js";
import { integrationTestsStep } from "../steps/staging/integration-tests.js";
import { paperTradingStep } from "../steps/staging/paper-trading.js";
import { promotionStep } from "../steps/staging/promotion.js";
import { stagingReleaseStep } from "../steps/staging/release-build.js";
import { riskValidationStep } from "../steps/staging/risk-validation.js";
import { smokeTestsStep } from "../steps/staging/smoke-tests.js";

/**
 * The staging stage, in the pipeline document's order, after the secrets preflight: release build →
 * integration tests and risk-system validation (independent, side by side) →
 * benchmarks (alone, so nothing else runs while they time) → paper trading →
 * deploy to the test servers → smoke tests, which roll the test hosts back
 * when they fail → the promotion record of the commit, signed, for production.
 * Fail fast: nothing is deployed after a failed gate, nothing promoted.
 */
export const stagingStage: Stage = {
  name: "staging",
  environment: "test",
  description:
    "Merge to main: secrets preflight, release build, integration tests, benchmarks, risk validation, paper trading, deploy to test servers, smoke tests, promotion record",
  groups: [
    [secretsPreflightStep],
    [stagingReleaseStep],
    [integrationTestsStep, riskValidationStep],
    [benchmarksStep],
    [paperTradingStep],
    [deployTestStep],
    [smokeTestsStep],
    [promotionStep],
  ],
};
