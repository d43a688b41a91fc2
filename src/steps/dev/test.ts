import { cargo, rawFailure, TEST_TARGET } from "../../cargo/commands.js";
import { firstFailureLine, parseLibtestOutput } from "../../cargo/libtest-output.js";
import { formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "../../cargo/messages.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { diagnosticFinding, failingTestFinding } from "../../report/findings.js";

/** How many failing tests the one-line summary names. */
const NAMED_IN_SUMMARY = 3;

/** `cargo test --workspace`: unit, integration and doc tests, every failure named. */
export const testStep: Step = {
  id: "test",
  title: "Tests",
  description: "cargo test --workspace: every test passes",
  defaultTimeoutSeconds: 900,
  async run(context: StepContext): Promise<StepOutcome> {
    const result = await context.exec({
      ...cargo(["test", "--workspace", "--no-fail-fast", "--message-format=json", ...context.options.extraArgs], TEST_TARGET),
      // Which test binary a result belongs to is on stderr ("Running …"), the results on stdout.
      mergeOutput: true,
    });
    const errors = readCargoMessages(result.output).diagnostics.filter((d) => d.level === "error");
    const firstError = errors[0];
    if (firstError !== undefined) {
      return {
        status: "failed",
        summary: `tests do not compile: ${plural(errors.length, "error")}: ${shortDiagnostic(firstError)}`,
        details: errors.map(formatDiagnostic),
        data: { findings: errors.map((d) => diagnosticFinding(d, "Tests do not compile")) },
      };
    }

    const run = parseLibtestOutput(result.output);
    const passed = run.cases.filter((c) => c.status === "passed").length;
    const failed = run.cases.filter((c) => c.status === "failed");
    const ignored = run.cases.length - passed - failed.length;
    const counts = `${passed}/${passed + failed.length} passed${ignored > 0 ? `, ${ignored} ignored` : ""}`;
    const details = [
      ...failed.map((c) => `${c.suite}: ${c.name}: ${firstFailureLine(c.message) ?? "failed"}`),
      ...run.unfinishedSuites.map((s) => `${s}: the test binary stopped without a result (crashed or killed)`),
    ];

    if (failed.length > 0) {
      const names = failed.slice(0, NAMED_IN_SUMMARY).map((c) => c.name);
      const more = failed.length > NAMED_IN_SUMMARY ? `, and ${failed.length - NAMED_IN_SUMMARY} more` : "";
      const findings = failed.map((c) => failingTestFinding(c.suite, c.name, c.message));
      return { status: "failed", summary: `${counts}; failed: ${names.join(", ")}${more}`, details, tests: run.cases, data: { findings } };
    }
    if (result.exitCode !== 0) {
      const raw = rawFailure("cargo test", result.exitCode, result.output);
      if (run.unfinishedSuites.length === 0) return { status: "failed", ...raw, tests: run.cases };
      const why = `${run.unfinishedSuites[0]} stopped without a result`;
      return { status: "failed", summary: `${counts}; cargo test exited with code ${result.exitCode}: ${why}`, details, tests: run.cases };
    }
    if (run.cases.length === 0) return { status: "warned", summary: "No tests found", tests: [] };
    return { status: "passed", summary: counts, tests: run.cases };
  },
};
