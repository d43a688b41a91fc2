/**
 * Rebasing a local audit log onto the shared one (the copy kept on a git ref): the entries only the local log
 * has are re-chained after the shared log's last entry — new `seq` and `prev`, everything else as written —
 * so two runs that appended at the same time both end up in one chain, one after the other.
 *
 * The local log and the shared one agree on a common prefix of lines (none, for a fresh CI checkout whose log
 * started empty). A local log that starts with a checkpoint (it was pruned) replaces the shared lines that
 * checkpoint stands for; the shared log must reach the entry the checkpoint ends with.
 */
import { timestampKey } from "../core/rfc3339.js";
import { AuditLogError } from "./audit-log-error.js";
import { type AuditEntry, GENESIS_PREV, type JsonObject, lineHash, serializeAuditEntry } from "./entry.js";
import { type ParsedLine, parseLine, splitLines } from "./log-lines.js";

/** What {@link rebaseAuditLog} made. */
export interface RebasedLog {
  /** The shared log followed by the local-only entries, re-chained. */
  readonly bytes: Buffer;
  /** How many local entries were added to the shared log. */
  readonly added: number;
  /** Whether `bytes` differs from the shared log (something to publish). */
  readonly changed: boolean;
}

function parseAll(bytes: Buffer, what: string): ParsedLine[] {
  const { lines, terminated } = splitLines(bytes);
  const parsed = lines.map((b, i) => parseLine(b, i + 1, terminated || i < lines.length - 1));
  const bad = parsed.find((l) => l.problems.length > 0 || l.node?.entry === undefined);
  if (bad !== undefined) throw new AuditLogError(what, [`line ${bad.line}: ${bad.problems.join("; ") || "not an entry"}`]);
  return parsed;
}

const lineOf = (bytes: Buffer): Buffer => Buffer.concat([bytes, Buffer.from("\n")]);

/** Where the local lines continue the shared ones: the lines to start from and the local lines after them. */
function align(shared: readonly ParsedLine[], local: readonly ParsedLine[], file: string): { base: Buffer[]; rest: ParsedLine[] } {
  const first = local[0];
  let head: Buffer[] = [];
  let sharedLines = shared.map((l) => l.bytes);
  let localLines = [...local];
  if (first?.node?.checkpoint !== undefined && !(shared[0]?.bytes.equals(first.bytes) ?? false)) {
    // A pruned local log: its checkpoint takes the place of the shared lines through prunedThroughHash.
    const through = shared.findIndex((l) => l.node?.hash === first.node?.checkpoint?.prunedThroughHash);
    if (through === -1)
      throw new AuditLogError(file, [
        "line 1: the local checkpoint stands for entries the shared log does not have; refusing to publish it",
      ]);
    head = [first.bytes];
    sharedLines = sharedLines.slice(through + 1);
    localLines = localLines.slice(1);
  }
  let common = 0;
  while (
    common < localLines.length &&
    common < sharedLines.length &&
    (localLines[common] as ParsedLine).bytes.equals(sharedLines[common] as Buffer)
  )
    common++;
  return { base: [...head, ...sharedLines], rest: localLines.slice(common) };
}

/**
 * The shared log `shared` followed by the entries of `local` it does not have, re-chained (their `at` kept,
 * or raised to the shared log's last `at` so that time never goes backwards; the original is kept in
 * `data.recordedAt`).
 * @throws AuditLogError when a line of either log is not a valid entry, or a local checkpoint does not fit.
 */
export function rebaseAuditLog(shared: Buffer, local: Buffer, names: { shared: string; local: string }): RebasedLog {
  const sharedLines = parseAll(shared, names.shared);
  const localLines = parseAll(local, names.local);
  const { base, rest } = align(sharedLines, localLines, names.local);
  const out = base.map(lineOf);
  const lastBase = base.length === 0 ? undefined : parseLine(base[base.length - 1] as Buffer, base.length, true).node;
  let seq = lastBase?.seq ?? 0;
  let prev = lastBase === undefined ? GENESIS_PREV : (lastBase.checkpoint?.prunedThroughHash ?? lastBase.hash);
  let lastAt = lastBase?.at;
  for (const line of rest) {
    const entry = line.node?.entry as AuditEntry;
    if (entry.kind === "checkpoint")
      throw new AuditLogError(names.local, [`line ${line.line}: a checkpoint can only start a log; refusing to publish it`]);
    const behind = lastAt !== undefined && (timestampKey(entry.at) as string) < (timestampKey(lastAt) as string);
    const data: JsonObject = behind ? { ...entry.data, recordedAt: entry.at } : entry.data;
    seq += 1;
    const next: AuditEntry = { ...entry, seq, at: behind ? (lastAt as string) : entry.at, data, prev };
    const text = serializeAuditEntry(next);
    out.push(Buffer.from(`${text}\n`, "utf8"));
    prev = lineHash(text);
    lastAt = next.at;
  }
  const bytes = Buffer.concat(out);
  return { bytes, added: rest.length, changed: !bytes.equals(shared) };
}
