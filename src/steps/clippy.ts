import type { Step, StepContext, StepOutcome } from "../core/step.js";
import { cargo, LINT_TARGET, tail } from "./cargo.js";
import { formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "./cargo-messages.js";

/** `cargo clippy --all-targets -- -D warnings`: no lint warnings allowed. */
export const clippyStep: Step = {
  id: "clippy",
  title: "Clippy",
  description: "cargo clippy --workspace --all-targets -- -D warnings: no lint warnings",
  defaultTimeoutSeconds: 600,
  async run(context: StepContext): Promise<StepOutcome> {
    const result = await context.exec(
      cargo(
        ["clippy", "--workspace", "--all-targets", "--message-format=json", ...context.options.extraArgs, "--", "-D", "warnings"],
        LINT_TARGET,
      ),
    );
    const { diagnostics } = readCargoMessages(result.stdout);
    const details = diagnostics.map(formatDiagnostic);
    if (result.exitCode === 0 && diagnostics.length === 0) return { status: "passed", summary: "No warnings" };
    const first = diagnostics[0];
    if (first === undefined) {
      const lines = tail(result.stderr);
      return {
        status: "failed",
        summary: `cargo clippy failed (exit code ${result.exitCode}): ${lines[0] ?? "no output"}`,
        details: lines,
      };
    }
    const code = first.code === undefined ? "" : ` [${first.code}]`;
    return {
      status: "failed",
      summary: `${plural(diagnostics.length, "diagnostic")} (warnings denied): ${shortDiagnostic(first)}${code}`,
      details,
    };
  },
};
