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
import type { AuditEntryInput } from "../audit-log/append.js";
import { DEFAULT_AUDIT_LOG } from "../audit-log/policy.js";
import { CONFIG_FILE_NAME } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { describeHeldLock } from "../deploy/locks.js";
import { type DeployOutcome, deployAuditEntry, renderOutcome } from "../deploy/outcome.js";
import { withHosts } from "../deploy/policy.js";
import { rollbackRelease } from "../deploy/rollback.js";
import { ContainerSsh } from "./container-ssh.js";
import { loadConfig, workspaceEntries } from "./run-in-dagger.js";

/** Arguments of `rollback`. */
export interface RollbackArgs {
  readonly source: Directory;
  readonly environment: string;
  readonly to: string;
  readonly sshKey: Secret;
  readonly breakLock?: boolean;
  /** Who rolls back (the CI actor); {@link UNKNOWN_ACTOR} when not given. */
  readonly actor?: string;
}

/**
 * Who the lock holder and the audit record name when the caller gave no `actor`. The module sees none of
 * the CI job's environment (GITHUB_ACTOR…), so it cannot tell who started the call by itself.
 */
export const UNKNOWN_ACTOR = "unknown (dagger rollback without --actor)";

/** An actor's form: a GitHub login or app (`name[bot]`), or a person's name; one line, printable, short. */
const ACTOR = /^[\p{L}\p{N}][\p{L}\p{N} ._@'[\]-]{0,99}$/u;

/** The actor to record: `actor` checked, or {@link UNKNOWN_ACTOR}. @throws UsageError for one that is not a name. */
export function rollbackActor(actor: string | undefined): string {
  if (actor === undefined) return UNKNOWN_ACTOR;
  if (!ACTOR.test(actor))
    throw new UsageError(
      `actor: expected a GitHub login or a name (letters, digits, space, . _ @ ' [ ] -; at most 100 characters), got ${JSON.stringify(actor.slice(0, 120))}`,
    );
  return actor;
}

/**
 * Rolls `environment` back to the retained release `to`; the outcome per host and, on the last line, the
 * audit record as JSON.
 * @throws UsageError for a bad environment, no `[deploy.<environment>]` inventory or an unreadable public
 *   key (before any exec); DeployRefused or SshError when the rollback could not start (nothing switched);
 *   an Error with the outcome and the audit record when a host did not end healthy on the version.
 */
export async function rollbackInDagger(args: RollbackArgs): Promise<string> {
  const environment = args.environment;
  const who = rollbackActor(args.actor);
  if (environment !== "test" && environment !== "production")
    throw new UsageError(`environment: expected test or production, got ${JSON.stringify(environment)}`);
  const entries = await workspaceEntries(args.source);
  const config = await loadConfig(args.source, entries);
  const inventory = config.policies.deploy[environment];
  if (inventory === undefined) {
    const where = entries.includes(CONFIG_FILE_NAME) ? CONFIG_FILE_NAME : `source (it has no ${CONFIG_FILE_NAME})`;
    throw new UsageError(`no [deploy.${environment}] inventory in ${where}`);
  }
  const { publicKey: keyPath } = withHosts(inventory, CONFIG_FILE_NAME);
  const publicKeyText = await publicKey(args.source, keyPath);

  const session = await ContainerSsh.open(inventory.hosts, args.sshKey);
  const broken: string[] = [];
  const outcome = await rollbackRelease({
    inventory,
    session,
    publicKeyText,
    who,
    to: args.to,
    breakLock: args.breakLock === true,
    onLockBroken: (lock) => broken.push(`⚠️ ${lock.host}: broke the stale deploy lock, ${describeHeldLock(lock)}`),
  });
  const text = [...broken, renderOutcome(outcome), auditNote(), JSON.stringify(auditRecord(outcome, who)), ""].join("\n");
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

/** What the CLI appends to the audit log for a rollback by `actor`, with the time it ended. */
export function auditRecord(outcome: DeployOutcome, actor: string, at: Date = new Date()): AuditEntryInput & { readonly at: string } {
  return { ...deployAuditEntry(outcome, actor), kind: "rollback", at: at.toISOString() };
}
