/**
 * The tamper-evident audit log: appends chain each line to the one before; the
 * verifier names the exact line of every kind of tampering; concurrent writers
 * from several processes never fork the chain; pruning replaces old entries by
 * one signed checkpoint that the chain runs through; and the CLI around it.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  type AuditEntry,
  AuditLogError,
  appendAuditEntry,
  checkpointMessage,
  GENESIS_PREV,
  lineHash,
  MAX_LINE_BYTES,
  pruneAuditLog,
  serializeAuditEntry,
  verifyAuditLog,
} from "../../src/audit/audit-log.js";
import { auditLogCommand } from "../../src/cli/audit-log-command.js";
import { UsageError } from "../../src/core/errors.js";
import { formatPublicKey, keyIdHex, loadSigningKey, type PublicKey } from "../../src/release/minisign.js";
import { tempDir } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SEED = randomBytes(32);
const KEY = loadSigningKey(SEED.toString("hex"), "test");
const PUBLIC: PublicKey = { keyId: KEY.keyId, publicKey: KEY.publicKey };
const OTHER_KEY = loadSigningKey(randomBytes(32).toString("hex"), "other");
const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2025-01-01T00:00:00.000Z");
const KINDS = ["deploy", "rollback", "stage", "benchmark", "approval"] as const;

/** A fresh log path (its folder does not exist yet). */
function newLog(): string {
  return join(tempDir("shriven-audit-"), "audit", "audit.jsonl");
}

/** A log of `n` entries, one minute apart from T0. */
function logOf(n: number, file = newLog()): string {
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
function linesOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

function writeLines(file: string, lines: readonly string[]): void {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(""));
}

/** The entry on a line, edited by `change`, written back in the log's own form. */
function edit(line: string, change: (entry: Record<string, unknown>) => void): string {
  const entry = JSON.parse(line) as Record<string, unknown>;
  change(entry);
  return serializeAuditEntry(entry as unknown as AuditEntry);
}

