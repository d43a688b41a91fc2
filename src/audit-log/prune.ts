/**
 * Pruning the audit log: the entries older than N days give way to ONE signed checkpoint as the new first
 * line (the design is in checkpoint.ts); the file is replaced atomically, under the log's lock.
 */
import { keyIdHex, type SigningKey } from "../adapters/minisign.js";
import { timestampKey } from "../core/rfc3339.js";
import { AuditLogError } from "./audit-log-error.js";
import { checkpointMessage } from "./checkpoint.js";
import { type AuditEntry, type AuditKind, actorProblems, serializeAuditEntry } from "./entry.js";
import { type LockOptions, withLock } from "./lock.js";
import { type ChainNode, NEWLINE, readLogFile } from "./log-lines.js";
import { DEFAULT_MAX_AGE_DAYS } from "./policy.js";
import { replaceFile } from "./replace-file.js";
import { analyzeAuditLog } from "./verify.js";

/** An entry {@link pruneAuditLog} removed. */
export interface PrunedEntry {
  readonly line: number;
  readonly seq: number;
  readonly at: string;
  readonly kind: AuditKind;
  readonly actor: string;
}

/** Options of {@link pruneAuditLog}. */
export interface PruneAuditOptions extends LockOptions {
  /** The time ages are measured from. */
  readonly now: Date;
  /** Entries older than this are pruned (default 90). */
  readonly maxAgeDays?: number;
  /** Signs the checkpoint (from `loadSigningKey`); its private half never reaches the file. */
  readonly signer: Pick<SigningKey, "keyId" | "publicKey" | "sign">;
  /** Who prunes (default `audit-log prune`). */
  readonly actor?: string;
}

/** What {@link pruneAuditLog} did. */
export interface PruneAuditResult {
  /** The entries removed this time (not counting an earlier checkpoint folded into the new one). */
  readonly pruned: readonly PrunedEntry[];
  /** The new first line, when anything was pruned. */
  readonly checkpoint?: AuditEntry;
  /** The earlier checkpoint the new one replaced. */
  readonly replacedCheckpoint?: AuditEntry;
  /** Entries left after the checkpoint. */
  readonly kept: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the entries older than `maxAgeDays` (default 90) and puts ONE checkpoint, signed by `signer`, in
 * their place as the new first line (see the design in checkpoint.ts); an earlier checkpoint is folded into
 * the new one. The log must verify first, an earlier checkpoint included: its signature must verify with the
 * signer's public key (the trusted release key), so a checkpoint of a foreign key is refused rather than
 * folded into a properly signed one. The file is replaced
 * atomically, under the log's lock. Nothing is written when no entry is old enough.
 * @throws AuditLogError when the log cannot be read, does not verify, or cannot be written.
 */
export function pruneAuditLog(file: string, options: PruneAuditOptions): PruneAuditResult {
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
  if (!Number.isInteger(maxAgeDays) || maxAgeDays < 1) throw new RangeError(`maxAgeDays: expected a whole number ≥ 1, got ${maxAgeDays}`);
  if (Number.isNaN(options.now.getTime())) throw new RangeError("now: an invalid Date");
  const actor = options.actor ?? "audit-log prune";
  const problems = actorProblems(actor);
  if (problems.length > 0) throw new AuditLogError(file, problems);
  const keyId = keyIdHex(options.signer.keyId);
  return withLock(file, options, () => {
    const analysis = analyzeAuditLog(readLogFile(file), { keyId: options.signer.keyId, publicKey: options.signer.publicKey });
    if (!analysis.ok) {
      throw new AuditLogError(file, [
        "refusing to prune a log that does not verify:",
        ...analysis.problems.map((p) => `line ${p.line}: ${p.problem}`),
      ]);
    }
    const nodes = analysis.lines.map((l) => l.node as ChainNode);
    const old = analysis.checkpointNode;
    const from = old === undefined ? 0 : 1;
    const cutoff = timestampKey(new Date(options.now.getTime() - maxAgeDays * DAY_MS).toISOString()) as string;
    let to = from;
    while (to < nodes.length && (nodes[to]?.atKey as string) < cutoff) to++;
    const removed = nodes.slice(from, to);
    const lastRemoved = removed.at(-1);
    if (lastRemoved === undefined) return { pruned: [], kept: nodes.length - from };
    const firstRemovedAt = old?.checkpoint?.firstRemovedAt ?? (removed[0]?.at as string);
    const signed = {
      prunedEntries: lastRemoved.seq,
      prunedThroughSeq: lastRemoved.seq,
      prunedThroughHash: lastRemoved.hash,
      firstRemovedAt,
      lastRemovedAt: lastRemoved.at as string,
      prunedAt: options.now.toISOString(),
      keyId,
    };
    const head = { seq: lastRemoved.seq, at: lastRemoved.at as string, actor, prev: lastRemoved.hash };
    const signature = options.signer.sign(checkpointMessage({ ...head, data: signed })).toString("base64");
    const checkpoint: AuditEntry = { ...head, kind: "checkpoint", data: { ...signed, signature }, prev: lastRemoved.hash };
    const kept = analysis.lines.slice(to).flatMap((l) => [l.bytes, Buffer.from([NEWLINE])]);
    replaceFile(file, Buffer.concat([Buffer.from(`${serializeAuditEntry(checkpoint)}\n`, "utf8"), ...kept]));
    return {
      pruned: removed.map((n) => {
        const entry = n.entry as AuditEntry;
        return { line: n.line, seq: entry.seq, at: entry.at, kind: entry.kind, actor: entry.actor };
      }),
      checkpoint,
      ...(old?.entry === undefined ? {} : { replacedCheckpoint: old.entry }),
      kept: nodes.length - to,
    };
  });
}
