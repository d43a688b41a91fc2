/**
 * The clippy baseline's pure parts: fingerprints, counting against a
 * baseline, the verdict, and reading a hand-edited or hostile file.
 */
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../../src/cargo/messages.js";
import { compareWithBaseline } from "../../src/lint/baseline-compare.js";
import { type ClippyBaseline, makeClippyBaseline, parseClippyBaseline, serialiseClippyBaseline } from "../../src/lint/clippy-baseline.js";
import { fingerprintOf } from "../../src/lint/lint-fingerprint.js";
import { judgeAgainstBaseline } from "../../src/steps/dev/clippy.js";
import { configError } from "../helpers/config-error.js";

const TOOLCHAIN = "clippy 0.1.95 (59807616e1 2026-04-14)";
const FILE = ".shriven-pipeline/clippy-baseline.json";

function warning(code: string, file: string, line: number, sourceLine: string, message = `lint ${code}`, column = 5): Diagnostic {
  return { level: "warning", code, message, file, line, column, sourceLine, rendered: message };
}

const RANGE = warning("clippy::needless_range_loop", "src/lib.rs", 3, "    for i in 0..v.len() {");
const RETURN = warning("clippy::needless_return", "src/lib.rs", 9, "    return x;");
const PTR = warning("clippy::ptr_arg", "src/other.rs", 1, "pub fn g(x: &Vec<i64>) -> usize {");

function baselineOf(warnings: readonly Diagnostic[]): ClippyBaseline {
  return makeClippyBaseline(warnings, { savedBy: "alice", reason: "legacy", toolchain: TOOLCHAIN, now: new Date("2026-05-01T12:00:00Z") })
    .baseline;
}

const shifted = (w: Diagnostic, by: number, indent = ""): Diagnostic => ({
  ...w,
  line: (w.line ?? 0) + by,
  sourceLine: `${indent}${w.sourceLine}`,
});

describe("fingerprints", () => {
  it("are the lint, the file and the flagged line's text with whitespace collapsed, never the line number", () => {
    expect(fingerprintOf(RANGE)).toEqual({ code: "clippy::needless_range_loop", file: "src/lib.rs", snippet: "for i in 0..v.len() {" });
    expect(fingerprintOf(shifted(RANGE, 40, "\t  "))).toEqual(fingerprintOf(RANGE));
    expect(fingerprintOf({ ...RANGE, sourceLine: "    for  i in 0..v.len()   {" })).toEqual(fingerprintOf(RANGE));
  });

  it("turn \\ into / and drop ./; a warning that quotes no source line is known by its message", () => {
    expect(fingerprintOf({ ...RANGE, file: ".\\src\\lib.rs" }).file).toBe("src/lib.rs");
    expect(fingerprintOf({ ...RANGE, file: undefined, sourceLine: undefined, code: undefined })).toEqual({
      code: null,
      file: null,
      snippet: "lint clippy::needless_range_loop",
    });
  });

  it("replace control characters, so a stored snippet cannot drive a terminal, and cut long lines", () => {
    const fingerprint = fingerprintOf({ ...RANGE, sourceLine: `let s = "\u001b[31m";${"x".repeat(500)}` });
    expect(fingerprint.snippet.includes("\u001b")).toBe(false);
    expect(fingerprint.snippet).toContain("\ufffd[31m");
    expect(Array.from(fingerprint.snippet)).toHaveLength(200);
  });
});

