/**
 * Pruning the tamper-evident audit log: old entries give way to one signed checkpoint that the chain runs
 * through.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { keyIdHex } from "../../src/adapters/minisign.js";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { checkpointMessage } from "../../src/audit-log/checkpoint.js";
import { type AuditEntry, lineHash, serializeAuditEntry } from "../../src/audit-log/entry.js";
import { pruneAuditLog } from "../../src/audit-log/prune.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { DAY, edit, KEY, linesOf, newLog, OTHER_KEY, PUBLIC, problems, SEED, writeLines } from "./log-fixtures.js";

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
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, checkpoint: { verified: "no key given" } });
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
      {
        line: 1,
        problem: `checkpoint signed by key ${keyIdHex(OTHER_KEY.keyId)}, but the trusted public key is ${keyIdHex(KEY.keyId)}: a checkpoint of a foreign key is refused (forged, or the wrong key was given)`,
      },
    ]);
    expect(problems(file, PUBLIC)).toEqual([]);
  });

  it("refuses a forged checkpoint (a foreign key id) across a routine prune, in prune and in verify", () => {
    const { file } = agedLog();
    // The forger removes entries 1–5 under a checkpoint signed with their own key.
    pruneAuditLog(file, { now: NOW, signer: OTHER_KEY });
    const forged = readFileSync(file);
    // The next routine prune, with the trusted release key, must not fold it into a properly signed checkpoint.
    const later = new Date(NOW.getTime() + 30 * DAY);
    expect(() => pruneAuditLog(file, { now: later, signer: KEY })).toThrow(
      new RegExp(
        `refusing to prune a log that does not verify:\\n {2}line 1: checkpoint signed by key ${keyIdHex(OTHER_KEY.keyId)}, but the trusted public key is ${keyIdHex(KEY.keyId)}`,
      ),
    );
    expect(readFileSync(file)).toEqual(forged);
    expect(verifyAuditLog(file, { publicKey: PUBLIC })).toMatchObject({ ok: false, checkpoint: { verified: false } });
    // Without the trusted key, a checkpoint is not taken on trust either.
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, checkpoint: { verified: "no key given" } });
    expect(problems(file)).toEqual([
      {
        line: 1,
        problem: `checkpoint signed by key ${keyIdHex(OTHER_KEY.keyId)} cannot be verified: no trusted public key was given (audit-log verify --public-key minisign.pub)`,
      },
    ]);
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
