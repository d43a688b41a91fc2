/**
 * A tamper-evident audit log: deployments, rollbacks, stage results, benchmark
 * summaries and approvals, one JSON line each, every line carrying the SHA-256
 * of the line before it — a hash chain, so history cannot be rewritten quietly.
 * This file is the format of one entry; appending, locking, verifying and
 * pruning live beside it.
 *
 * Line format (UTF-8, `\n`-terminated, keys always in this order, no spaces):
 *
 *     {"seq":7,"at":"2025-06-01T12:00:00.000Z","kind":"deploy","actor":"alice","data":{…},"prev":"<64 hex>"}
 *
 * - `seq` counts entries from 1 without gaps; `prev` is the SHA-256 (lower-case hex) of the previous line's
 *   exact bytes without its newline, 64 zeros for entry 1. `at` never goes backwards.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { timestampKey } from "../core/rfc3339.js";
import { closedObject } from "../core/zod-issues.js";

/** What an entry records. `checkpoint` entries are written only by `pruneAuditLog`. */
export const AUDIT_KINDS = ["deploy", "rollback", "stage", "test", "benchmark", "approval", "override", "emergency", "checkpoint"] as const;

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

/** `prev` of the first entry of a log that has never been pruned. */
export const GENESIS_PREV = "0".repeat(64);

/** Longest line (bytes, without the newline) an entry may take. */
export const MAX_LINE_BYTES = 64 * 1024;

const hasControlCharacter = (text: string): boolean => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/** Whether `value` is an object made by an object literal or JSON.parse (no array, class instance or null). */
export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** An entry's `seq`: a whole number from 1. */
export const seqSchema = z.int().min(1);

/** A SHA-256 as the log writes it: 64 lower-case hex digits. */
export const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256: 64 lower-case hex digits");

/** An RFC 3339 UTC timestamp that names a real instant. */
export const timestampSchema = z.string().refine((text) => timestampKey(text) !== undefined, {
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

/** What is wrong with `actor` as an entry's actor, one `actor: …` line per problem. */
export function actorProblems(actor: string): string[] {
  const checked = auditEntrySchema.shape.actor.safeParse(actor);
  return checked.success ? [] : checked.error.issues.map((issue) => `actor: ${issue.message}`);
}

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
