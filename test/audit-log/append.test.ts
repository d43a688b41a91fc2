/**
 * Appending to the tamper-evident audit log: appends chain each line to the one before, and concurrent
 * writers from several processes never fork the chain.
 */
import { existsSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { AuditLogError } from "../../src/audit-log/audit-log-error.js";
import { type AuditEntry, GENESIS_PREV, lineHash, MAX_LINE_BYTES } from "../../src/audit-log/entry.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { KINDS, linesOf, logOf, newLog, ROOT, T0, writeLines } from "./log-fixtures.js";

describe("appending", () => {
  it("chains every line to the one before, with fixed key order, and the log verifies", () => {
    const file = newLog();
    const returned: AuditEntry[] = [];
    for (let i = 1; i <= 60; i++) {
      returned.push(
        appendAuditEntry(file, {
          kind: KINDS[i % KINDS.length] as (typeof KINDS)[number],
          actor: "alice",
          data: { version: `v${i}`, hosts: ["h1", "h2"], result: i % 7 === 0 ? "failed" : "ok", details: { "ünïcode ✓": true, n: null } },
        }),
      );
    }
    const lines = linesOf(file);
    expect(lines).toHaveLength(60);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    lines.forEach((line, i) => {
      expect(line).toMatch(/^\{"seq":\d+,"at":"[^"]+Z","kind":"[a-z]+","actor":"alice","data":\{.*\},"prev":"[0-9a-f]{64}"\}$/);
      const entry = JSON.parse(line) as AuditEntry;
      expect(entry).toEqual(returned[i]);
      expect(entry.seq).toBe(i + 1);
      expect(entry.prev).toBe(i === 0 ? GENESIS_PREV : lineHash(lines[i - 1] as string));
    });
    const verification = verifyAuditLog(file);
    expect(verification).toEqual({
      ok: true,
      entries: 60,
      problems: [],
      head: { line: 60, seq: 60, sha256: lineHash(lines[59] as string) },
    });
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("refuses input it could not write back faithfully, and timestamps that go backwards", () => {
    const file = logOf(2);
    const bad = () =>
      appendAuditEntry(file, {
        kind: "checkpoint" as "deploy",
        actor: "",
        data: { a: undefined, b: Number.NaN, c: new Date(0), d: [1, Infinity] },
      });
    expect(bad).toThrow(AuditLogError);
    expect(bad).toThrow(
      [
        `${file}:`,
        '  kind: "checkpoint" cannot be appended; expected one of deploy, rollback, stage, test, benchmark, approval, override, emergency',
        "  actor: must not be empty",
        "  data.a: undefined is not JSON (leave the key out, or use null)",
        "  data.b: NaN is not a JSON number",
        "  data.c: a Date is not JSON",
        "  data.d[1]: Infinity is not a JSON number",
      ].join("\n"),
    );
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {}, at: "2025-02-30T00:00:00Z" })).toThrow(
      'at: "2025-02-30T00:00:00Z" is not an RFC 3339 UTC timestamp',
    );
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {}, at: new Date(T0) })).toThrow(
      `at 2025-01-01T00:00:00.000Z is earlier than the last entry's 2025-01-01T00:02:00.000Z`,
    );
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: { blob: "x".repeat(MAX_LINE_BYTES) } })).toThrow(
      `at most ${MAX_LINE_BYTES} are allowed`,
    );
    expect(linesOf(file)).toHaveLength(2);
    expect(verifyAuditLog(file).ok).toBe(true);
  });

  it("refuses to append after a last line that does not parse, naming the file and the line", () => {
    const file = logOf(5);
    const lines = linesOf(file);
    writeFileSync(file, `${lines.join("\n")}\n${(lines[4] as string).slice(0, 40)}`);
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} })).toThrow(
      `${file}: line 6: truncated: the last line ends without a newline and is not complete JSON; refusing to append`,
    );
    writeLines(file, [...lines, "not json"]);
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} })).toThrow(`${file}: line 6: not valid JSON`);
    writeLines(file, [...lines, `{"blob":"${"x".repeat(MAX_LINE_BYTES + 10)}"}`]);
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} })).toThrow(
      `${file}: line 6: longer than the ${MAX_LINE_BYTES} bytes an entry may have`,
    );
  });

  it("waits a bounded time for another writer's lock, reports a stale one and breaks it only when told", () => {
    const file = logOf(1);
    const lock = `${file}.lock`;
    writeFileSync(lock, "pid 1 on elsewhere since then\n");
    const started = Date.now();
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} }, { lockTimeoutMs: 300 })).toThrow(
      `${lock}: timed out after 300 ms waiting for the lock (pid 1 on elsewhere since then)`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(() => appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} })).toThrow(/: stale lock, 60 s old \(pid 1 on elsewhere/);
    expect(existsSync(lock)).toBe(true);
    expect(linesOf(file)).toHaveLength(1);
    appendAuditEntry(file, { kind: "deploy", actor: "a", data: {} }, { breakStaleLock: true });
    expect(existsSync(lock)).toBe(false);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 2 });
  });

  it("never forks the chain: 8 processes appending 25 entries each give 200 entries, seq 1–200 once each", async () => {
    const file = newLog();
    const script = `
      import { appendAuditEntry } from ${JSON.stringify(join(ROOT, "src/audit-log/append.ts"))};
      const worker = Number(process.env.WORKER);
      for (let n = 0; n < 25; n++)
        appendAuditEntry(process.env.AUDIT_FILE, { kind: "stage", actor: "worker-" + worker, data: { worker, n } }, { lockTimeoutMs: 30000 });
    `;
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, worker) =>
        execa("node", ["--import", "tsx", "--input-type=module", "-e", script], {
          cwd: ROOT,
          env: { AUDIT_FILE: file, WORKER: String(worker) },
          timeout: 90_000,
          reject: false,
        }),
      ),
    );
    for (const run of runs) expect(run.stderr).toBe("");
    expect(runs.map((r) => r.exitCode)).toEqual(Array(8).fill(0));
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 200, problems: [] });
    const entries = linesOf(file).map((l) => JSON.parse(l) as AuditEntry);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (let worker = 0; worker < 8; worker++) {
      expect(entries.filter((e) => e.data.worker === worker).map((e) => e.data.n)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    }
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 120_000);
});
