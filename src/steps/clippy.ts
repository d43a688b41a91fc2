import type { Step, StepContext, StepOutcome } from "../core/step.js";
import { cargo, LINT_TARGET, rawFailure } from "./cargo.js";
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
      return { status: "failed", ...rawFailure("cargo clippy", result.exitCode, result.stderr) };
    }
    const code = first.code === undefined ? "" : ` [${first.code}]`;
    return {
      status: "failed",
      summary: `${plural(diagnostics.length, "diagnostic")} (warnings denied): ${shortDiagnostic(first)}${code}`,
      details,
    };
  },
};
