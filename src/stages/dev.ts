import type { Stage } from "../engine/stage.js";
import { auditStep } from "../steps/dev/audit.js";
import { checkStep } from "../steps/dev/check.js";
import { clippyStep } from "../steps/dev/clippy.js";
import { fmtStep } from "../steps/dev/fmt.js";
import { licensesStep } from "../steps/dev/licenses.js";
import { perfCheckStep } from "../steps/dev/perf-check.js";
import { secretsStep } from "../steps/dev/secrets.js";
import { testStep } from "../steps/dev/test.js";

/**
 * The dev stage: fast feedback on every push. Formatting and the
 * supply-chain checks (audit, licences, secrets) need no compilation, so they
 * overlap the quick compile; tests and clippy build in
 * separate target directories, so they overlap too. A compile error stops the
 * stage before the longer builds start. The performance check (warnings only)
 * runs last, on code that passed everything else.
 */
export const devStage: Stage = {
  name: "dev",
  environment: "development",
  description: "Every push to a feature branch and every pull request: fmt, compile, security scan, tests, clippy, performance check",
  groups: [[fmtStep, checkStep, auditStep("dev"), licensesStep, secretsStep], [testStep, clippyStep], [perfCheckStep]],
};
