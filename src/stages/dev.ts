import { auditStep } from "../steps/audit.js";
import { checkStep } from "../steps/check.js";
import { clippyStep } from "../steps/clippy.js";
import { fmtStep } from "../steps/fmt.js";
import { licensesStep } from "../steps/licenses.js";
import { perfCheckStep } from "../steps/perf-check.js";
import { secretsStep } from "../steps/secrets.js";
import { testStep } from "../steps/test.js";
import type { Stage } from "./stage.js";

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
  groups: [[fmtStep, checkStep, auditStep, licensesStep, secretsStep], [testStep, clippyStep], [perfCheckStep]],
};
