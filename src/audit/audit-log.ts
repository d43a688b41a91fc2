/**
 * A tamper-evident audit log: deployments, rollbacks, stage results, benchmark
 * summaries and approvals, one JSON line each, every line carrying the SHA-256
 * of the line before it — a hash chain, so history cannot be rewritten quietly.
 *
 * Line format (UTF-8, `\n`-terminated, keys always in this order, no spaces):
 *
 *     {"seq":7,"at":"2025-06-01T12:00:00.000Z","kind":"deploy","actor":"alice","data":{…},"prev":"<64 hex>"}
 *
 * - `seq` counts entries from 1 without gaps; `prev` is the SHA-256 (lower-case hex) of the previous line's
 *   exact bytes without its newline, 64 zeros for entry 1. `at` never goes backwards.
 * - Appends hold an exclusive lock file (`<log>.lock`, made with `O_CREAT|O_EXCL`) while they read the last
 *   line (only the tail of the file) and append the new one in a single `O_APPEND` write.
 *
 * Retention (design of the checkpoint): pruning removes the entries older than N days and writes, as the new
 * first line, ONE checkpoint entry that takes the place of the last removed entry — same `seq`, same `at`
 * (`prunedThroughSeq`, `lastRemovedAt`) and `prev` = the SHA-256 of that removed line (`prunedThroughHash`).
 * The kept entries are not rewritten: the first one still records that removed line's hash as its `prev`, so
 * a checkpoint's "chain hash" is `prunedThroughHash`, not the hash of its own line; the checkpoint's own bytes
 * are protected instead by an Ed25519 signature over all its fields ({@link checkpointMessage}). A checkpoint
 * is cumulative: it stands for entries 1…`prunedThroughSeq` (`prunedEntries` always equals that number), so
 * pruning again folds the old checkpoint into the new one.
 *
 * What the chain cannot show: a change to the LAST line (nothing after it records its hash) or the removal
 * of the last lines. Record {@link AuditVerification.head} elsewhere (a release note, a CI log) to pin them.
 */
import { createHash, createPublicKey, verify as ed25519Verify, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { z } from "zod";
import { readFailure } from "../config/read-text-file.js";
import { closedObject, describeIssues } from "../config/zod-issues.js";
import { keyIdHex, type PublicKey, type SigningKey } from "../release/minisign.js";

/** Where the audit log lives, relative to the workspace. */
export const DEFAULT_AUDIT_LOG = ".shriven-pipeline/audit/audit.jsonl";

/** What an entry records. `checkpoint` entries are written only by {@link pruneAuditLog}. */
export const AUDIT_KINDS = ["deploy", "rollback", "stage", "benchmark", "approval", "override", "checkpoint"] as const;

/** One of {@link AUDIT_KINDS}. */
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** One line of the audit log. */
export interface AuditEntry {
  /** 1-based, no gaps; a checkpoint repeats the seq of the last entry it replaced. */
  readonly seq: number;
  /** RFC 3339 UTC time (`…Z`). */
  readonly at: string;
  readonly kind: AuditKind;
  /** Who did it (a CI actor or a user name). */
  readonly actor: string;
  /** Free-form details (who, version, hosts, result, …). */
  readonly data: JsonObject;
  /** SHA-256 (hex) of the previous line's bytes without its newline; 64 zeros for the first entry. */
  readonly prev: string;
}

/** What {@link appendAuditEntry} is asked to record; it fills in `seq`, `prev` and (by default) `at`. */
export interface AuditEntryInput {
  readonly kind: Exclude<AuditKind, "checkpoint">;
  readonly actor: string;
  /** Must be plain JSON: no `undefined`, NaN, Dates, class instances or cycles. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Default: now. Must not be earlier than the last entry's `at`. */
  readonly at?: Date | string;
}

/** How long to wait for, and whether to break, another writer's lock. */
export interface LockOptions {
  /** Give up waiting for the lock after this long (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** Remove a lock file older than {@link STALE_LOCK_MS} instead of reporting it (default false). */
  readonly breakStaleLock?: boolean;
}

/** A problem {@link verifyAuditLog} found, on a 1-based line of the file. */
export interface AuditProblem {
  readonly line: number;
  readonly problem: string;
}

/** The checkpoint at the top of a pruned log. */
export interface CheckpointReport {
  readonly line: number;
  /** Whether the signature checks out with the given public key. */
  readonly verified: boolean | "no key given";
  /** The signer's key id, as minisign prints it. */
  readonly keyId: string;
  readonly prunedEntries: number;
  readonly prunedThroughSeq: number;
  readonly firstRemovedAt: string;
  readonly lastRemovedAt: string;
  readonly prunedAt: string;
}

/** The outcome of {@link verifyAuditLog}. */
export interface AuditVerification {
  /** No problems (an unverified checkpoint, for want of a key, is not a problem; see `checkpoint.verified`). */
  readonly ok: boolean;
  /** Lines in the file (each should be one entry). */
  readonly entries: number;
  /** Sorted by line. */
  readonly problems: readonly AuditProblem[];
  readonly checkpoint?: CheckpointReport;
  /** The last entry and the SHA-256 of its line: record it elsewhere to pin the end of the log. */
  readonly head?: { readonly line: number; readonly seq: number; readonly sha256: string };
}

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

/** A line of the log as {@link readAuditLog} sees it. */
export interface AuditLine {
  readonly line: number;
  /** The entry, when the line is a valid one. */
  readonly entry?: AuditEntry;
  /** Why it is not, otherwise. */
  readonly problem?: string;
}

/** The audit log cannot be read, appended to or pruned; the message names the file (and line). */
export class AuditLogError extends Error {
  override readonly name = "AuditLogError";

  /**
   * @param file The audit log (or its lock file).
   * @param problems One line per problem, naming the line where there is one.
   */
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}:${problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join("\n  ")}`}`);
  }
}

