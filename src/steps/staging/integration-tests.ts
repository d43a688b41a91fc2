/** The workspace's tests again, on the release candidate's commit. */
import type { Step } from "../../engine/step.js";
import { testStep } from "../dev/test.js";

/** The workspace's tests again, on the release candidate's commit. */
export const integrationTestsStep: Step = {
  ...testStep,
  id: "integration-tests",
  title: "Integration tests",
  description: "cargo test --workspace (unit, integration and doc tests) on the release candidate",
};
