/**
 * Shared by the audit-log tests: signing keys, fixed times, and logs made by appending, by hand, or by
 * editing lines.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadSigningKey, type PublicKey } from "../../src/adapters/minisign.js";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { type AuditEntry, GENESIS_PREV, lineHash, serializeAuditEntry } from "../../src/audit-log/entry.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { tempDir } from "../helpers/temp.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const SEED = randomBytes(32);
export const KEY = loadSigningKey(SEED.toString("hex"), "test");
export const PUBLIC: PublicKey = { keyId: KEY.keyId, publicKey: KEY.publicKey };
export const OTHER_KEY = loadSigningKey(randomBytes(32).toString("hex"), "other");
export const DAY = 24 * 60 * 60 * 1000;
export const T0 = Date.parse("2025-01-01T00:00:00.000Z");
export const KINDS = ["deploy", "rollback", "stage", "benchmark", "approval"] as const;

/** A fresh log path (its folder does not exist yet). */
export function newLog(): string {
  return join(tempDir("shriven-audit-"), "audit", "audit.jsonl");
}

/** A log of `n` entries, one minute apart from T0. */
export function logOf(n: number, file = newLog()): string {
  for (let i = 1; i <= n; i++) {
    appendAuditEntry(file, {
      kind: KINDS[i % KINDS.length] as (typeof KINDS)[number],
      actor: `user-${i % 3}`,
      data: { version: `v1.${i}.0`, hosts: ["a.example", "b.example"], result: "ok", n: i },
      at: new Date(T0 + i * 60_000),
    });
  }
  return file;
}

/** The lines of a log, without their newlines. */
export function linesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

export function writeLines(file: string, lines: readonly string[]): void {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
}

/** The entry on a line, edited by `change`, written back in the log's own form. */
export function edit(line: string, change: (entry: Record<string, unknown>) => void): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  change(entry);
  return serializeAuditEntry(entry as unknown as AuditEntry);
}

/** A correctly chained log made by hand from partial entries (each rendered by `render`). */
export function handmade(
  entries: readonly Record<string, unknown>[],
  render: (entry: Record<string, unknown>, index: number) => string = (entry) => serializeAuditEntry(entry as unknown as AuditEntry),
): string[] {
  let prev = GENESIS_PREV;
  return entries.map((partial, i) => {
    const line = render(
      {
        seq: i + 1,
        at: new Date(T0 + (i + 1) * 60_000).toISOString(),
        kind: "deploy",
        actor: "alice",
        data: { n: i + 1 },
        ...partial,
        prev,
      },
      i,
    );
    prev = lineHash(line);
    return line;
  });
}

export const problems = (file: string, publicKey?: PublicKey) =>
  verifyAuditLog(file, publicKey === undefined ? {} : { publicKey }).problems;