/** `prev` of the first entry of a log that has never been pruned. */
export const GENESIS_PREV = "0".repeat(64);

/** Longest line (bytes, without the newline) an entry may take. */
export const MAX_LINE_BYTES = 64 * 1024;

/** A lock file older than this is stale: its writer died. */
export const STALE_LOCK_MS = 30_000;

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_AGE_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_JSON_DEPTH = 64;
const CHECKPOINT_TAG = "shriven-pipeline audit-log checkpoint v1";
/** DER prefix that wraps a raw Ed25519 public key (SPKI) for Node's crypto. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const NEWLINE = 0x0a;

const RFC3339_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * A sortable key of an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnn`, so string order is time
 * order), or undefined when `text` is not one (or names no real instant: 31 April, hour 24, a leap second).
 */
function timestampKey(text: string): string | undefined {
  const match = RFC3339_UTC.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? `${text.slice(0, 19)}.${(match[7] ?? "").padEnd(9, "0")}` : undefined;
}

const hasControlCharacter = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

const seqSchema = z.int().min(1);
const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256: 64 lower-case hex digits");
const timestampSchema = z.string().refine((text) => timestampKey(text) !== undefined, {
  error: (issue) => `${JSON.stringify(issue.input)} is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)`,
});

/** The shape of one line (field order is checked separately, against {@link serializeAuditEntry}). */
export const auditEntrySchema = closedObject({
  seq: seqSchema,
  at: timestampSchema,
  kind: z.enum(AUDIT_KINDS, {
    error: (issue) => `unknown kind ${JSON.stringify(issue.input)}; expected one of ${AUDIT_KINDS.join(", ")}`,
  }),
  actor: z
    .string()
    .min(1, "must not be empty")
    .max(256, "longer than 256 characters")
    .refine((actor) => !hasControlCharacter(actor), "must be one line without control characters"),
  data: z.custom<JsonObject>(isPlainObject, { error: "expected a JSON object" }),
  prev: hashSchema,
});

/** The `data` of a checkpoint entry. */
const checkpointDataSchema = closedObject({
  prunedEntries: z.int().min(1),
  prunedThroughSeq: z.int().min(1),
  prunedThroughHash: hashSchema,
  firstRemovedAt: timestampSchema,
  lastRemovedAt: timestampSchema,
  prunedAt: timestampSchema,
  keyId: z.string().regex(/^[0-9A-F]{16}$/, "expected a minisign key id: 16 upper-case hex digits"),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "expected a base64 Ed25519 signature (64 bytes)"),
});

type CheckpointData = z.infer<typeof checkpointDataSchema>;

/** The line of `entry`, without its newline: keys in the fixed order, no spaces. */
export function serializeAuditEntry(entry: AuditEntry): string {
  return (
    `{"seq":${JSON.stringify(entry.seq)},"at":${JSON.stringify(entry.at)},"kind":${JSON.stringify(entry.kind)},` +
    `"actor":${JSON.stringify(entry.actor)},"data":${JSON.stringify(entry.data)},"prev":${JSON.stringify(entry.prev)}}`
  );
}

/** SHA-256 (hex) of a line's bytes, without its newline. */
export function lineHash(line: string | Buffer): string {
  return createHash("sha256").update(line).digest("hex");
}