/** A correctly chained log made by hand from partial entries (each rendered by `render`). */
function handmade(
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

const problems = (file: string, publicKey?: PublicKey) => verifyAuditLog(file, publicKey === undefined ? {} : { publicKey }).problems;

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
        '  kind: "checkpoint" cannot be appended; expected one of deploy, rollback, stage, benchmark, approval, override',
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
      import { appendAuditEntry } from ${JSON.stringify(join(ROOT, "src/audit/audit-log.ts"))};
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

describe("verifying names the line of each tampering", () => {
  it("an edited middle line: the edited line, not the one after it", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    lines[7] = edit(lines[7] as string, (e) => {
      (e.data as Record<string, unknown>).version = "v6.6.6";
    });
    writeLines(file, lines);
    expect(problems(file)).toEqual([
      {
        line: 8,
        problem: expect.stringMatching(
          /^edited: its SHA-256 [0-9a-f]{12}… is not the prev [0-9a-f]{12}… that line 9, the next entry, records$/,
        ),
      },
    ]);
  });

  it("an edit by text replacement of the first line", () => {
    const file = logOf(5);
    const lines = linesOf(file);
    lines[0] = (lines[0] as string).replace('"result":"ok"', '"result":"failed"');
    writeLines(file, lines);
    expect(problems(file)).toEqual([{ line: 1, problem: expect.stringMatching(/^edited: .* that line 2, the next entry, records$/) }]);
  });

  it("an edited line whose prev was changed too: that line, matching neither neighbour", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    lines[9] = edit(lines[9] as string, (e) => {
      e.prev = lineHash("forged");
    });
    writeLines(file, lines);
    expect(problems(file)).toEqual([
      { line: 10, problem: "edited: its prev is not the SHA-256 of line 9 and its own SHA-256 is not the prev of line 11" },
    ]);
  });

  it("a deleted line, several deleted lines, the deleted first line", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    writeLines(file, [...lines.slice(0, 6), ...lines.slice(7)]);
    expect(problems(file)).toEqual([{ line: 7, problem: "seq 8 follows seq 6: entry 7 is missing" }]);
    writeLines(file, [...lines.slice(0, 6), ...lines.slice(9)]);
    expect(problems(file)).toEqual([{ line: 7, problem: "seq 10 follows seq 6: entries 7–9 are missing" }]);
    writeLines(file, lines.slice(1));
    expect(problems(file)).toEqual([{ line: 1, problem: "seq 2 is the first entry, but no checkpoint precedes it: entry 1 is missing" }]);
  });

  it("two swapped lines, and a line moved away", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    const swapped = [...lines];
    [swapped[4], swapped[5]] = [lines[5] as string, lines[4] as string];
    writeLines(file, swapped);
    expect(problems(file)).toEqual([{ line: 5, problem: "lines 5 and 6 are swapped: seq 6 comes before seq 5" }]);
    writeLines(file, [...lines.slice(0, 2), ...lines.slice(3), lines[2] as string]);
    expect(problems(file)).toEqual([{ line: 20, problem: "seq 3 comes after seq 20 (line 19): the lines are out of order" }]);
  });

  it("a truncated last line, and a last line that lost only its newline", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    writeFileSync(file, `${lines.slice(0, 19).join("\n")}\n${(lines[19] as string).slice(0, 50)}`);
    expect(problems(file)).toEqual([{ line: 20, problem: "truncated: the last line ends without a newline and is not complete JSON" }]);
    writeFileSync(file, lines.join("\n"));
    expect(problems(file)).toEqual([{ line: 20, problem: "truncated: the last line has no terminating newline" }]);
  });

  it("a line appended by hand with a wrong prev", () => {
    const file = logOf(20);
    const lines = linesOf(file);
    const forged = serializeAuditEntry({
      seq: 21,
      at: "2025-02-01T00:00:00.000Z",
      kind: "approval",
      actor: "mallory",
      data: { approved: "v9" },
      prev: lineHash(lines[18] as string),
    });
    writeLines(file, [...lines, forged]);
    expect(problems(file)).toEqual([
      {
        line: 21,
        problem: expect.stringMatching(
          /^prev [0-9a-f]{12}… is not the SHA-256 [0-9a-f]{12}… of line 20: line 21 was added or changed by hand, or line 20 was edited$/,
        ),
      },
    ]);
  });

  it("a line inserted with a repeated seq: the inserted one", () => {
    const file = logOf(10);
    const lines = linesOf(file);
    const inserted = edit(lines[4] as string, (e) => {
      e.actor = "mallory";
    });
    writeLines(file, [...lines.slice(0, 5), inserted, ...lines.slice(5)]);
    expect(problems(file)).toEqual([
      { line: 6, problem: "seq 5 repeats the seq of line 5: entry 6 chains to line 5, so line 6 was inserted" },
    ]);
  });

  it("bad timestamps, timestamps going backwards, an unknown kind, a hand-formatted line, a misplaced checkpoint", () => {
    const file = newLog();
    mkdirSync(join(file, ".."), { recursive: true });
    writeLines(file, handmade([{}, { at: "2025-02-30T00:00:00Z" }, { at: "2025-01-02T00:00:00+01:00" }, {}]));
    expect(problems(file)).toEqual([
      { line: 2, problem: 'at: "2025-02-30T00:00:00Z" is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)' },
      { line: 3, problem: 'at: "2025-01-02T00:00:00+01:00" is not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z)' },
    ]);
    writeLines(
      file,
      handmade([{}, { at: "2025-01-01T10:00:00.000Z" }, { at: "2025-01-01T09:59:59.999Z" }, { at: "2025-01-01T11:00:00Z" }]),
    );
    expect(problems(file)).toEqual([
      { line: 3, problem: "at 2025-01-01T09:59:59.999Z is earlier than 2025-01-01T10:00:00.000Z of line 2: timestamps go backwards" },
    ]);
    writeLines(file, handmade([{}, { kind: "hack" }, {}]));
    expect(problems(file)).toEqual([
      { line: 2, problem: 'kind: unknown kind "hack"; expected one of deploy, rollback, stage, benchmark, approval, override, checkpoint' },
    ]);
    writeLines(
      file,
      handmade([{}, {}, {}], (entry, i) =>
        i === 1 ? JSON.stringify(entry, null, 0).replaceAll(',"', ', "') : serializeAuditEntry(entry as never),
      ),
    );
    expect(problems(file)).toEqual([
      {
        line: 2,
        problem: "not in the form the audit log writes (key order, spacing, number or string format): it was written or edited by hand",
      },
    ]);
    writeLines(file, handmade([{}, { kind: "checkpoint", data: {} }, {}]));
    expect(problems(file)).toEqual([
      { line: 2, problem: expect.stringMatching(/^data\.prunedEntries: /) },
      ...Array(7).fill({ line: 2, problem: expect.stringMatching(/^data\./) }),
      { line: 2, problem: "a checkpoint can only be the first line of the log (pruning puts it there)" },
    ]);
  });

  it("malformed files: empty, missing, a non-JSON line, an empty line, a huge line, a non-object, an extra key", () => {
    const file = newLog();
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, "");
    expect(verifyAuditLog(file)).toEqual({ ok: true, entries: 0, problems: [] });
    expect(() => verifyAuditLog(`${file}.missing`)).toThrow(`${file}.missing: file not found`);
    logOf(10, file);
    const lines = linesOf(file);
    writeLines(file, [...lines.slice(0, 4), "hello, auditor", ...lines.slice(5)]);
    expect(problems(file)).toEqual([{ line: 5, problem: expect.stringMatching(/^not valid JSON: /) }]);
    writeLines(file, [...lines.slice(0, 4), "", ...lines.slice(4)]);
    expect(problems(file)).toEqual([{ line: 5, problem: "empty line" }]);
    const huge = `{"seq":5,"data":"${"x".repeat(100_000)}"}`;
    writeLines(file, [...lines.slice(0, 4), huge, ...lines.slice(5)]);
    expect(problems(file)).toEqual([
      { line: 5, problem: `${huge.length} bytes: longer than the ${MAX_LINE_BYTES} bytes an entry may have` },
    ]);
    writeLines(file, [...lines.slice(0, 4), "[1,2,3]", ...lines.slice(5)]);
    expect(problems(file)).toEqual([{ line: 5, problem: "not a JSON object" }]);
    writeLines(
      file,
      handmade([{}, { extra: 1 }], (entry) => JSON.stringify(entry)),
    );
    expect(problems(file)).toEqual([{ line: 2, problem: "extra: unknown key; expected one of: seq, at, kind, actor, data, prev" }]);
    writeFileSync(file, Buffer.from([0xff, 0xfe, 0x0a]));
    expect(problems(file)).toEqual([{ line: 1, problem: "not valid UTF-8" }]);
  });
});

