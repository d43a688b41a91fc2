/**
 * Production rollback from CI, in the Dagger module: the same
 * {@link rollbackRelease} the CLI runs on the host, over ssh run in a
 * container ({@link ContainerSsh}) with the deploy key as a mounted Secret.
 *
 * The module cannot append to the repository's audit log (the source it gets
 * is a read-only snapshot, and a file written in the module is gone when the
 * call ends), so it returns the audit record instead: the last line of the
 * output (or of the error, when the rollback failed after switching) is the
 * record as JSON — kind, actor, at, data — for the CI job to append with
 * `appendAuditEntry` (which adds `seq` and `prev`).
 */
import { posix } from "node:path";
import type { Directory, Secret } from "@dagger.io/dagger";
import { type AuditEntryInput, DEFAULT_AUDIT_LOG } from "../audit/audit-log.js";
import { CONFIG_FILE_NAME } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { type DeployOutcome, deployAuditEntry, renderOutcome, rollbackRelease } from "../deploy/deploy.js";
import { ContainerSsh } from "./container-ssh.js";
import { loadConfig, workspaceEntries } from "./run-in-dagger.js";

/** Arguments of `rollback`. */
export interface RollbackArgs {
  readonly source: Directory;
  readonly environment: string;
  readonly to: string;
  readonly sshKey: Secret;
  readonly breakLock?: boolean;
}

/**
 * Who the lock holder and the audit record name. The module sees none of the CI job's environment
 * (GITHUB_ACTOR…), so it cannot tell who started the call; the CI job knows, and may record it beside.
 */
export const DAGGER_ACTOR = "dagger rollback";

/**
 * Rolls `environment` back to the retained release `to`; the outcome per host and, on the last line, the
 * audit record as JSON.
 * @throws UsageError for a bad environment, no `[deploy.<environment>]` inventory or an unreadable public
 *   key (before any exec); DeployRefused or SshError when the rollback could not start (nothing switched);
 *   an Error with the outcome and the audit record when a host did not end healthy on the version.
 */
export async function rollbackInDagger(args: RollbackArgs): Promise<string> {
  const environment = args.environment;
  if (environment !== "test" && environment !== "production")
    throw new UsageError(`environment: expected test or production, got ${JSON.stringify(environment)}`);
  const entries = await workspaceEntries(args.source);
  const config = await loadConfig(args.source, entries);
  const inventory = config.policies.deploy[environment];
  if (inventory === undefined) {
    const where = entries.includes(CONFIG_FILE_NAME) ? CONFIG_FILE_NAME : `source (it has no ${CONFIG_FILE_NAME})`;
    throw new UsageError(`no [deploy.${environment}] inventory in ${where}`);
  }
  const publicKeyText = await publicKey(args.source, inventory.publicKey);

  const session = await ContainerSsh.open(inventory.hosts, args.sshKey);
  const broken: string[] = [];
  const outcome = await rollbackRelease({
    inventory,
    session,
    publicKeyText,
    who: DAGGER_ACTOR,
    to: args.to,
    breakLock: args.breakLock === true,
    onLockBroken: (host, holder) => broken.push(`⚠️ ${host}: broke the deploy lock held by ${holder || "(no holder recorded)"}`),
  });
  const text = [...broken, renderOutcome(outcome), auditNote(), JSON.stringify(auditRecord(outcome)), ""].join("\n");
  if (outcome.status !== "deployed") throw new Error(text);
  return text;
}

/** The pinned release public key, read from the source (its path relative to the workspace root). */
async function publicKey(source: Directory, path: string): Promise<string> {
  const relative = posix.normalize(path).replace(/^\.\//, "");
  if (posix.isAbsolute(relative) || relative === ".." || relative.startsWith("../"))
    throw new UsageError(`public_key: ${JSON.stringify(path)} is outside the source; give a path relative to its root`);
  try {
    return await source.file(relative).contents();
  } catch (error) {
    throw new UsageError(`public_key: cannot read ${relative} from the source: ${(error as Error).message}`);
  }
}

function auditNote(): string {
  return `Audit record (not written by the module: append the next line to ${DEFAULT_AUDIT_LOG} with appendAuditEntry, which adds seq and prev):`;
}

/** What the CLI appends to the audit log for a rollback, with the time it ended. */
export function auditRecord(outcome: DeployOutcome, at: Date = new Date()): AuditEntryInput & { readonly at: string } {
  return { ...deployAuditEntry(outcome, DAGGER_ACTOR), kind: "rollback", at: at.toISOString() };
}