/**
 * The exact bytes a checkpoint's signature covers: a JSON array of a version tag and every field of the
 * checkpoint entry but the signature, in a fixed order.
 */
export function checkpointMessage(checkpoint: {
  seq: number;
  at: string;
  actor: string;
  prev: string;
  data: Omit<CheckpointData, "signature">;
}): Buffer {
  const { data } = checkpoint;
  return Buffer.from(
    JSON.stringify([
      CHECKPOINT_TAG,
      checkpoint.seq,
      checkpoint.at,
      checkpoint.actor,
      checkpoint.prev,
      data.prunedEntries,
      data.prunedThroughSeq,
      data.prunedThroughHash,
      data.firstRemovedAt,
      data.lastRemovedAt,
      data.prunedAt,
      data.keyId,
    ]),
    "utf8",
  );
}

// ————————————————————————————————————————————— parsing lines —————————————————————————————————————————————

/** A line that has a usable `seq` and `prev`, so it takes part in the chain even if another field is bad. */
interface Node {
  readonly line: number;
  readonly seq: number;
  readonly prev: string;
  /** SHA-256 of the line. */
  readonly hash: string;
  /** What the next entry's `prev` must be: `hash`, or `prunedThroughHash` for the checkpoint. */
  chainHash: string;
  /** Sortable `at`, when valid. */
  readonly atKey?: string;
  readonly at?: string;
  readonly kind?: string;
  /** The whole entry, when the line is valid. */
  readonly entry?: AuditEntry;
  /** The checkpoint's data, when it is a checkpoint with valid data. */
  readonly checkpoint?: CheckpointData;
}

interface ParsedLine {
  readonly line: number;
  readonly bytes: Buffer;
  readonly node?: Node;
  readonly problems: readonly string[];
}

/** Splits a file into lines (without `\n`); `terminated` is false when the last line has no newline. */
function splitLines(bytes: Buffer): { lines: Buffer[]; terminated: boolean } {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end === -1) break;
    lines.push(bytes.subarray(start, end));
    start = end + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return { lines, terminated: start === bytes.length };
}

