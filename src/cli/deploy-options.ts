/** The options `deploy` and `rollback` share, apart from the deploy machinery (deploy-run.ts) so their declarations stay light. */
import type { OptionTable } from "./args.js";

/** The options `deploy` and `rollback` both take. */
export const DEPLOY_OPTIONS = {
  env: { type: "string" },
  source: { type: "string" },
  "ssh-key-file": { type: "string" },
  "break-lock": { type: "boolean" },
} as const satisfies OptionTable;
