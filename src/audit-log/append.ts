/**
 * Appending to the audit log: under the log's lock, the new entry's `seq` and `prev` come from the last line
 * (only the tail of the file is read), and the line is added in a single `O_APPEND` write.
 */
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { timestampKey } from "../core/rfc3339.js";
import { AuditLogError, fsError } from "./audit-log-error.js";
import {
  AUDIT_KINDS,
  type AuditEntry,
  type AuditKind,
  actorProblems,
  GENESIS_PREV,
  isPlainObject,
  type JsonObject,
  MAX_LINE_BYTES,
  serializeAuditEntry,
} from "./entry.js";
import { type LockOptions, withLock } from "./lock.js";
import { type ChainNode, NEWLINE, parseLine } from "./log-lines.js";

/** What {@link appendAuditEntry} is asked to record; it fills in `seq`, `prev` and (by default) `at`. */
export interface AuditEntryInput {
  readonly kind: Exclude<AuditKind, "checkpoint">;
  readonly actor: string;
  /** Must be plain JSON: no `undefined`, NaN, Dates, class instances or cycles. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Default: now. Must not be earlier than the last entry's `at`. */
  readonly at?: Date | string;
}

const MAX_JSON_DEPTH = 64;

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

/** The RFC 3339 text of `at`, or undefined when it is an invalid Date or not an RFC 3339 UTC timestamp. */
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

/**
 * The last entry of the log, reading only the tail of the file; undefined for a missing or empty log.
 * @throws AuditLogError when the last line is not a valid entry.
 */
export function readLastEntry(file: string): ChainNode | undefined {
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
  const node = parsed.node as ChainNode;
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

/** Opens the log for O_APPEND writes; a new file (when `mayCreate`) is made mode 0640 whatever the umask. */
function openForAppend(file: string, mayCreate: boolean): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o640);
  } catch (error) {
    throw fsError(file, error, "cannot open the audit log for appending");
  }
  try {
    if (mayCreate && fstatSync(fd).size === 0) fchmodSync(fd, 0o640);
  } catch (error) {
    closeSync(fd);
    throw fsError(file, error, "cannot set the audit log's mode");
  }
  return fd;
}

/** One O_APPEND write (and fsync); a new file is made mode 0640 whatever the umask. */
function appendBytes(file: string, bytes: Buffer, mayCreate: boolean): void {
  const fd = openForAppend(file, mayCreate);
  try {
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

/**
 * Checks that an entry could be appended to the log at `file` now, without writing one: its folder and the file
 * can be written, its lock can be had, and its last line is a valid entry the next one chains to. Deploys and
 * rollbacks call it before touching any host, so that what they do is never left unrecorded.
 * @throws AuditLogError naming the file and what stands in the way (a stale or held lock, a bad last line, a
 *   file or folder that cannot be written).
 */
export function checkAuditLogAppendable(file: string, options: LockOptions = {}): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
  } catch (error) {
    throw fsError(dirname(file), error, "cannot create the audit log's folder");
  }
  withLock(file, options, () => {
    const last = readLastEntry(file);
    closeSync(openForAppend(file, last === undefined));
  });
}