/** Checks one line on its own. `terminated` is false for a last line without its newline. */
function parseLine(bytes: Buffer, line: number, terminated: boolean): ParsedLine {
  const fail = (problem: string): ParsedLine => ({ line, bytes, problems: [problem] });
  if (bytes.length === 0) return fail("empty line");
  if (bytes.length > MAX_LINE_BYTES) return fail(`${bytes.length} bytes: longer than the ${MAX_LINE_BYTES} bytes an entry may have`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("not valid UTF-8");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    if (!terminated) return fail("truncated: the last line ends without a newline and is not complete JSON");
    return fail(`not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(raw)) return fail("not a JSON object");
  const problems: string[] = [];
  if (!terminated) problems.push("truncated: the last line has no terminating newline");
  const parsed = auditEntrySchema.safeParse(raw);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues));
  let checkpoint: CheckpointData | undefined;
  let entry: AuditEntry | undefined;
  if (parsed.success) {
    // The raw object, not zod's copy: serialization must see the data exactly as JSON.parse made it.
    entry = raw as unknown as AuditEntry;
    if (serializeAuditEntry(entry) !== text) {
      problems.push("not in the form the audit log writes (key order, spacing, number or string format): it was written or edited by hand");
    }
    if (entry.kind === "checkpoint") {
      const data = checkpointDataSchema.safeParse(entry.data);
      if (data.success) checkpoint = data.data;
      else problems.push(...describeIssues(data.error.issues).map((issue) => `data.${issue}`));
    }
  }
  const seq = seqSchema.safeParse(raw.seq);
  const prev = hashSchema.safeParse(raw.prev);
  if (!seq.success || !prev.success) return { line, bytes, problems };
  const hash = lineHash(bytes);
  const at = typeof raw.at === "string" ? raw.at : undefined;
  const atKey = at === undefined ? undefined : timestampKey(at);
  const node: Node = {
    line,
    seq: seq.data,
    prev: prev.data,
    hash,
    chainHash: hash,
    ...(at === undefined || atKey === undefined ? {} : { at, atKey }),
    ...(typeof raw.kind === "string" ? { kind: raw.kind } : {}),
    ...(entry === undefined ? {} : { entry }),
    ...(checkpoint === undefined ? {} : { checkpoint }),
  };
  return { line, bytes, node, problems };
}

// ————————————————————————————————————————————— verifying —————————————————————————————————————————————

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

/** "entry 7 is missing", "entries 7–9 are missing", "entries 3, 7–9 are missing". */
function describeMissing(seqs: readonly number[]): string {
  const ranges: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && (seqs[j + 1] as number) === (seqs[j] as number) + 1) j++;
    ranges.push(i === j ? `${seqs[i]}` : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return seqs.length === 1 ? `entry ${seqs[0]} is missing` : `entries ${ranges.join(", ")} are missing`;
}

function range(from: number, to: number): number[] {
  const values: number[] = [];
  for (let n = from; n <= to; n++) values.push(n);
  return values;
}

/** Checks a checkpoint's own fields and, given a key, its signature. */
function checkCheckpoint(
  node: Node,
  data: CheckpointData,
  publicKey: PublicKey | undefined,
): { problems: string[]; verified: boolean | "no key given" } {
  const problems: string[] = [];
  const entry = node.entry as AuditEntry;
  if (entry.seq !== data.prunedThroughSeq)
    problems.push(`checkpoint seq ${entry.seq} differs from data.prunedThroughSeq ${data.prunedThroughSeq}`);
  if (entry.prev !== data.prunedThroughHash) problems.push("checkpoint prev differs from data.prunedThroughHash");
  if (data.prunedEntries !== data.prunedThroughSeq) {
    problems.push(
      `checkpoint data.prunedEntries ${data.prunedEntries} differs from data.prunedThroughSeq ${data.prunedThroughSeq}: a checkpoint stands for entries 1–${data.prunedThroughSeq}`,
    );
  }
  if (entry.at !== data.lastRemovedAt) problems.push(`checkpoint at ${entry.at} differs from data.lastRemovedAt ${data.lastRemovedAt}`);
  const first = timestampKey(data.firstRemovedAt) as string;
  const last = timestampKey(data.lastRemovedAt) as string;
  if (first > last)
    problems.push(`checkpoint data.firstRemovedAt ${data.firstRemovedAt} is after data.lastRemovedAt ${data.lastRemovedAt}`);
  if (last > (timestampKey(data.prunedAt) as string)) {
    problems.push(`checkpoint data.lastRemovedAt ${data.lastRemovedAt} is after data.prunedAt ${data.prunedAt}: it prunes the future`);
  }
  if (publicKey === undefined) return { problems, verified: "no key given" };
  const expected = keyIdHex(publicKey.keyId);
  if (data.keyId !== expected) {
    problems.push(`checkpoint signed by key ${data.keyId}, but the public key given is ${expected}`);
    return { problems, verified: false };
  }
  const { signature, ...signed } = data;
  let valid = false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey.publicKey]), format: "der", type: "spki" });
    valid = ed25519Verify(null, checkpointMessage({ ...entry, data: signed }), key, Buffer.from(signature, "base64"));
  } catch {
    valid = false;
  }
  if (!valid) problems.push(`checkpoint signature does not verify with key ${expected}: the checkpoint was edited or forged`);
  return { problems, verified: valid };
}

interface Analysis extends AuditVerification {
  readonly lines: readonly ParsedLine[];
  readonly checkpointNode?: Node;
}

/** Verifies the bytes of a log; see {@link verifyAuditLog}. */
function analyze(bytes: Buffer, publicKey: PublicKey | undefined): Analysis {
  const { lines: raw, terminated } = splitLines(bytes);
  const lines = raw.map((b, i) => parseLine(b, i + 1, terminated || i < raw.length - 1));
  const problems: AuditProblem[] = lines.flatMap((l) => l.problems.map((problem) => ({ line: l.line, problem })));
  const report = (line: number, problem: string) => problems.push({ line, problem });
  const nodes = lines.flatMap((l) => (l.node === undefined ? [] : [l.node]));

  // A checkpoint: only as line 1; it stands in for the last pruned entry.
  let checkpointNode: Node | undefined;
  let checkpoint: CheckpointReport | undefined;
  for (const node of nodes) {
    if (node.kind !== "checkpoint") continue;
    if (node.line !== 1) {
      report(node.line, "a checkpoint can only be the first line of the log (pruning puts it there)");
      continue;
    }
    if (node.checkpoint === undefined || node.entry === undefined) continue;
    checkpointNode = node;
    node.chainHash = node.checkpoint.prunedThroughHash;
    const checked = checkCheckpoint(node, node.checkpoint, publicKey);
    for (const problem of checked.problems) report(node.line, problem);
    const { keyId, prunedEntries, prunedThroughSeq, firstRemovedAt, lastRemovedAt, prunedAt } = node.checkpoint;
    checkpoint = {
      line: node.line,
      verified: checked.verified,
      keyId,
      prunedEntries,
      prunedThroughSeq,
      firstRemovedAt,
      lastRemovedAt,
      prunedAt,
    };
  }

  // Duplicate seqs: keep the one the next entry chains to (or the first); report the others as inserted.
  const bySeq = new Map<number, Node[]>();
  for (const node of nodes) bySeq.set(node.seq, [...(bySeq.get(node.seq) ?? []), node]);
  const chainedTo = (node: Node): boolean => (bySeq.get(node.seq + 1) ?? []).some((next) => next.prev === node.chainHash);
  const primary = new Set<Node>();
  for (const [seq, same] of bySeq) {
    const keep = same.find(chainedTo) ?? (same[0] as Node);
    primary.add(keep);
    for (const other of same) {
      if (other === keep) continue;
      report(
        other.line,
        `seq ${seq} repeats the seq of line ${keep.line}: ${
          chainedTo(keep) ? `entry ${seq + 1} chains to line ${keep.line}, so line ${other.line} was inserted` : "one of them was inserted"
        }`,
      );
    }
  }

  // A checkpoint whose data is bad still explains why the log does not start at entry 1.
  const startsLikeCheckpoint = (node: Node): boolean => node.line === 1 && node.kind === "checkpoint";

  // Order, gaps and time, in file order.
  const ordered = nodes.filter((n) => primary.has(n));
  const malformedBetween = (from: number, to: number) => lines.filter((l) => l.line > from && l.line < to && l.node === undefined).length;
  let previous: Node | undefined;
  let highest: Node | undefined;
  for (const node of ordered) {
    if (previous === undefined || highest === undefined) {
      if (!startsLikeCheckpoint(node) && node.seq > 1 && malformedBetween(0, node.line) === 0) {
        const missing = range(1, node.seq - 1).filter((s) => !bySeq.has(s));
        if (missing.length > 0)
          report(node.line, `seq ${node.seq} is the first entry, but no checkpoint precedes it: ${describeMissing(missing)}`);
      }
    } else if (node.seq === previous.seq + 1) {
      if (node.atKey !== undefined && previous.atKey !== undefined && node.atKey < previous.atKey) {
        report(node.line, `at ${node.at} is earlier than ${previous.at} of line ${previous.line}: timestamps go backwards`);
      }
    } else if (node.seq < highest.seq) {
      if (previous.seq === node.seq + 1) {
        report(previous.line, `lines ${previous.line} and ${node.line} are swapped: seq ${previous.seq} comes before seq ${node.seq}`);
      } else {
        report(node.line, `seq ${node.seq} comes after seq ${highest.seq} (line ${highest.line}): the lines are out of order`);
      }
    } else {
      const missing = range(highest.seq + 1, node.seq - 1).filter((s) => !bySeq.has(s));
      const malformed = malformedBetween(previous.line, node.line);
      if (missing.length > malformed) {
        report(
          node.line,
          `seq ${node.seq} follows seq ${previous.seq}: ${describeMissing(missing)}${malformed > 0 ? ` (${malformed} malformed line(s) in between)` : ""}`,
        );
      }
    }
    previous = node;
    if (highest === undefined || node.seq > highest.seq) highest = node;
  }

  // Hash links, in seq order: link i joins chain[i] to chain[i + 1] (seq n to n + 1).
  const chain = [...primary].sort((a, b) => a.seq - b.seq);
  type Link = "ok" | "broken" | "absent";
  const links: Link[] = chain.slice(1).map((next, i) => {
    const node = chain[i] as Node;
    if (next.seq !== node.seq + 1) return "absent";
    return next.prev === node.chainHash ? "ok" : "broken";
  });
  const first = chain[0];
  if (first !== undefined && !startsLikeCheckpoint(first) && first.seq === 1 && first.prev !== GENESIS_PREV) {
    if (links[0] === "broken") {
      report(
        first.line,
        `edited: its prev is not 64 zeros (it is entry 1) and its SHA-256 is not the prev of line ${(chain[1] as Node).line}`,
      );
      links[0] = "absent";
    } else {
      report(first.line, `prev ${short(first.prev)} should be 64 zeros: it is entry 1 and no checkpoint precedes it`);
    }
  }
  for (let start = 0; start < links.length; start++) {
    if (links[start] !== "broken") continue;
    let end = start;
    while (links[end + 1] === "broken") end++;
    if (start === end) {
      const node = chain[start] as Node;
      const next = chain[start + 1] as Node;
      if (links[start + 1] === "ok") {
        report(
          node.line,
          node === checkpointNode
            ? `the checkpoint's prunedThroughHash ${short(node.chainHash)} is not the prev ${short(next.prev)} of line ${next.line}, the entry after it`
            : `edited: its SHA-256 ${short(node.hash)} is not the prev ${short(next.prev)} that line ${next.line}, the next entry, records`,
        );
      } else {
        // Nothing after `next` vouches for it, so its prev may be the wrong one.
        report(
          next.line,
          `prev ${short(next.prev)} is not the SHA-256 ${short(node.chainHash)} of line ${node.line}: line ${next.line} was added or changed by hand, or line ${node.line} was edited`,
        );
      }
    } else {
      // A run of broken links: each entry inside it matches neither neighbour, so it was edited.
      for (let i = start + 1; i <= end; i++) {
        const node = chain[i] as Node;
        report(
          node.line,
          `edited: its prev is not the SHA-256 of line ${(chain[i - 1] as Node).line} and its own SHA-256 is not the prev of line ${(chain[i + 1] as Node).line}`,
        );
      }
    }
    start = end;
  }

  problems.sort((a, b) => a.line - b.line);
  const last = chain.at(-1);
  return {
    ok: problems.length === 0,
    entries: lines.length,
    problems,
    lines,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(checkpointNode === undefined ? {} : { checkpointNode }),
    ...(last === undefined ? {} : { head: { line: last.line, seq: last.seq, sha256: last.hash } }),
  };
}

