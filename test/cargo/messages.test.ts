import { describe, expect, it } from "vitest";
import { formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "../../src/cargo/messages.js";

function message(level: string, text: string, spans: object[], code?: string): string {
  return JSON.stringify({
    reason: "compiler-message",
    package_id: "path+file:///w/crates/risk#0.1.0",
    message: {
      level,
      message: text,
      code: code === undefined ? null : { code, explanation: null },
      spans,
      rendered: `${level}: ${text}\n`,
    },
  });
}

const span = (file: string, line: number, column: number, primary = true) => ({
  file_name: file,
  line_start: line,
  column_start: column,
  is_primary: primary,
  line_end: line,
  column_end: column + 3,
});

describe("readCargoMessages", () => {
  it("reads errors and warnings with their primary span, and keeps other lines as text", () => {
    const output = [
      '{"reason":"compiler-artifact","fresh":true}',
      message("error", "mismatched types", [span("crates/risk/src/lib.rs", 9, 1, false), span("crates/risk/src/lib.rs", 10, 5)], "E0308"),
      message("warning", "unused variable: `x`", [span("crates/risk/src/lib.rs", 3, 9)], "unused_variables"),
      message("note", "a note", []),
      message("error", "aborting due to 1 previous error", []),
      message("warning", "2 warnings emitted", []),
      message("error", "linking with `cc` failed: exit status: 1", []),
      "   Compiling risk v0.1.0",
      '{"reason":"build-finished","success":false}',
    ].join("\n");
    const { diagnostics, textLines } = readCargoMessages(output);
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      "crates/risk/src/lib.rs:10:5: error[E0308]: mismatched types",
      "crates/risk/src/lib.rs:3:9: warning[unused_variables]: unused variable: `x`",
      "error: linking with `cc` failed: exit status: 1",
    ]);
    expect(shortDiagnostic(diagnostics[0] as never)).toBe("crates/risk/src/lib.rs:10: mismatched types");
    expect(textLines).toEqual(["   Compiling risk v0.1.0"]);
  });

  it("removes the duplicate a lib and its test target both report", () => {
    const lint = message(
      "error",
      "the loop variable `i` is only used to index `prices`",
      [span("src/lib.rs", 4, 14)],
      "clippy::needless_range_loop",
    );
    expect(readCargoMessages(`${lint}\n${lint}\n`).diagnostics).toHaveLength(1);
  });

  it("treats malformed, truncated and foreign JSON as text or ignores it, never throws", () => {
    const full = message("error", "mismatched types", [span("a.rs", 1, 1)]);
    const output = [
      full.slice(0, 40),
      "{not json",
      "[1,2,3]",
      "{}",
      '{"reason":"compiler-message","message":{"level":"error"}}',
      '{"reason":"compiler-message","message":{"level":"error","message":"x","spans":[{"file_name":1}]}}',
      "null",
      "\u0000\u0001",
    ].join("\n");
    const { diagnostics, textLines } = readCargoMessages(output);
    expect(diagnostics).toEqual([]);
    expect(textLines).toEqual([full.slice(0, 40), "{not json", "[1,2,3]", "{}", "null", "\u0000\u0001"]);
  });

  it("counts with plurals", () => {
    expect([plural(1, "error"), plural(0, "error"), plural(3, "warning")]).toEqual(["1 error", "0 errors", "3 warnings"]);
  });
});
