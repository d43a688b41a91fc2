/**
 * Reading the human output of `cargo test` (libtest's stable format): which
 * test binaries ran, each test's outcome, failure messages, and the
 * `test result:` totals. JSON output from libtest needs a nightly flag, so the
 * stable text is what we read.
 */

/** One test case a test step saw (for JUnit XML and the report). */
export interface TestCase {
  /** The test binary or suite, e.g. `orderbook (src/lib.rs)`. */
  readonly suite: string;
  /** The test path, e.g. `tests::cancel_removes_order`. */
  readonly name: string;
  readonly status: "passed" | "failed" | "ignored";
  /** Failure output (panic message and captured stdout), when failed. */
  readonly message?: string;
}

/** Totals libtest printed for one test binary. */
export interface SuiteTotals {
  readonly suite: string;
  readonly passed: number;
  readonly failed: number;
  readonly ignored: number;
  readonly filteredOut: number;
}

/** What a `cargo test` run showed. */
export interface LibtestRun {
  readonly cases: readonly TestCase[];
  readonly suites: readonly SuiteTotals[];
  /** Test binaries that started but printed no `test result:` line (crashed or killed). */
  readonly unfinishedSuites: readonly string[];
}

const RUNNING = /^\s*Running (?:unittests )?(\S+) \((.+)\)\s*$/;
const DOC_TESTS = /^\s*Doc-tests (\S+)\s*$/;
const TEST_LINE = /^test (.+?) \.\.\. (ok|FAILED|ignored(?:, .*)?)$/;
const FAILURE_HEADER = /^---- (.+?) stdout ----$/;
const RESULT_LINE = /^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored; \d+ measured; (\d+) filtered out/;

/** `target/debug/deps/orderbook-1a2b3c4d` → `orderbook` */
function binaryName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/-[0-9a-f]{16}(\.exe)?$/, "");
}

/**
 * Parses merged stdout+stderr of `cargo test`. Lines of other kinds (JSON
 * compiler messages, cargo status lines) are ignored.
 */
export function parseLibtestOutput(output: string): LibtestRun {
  const cases: TestCase[] = [];
  const suites: SuiteTotals[] = [];
  const started: string[] = [];
  const failureText = new Map<string, string[]>();
  let suite = "tests";
  let capturing: string[] | undefined;

  for (const raw of output.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const running = RUNNING.exec(line);
    const doc = running === null ? DOC_TESTS.exec(line) : null;
    if (running !== null || doc !== null) {
      suite = running !== null ? `${binaryName(running[2] as string)} (${running[1]})` : `${doc?.[1]} (doc-tests)`;
      started.push(suite);
      capturing = undefined;
      continue;
    }
    const header = FAILURE_HEADER.exec(line);
    if (header !== null) {
      capturing = [];
      failureText.set(`${suite}\0${header[1]}`, capturing);
      continue;
    }
    if (capturing !== undefined) {
      if (line === "failures:" || RESULT_LINE.test(line)) capturing = undefined;
      else {
        capturing.push(line);
        continue;
      }
    }
    const test = TEST_LINE.exec(line);
    if (test !== null) {
      const verdict = test[2] as string;
      const status = verdict === "ok" ? "passed" : verdict === "FAILED" ? "failed" : "ignored";
      cases.push({ suite, name: test[1] as string, status });
      continue;
    }
    const result = RESULT_LINE.exec(line);
    if (result !== null) {
      suites.push({
        suite,
        passed: Number(result[1]),
        failed: Number(result[2]),
        ignored: Number(result[3]),
        filteredOut: Number(result[4]),
      });
    }
  }

  const withMessages = cases.map((testCase) => {
    const text = failureText.get(`${testCase.suite}\0${testCase.name}`);
    if (testCase.status !== "failed" || text === undefined) return testCase;
    return { ...testCase, message: text.join("\n").trim() };
  });
  const finished = new Set(suites.map((s) => s.suite));
  return { cases: withMessages, suites, unfinishedSuites: started.filter((s) => !finished.has(s)) };
}

/** The panic location and message of a failure, on one line: `panicked at src/lib.rs:10:5: assertion failed`. */
export function firstFailureLine(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  const lines = message.split("\n").map((l) => l.trim());
  const panicked = lines.findIndex((l) => /^thread '.*' .*panicked at /.test(l));
  if (panicked < 0) return lines.find((l) => l !== "");
  const at = (lines[panicked] as string).replace(/^thread '.*?' (\(\d+\) )?panicked at /, "").replace(/:$/, "");
  const what = lines[panicked + 1];
  return what === undefined || what === "" ? `panicked at ${at}` : `panicked at ${at}: ${what}`;
}
