/** The commands of the `shriven-pipeline` CLI, each declared in its own module under commands/. */
import type { CliCommand } from "./command.js";
import { command as alerts } from "./commands/alerts.js";
import { command as audit } from "./commands/audit.js";
import { command as auditLog } from "./commands/audit-log.js";
import { command as clippyBaseline } from "./commands/clippy-baseline.js";
import { command as deploy } from "./commands/deploy.js";
import { command as fix } from "./commands/fix.js";
import { command as githubEnvironments } from "./commands/github-environments.js";
import { command as licenses } from "./commands/licenses.js";
import { command as list } from "./commands/list.js";
import { command as paper } from "./commands/paper.js";
import { command as perf } from "./commands/perf.js";
import { command as promotion } from "./commands/promotion.js";
import { command as pruneArtifacts } from "./commands/prune-artifacts.js";
import { command as publish } from "./commands/publish.js";
import { command as release } from "./commands/release.js";
import { command as rollback } from "./commands/rollback.js";
import { command as run } from "./commands/run.js";
import { command as secrets } from "./commands/secrets.js";
import { command as verify } from "./commands/verify.js";

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly CliCommand[] = [
  run,
  list,
  audit,
  licenses,
  perf,
  paper,
  release,
  publish,
  verify,
  pruneArtifacts,
  deploy,
  rollback,
  promotion,
  auditLog,
  alerts,
  secrets,
  githubEnvironments,
  clippyBaseline,
  fix,
];

/**
 * The command names an unknown command's message offers, in the order that message has always given them:
 * the usage's, except fix before clippy-baseline. Every command of {@link COMMANDS} is here (a test checks it).
 */
export const OFFERED_NAMES: readonly string[] = [
  "run",
  "list",
  "audit",
  "licenses",
  "perf",
  "paper",
  "release",
  "publish",
  "verify",
  "prune-artifacts",
  "deploy",
  "rollback",
  "promotion",
  "audit-log",
  "alerts",
  "secrets",
  "github-environments",
  "fix",
  "clippy-baseline",
];

/** The command named `name`, if there is one. */
export function commandNamed(name: string): CliCommand | undefined {
  return COMMANDS.find((command) => command.name === name);
}
