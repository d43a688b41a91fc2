/**
 * `shriven-pipeline deploy` and `rollback`: a signed release to the pinned
 * hosts of an environment, or back to a retained version — each recorded in
 * the audit log and announced on Slack when the environment has a webhook.
 */
import { join, resolve } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { appendAuditEntry } from "../audit/audit-log.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { readTextFile } from "../config/read-text-file.js";
import { UsageError } from "../core/errors.js";
import { type DeployOutcome, DeployRefused, deployAuditEntry, deployRelease, renderOutcome, rollbackRelease } from "../deploy/deploy.js";
import type { Inventory } from "../deploy/inventory.js";
import { SshError, SshSession } from "../deploy/ssh.js";
import { deployEvent, notifySlack } from "../notify/slack.js";
import { allStepIds } from "../stages/registry.js";
import { type OptionValues, parseOptions, text } from "./args.js";
import type { GateIo } from "./gate-commands.js";
import { runIdentity } from "./run-identity.js";

/** Environment variable holding the deploy key (an OpenSSH private key; a secret of test and production). */
export const SSH_KEY_ENV = "SSH_DEPLOY_KEY";

/** Where the audit log lives in a workspace. */
export const AUDIT_LOG = ".shriven-pipeline/audit/audit.jsonl";

const COMMON = {
  env: { type: "string" },
  source: { type: "string" },
  "ssh-key-file": { type: "string" },
  "break-lock": { type: "boolean" },
} as const;

function inventoryFor(values: OptionValues, io: GateIo): { source: string; inventory: Inventory } {
  const env = text(values.env);
  if (env !== "test" && env !== "production")
    throw new UsageError(`--env: expected test or production, got ${JSON.stringify(env ?? null)}`);
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const inventory = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.deploy[env];
  if (inventory === undefined) throw new UsageError(`no [deploy.${env}] inventory in ${join(source, "shriven-pipeline.toml")}`);
  return { source, inventory };
}

function sshKey(values: OptionValues, io: GateIo): string {
  const file = text(values["ssh-key-file"]);
  const key = file !== undefined ? readTextFile(resolve(io.cwd, file)) : io.env[SSH_KEY_ENV];
  if (key === undefined || key.trim() === "")
    throw new UsageError(`a deploy needs the SSH key: --ssh-key-file FILE or the ${SSH_KEY_ENV} secret`);
  return key;
}

async function run(
  args: readonly string[],
  io: GateIo,
  extra: NonNullable<ParseArgsConfig["options"]>,
  act: (common: Parameters<typeof deployRelease>[0], values: OptionValues) => Promise<DeployOutcome>,
): Promise<number> {
  const values = parseOptions(args, { ...COMMON, ...extra });
  const { source, inventory } = inventoryFor(values, io);
  const publicKeyText = readTextFile(resolve(source, inventory.publicKey));
  const key = sshKey(values, io);
  const identity = runIdentity(io.env);
  let session: SshSession | undefined;
  let outcome: DeployOutcome;
  try {
    session = await SshSession.open(inventory.hosts, key);
    outcome = await act(
      { inventory, session, publicKeyText, who: identity.who, breakLock: values["break-lock"] === true, releaseDir: "" },
      values,
    );
  } catch (error) {
    if (!(error instanceof DeployRefused || error instanceof SshError)) throw error;
    io.stdout.write(`❌ ${error.message}\n`);
    return 1;
  } finally {
    await session?.close();
  }
  io.stdout.write(`${renderOutcome(outcome)}\n`);
  appendAuditEntry(
    join(source, AUDIT_LOG),
    deployAuditEntry(outcome, identity.who, identity.runUrl === undefined ? {} : { run: identity.runUrl }),
  );
  const webhookUrl = io.env.SLACK_WEBHOOK_URL;
  if (webhookUrl !== undefined && webhookUrl !== "") {
    const event = deployEvent(outcome);
    const delivery = await notifySlack(
      { ...event, who: identity.who, ...(identity.runUrl === undefined ? {} : { runUrl: identity.runUrl }) },
      { webhookUrl },
    );
    if (!delivery.delivered)
      io.stdout.write(`⚠️ Slack notification not delivered after ${delivery.attempts} attempt(s): ${delivery.error ?? "unknown error"}\n`);
  }
  return outcome.status === "deployed" ? 0 : 1;
}

/** `deploy --env test|production --release DIR [--source DIR] [--ssh-key-file F] [--break-lock]` */
export async function deployCommand(args: readonly string[], io: GateIo): Promise<number> {
  return run(args, io, { release: { type: "string" } }, (common, values) => {
    const release = text(values.release);
    if (release === undefined)
      throw new UsageError("deploy needs --release DIR (a signed release folder made by `shriven-pipeline release`)");
    return deployRelease({ ...common, releaseDir: resolve(io.cwd, release) });
  });
}

/** `rollback --env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file F] [--break-lock]` */
export async function rollbackCommand(args: readonly string[], io: GateIo): Promise<number> {
  return run(args, io, { to: { type: "string" } }, (common, values) => {
    const to = text(values.to);
    if (to === undefined) throw new UsageError("rollback needs --to vX.Y.Z (a release retained on the hosts)");
    return rollbackRelease({ ...common, to });
  });
}
