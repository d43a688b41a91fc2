/**
 * Verifying the tamper-evident audit log: the verifier names the exact line of every kind of tampering.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lineHash, MAX_LINE_BYTES, serializeAuditEntry } from "../../src/audit-log/entry.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { edit, handmade, linesOf, logOf, newLog, problems, writeLines } from "./log-fixtures.js";

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
      {
        line: 2,
        problem:
          'kind: unknown kind "hack"; expected one of deploy, rollback, stage, test, benchmark, approval, override, emergency, checkpoint',
      },
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
