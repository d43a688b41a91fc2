/**
 * The audit log as lines: reading the file, splitting it, and checking each line on its own — its format,
 * not the chain (verify.ts checks how the lines hang together).
 */
import { readFileSync } from "node:fs";
import { timestampKey } from "../core/rfc3339.js";
import { describeIssues } from "../core/zod-issues.js";
import { fsError } from "./audit-log-error.js";
import { type CheckpointData, checkpointDataSchema } from "./checkpoint.js";
import {
  type AuditEntry,
  auditEntrySchema,
  hashSchema,
  isPlainObject,
  lineHash,
  MAX_LINE_BYTES,
  seqSchema,
  serializeAuditEntry,
} from "./entry.js";

/** A line of the log as {@link readAuditLog} sees it. */
export interface AuditLine {
  readonly line: number;
  /** The entry, when the line is a valid one. */
  readonly entry?: AuditEntry;
  /** Why it is not, otherwise. */
  readonly problem?: string;
}

/** A line that has a usable `seq` and `prev`, so it takes part in the chain even if another field is bad. */
export interface ChainNode {
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

/** One line checked on its own: its bytes, its place in the chain (when it has one) and its problems. */
export interface ParsedLine {
  readonly line: number;
  readonly bytes: Buffer;
  readonly node?: ChainNode;
  readonly problems: readonly string[];
}

/** The byte that ends every line. */
export const NEWLINE = 0x0a;

/** Splits a file into lines (without `\n`); `terminated` is false when the last line has no newline. */
export function splitLines(bytes: Buffer): { lines: Buffer[]; terminated: boolean } {
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
export function parseLine(bytes: Buffer, line: number, terminated: boolean): ParsedLine {
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
  const node: ChainNode = {
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

/** The whole log file. @throws AuditLogError when it cannot be read. */
export function readLogFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw fsError(file, error, "cannot read the audit log");
  }
}

/**
 * Every line of the log with its entry or what is wrong with it (not the chain: see `verifyAuditLog`).
 * @param options.last Only the last N lines.
 * @throws AuditLogError when the file cannot be read.
 */
export function readAuditLog(file: string, options: { last?: number } = {}): AuditLine[] {
  const { lines, terminated } = splitLines(readLogFile(file));
  const from = options.last === undefined ? 0 : Math.max(0, lines.length - options.last);
  return lines.slice(from).map((bytes, i) => {
    const line = from + i + 1;
    const parsed = parseLine(bytes, line, terminated || line < lines.length);
    const entry = parsed.node?.entry;
    return parsed.problems.length === 0 && entry !== undefined ? { line, entry } : { line, problem: parsed.problems.join("; ") };
  });
}
