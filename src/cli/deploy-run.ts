/**
 * What `deploy` and `rollback` share: the environment's pinned hosts, the SSH
 * key, one SSH session for the action, then the outcome printed, recorded in
 * the audit log and announced on Slack when the environment has a webhook.
 */
import { join, resolve } from "node:path";
import { SshError } from "../adapters/ssh/errors.js";
import { SshSession } from "../adapters/ssh/session.js";
import { appendAuditEntry, checkAuditLogAppendable } from "../audit-log/append.js";
import { AuditLogError } from "../audit-log/audit-log-error.js";
import { DEFAULT_AUDIT_LOG } from "../audit-log/policy.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { readTextFile } from "../core/read-text-file.js";
import { DeployRefused } from "../deploy/deploy-refused.js";
import type { deployRelease } from "../deploy/deploy-release.js";
import { exchangeKeysFile } from "../deploy/exchange-keys.js";
import { brokenLockAuditEntry, describeHeldLock } from "../deploy/locks.js";
import { type DeployOutcome, deployAuditEntry, renderOutcome } from "../deploy/outcome.js";
import { type Inventory, withHosts } from "../deploy/policy.js";
import { deployEvent, notifySlack, type SlackEvent } from "../notify/slack.js";
import { allStepIds } from "../stages/registry.js";
import { type OptionValues, text } from "./args.js";
import type { GateIo } from "./io.js";
import { runIdentity } from "./run-identity.js";
import { SSH_KEY_ENV } from "./secrets.js";

/** What every deploy action is given: the inventory, the open session, the pinned key, who acts. */
export type DeployBasics = Parameters<typeof deployRelease>[0];

function inventoryFor(values: OptionValues, io: GateIo): { source: string; inventory: Inventory & { readonly publicKey: string } } {
  const env = text(values.env);
  if (env !== "test" && env !== "production")
    throw new UsageError(`--env: expected test or production, got ${JSON.stringify(env ?? null)}`);
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const inventory = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.deploy[env];
  const file = join(source, "shriven-pipeline.toml");
  if (inventory === undefined) throw new UsageError(`no [deploy.${env}] inventory in ${file}`);
  return { source, inventory: withHosts(inventory, file) };
}

function sshKey(values: OptionValues, io: GateIo): string {
  const file = text(values["ssh-key-file"]);
  const key = file !== undefined ? readTextFile(resolve(io.cwd, file)) : io.env[SSH_KEY_ENV];
  if (key === undefined || key.trim() === "")
    throw new UsageError(`a deploy needs the SSH key: --ssh-key-file FILE or the ${SSH_KEY_ENV} secret`);
  return key;
}

/** What a deploy command does, for the audit log: deploy or rollback, and the release or version it acts on. */
export interface DeployAction {
  readonly action: "deploy" | "rollback";
  readonly target: string;
  /** A production deploy from the CLI: the emergency's reason (audit-logged and announced before any host is touched). */
  readonly emergency?: string;
}

/** What a production deploy from the CLI leaves out, compared with `run production`. */
const CLI_DEPLOY_SKIPS = [
  "the production stage's gates: tag validation, audit, licences, performance validation, hot path",
  "the two approvals and the deployment window",
  "post-deploy monitoring and the GitHub release",
];

/**
 * Runs `act` over one SSH session to the hosts of `--env` (a deploy with the environment's exchange keys from
 * the process environment, see exchange-keys.ts), then prints, records and announces its outcome. The
 * audit log must be appendable before any host is touched; a refusal, a stale lock broken and an emergency are
 * recorded too.
 * Returns the exit code: 0 deployed, 1 refused, failed or unreachable.
 */
export async function runDeployAction(
  values: OptionValues,
  io: GateIo,
  what: DeployAction,
  act: (basics: DeployBasics) => Promise<DeployOutcome>,
): Promise<number> {
  const { source, inventory } = inventoryFor(values, io);
  const publicKeyText = readTextFile(resolve(source, inventory.publicKey));
  const key = sshKey(values, io);
  const identity = runIdentity(io.env);
  const auditLog = join(source, DEFAULT_AUDIT_LOG);
  const run: Record<string, string> = identity.runUrl === undefined ? {} : { run: identity.runUrl };
  try {
    checkAuditLogAppendable(auditLog);
  } catch (error) {
    if (!(error instanceof AuditLogError)) throw error;
    io.stdout.write(`❌ The audit log cannot be appended to, so no host was touched: ${error.message}\n`);
    return 1;
  }
  const announce = async (event: SlackEvent): Promise<void> => {
    const webhookUrl = io.env.SLACK_WEBHOOK_URL;
    if (webhookUrl === undefined || webhookUrl === "") return;
    const delivery = await notifySlack(
      { ...event, who: identity.who, ...(identity.runUrl === undefined ? {} : { runUrl: identity.runUrl }) },
      { webhookUrl },
    );
    if (!delivery.delivered)
      io.stdout.write(`⚠️ Slack notification not delivered after ${delivery.attempts} attempt(s): ${delivery.error ?? "unknown error"}\n`);
  };
  if (what.emergency !== undefined) {
    appendAuditEntry(auditLog, {
      kind: "emergency",
      actor: identity.who,
      data: { command: what.action, environment: inventory.environment, release: what.target, reason: what.emergency, ...run },
    });
    io.stdout.write(
      `🚨 EMERGENCY deploy to ${inventory.environment} by ${identity.who}: ${what.emergency}\n    skipped: ${CLI_DEPLOY_SKIPS.join("; ")}\n`,
    );
    await announce({
      kind: "emergency",
      environment: inventory.environment,
      version: what.target,
      reason: what.emergency,
      skipped: CLI_DEPLOY_SKIPS,
    });
  }
  let session: SshSession | undefined;
  let outcome: DeployOutcome;
  try {
    // A deploy brings the environment's exchange keys (refused before any host is reached when one is missing).
    const exchangeKeys =
      what.action === "deploy" && inventory.exchangeKeys ? exchangeKeysFile(inventory.environment, (name) => io.env[name]) : undefined;
    session = await SshSession.open(inventory.hosts, key);
    outcome = await act({
      ...(exchangeKeys === undefined ? {} : { exchangeKeys }),
      inventory,
      session,
      publicKeyText,
      who: identity.who,
      breakLock: values["break-lock"] === true,
      onLockBroken: (lock) => {
        io.stdout.write(`⚠️ ${lock.host}: broke the stale deploy lock, ${describeHeldLock(lock)}\n`);
        appendAuditEntry(auditLog, brokenLockAuditEntry(lock, inventory.environment, identity.who, run));
      },
      releaseDir: "",
    });
  } catch (error) {
    if (!(error instanceof DeployRefused || error instanceof SshError)) throw error;
    io.stdout.write(`❌ ${error.message}\n`);
    appendAuditEntry(auditLog, {
      kind: what.action,
      actor: identity.who,
      data: { environment: inventory.environment, version: what.target, status: "refused", summary: error.message, ...run },
    });
    // A refused rollback is the safety action failing: those on call must hear of it, not only the log.
    await announce({
      kind: "refused",
      action: what.action,
      environment: inventory.environment,
      version: what.target,
      reason: error.message,
    });
    return 1;
  } finally {
    await session?.close();
  }
  io.stdout.write(`${renderOutcome(outcome)}\n`);
  appendAuditEntry(auditLog, deployAuditEntry(outcome, identity.who, run));
  await announce(deployEvent(outcome));
  return outcome.status === "deployed" ? 0 : 1;
}
