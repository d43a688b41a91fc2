/**
 * What the steps that reach beyond commands share (staging's and production's
 * release build, deploys, smoke tests, gates): the host capabilities, the
 * errors a step turns into a failed outcome, an SSH session per use, the
 * audit log and Slack notices.
 */
import { join } from "node:path";
import { appendAuditEntry, DEFAULT_AUDIT_LOG } from "../audit/audit-log.js";
import { readTextFile } from "../config/read-text-file.js";
import type { HostCapabilities, StepContext, StepOutcome } from "../core/step.js";
import { type DeployOutcome, DeployRefused, deployAuditEntry } from "../deploy/deploy.js";
import type { Inventory } from "../deploy/inventory.js";
import { SshError, SshSession } from "../deploy/ssh.js";
import { ApprovalError } from "../gates/approval.js";
import { MarketDataError } from "../market/types.js";
import { notifySlack, type SlackEvent } from "../notify/slack.js";
import { PaperSetupError } from "../paper/run-paper.js";
import { ReleaseError } from "../release/github-release.js";
import { SignatureError } from "../release/minisign.js";
import { ReleaseBuildError } from "../release/release-build.js";

/** A step that needs the host ran where there is none (in the Dagger module). */
export class HostOnly extends Error {}

/** The host capabilities, or a {@link HostOnly} error naming `what` needs them. */
export function needHost(context: StepContext, what: string): HostCapabilities {
  const host = context.services.host;
  if (host === undefined)
    throw new HostOnly(
      `${what} runs in the pipeline's own process on the host: use \`shriven-pipeline run staging\` or \`shriven-pipeline run production\``,
    );
  return host;
}

/** Runs `body`, turning the errors a step expects into a failed outcome. */
export async function guarded(body: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await body();
  } catch (error) {
    const expected = [
      HostOnly,
      ReleaseBuildError,
      DeployRefused,
      SshError,
      PaperSetupError,
      MarketDataError,
      ApprovalError,
      ReleaseError,
      SignatureError,
    ];
    if (expected.some((type) => error instanceof type)) return { status: "failed", summary: (error as Error).message };
    throw error;
  }
}

/** The inventory of `[deploy.<environment>]`. */
export function inventoryOf(context: StepContext, environment: "test" | "production"): Inventory {
  const inventory = context.policies.deploy[environment];
  if (inventory === undefined) throw new DeployRefused(`no [deploy.${environment}] inventory in shriven-pipeline.toml`);
  return inventory;
}

/** The pinned release public key of an inventory. */
export function pinnedKey(host: HostCapabilities, inventory: Inventory): string {
  return readTextFile(join(host.workspace, inventory.publicKey));
}

/** Opens an SSH session to the inventory's hosts with the SSH_DEPLOY_KEY secret, closed after `body`. */
export async function withSession<T>(host: HostCapabilities, inventory: Inventory, body: (session: SshSession) => Promise<T>): Promise<T> {
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

/** Appends a deploy or rollback to the workspace's audit log. */
export function recordDeploy(host: HostCapabilities, outcome: DeployOutcome): void {
  appendAuditEntry(auditLogOf(host), deployAuditEntry(outcome, host.who, host.runUrl === undefined ? {} : { run: host.runUrl }));
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
    { webhookUrl },
  );
  return delivery.delivered
    ? undefined
    : `Slack notification not delivered after ${delivery.attempts} attempt(s): ${delivery.error ?? "unknown error"}`;
}