describe("pruning into a signed checkpoint", () => {
  const NOW = new Date("2025-09-01T00:00:00.000Z");
  const ages = [200, 150, 120, 100, 91, 60, 20, 1];

  /** Entries `ages` days before NOW (seq 1 the oldest). */
  function agedLog(): { file: string; original: string[] } {
    const file = newLog();
    for (const [i, age] of ages.entries()) {
      appendAuditEntry(file, { kind: "deploy", actor: "alice", data: { n: i + 1 }, at: new Date(NOW.getTime() - age * DAY) });
    }
    return { file, original: linesOf(file) };
  }

  it("keeps the recent entries, adds one checkpoint that verifies with the key, and appends after it", () => {
    const { file, original } = agedLog();
    const result = pruneAuditLog(file, { now: NOW, signer: KEY });
    expect(result.pruned.map((p) => [p.line, p.seq])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(result.kept).toBe(3);
    const lines = linesOf(file);
    expect(lines).toHaveLength(4);
    expect(lines.slice(1)).toEqual(original.slice(5));
    const checkpoint = JSON.parse(lines[0] as string) as AuditEntry;
    expect(checkpoint).toEqual(result.checkpoint);
    expect(checkpoint).toMatchObject({
      seq: 5,
      at: JSON.parse(original[4] as string).at,
      kind: "checkpoint",
      actor: "audit-log prune",
      prev: lineHash(original[4] as string),
      data: {
        prunedEntries: 5,
        prunedThroughSeq: 5,
        prunedThroughHash: lineHash(original[4] as string),
        firstRemovedAt: JSON.parse(original[0] as string).at,
        lastRemovedAt: JSON.parse(original[4] as string).at,
        prunedAt: NOW.toISOString(),
        keyId: keyIdHex(KEY.keyId),
        signature: expect.stringMatching(/^[A-Za-z0-9+/]{86}==$/),
      },
    });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({
      ok: true,
      entries: 4,
      problems: [],
      checkpoint: { line: 1, verified: true, keyId: keyIdHex(KEY.keyId), prunedEntries: 5, prunedThroughSeq: 5 },
    });
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, checkpoint: { verified: "no key given" } });
    const next = appendAuditEntry(file, { kind: "approval", actor: "bob", data: {} });
    expect(next).toMatchObject({ seq: 9, prev: lineHash(lines[3] as string) });
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({ ok: true, entries: 5 });
    // Nothing old enough: nothing written.
    const before = readFileSync(file);
    expect(pruneAuditLog(file, { now: NOW, signer: KEY })).toEqual({ pruned: [], kept: 4 });
    expect(readFileSync(file)).toEqual(before);
  });

  it("fails when the checkpoint is edited, re-signed by another key, or its signature replaced", () => {
    const { file } = agedLog();
    pruneAuditLog(file, { now: NOW, signer: KEY });
    const lines = linesOf(file);
    const expectOnLine1 = (pattern: RegExp) => {
      const found = problems(file, PUBLIC);
      expect(found.every((p) => p.line === 1)).toBe(true);
      expect(found.map((p) => p.problem)).toContainEqual(expect.stringMatching(pattern));
    };
    writeLines(file, [
      edit(lines[0] as string, (e) => {
        (e.data as Record<string, unknown>).prunedEntries = 3;
      }),
      ...lines.slice(1),
    ]);
    expectOnLine1(/^checkpoint signature does not verify with key [0-9A-F]{16}: the checkpoint was edited or forged$/);
    expectOnLine1(/^checkpoint data\.prunedEntries 3 differs from data\.prunedThroughSeq 5/);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, checkpoint: { verified: "no key given" } });

    writeLines(file, [
      edit(lines[0] as string, (e) => {
        (e.data as Record<string, unknown>).firstRemovedAt = "2025-03-01T00:00:00.000Z";
      }),
      ...lines.slice(1),
    ]);
    expect(problems(file, PUBLIC)).toEqual([
      { line: 1, problem: `checkpoint signature does not verify with key ${keyIdHex(KEY.keyId)}: the checkpoint was edited or forged` },
    ]);
    expect(verifyAuditLog(file, { publicKey: PUBLIC }).checkpoint?.verified).toBe(false);

    writeLines(file, [
      edit(lines[0] as string, (e) => {
        (e.data as Record<string, unknown>).signature = randomBytes(64).toString("base64");
      }),
      ...lines.slice(1),
    ]);
    expect(problems(file, PUBLIC)).toEqual([
      { line: 1, problem: `checkpoint signature does not verify with key ${keyIdHex(KEY.keyId)}: the checkpoint was edited or forged` },
    ]);

    // A forger with their own key: verifies only against their key.
    writeLines(file, lines);
    const forged = agedLog();
    pruneAuditLog(forged.file, { now: NOW, signer: OTHER_KEY });
    expect(problems(forged.file, PUBLIC)).toEqual([
      { line: 1, problem: `checkpoint signed by key ${keyIdHex(OTHER_KEY.keyId)}, but the public key given is ${keyIdHex(KEY.keyId)}` },
    ]);
    expect(problems(file, PUBLIC)).toEqual([]);
  });

  it("still checks the chain through a validly signed checkpoint", () => {
    const { file } = agedLog();
    pruneAuditLog(file, { now: NOW, signer: KEY });
    const lines = linesOf(file);
    const checkpoint = JSON.parse(lines[0] as string) as AuditEntry;
    const wrong = lineHash("another history");
    const { signature: _, ...data } = checkpoint.data as Record<string, string | number>;
    const resigned = { ...checkpoint, prev: wrong, data: { ...data, prunedThroughHash: wrong } } as unknown as AuditEntry;
    const signature = KEY.sign(checkpointMessage(resigned as never)).toString("base64");
    writeLines(file, [serializeAuditEntry({ ...resigned, data: { ...resigned.data, signature } }), ...lines.slice(1)]);
    expect(problems(file, PUBLIC)).toEqual([
      {
        line: 1,
        problem: expect.stringMatching(
          /^the checkpoint's prunedThroughHash [0-9a-f]{12}… is not the prev [0-9a-f]{12}… of line 2, the entry after it$/,
        ),
      },
    ]);
  });

  it("still names tampering of the kept lines", () => {
    const { file } = agedLog();
    pruneAuditLog(file, { now: NOW, signer: KEY });
    const lines = linesOf(file);
    writeLines(file, [
      ...lines.slice(0, 2),
      edit(lines[2] as string, (e) => {
        e.actor = "mallory";
      }),
      ...lines.slice(3),
    ]);
    // Line 4 is the last: nothing vouches for its prev, so either line may be the changed one.
    expect(problems(file, PUBLIC)).toEqual([
      { line: 4, problem: expect.stringMatching(/^prev .* of line 3: line 4 was added or changed by hand, or line 3 was edited$/) },
    ]);
    writeLines(file, [
      lines[0] as string,
      edit(lines[1] as string, (e) => {
        e.actor = "mallory";
      }),
      ...lines.slice(2),
    ]);
    expect(problems(file, PUBLIC)).toEqual([{ line: 2, problem: expect.stringMatching(/^edited: .* line 3, the next entry, records$/) }]);
    writeLines(file, [lines[0] as string, ...lines.slice(2)]);
    expect(problems(file, PUBLIC)).toEqual([{ line: 2, problem: "seq 7 follows seq 5: entry 6 is missing" }]);
    writeLines(file, [lines[0] as string, lines[2] as string, lines[1] as string, lines[3] as string]);
    expect(problems(file, PUBLIC)).toEqual([{ line: 2, problem: "lines 2 and 3 are swapped: seq 7 comes before seq 6" }]);
    writeLines(file, lines.slice(1));
    expect(problems(file, PUBLIC)).toEqual([
      { line: 1, problem: "seq 6 is the first entry, but no checkpoint precedes it: entries 1–5 are missing" },
    ]);
  });

  it("refuses to prune a log that does not verify, and changes nothing", () => {
    const { file, original } = agedLog();
    const tampered = [...original];
    tampered[2] = edit(original[2] as string, (e) => {
      e.actor = "mallory";
    });
    writeLines(file, tampered);
    expect(() => pruneAuditLog(file, { now: NOW, signer: KEY })).toThrow(
      new RegExp(`^${file}:\\n {2}refusing to prune a log that does not verify:\\n {2}line 3: edited: `),
    );
    expect(linesOf(file)).toEqual(tampered);
  });

  it("prunes twice: the new checkpoint covers the old one", () => {
    const { file, original } = agedLog();
    const first = pruneAuditLog(file, { now: NOW, signer: KEY });
    appendAuditEntry(file, { kind: "stage", actor: "ci", data: {}, at: new Date(NOW.getTime() + 10 * DAY) });
    appendAuditEntry(file, { kind: "stage", actor: "ci", data: {}, at: new Date(NOW.getTime() + 20 * DAY) });
    const later = new Date(NOW.getTime() + 75 * DAY);
    const second = pruneAuditLog(file, { now: later, signer: KEY, actor: "ops" });
    expect(second.replacedCheckpoint).toEqual(first.checkpoint);
    expect(second.pruned.map((p) => p.seq)).toEqual([6, 7]);
    expect(second.kept).toBe(3);
    const lines = linesOf(file);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe(original[7]);
    expect(second.checkpoint).toMatchObject({
      seq: 7,
      actor: "ops",
      prev: lineHash(original[6] as string),
      data: {
        prunedEntries: 7,
        prunedThroughSeq: 7,
        firstRemovedAt: JSON.parse(original[0] as string).at,
        lastRemovedAt: JSON.parse(original[6] as string).at,
        prunedAt: later.toISOString(),
      },
    });
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({
      ok: true,
      entries: 4,
      checkpoint: { verified: true, prunedEntries: 7 },
    });
    writeLines(file, [...lines.slice(0, 2), lines[3] as string]);
    expect(problems(file, PUBLIC)).toEqual([{ line: 3, problem: "seq 10 follows seq 8: entry 9 is missing" }]);
  });

  it("prunes every entry, and the chain continues from the checkpoint alone", () => {
    const { file, original } = agedLog();
    const result = pruneAuditLog(file, { now: new Date(NOW.getTime() + 365 * DAY), signer: KEY });
    expect(result).toMatchObject({ kept: 0, checkpoint: { seq: 8 } });
    expect(linesOf(file)).toHaveLength(1);
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({ ok: true, entries: 1 });
    const next = appendAuditEntry(file, { kind: "deploy", actor: "alice", data: {} });
    expect(next).toMatchObject({ seq: 9, prev: lineHash(original[7] as string) });
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({ ok: true, entries: 2, problems: [] });
  });

  it("writes nothing of the signing key into the log", () => {
    const { file } = agedLog();
    pruneAuditLog(file, { now: NOW, signer: KEY });
    const text = readFileSync(file, "utf8");
    for (const secret of [SEED.toString("hex"), SEED.toString("base64"), SEED.toString("hex").toUpperCase(), SEED.toString("base64url")]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(8, 40));
    }
    expect(text).toContain(keyIdHex(KEY.keyId));
  });
});