describe("comparing with a baseline", () => {
  const baseline = baselineOf([RANGE, RETURN, PTR]);

  it("holds the same warnings after lines were inserted above them and the code re-indented", () => {
    const result = compareWithBaseline([shifted(RANGE, 5, "    "), shifted(RETURN, 5), PTR], baseline.warnings);
    expect(result.newWarnings).toEqual([]);
    expect(result.fixed).toEqual([]);
    expect(result.baselined).toHaveLength(3);
  });

  it("names only the new warning, and the fixed entry of a warning that is gone", () => {
    const added = warning("clippy::ptr_arg", "src/other.rs", 7, "pub fn h(x: &Vec<u8>) -> usize {");
    const result = compareWithBaseline([RANGE, PTR, added], baseline.warnings);
    expect(result.newWarnings).toEqual([{ warning: added }]);
    expect(result.fixed.map((e) => [e.code, e.line])).toEqual([["clippy::needless_return", 9]]);
  });

  it("counts identical warnings: one more than the baseline holds is one new warning, carrying every line", () => {
    const again = warning("clippy::needless_return", "src/lib.rs", 20, "        return x;");
    const result = compareWithBaseline([RANGE, RETURN, again, PTR], baseline.warnings);
    expect(result.newWarnings).toEqual([{ warning: again, identical: { found: 2, baselined: 1, lines: [9, 20] } }]);
    expect(result.baselined).toHaveLength(3);
    // Two baselined, one left: one fixed.
    const two = baselineOf([RETURN, { ...RETURN, line: 30 }]);
    expect(compareWithBaseline([RETURN], two.warnings).fixed.map((e) => e.line)).toEqual([30]);
  });

  it("treats an edited flagged line, or a warning moved to another file, as new (and the old entry as fixed)", () => {
    const edited = { ...RANGE, sourceLine: "    for j in 0..v.len() {" };
    const moved = { ...PTR, file: "src/moved.rs" };
    const result = compareWithBaseline([edited, RETURN, moved], baseline.warnings);
    expect(result.newWarnings.map((n) => n.warning)).toEqual([edited, moved]);
    expect(result.fixed.map((e) => e.file)).toEqual(["src/lib.rs", "src/other.rs"]);
  });

  it("never matches a warning outside the workspace: it is not recorded, so it is always new", () => {
    const outside = warning("unused_variables", "/home/u/dep/src/lib.rs", 2, "let x = 1;");
    const made = makeClippyBaseline([RANGE, outside], { savedBy: "a", reason: "r", toolchain: TOOLCHAIN, now: new Date() });
    expect(made.baseline.warnings).toHaveLength(1);
    expect(made.outside).toEqual([outside]);
    expect(compareWithBaseline([RANGE, outside], made.baseline.warnings).newWarnings).toEqual([{ warning: outside }]);
  });
});

describe("the verdict against a baseline", () => {
  const baseline = baselineOf([RANGE, RETURN, PTR]);

  it("warns, never passes as clean, while baselined warnings are left; names fixed ones and how to shrink", () => {
    const outcome = judgeAgainstBaseline(compareWithBaseline([RANGE, PTR], baseline.warnings), baseline, TOOLCHAIN);
    expect(outcome.status).toBe("warned");
    expect(outcome.summary).toBe(
      'No new warnings; 2 baselined warnings left, 1 fixed (shrink the baseline: shriven-pipeline clippy-baseline --save --reason "…")',
    );
    expect(outcome.details).toContain("fixed: src/lib.rs:9 (as saved): warning[clippy::needless_return]: lint clippy::needless_return");
    expect(outcome.details).toContain("baselined, still there: 1 × clippy::needless_range_loop, 1 × clippy::ptr_arg");
  });

  it("fails on a new warning, and says when clippy changed since the baseline was saved", () => {
    const added = warning("clippy::new_lint", "src/lib.rs", 4, "let y = 2;", "a lint of a newer clippy", 9);
    const outcome = judgeAgainstBaseline(compareWithBaseline([RANGE, RETURN, PTR, added], baseline.warnings), baseline, "clippy 0.1.99");
    expect(outcome.status).toBe("failed");
    expect(outcome.summary).toBe(
      "1 new warning not in the clippy baseline: src/lib.rs:4: a lint of a newer clippy [clippy::new_lint] (3 baselined; clippy changed since the baseline was saved)",
    );
    expect(outcome.details).toContain("new: src/lib.rs:4:9: warning[clippy::new_lint]: a lint of a newer clippy");
    expect(outcome.details).toContain("this run: clippy 0.1.99 (new lints of a newer clippy show as new warnings)");
  });

  it("warns when everything is fixed but the baseline still holds it (it would let the lints come back)", () => {
    const outcome = judgeAgainstBaseline(compareWithBaseline([], baseline.warnings), baseline, TOOLCHAIN);
    expect(outcome).toMatchObject({
      status: "warned",
      summary: expect.stringMatching(/^No warnings; the clippy baseline still holds 3 fixed/),
    });
    const empty = baselineOf([]);
    expect(judgeAgainstBaseline(compareWithBaseline([], empty.warnings), empty, TOOLCHAIN)).toMatchObject({ status: "passed" });
  });
});

