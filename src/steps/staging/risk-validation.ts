/** The risk system's own tests in the release profile. */

import { cargo, rawFailure, TEST_TARGET } from "../../cargo/commands.js";
import type { Step } from "../../engine/step.js";

/** The risk system's own tests in the release profile. */
export const riskValidationStep: Step = {
  id: "risk-validation",
  title: "Risk validation",
  description: "cargo test --release --package risk: the risk limits hold",
  defaultTimeoutSeconds: 600,
  async run(context) {
    const result = await context.exec({
      ...cargo(["test", "--release", "--package", "risk", ...context.options.extraArgs], TEST_TARGET),
      mergeOutput: true,
    });
    if (result.exitCode === 0) {
      const passed = [...result.output.matchAll(/test result: ok\. (\d+) passed/g)].reduce((n, m) => n + Number(m[1]), 0);
      return { status: "passed", summary: `${passed} risk tests passed` };
    }
    return { status: "failed", ...rawFailure("cargo test --package risk", result.exitCode, result.output) };
  },
};
