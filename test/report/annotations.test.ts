import { describe, expect, it } from "vitest";
import { escapeData, escapeProperty, inGitHubActions, renderAnnotations, workflowCommand } from "../../src/report/annotations.js";
import { diagnosticFinding, type Finding, failingTestFinding, findingsOf, workspacePath } from "../../src/report/findings.js";
import { Redactor } from "../../src/report/redact.js";
import type { RunReport } from "../../src/report/report.js";
import { devReportWith, type ReportStep } from "../helpers/run-report.js";

function report(steps: readonly ReportStep[]): RunReport {
  return devReportWith(steps);
}

const LINT: Finding = {
  level: "error",
  title: "Clippy: clippy::needless_range_loop",
  message: "the loop variable `i` is only used to index `prices`",
  file: "crates/risk/src/lib.rs",
  line: 12,
  column: 5,
  endLine: 12,
  endColumn: 30,
  rule: "clippy::needless_range_loop",
};

describe("workflow commands (GitHub annotations)", () => {
  it("escapes data and properties as @actions/core does", () => {
    expect(escapeData("100%\r\nnext")).toBe("100%25%0D%0Anext");
    expect(escapeProperty("a:b,c%\n")).toBe("a%3Ab%2Cc%25%0A");
    // %-escapes already in the text are escaped again, so GitHub cannot unescape them into a newline.
    expect(escapeData("%0A::error::x")).toBe("%250A::error::x");
  });

  it("renders a finding with its place and title", () => {
    expect(workflowCommand(LINT)).toBe(
      "::error file=crates/risk/src/lib.rs,line=12,col=5,endLine=12,endColumn=30,title=Clippy%3A clippy%3A%3Aneedless_range_loop::the loop variable `i` is only used to index `prices`",
    );
    expect(workflowCommand({ level: "warning", title: "Compilation", message: "no place" })).toBe("::warning title=Compilation::no place");
  });

  it("a hostile message, title or path stays one command on one line", () => {
    const hostile: Finding = {
      level: "error",
      title: "t,file=evil.rs::x",
      message: "first\n::stop-commands::token\r\n::error file=evil.rs::injected\n%0A::warning::y",
      file: "we,ird:dir/a b%.rs",
      line: 3,
    };
    const line = workflowCommand(hostile);
    expect(line.split(/\r|\n/)).toHaveLength(1);
    expect(line).toBe(
      "::error file=we%2Cird%3Adir/a b%25.rs,line=3,title=t%2Cfile=evil.rs%3A%3Ax::first%0A::stop-commands::token%0D%0A::error file=evil.rs::injected%0A%250A::warning::y",
    );
    // The properties end at the first "::": nothing in them can close them early.
    const properties = line.slice(2, line.indexOf("::", 2));
    expect(properties).toBe("error file=we%2Cird%3Adir/a b%25.rs,line=3,title=t%2Cfile=evil.rs%3A%3Ax");
    expect(properties.split(",")).toHaveLength(3);
  });

  it("redacts secrets before escaping, so an escaped secret cannot slip through", () => {
    const redactor = new Redactor(["s3cr3t-token\nline2"]);
    const line = workflowCommand(
      { level: "error", title: "s3cr3t-token\nline2", message: "got s3cr3t-token\nline2 in output", file: "s3cr3t-token\nline2.rs" },
      redactor,
    );
    expect(line).not.toContain("s3cr3t");
    expect(line).toContain("[REDACTED]");
  });

  it("renders failed and warned steps' findings once each, skipping passed steps and invalid data", () => {
    const duplicate = { ...LINT, title: "Compilation: E0308" };
    const text = renderAnnotations(
      report([
        { id: "fmt", status: "passed", data: { findings: [{ ...LINT, message: "passed step" }] } },
        { id: "check", status: "failed", data: { findings: [duplicate, { level: "fatal", title: "x", message: "bad" }, "junk"] } },
        { id: "clippy", status: "failed", data: { findings: [LINT] } },
        { id: "test", status: "warned", data: { findings: [{ level: "warning", title: "w", message: "warned" }] } },
        { id: "audit", status: "failed", data: { findings: "not a list" } },
        { id: "licenses", status: "failed" },
      ]),
    );
    expect(text.split("\n")).toEqual([expect.stringContaining("title=Compilation%3A E0308::"), "::warning title=w::warned", ""]);
  });

  it("is on only when GITHUB_ACTIONS is exactly true", () => {
    expect(inGitHubActions({ GITHUB_ACTIONS: "true" })).toBe(true);
    expect(inGitHubActions({ GITHUB_ACTIONS: "1" })).toBe(false);
    expect(inGitHubActions({})).toBe(false);
  });
});

describe("findings", () => {
  it("keeps only paths inside the workspace", () => {
    expect(workspacePath("./src/lib.rs")).toBe("src/lib.rs");
    expect(workspacePath("crates\\a\\src\\lib.rs")).toBe("crates/a/src/lib.rs");
    for (const outside of ["/home/u/.cargo/registry/src/x.rs", "../other/src/lib.rs", "a/../../b.rs", "C:/x.rs", "", undefined])
      expect(workspacePath(outside)).toBeUndefined();
  });

  it("places a failing test where it panicked, when the message says", () => {
    const message = "thread 'tests::b' panicked at crates/book/src/lib.rs:12:5:\nassertion `left == right` failed";
    expect(failingTestFinding("book (src/lib.rs)", "tests::b", message)).toEqual({
      level: "error",
      title: "Test failed: tests::b",
      message: `book (src/lib.rs): tests::b\n${message}`,
      file: "crates/book/src/lib.rs",
      line: 12,
      column: 5,
    });
    const outside = failingTestFinding("s", "t", "thread 't' panicked at /rustc/abc/library/core/src/x.rs:1:2:\nboom");
    expect(outside.file).toBeUndefined();
    const long = failingTestFinding("s", "t", `${message}\n${"x\n".repeat(30)}`);
    expect(long.message.split("\n")).toHaveLength(22);
    expect(long.message).toMatch(/… 12 more lines$/);
    expect(failingTestFinding("s", "t", `${message}\nstack backtrace:\n   0: frame`).message).toBe(`s: t\n${message}`);
    expect(failingTestFinding("s", "t", undefined)).toEqual({ level: "error", title: "Test failed: t", message: "s: t\nfailed" });
  });

  it("turns a diagnostic outside the workspace into a finding without a place", () => {
    const finding = diagnosticFinding(
      {
        level: "warning",
        code: undefined,
        message: "m",
        file: "/abs/x.rs",
        line: 1,
        column: 1,
        endLine: 1,
        endColumn: 2,
        sourceLine: undefined,
        rendered: "m",
      },
      "Compilation",
    );
    expect(finding).toEqual({ level: "warning", title: "Compilation", message: "m" });
  });

  it("reads no findings from data of another shape", () => {
    const [step] = report([{ id: "x", status: "failed", data: null }]).steps;
    expect(step === undefined ? undefined : findingsOf(step)).toEqual([]);
  });
});