function readLog(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw fsError(file, error, "cannot read the audit log");
  }
}

function fsError(file: string, error: unknown, doing: string): AuditLogError {
  return new AuditLogError(file, [readFailure(error, doing)]);
}

/**
 * Checks the whole log: every line well formed, seqs from 1 (or the checkpoint's) without gaps, repeats or
 * reordering, every `prev` the SHA-256 of the entry before, timestamps never going backwards, and, given the
 * signer's public key, the checkpoint's signature. Each problem names the line to look at: for an edited
 * entry, the edited line (the one whose hash the next entry no longer records); for a removed entry, the line
 * after the hole; for two swapped lines, the first of them. One case is ambiguous by nature: when the last
 * entry's `prev` does not match, nothing vouches for that last line, so it is named (added or changed by
 * hand) and the message says the line before may have been edited instead.
 * @throws AuditLogError when the file cannot be read.
 */
export function verifyAuditLog(file: string, options: { publicKey?: PublicKey } = {}): AuditVerification {
  const { lines: _lines, checkpointNode: _checkpoint, ...verification } = analyze(readLog(file), options.publicKey);
  return verification;
}

/**
 * Every line of the log with its entry or what is wrong with it (not the chain: see {@link verifyAuditLog}).
 * @param options.last Only the last N lines.
 * @throws AuditLogError when the file cannot be read.
 */
