import {
  benchmarksStep,
  deployTestStep,
  integrationTestsStep,
  paperTradingStep,
  riskValidationStep,
  smokeTestsStep,
  stagingReleaseStep,
} from "../steps/staging.js";
import type { Stage } from "./stage.js";

/**
 * The staging stage, in the pipeline document's order: release build →
 * integration tests and risk-system validation (independent, side by side) →
 * benchmarks (alone, so nothing else runs while they time) → paper trading →
 * deploy to the test servers → smoke tests, which roll the test hosts back
 * when they fail. Fail fast: nothing is deployed after a failed gate.
 */
export const stagingStage: Stage = {
  name: "staging",
  environment: "test",
  description:
    "Merge to main: release build, integration tests, benchmarks, risk validation, paper trading, deploy to test servers, smoke tests",
  groups: [
    [stagingReleaseStep],
    [integrationTestsStep, riskValidationStep],
    [benchmarksStep],
    [paperTradingStep],
    [deployTestStep],
    [smokeTestsStep],
  ],
};