describe("the audit-log command", () => {
  type Io = Parameters<typeof auditLogCommand>[1];
  async function run(args: string[], options: { cwd: string; env?: Record<string, string> }) {
    let stdout = "";
    let stderr = "";
    const io: Io = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: options.env ?? {},
      cwd: options.cwd,
    };
    const code = await auditLogCommand(args, io);
    return { code, stdout, stderr };
  }

  /** A workspace whose default log holds entries 200, 100, 10 and 1 days old. */
  function workspace(): { source: string; file: string } {
    const source = tempDir("shriven-audit-cli-");
    const file = join(source, ".shriven-pipeline/audit/audit.jsonl");
    for (const age of [200, 100, 10, 1]) {
      appendAuditEntry(file, { kind: "deploy", actor: "alice", data: { age }, at: new Date(Date.now() - age * DAY) });
    }
    return { source, file };
  }

  it("verifies the default log of the current folder or --source, and names each problem", async () => {
    const { source, file } = workspace();
    const ok = await run(["verify"], { cwd: source });
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(
      /^✅ audit log verifies: 4 entries \(\.shriven-pipeline\/audit\/audit\.jsonl\)\n {4}head: line 4, seq 4, sha256 [0-9a-f]{64}/,
    );
    const lines = linesOf(file);
    writeLines(file, [lines[0] as string, lines[2] as string, lines[3] as string]);
    const bad = await run(["verify", "--source", source], { cwd: ROOT });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("❌ line 2: seq 3 follows seq 1: entry 2 is missing\n❌ audit log does NOT verify: 1 problem in 3 lines");
    const missing = await run(["verify", "--file", "nowhere.jsonl"], { cwd: source });
    expect(missing).toEqual({ code: 1, stdout: "", stderr: `shriven-pipeline: ${join(source, "nowhere.jsonl")}: file not found\n` });
  });

  it("prunes with the key of $RELEASE_SIGNING_KEY, lists what it prunes, and never prints the key", async () => {
    const { source, file } = workspace();
    const secret = SEED.toString("hex");
    const pruned = await run(["prune", "--source", source], { cwd: source, env: { RELEASE_SIGNING_KEY: secret, GITHUB_ACTOR: "ops-bot" } });
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toMatch(
      new RegExp(
        `^Pruned 2 entries older than 90 days from \\.shriven-pipeline/audit/audit\\.jsonl into a checkpoint signed by key ${keyIdHex(KEY.keyId)}:\\n` +
          " {4}- seq 1 {2}\\S+Z {2}deploy by alice\\n {4}- seq 2 {2}\\S+Z {2}deploy by alice\\n {4}kept 2 entries; the checkpoint stands for entries 1–2\\n",
      ),
    );
    expect(`${pruned.stdout}${pruned.stderr}${readFileSync(file, "utf8")}`).not.toContain(secret.slice(0, 32));
    expect(JSON.parse(linesOf(file)[0] as string).actor).toBe("ops-bot");
    writeFileSync(join(source, "minisign.pub"), formatPublicKey(PUBLIC));
    const verified = await run(["verify", "--public-key", "minisign.pub"], { cwd: source });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      /^✅ audit log verifies: 3 entries .*\n {4}checkpoint \(line 1\): entries 1–2 pruned .* signature verified\n/,
    );
    const unverified = await run(["verify"], { cwd: source });
    expect(unverified.stdout).toContain("⚠️ checkpoint (line 1)");
    expect(unverified.stdout).toContain("signature NOT checked (give --public-key minisign.pub)");
    const again = await run(["prune", "--days", "5", "--signing-key-file", "key"], { cwd: source, env: {} }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Error); // no such key file: a ConfigError naming it
    writeFileSync(join(source, "key"), `${secret}\n`);
    const five = await run(["prune", "--days", "5", "--signing-key-file", "key"], { cwd: source });
    expect(five.stdout).toContain("    - the earlier checkpoint of entries 1–2 (folded into the new one)\n    - seq 3 ");
    expect(five.stdout).not.toContain(secret.slice(0, 32));
  });

  it("shows the last entries, and refuses bad usage", async () => {
    const { source } = workspace();
    const shown = await run(["show", "--last", "2"], { cwd: source });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^line 3 {2}seq 3 {2}\S+Z {2}deploy {5}alice {2}\{"age":10\}\nline 4 {2}seq 4 {2}\S+Z {2}deploy {5}alice {2}\{"age":1\}\n$/,
    );
    await expect(run(["prune"], { cwd: source })).rejects.toThrow(
      new UsageError("audit-log prune needs a signing key for its checkpoint: --signing-key-file FILE or the RELEASE_SIGNING_KEY secret"),
    );
    await expect(run(["show", "--last", "0"], { cwd: source })).rejects.toThrow('--last: expected a whole number ≥ 1, got "0"');
    await expect(run(["rewrite"], { cwd: source })).rejects.toThrow(/^audit-log: unknown subcommand "rewrite"; expected verify/);
    await expect(run([], { cwd: source })).rejects.toThrow(UsageError);
    await expect(run(["verify", "--bogus"], { cwd: source })).rejects.toThrow(UsageError);
  });
});