export function readAuditLog(file: string, options: { last?: number } = {}): AuditLine[] {
  const { lines, terminated } = splitLines(readLog(file));
  const from = options.last === undefined ? 0 : Math.max(0, lines.length - options.last);
  return lines.slice(from).map((bytes, i) => {
    const line = from + i + 1;
    const parsed = parseLine(bytes, line, terminated || line < lines.length);
    const entry = parsed.node?.entry;
    return parsed.problems.length === 0 && entry !== undefined ? { line, entry } : { line, problem: parsed.problems.join("; ") };
  });
}

// ————————————————————————————————————————————— locking —————————————————————————————————————————————

let sleeper: Int32Array | undefined;

/** Blocks the thread for `ms` (appends are synchronous; the wait is bounded by the lock timeout). */
function sleep(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/** Runs `action` holding `<file>.lock`, created exclusively; waits a bounded time for another holder. */
function withLock<T>(file: string, options: LockOptions, action: () => T): T {
  const lock = `${file}.lock`;
  const timeout = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, "wx", 0o600);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(lock, error, "cannot create the lock file");
    }
    let holder: { ino: number; ageMs: number; who: string };
    try {
      const stat = statSync(lock);
      const who = readFileSync(lock, "utf8").trim();
      holder = { ino: stat.ino, ageMs: Date.now() - stat.mtimeMs, who: who === "" ? "holder unknown" : who };
    } catch {
      continue; // released meanwhile
    }
    if (holder.ageMs > STALE_LOCK_MS) {
      if (options.breakStaleLock !== true) {
        throw new AuditLogError(lock, [
          `stale lock, ${Math.round(holder.ageMs / 1000)} s old (${holder.who}); if no append or prune is running, remove it or break it explicitly (breakStaleLock, CLI --break-stale-lock)`,
        ]);
      }
      breakLock(lock, holder.ino);
      continue;
    }
    if (Date.now() >= deadline) throw new AuditLogError(lock, [`timed out after ${timeout} ms waiting for the lock (${holder.who})`]);
    sleep(2 + Math.floor(Math.random() * 8));
  }
  const own = fstatSync(fd).ino;
  try {
    writeSync(fd, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
    return action();
  } finally {
    closeSync(fd);
    try {
      if (statSync(lock).ino === own) unlinkSync(lock);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes a stale lock whose inode is `ino`: moves it aside first, so that of several writers breaking it at
 * once only one succeeds, and puts back a fresh lock moved by mistake.
 */
function breakLock(lock: string, ino: number): void {
  const aside = `${lock}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else broke or released it
  }
  try {
    if (statSync(aside).ino !== ino) linkSync(aside, lock);
  } catch {
    // a new lock was made meanwhile: it stands
  }
  unlinkSync(aside);
}

// ————————————————————————————————————————————— appending —————————————————————————————————————————————

/** Problems of a value that JSON.stringify would not write back as it is. */
function jsonProblems(value: unknown, path: string, depth: number): string[] {
  if (depth > MAX_JSON_DEPTH) return [`${path}: nested deeper than ${MAX_JSON_DEPTH} levels (or a cycle)`];
  if (value === null || typeof value === "string" || typeof value === "boolean") return [];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [`${path}: ${value} is not a JSON number`];
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => jsonProblems(item, `${path}[${i}]`, depth + 1));
  }
  if (isPlainObject(value)) {
    return Object.entries(value).flatMap(([key, item]) => jsonProblems(item, `${path}.${key}`, depth + 1));
  }
  const what = typeof value === "object" ? `a ${(value as object).constructor?.name ?? "object"}` : typeof value;
  return [`${path}: ${what} is not JSON${value === undefined ? " (leave the key out, or use null)" : ""}`];
}

/** Checks the caller's input, before taking the lock. */
function inputProblems(input: AuditEntryInput): string[] {
  const problems: string[] = [];
  if ((input.kind as AuditKind) === "checkpoint" || !AUDIT_KINDS.includes(input.kind)) {
    problems.push(
      `kind: ${JSON.stringify(input.kind)} cannot be appended; expected one of ${AUDIT_KINDS.filter((k) => k !== "checkpoint").join(", ")}`,
    );
  }
  problems.push(...actorProblems(input.actor));
  if (!isPlainObject(input.data)) problems.push("data: expected a plain object");
  else problems.push(...jsonProblems(input.data, "data", 0));
  if (input.at !== undefined && atText(input.at) === undefined) {
    problems.push(`at: ${input.at instanceof Date ? "an invalid Date" : JSON.stringify(input.at)} is not an RFC 3339 UTC timestamp`);
  }
  return problems;
}

function actorProblems(actor: string): string[] {
  const checked = auditEntrySchema.shape.actor.safeParse(actor);
  return checked.success ? [] : checked.error.issues.map((issue) => `actor: ${issue.message}`);
}

function atText(at: Date | string): string | undefined {
  if (at instanceof Date) return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
  return timestampKey(at) === undefined ? undefined : at;
}

/** Counts the lines of a file in chunks (for error messages about its last line). */
function countLines(file: string): number {
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    let lines = 0;
    let lastByte = NEWLINE;
    let position = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      for (let i = 0; i < read; i++) if (chunk[i] === NEWLINE) lines++;
      lastByte = chunk[read - 1] as number;
      position += read;
    }
    return lastByte === NEWLINE ? lines : lines + 1;
  } finally {
    closeSync(fd);
  }
}

/** The last entry of the log, reading only the tail of the file; undefined for a missing or empty log. */
function readLastEntry(file: string): Node | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fsError(file, error, "cannot read the audit log");
  }
  let tail: Buffer;
  let size: number;
  try {
    size = fstatSync(fd).size;
    if (size === 0) return undefined;
    tail = Buffer.alloc(Math.min(size, MAX_LINE_BYTES + 2));
    let filled = 0;
    while (filled < tail.length) {
      const read = readSync(fd, tail, filled, tail.length - filled, size - tail.length + filled);
      if (read === 0) break;
      filled += read;
    }
  } finally {
    closeSync(fd);
  }
  const refuse = (problem: string): never => {
    throw new AuditLogError(file, [
      `line ${countLines(file)}: ${problem}; refusing to append until the log is repaired (audit-log verify shows all problems)`,
    ]);
  };
  const terminated = tail[tail.length - 1] === NEWLINE;
  const body = terminated ? tail.subarray(0, -1) : tail;
  const start = body.lastIndexOf(NEWLINE) + 1;
  if (start === 0 && body.length < size - (terminated ? 1 : 0)) refuse(`longer than the ${MAX_LINE_BYTES} bytes an entry may have`);
  const parsed = parseLine(body.subarray(start), 0, terminated);
  if (parsed.problems.length > 0 || parsed.node?.entry === undefined) refuse(parsed.problems.join("; "));
  const node = parsed.node as Node;
  if (node.checkpoint !== undefined) node.chainHash = node.checkpoint.prunedThroughHash;
  return node;
}

/**
 * Appends one entry to the log at `file` (creating it, mode 0640, and its folder if missing), under the
 * log's lock: `seq` and `prev` come from the last line, read from the end of the file.
 * @throws AuditLogError when the input is not valid, the last line is not a valid entry (naming its line),
 *   `at` is earlier than the last entry's, the lock is stale or cannot be had within the timeout, or the
 *   file cannot be written.
 */
export function appendAuditEntry(file: string, input: AuditEntryInput, options: LockOptions = {}): AuditEntry {
  const problems = inputProblems(input);
  if (problems.length > 0) throw new AuditLogError(file, problems);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  } catch (error) {
    throw fsError(dirname(file), error, "cannot create the audit log's folder");
  }
  return withLock(file, options, () => {
    const last = readLastEntry(file);
    const at = input.at === undefined ? new Date().toISOString() : (atText(input.at) as string);
    if (last?.atKey !== undefined && (timestampKey(at) as string) < last.atKey) {
      throw new AuditLogError(file, [`at ${at} is earlier than the last entry's ${last.at}: the log's timestamps may not go backwards`]);
    }
    const entry: AuditEntry = {
      seq: last === undefined ? 1 : last.seq + 1,
      at,
      kind: input.kind,
      actor: input.actor,
      data: JSON.parse(JSON.stringify(input.data)) as JsonObject,
      prev: last === undefined ? GENESIS_PREV : last.chainHash,
    };
    const line = Buffer.from(`${serializeAuditEntry(entry)}\n`, "utf8");
    if (line.length - 1 > MAX_LINE_BYTES) {
      throw new AuditLogError(file, [
        `the entry would be ${line.length - 1} bytes; at most ${MAX_LINE_BYTES} are allowed (record less data)`,
      ]);
    }
    appendBytes(file, line, last === undefined);
    return entry;
  });
}

/** One O_APPEND write (and fsync); a new file is made mode 0640 whatever the umask. */
function appendBytes(file: string, bytes: Buffer, mayCreate: boolean): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
  } catch (error) {
    throw fsError(file, error, "cannot open the audit log for appending");
  }
  try {
    if (mayCreate && fstatSync(fd).size === 0) fchmodSync(fd, 0o640);
    const written = writeSync(fd, bytes);
    if (written !== bytes.length) {
      throw new AuditLogError(file, [`short write: ${written} of ${bytes.length} bytes (disk full?); the last line is now truncated`]);
    }
    fsyncSync(fd);
  } catch (error) {
    if (error instanceof AuditLogError) throw error;
    throw fsError(file, error, "cannot append to the audit log");
  } finally {
    closeSync(fd);
  }
}

// ————————————————————————————————————————————— pruning —————————————————————————————————————————————

/** Replaces `file` whole or not at all (temporary file, fsync, rename), mode 0640. */
function replaceFile(file: string, bytes: Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(temporary, "w", 0o640);
    try {
      fchmodSync(fd, 0o640);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never made
    }
    throw fsError(file, error, "cannot rewrite the audit log");
  }
}

/**
 * Removes the entries older than `maxAgeDays` (default 90) and puts ONE checkpoint, signed by `signer`, in
 * their place as the new first line (see the design at the top of this file); an earlier checkpoint is folded
 * into the new one. The log must verify first (an earlier checkpoint's signature is checked when it was made
 * with the same key; a checkpoint of another key is vouched for by the new signature). The file is replaced
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
    const bytes = readLog(file);
    const firstLine = parseLine(splitLines(bytes).lines[0] ?? Buffer.alloc(0), 1, true);
    const sameKey = firstLine.node?.checkpoint?.keyId === keyId;
    const analysis = analyze(bytes, sameKey ? { keyId: options.signer.keyId, publicKey: options.signer.publicKey } : undefined);
    if (!analysis.ok) {
      throw new AuditLogError(file, [
        "refusing to prune a log that does not verify:",
        ...analysis.problems.map((p) => `line ${p.line}: ${p.problem}`),
      ]);
    }
    const nodes = analysis.lines.map((l) => l.node as Node);
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
