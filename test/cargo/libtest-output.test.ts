import { describe, expect, it } from "vitest";
import { firstFailureLine, parseLibtestOutput } from "../../src/cargo/libtest-output.js";

const RUN = `   Compiling risk v0.1.0 (/w/crates/risk)
{"reason":"compiler-artifact","fresh":true}
    Finished \`test\` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/orderbook-0123456789abcdef)

running 3 tests
test tests::cancel_removes_order ... ok
test tests::market_walks_levels ... FAILED
test tests::slow_soak ... ignored, needs a quiet machine

failures:

---- tests::market_walks_levels stdout ----

thread 'tests::market_walks_levels' panicked at crates/orderbook/src/lib.rs:610:9:
assertion \`left == right\` failed
  left: 2
 right: 3
note: run with \`RUST_BACKTRACE=1\` environment variable to display a backtrace


failures:
    tests::market_walks_levels

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

     Running tests/end_to_end.rs (target/debug/deps/end_to_end-fedcba9876543210)

running 1 test
test session_respects_limits - should panic ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out; finished in 0.01s

   Doc-tests risk

running 1 test
test crates/risk/src/lib.rs - RiskEngine::check (line 12) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s
`;

describe("parseLibtestOutput", () => {
  it("reads suites, outcomes, totals and failure text", () => {
    const run = parseLibtestOutput(RUN);
    expect(run.cases.map((c) => [c.suite, c.name, c.status])).toEqual([
      ["orderbook (src/lib.rs)", "tests::cancel_removes_order", "passed"],
      ["orderbook (src/lib.rs)", "tests::market_walks_levels", "failed"],
      ["orderbook (src/lib.rs)", "tests::slow_soak", "ignored"],
      ["end_to_end (tests/end_to_end.rs)", "session_respects_limits - should panic", "passed"],
      ["risk (doc-tests)", "crates/risk/src/lib.rs - RiskEngine::check (line 12)", "passed"],
    ]);
    expect(run.suites).toEqual([
      { suite: "orderbook (src/lib.rs)", passed: 1, failed: 1, ignored: 1, filteredOut: 0 },
      { suite: "end_to_end (tests/end_to_end.rs)", passed: 1, failed: 0, ignored: 0, filteredOut: 2 },
      { suite: "risk (doc-tests)", passed: 1, failed: 0, ignored: 0, filteredOut: 0 },
    ]);
    expect(run.unfinishedSuites).toEqual([]);
    const failed = run.cases[1];
    expect(failed?.message).toContain("left: 2");
    expect(failed?.message).not.toContain("failures:");
    expect(firstFailureLine(failed?.message)).toBe("panicked at crates/orderbook/src/lib.rs:610:9: assertion `left == right` failed");
  });

  it("notices a test binary that crashed before its result line", () => {
    const crashed = `     Running unittests src/lib.rs (target/debug/deps/risk-0123456789abcdef)

running 2 tests
test tests::a ... ok
error: test failed, to rerun pass \`-p risk --lib\`

Caused by:
  process didn't exit successfully: \`/w/target/debug/deps/risk-0123456789abcdef\` (signal: 11, SIGSEGV: invalid memory reference)
`;
    const run = parseLibtestOutput(crashed);
    expect(run.unfinishedSuites).toEqual(["risk (src/lib.rs)"]);
    expect(run.cases).toHaveLength(1);
  });

  it("survives truncated, empty and hostile output without inventing tests", () => {
    expect(parseLibtestOutput("")).toEqual({ cases: [], suites: [], unfinishedSuites: [] });
    const truncated = RUN.slice(0, RUN.indexOf("test tests::market_walks_levels") + 20);
    const run = parseLibtestOutput(truncated);
    expect(run.cases.map((c) => c.name)).toEqual(["tests::cancel_removes_order"]);
    expect(run.unfinishedSuites).toEqual(["orderbook (src/lib.rs)"]);
    const hostile =
      "test \u0000 ... ok\ntest x ... maybe\n---- stdout ----\ntest result: FAILED. x passed\n\u001b[31mtest y ... ok\u001b[0m\n";
    const odd = parseLibtestOutput(hostile);
    expect(odd.cases.map((c) => c.name)).toEqual(["\u0000"]);
    expect(odd.suites).toEqual([]);
  });

  it("keeps failure text apart for equal test names in different binaries", () => {
    const text = `     Running unittests src/lib.rs (target/debug/deps/a-0123456789abcdef)
test tests::same ... FAILED
---- tests::same stdout ----
thread 'tests::same' panicked at a.rs:1:1:
from a
failures:
test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
     Running unittests src/lib.rs (target/debug/deps/b-0123456789abcdef)
test tests::same ... FAILED
---- tests::same stdout ----
thread 'tests::same' panicked at b.rs:2:2:
from b
failures:
test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s
`;
    const run = parseLibtestOutput(text);
    expect(run.cases.map((c) => firstFailureLine(c.message))).toEqual(["panicked at a.rs:1:1: from a", "panicked at b.rs:2:2: from b"]);
  });

  it("reads the panic line of newer libtest that prints the thread id", () => {
    expect(firstFailureLine("\nthread 'tests::x' (12345) panicked at src/lib.rs:3:5:\nboom\n")).toBe("panicked at src/lib.rs:3:5: boom");
    expect(firstFailureLine("just text")).toBe("just text");
    expect(firstFailureLine(undefined)).toBeUndefined();
  });
});