describe("the baseline file", () => {
  const good = baselineOf([RANGE, RETURN, PTR]);
  const text = serialiseClippyBaseline(good);

  it("is written one warning per line and reads back as written", () => {
    expect(text.split("\n").filter((line) => line.includes('"code"'))).toHaveLength(3);
    expect(parseClippyBaseline(text, FILE)).toEqual(good);
    expect(parseClippyBaseline(serialiseClippyBaseline(baselineOf([])), FILE).warnings).toEqual([]);
  });

  const withEntry = (change: Record<string, unknown>) => JSON.stringify({ ...good, warnings: [{ ...good.warnings[0], ...change }] });
  const without = (key: string) => JSON.stringify(Object.fromEntries(Object.entries(good).filter(([k]) => k !== key)));

  it.each([
    ["not JSON", '{\n  "schemaVersion": 1,\n  oops\n}', /^not valid JSON at line 3, column 3$/],
    ["truncated in a string", text.slice(0, text.length / 2), /^not valid JSON at line 8, column \d+$/],
    ["truncated in an array", '{"warnings": [1,', /^not valid JSON: it ends too early \(truncated\?\)$/],
    ["empty", " \n", /^not valid JSON: the file is empty$/],
    ["text that is not JSON at all", "root:x:0:0:root:/root:/bin/bash\n", /^not valid JSON( at line 1, column 1)?$/],
    ["an array", "[]", /^\(top level\): /],
    [
      "another version",
      JSON.stringify({ ...good, schemaVersion: 2 }),
      /^schemaVersion: expected 1 \(the format this version of shriven-pipeline reads\), got 2$/,
    ],
    ["no version", without("schemaVersion"), /^schemaVersion: missing; expected 1$/],
    ["no reason", without("reason"), /^reason: missing; expected why it was saved$/],
    ["a blank reason", JSON.stringify({ ...good, reason: "  " }), /^reason: expected why it was saved, got an empty reason$/],
    ["no toolchain", without("toolchain"), /^toolchain: missing; expected the clippy version it was saved with$/],
    ["no warnings", without("warnings"), /^warnings: missing; expected an array of warnings$/],
    ["a bad date", JSON.stringify({ ...good, savedAt: "yesterday" }), /^savedAt: expected an ISO date-time/],
    ["an unknown key", JSON.stringify({ ...good, extra: 1 }), /^extra: unknown key; expected one of: schemaVersion, /],
    ["an entry without a snippet", withEntry({ snippet: undefined }), /^warnings\.0\.snippet: missing; expected the flagged source line$/],
    ["a line 0", withEntry({ line: 0 }), /^warnings\.0\.line: expected a line number from 1$/],
    ["a code of the wrong type", withEntry({ code: 7 }), /^warnings\.0\.code: expected a lint code or null$/],
    [
      "an absolute path",
      withEntry({ file: "/etc/passwd" }),
      /^warnings\.0\.file: expected a workspace-relative path, got the absolute "\/etc\/passwd"$/,
    ],
    [
      "a path out of the workspace",
      withEntry({ file: "src/../../x.rs" }),
      /^warnings\.0\.file: expected a path inside the workspace without "", "\." or "\.\." segments/,
    ],
    [
      "a Windows path",
      withEntry({ file: "C:/x.rs" }),
      /^warnings\.0\.file: expected a workspace-relative path, got the absolute "C:\/x\.rs"$/,
    ],
    ["backslashes", withEntry({ file: "src\\lib.rs" }), /^warnings\.0\.file: expected "\/" as the separator/],
    ["an empty path", withEntry({ file: "" }), /^warnings\.0\.file: expected a workspace-relative path, got an empty one$/],
    [
      "an escape sequence in a path",
      withEntry({ file: "src/\u001b[2Jlib.rs" }),
      /^warnings\.0\.file: expected a path without control characters$/,
    ],
    [
      "an escape sequence in a snippet",
      withEntry({ snippet: "\u001b]0;pwned\u0007" }),
      /^warnings\.0\.snippet: expected the flagged source line without control characters$/,
    ],
    ["a huge snippet", withEntry({ snippet: "x".repeat(201) }), /^warnings\.0\.snippet: expected at most 200 characters$/],
    [
      "an unknown entry key",
      withEntry({ column: 3 }),
      /^warnings\.0\.column: unknown key; expected one of: code, file, line, snippet, message$/,
    ],
  ])("names the file and the field: %s", (_what, input, problem) => {
    const error = configError(() => parseClippyBaseline(input, FILE));
    expect(error.source).toBe(FILE);
    expect(error.message.startsWith(`${FILE}:`)).toBe(true);
    expect(error.problems[0]).toMatch(problem);
  });

  it("lists every bad field of a file, not just the first", () => {
    const error = configError(() => parseClippyBaseline(JSON.stringify({ ...good, schemaVersion: 0, savedBy: "" }), FILE));
    expect(error.problems).toEqual([
      "schemaVersion: expected 1 (the format this version of shriven-pipeline reads), got 0",
      "savedBy: expected who saved it",
    ]);
  });

  it("a reason with control characters is refused before anything is written", () => {
    const error = configError(() =>
      makeClippyBaseline([RANGE], { savedBy: "a", reason: "ok\u001b[2J", toolchain: TOOLCHAIN, now: new Date() }),
    );
    expect(error.problems).toEqual(["reason: expected text without control characters (tabs and newlines allowed)"]);
  });
});
