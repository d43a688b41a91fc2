import { cargo, LINT_TARGET, rawFailure } from "../../cargo/commands.js";
import { formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "../../cargo/messages.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { diagnosticFinding } from "../../report/findings.js";

/** `cargo check` of every target: the quick compilation gate. */
export const checkStep: Step = {
  id: "check",
  title: "Compilation",
  description: "cargo check --workspace --all-targets: the code compiles",
  defaultTimeoutSeconds: 600,
  async run(context: StepContext): Promise<StepOutcome> {
    const result = await context.exec(
      cargo(["check", "--workspace", "--all-targets", "--message-format=json", ...context.options.extraArgs], LINT_TARGET),
    );
    const { diagnostics } = readCargoMessages(result.stdout);
    const errors = diagnostics.filter((d) => d.level === "error");
    const warnings = diagnostics.filter((d) => d.level === "warning");
    const details = [...errors, ...warnings].map(formatDiagnostic);
    const data = { findings: [...errors, ...warnings].map((d) => diagnosticFinding(d, "Compilation")) };
    if (result.exitCode !== 0) {
      const first = errors[0];
      if (first === undefined) {
        return { status: "failed", ...rawFailure("cargo check", result.exitCode, result.stderr) };
      }
      return { status: "failed", summary: `${plural(errors.length, "error")}: ${shortDiagnostic(first)}`, details, data };
    }
    if (warnings.length > 0) {
      return { status: "warned", summary: `Passed with ${plural(warnings.length, "warning")}`, details, data };
    }
    return { status: "passed", summary: "Passed" };
  },
};
