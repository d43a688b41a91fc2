/**
 * What the steps that reach beyond commands share (staging's and production's
 * release build, deploys, smoke tests, gates): the host capabilities, the
 * errors a step turns into a failed outcome, a transport to the hosts (SSH,
 * or the local transport of local targets) per use, the
 * audit log and Slack notices.
 */
import { join } from "node:path";
import { SshSession } from "../../adapters/ssh/session.js";
import { appendAuditEntry } from "../../audit-log/append.js";
import { DEFAULT_AUDIT_LOG } from "../../audit-log/policy.js";
import { PipelineError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import type { RemoteTransport } from "../../deploy/context.js";
import { DeployRefused } from "../../deploy/deploy-refused.js";
import { localTargetsRefusal } from "../../deploy/local-targets.js";
import { LocalTransport } from "../../deploy/local-transport.js";
import { brokenLockAuditEntry, describeHeldLock, type HeldLock } from "../../deploy/locks.js";
import { type DeployOutcome, deployAuditEntry } from "../../deploy/outcome.js";
import type { Inventory } from "../../deploy/policy.js";
import type { HostCapabilities, StepContext } from "../../engine/step.js";
import { notifySlack, type SlackEvent } from "../../notify/slack.js";
import { Redactor } from "../../report/redact.js";

/** A step that needs the host ran where there is none (in the Dagger module). */
export class HostOnly extends PipelineError {}

/** The host capabilities, or a {@link HostOnly} error naming `what` needs them. */
export function needHost(context: StepContext, what: string): HostCapabilities {
  const host = context.services.host;
  if (host === undefined)
    throw new HostOnly(
      `${what} runs in the pipeline's own process on the host: use \`shriven-pipeline run staging\` or \`shriven-pipeline run production\``,
    );
  return host;
}

/** The inventory of `[deploy.<environment>]`, with its hosts or the local targets the run resolved. */
export function inventoryOf(context: StepContext, environment: "test" | "production"): Inventory {
  const inventory = context.policies.deploy[environment];
  if (inventory === undefined) throw new DeployRefused(`no [deploy.${environment}] inventory in shriven-pipeline.toml`);
  if (inventory.hosts.length === 0)
    throw new DeployRefused(
      localTargetsRefusal(inventory, context.services.host?.inputs.localRehearsal === true) ??
        `[deploy.${environment}] has no hosts, and this run resolved no local targets (they are resolved by \`shriven-pipeline run\`)`,
    );
  return inventory;
}

/** The pinned release public key of an inventory. */
export function pinnedKey(host: HostCapabilities, inventory: Inventory): string {
  if (inventory.publicKey === undefined) throw new DeployRefused(`[deploy.${inventory.environment}] names no public_key to pin`);
  return readTextFile(join(host.workspace, inventory.publicKey));
}

/**
 * Opens the transport to the inventory's hosts, closed after `body`: an SSH session with the SSH_DEPLOY_KEY
 * secret, or, for the local targets the run resolved, the local transport (refused where this run may not use
 * them: see local-targets.ts).
 */
export async function withSession<T>(
  host: HostCapabilities,
  inventory: Inventory,
  body: (session: RemoteTransport) => Promise<T>,
): Promise<T> {
  const local = inventory.hosts.filter((h) => h.local !== undefined);
  if (local.length > 0) {
    if (local.length !== inventory.hosts.length)
      throw new DeployRefused(`[deploy.${inventory.environment}] mixes hosts and local targets: deploy to one kind at a time`);
    const refused = localTargetsRefusal(inventory, host.inputs.localRehearsal === true);
    if (refused !== undefined) throw new DeployRefused(refused);
    return body(new LocalTransport(inventory.hosts));
  }
  const key = host.secret("SSH_DEPLOY_KEY");
  if (key === undefined) throw new DeployRefused("the SSH_DEPLOY_KEY secret is missing");
  const session = await SshSession.open(inventory.hosts, key);
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

/** The workspace's audit log. */
export function auditLogOf(host: HostCapabilities): string {
  return join(host.workspace, DEFAULT_AUDIT_LOG);
}

/** The variables the service's commands get on a host: the profile's trading mode. */
export function serviceEnvOf(host: HostCapabilities): { TRADING_MODE: string } {
  return { TRADING_MODE: host.environment.profile.TRADING_MODE };
}

/** Appends a deploy or rollback to the workspace's audit log, without the environment's secrets (hosts' errors quote their output). */
export function recordDeploy(host: HostCapabilities, outcome: DeployOutcome): void {
  const entry = deployAuditEntry(outcome, host.who, host.runUrl === undefined ? {} : { run: host.runUrl });
  appendAuditEntry(auditLogOf(host), { ...entry, data: secretsRedactor(host).redactJson(entry.data) });
}

/** Appends a stale deploy lock the run broke to the audit log; returns the line for the step's details. */
export function recordBrokenLock(host: HostCapabilities, inventory: Inventory, lock: HeldLock): string {
  appendAuditEntry(
    auditLogOf(host),
    brokenLockAuditEntry(lock, inventory.environment, host.who, host.runUrl === undefined ? {} : { run: host.runUrl }),
  );
  return `${lock.host}: broke the stale deploy lock, ${describeHeldLock(lock)}`;
}

/** Hides the environment's secrets in what a step writes itself (audit entries, Slack notices); the stage redacts its outcome. */
function secretsRedactor(host: HostCapabilities): Redactor {
  return new Redactor(Object.values(host.environment.secrets));
}

/**
 * Announces `event` on Slack when the environment has a webhook. Never throws:
 * a notice that is not delivered is returned as a line for the step's details.
 */
export async function notify(host: HostCapabilities, event: SlackEvent): Promise<string | undefined> {
  const webhookUrl = host.secret("SLACK_WEBHOOK_URL");
  if (webhookUrl === undefined) return undefined;
  const delivery = await notifySlack(
    { ...event, who: host.who, ...(host.runUrl === undefined ? {} : { runUrl: host.runUrl }) },
    { webhookUrl, redactor: secretsRedactor(host) },
  );
  return delivery.delivered
    ? undefined
    : `Slack notification not delivered after ${delivery.attempts} attempt(s): ${delivery.error ?? "unknown error"}`;
}
