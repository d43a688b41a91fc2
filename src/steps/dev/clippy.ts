/**
 * The clippy step. Without a clippy baseline in the workspace it runs
 * `cargo clippy … -- -D warnings` and fails on any diagnostic. With one
 * (`.shriven-pipeline/clippy-baseline.json`, the opt-in) it runs clippy
 * without `-D warnings` — a denied warning is an error that stops cargo from
 * linting the crates that depend on it, so only a run that keeps warnings as
 * warnings sees them all — and fails only on warnings the baseline does not
 * hold: the pipeline document's "no new warnings".
 */
import { posix } from "node:path";
import { cargo, LINT_TARGET, rawFailure } from "../../cargo/commands.js";
import { type Diagnostic, formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "../../cargo/messages.js";
import type { Command, ExecResult } from "../../core/command.js";
import { ConfigError } from "../../core/errors.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { type BaselineComparison, compareWithBaseline, type NewWarning } from "../../lint/baseline-compare.js";
import { CLIPPY_BASELINE_FILE, type ClippyBaseline, countByLint, parseClippyBaseline } from "../../lint/clippy-baseline.js";
import { diagnosticFinding, type Finding } from "../../report/findings.js";

/** What to do with warnings: deny them (any fails), or collect them all to compare with a baseline. */
export type ClippyWarnings = "deny" | "collect";

/** The step's `cargo clippy` command, with `[steps.clippy] extra_args` before the lint flags. */
export function clippyCommand(extraArgs: readonly string[], warnings: ClippyWarnings): Command {
  const lintFlags = warnings === "deny" ? ["--", "-D", "warnings"] : [];
  return cargo(["clippy", "--workspace", "--all-targets", "--message-format=json", ...extraArgs, ...lintFlags], LINT_TARGET);
}

/** `cargo clippy --version`: which clippy a baseline was saved with, and which one checks against it. */
export const CLIPPY_VERSION_COMMAND: Command = cargo(["clippy", "--version"]);

/** A clippy run that kept warnings as warnings. */
export interface ClippyCollection {
  /** `cargo clippy --version`'s line, or undefined when it failed. */
  readonly toolchain: string | undefined;
  readonly result: ExecResult;
  readonly warnings: readonly Diagnostic[];
  /** Compile errors and lints denied in the code: never baselined. */
  readonly errors: readonly Diagnostic[];
}

/** Runs clippy collecting every warning of every crate (the baseline's run), through `exec`. */
export async function collectClippy(
  exec: (command: Command) => Promise<ExecResult>,
  extraArgs: readonly string[],
): Promise<ClippyCollection> {
  const version = await exec(CLIPPY_VERSION_COMMAND);
  const result = await exec(clippyCommand(extraArgs, "collect"));
  const { diagnostics } = readCargoMessages(result.stdout);
  return {
    toolchain: version.exitCode === 0 ? version.stdout.trim().split("\n")[0] : undefined,
    result,
    warnings: diagnostics.filter((d) => d.level === "warning"),
    errors: diagnostics.filter((d) => d.level === "error"),
  };
}

/** How to save or refresh the baseline, quoted in messages. */
const SAVE_HINT = 'shriven-pipeline clippy-baseline --save --reason "…"';

/** The baseline as the step found it through its runner. */
type StoredBaseline =
  | { readonly kind: "none" }
  | { readonly kind: "unreadable"; readonly error: ConfigError }
  | { readonly kind: "found"; readonly baseline: ClippyBaseline };

/**
 * Looks for the baseline through the runner (the file comes with the
 * workspace, on the host or in a container). The folder is listed first, so
 * that "no baseline" (the opt-out) is told apart from a baseline that cannot
 * be read, without reading `cat`'s error text.
 */
async function findBaseline(context: StepContext): Promise<StoredBaseline> {
  const listing = await context.exec({ argv: ["ls", "-A", posix.dirname(CLIPPY_BASELINE_FILE)] });
  if (listing.exitCode !== 0 || !listing.stdout.split("\n").includes(posix.basename(CLIPPY_BASELINE_FILE))) return { kind: "none" };
  const stored = await context.exec({ argv: ["cat", CLIPPY_BASELINE_FILE] });
  if (stored.exitCode !== 0) {
    const why = stored.stderr.trim().split("\n")[0] || `cat exited with ${stored.exitCode ?? "a signal"}`;
    return { kind: "unreadable", error: new ConfigError(CLIPPY_BASELINE_FILE, [`cannot read it: ${why}`]) };
  }
  try {
    return { kind: "found", baseline: parseClippyBaseline(stored.stdout, CLIPPY_BASELINE_FILE) };
  } catch (error) {
    if (error instanceof ConfigError) return { kind: "unreadable", error };
    throw error;
  }
}

/** `-D warnings`: any diagnostic fails. */
async function denyWarnings(context: StepContext): Promise<StepOutcome> {
  const result = await context.exec(clippyCommand(context.options.extraArgs, "deny"));
  const { diagnostics } = readCargoMessages(result.stdout);
  const details = diagnostics.map(formatDiagnostic);
  if (result.exitCode === 0 && diagnostics.length === 0) return { status: "passed", summary: "No warnings" };
  const first = diagnostics[0];
  if (first === undefined) {
    return { status: "failed", ...rawFailure("cargo clippy", result.exitCode, result.stderr) };
  }
  return {
    status: "failed",
    summary: `${plural(diagnostics.length, "diagnostic")} (warnings denied): ${shortDiagnostic(first)}${codeOf(first)}`,
    details,
    data: { findings: diagnostics.map(clippyFinding) },
  };
}

function clippyFinding(diagnostic: Diagnostic): Finding {
  return diagnosticFinding(diagnostic, "Clippy");
}

function codeOf(diagnostic: Diagnostic): string {
  return diagnostic.code === undefined ? "" : ` [${diagnostic.code}]`;
}

function describeNew({ warning, identical }: NewWarning<Diagnostic>): string {
  const note =
    identical === undefined
      ? ""
      : ` (${identical.found} identical in this file, at lines ${identical.lines.join(", ")}; the baseline holds ${identical.baselined})`;
  return `new: ${formatDiagnostic(warning)}${note}`;
}

/**
 * The step's verdict against a baseline: new warnings fail; baselined ones
 * left make it `warned` (legacy debt is shown, never passed as clean); so do
 * fixed ones still in the baseline (it would let them come back unnoticed).
 */
export function judgeAgainstBaseline(
  comparison: BaselineComparison<Diagnostic>,
  baseline: ClippyBaseline,
  toolchain: string | undefined,
): StepOutcome {
  const { newWarnings, baselined, fixed } = comparison;
  const toolchainChanged = toolchain !== undefined && toolchain !== baseline.toolchain;
  const details = [
    `baseline ${CLIPPY_BASELINE_FILE}: ${plural(baseline.warnings.length, "warning")}, saved ${baseline.savedAt} by ${baseline.savedBy} with ${baseline.toolchain}: ${JSON.stringify(baseline.reason)}`,
    ...(toolchainChanged ? [`this run: ${toolchain} (new lints of a newer clippy show as new warnings)`] : []),
    ...newWarnings.map(describeNew),
    ...fixed.map(
      (entry) =>
        `fixed: ${entry.file ?? "(no file)"}${entry.line === null ? "" : `:${entry.line} (as saved)`}: warning${entry.code === null ? "" : `[${entry.code}]`}: ${entry.message}`,
    ),
    ...(baselined.length === 0
      ? []
      : [
          `baselined, still there: ${countByLint(baselined.map((d) => ({ code: d.code ?? null })))
            .map(([code, n]) => `${n} × ${code}`)
            .join(", ")}`,
        ]),
  ];
  const data = {
    clippyBaseline: {
      file: CLIPPY_BASELINE_FILE,
      savedAt: baseline.savedAt,
      new: newWarnings.length,
      baselined: baselined.length,
      fixed: fixed.length,
    },
    findings: newWarnings.map((n) => clippyFinding(n.warning)),
  };
  const shrink = `shrink the baseline: ${SAVE_HINT}`;
  const first = newWarnings[0];
  if (first !== undefined) {
    const changed = toolchainChanged ? "; clippy changed since the baseline was saved" : "";
    return {
      status: "failed",
      summary: `${plural(newWarnings.length, "new warning")} not in the clippy baseline: ${shortDiagnostic(first.warning)}${codeOf(first.warning)} (${baselined.length} baselined${changed})`,
      details,
      data,
    };
  }
  if (baselined.length > 0) {
    const fixedNote = fixed.length === 0 ? "" : `, ${fixed.length} fixed (${shrink})`;
    return {
      status: "warned",
      summary: `No new warnings; ${plural(baselined.length, "baselined warning")} left${fixedNote}`,
      details,
      data,
    };
  }
  if (fixed.length > 0) {
    return { status: "warned", summary: `No warnings; the clippy baseline still holds ${fixed.length} fixed (${shrink})`, details, data };
  }
  return { status: "passed", summary: "No warnings (the clippy baseline is empty)", details, data };
}

/** Clippy against the baseline: only new warnings fail; errors always do. */
async function againstBaseline(context: StepContext, baseline: ClippyBaseline): Promise<StepOutcome> {
  const run = await collectClippy((command) => context.exec(command), context.options.extraArgs);
  const first = run.errors[0];
  if (first !== undefined) {
    return {
      status: "failed",
      summary: `${plural(run.errors.length, "error")} (errors are never baselined): ${shortDiagnostic(first)}${codeOf(first)}`,
      details: [...run.errors, ...run.warnings].map(formatDiagnostic),
      data: { findings: run.errors.map(clippyFinding) },
    };
  }
  if (run.result.exitCode !== 0) return { status: "failed", ...rawFailure("cargo clippy", run.result.exitCode, run.result.stderr) };
  return judgeAgainstBaseline(compareWithBaseline(run.warnings, baseline.warnings), baseline, run.toolchain);
}

/**
 * `cargo clippy --workspace --all-targets -- -D warnings`: no lint warnings;
 * with a clippy baseline in the workspace, no warnings it does not hold.
 */
export const clippyStep: Step = {
  id: "clippy",
  title: "Clippy",
  description: "cargo clippy --workspace --all-targets -- -D warnings: no lint warnings (with a clippy baseline: no new ones)",
  defaultTimeoutSeconds: 600,
  async run(context: StepContext): Promise<StepOutcome> {
    const stored = await findBaseline(context);
    if (stored.kind === "none") return denyWarnings(context);
    if (stored.kind === "found") return againstBaseline(context, stored.baseline);
    const [problem, ...more] = stored.error.problems;
    return {
      status: "failed",
      summary: `unreadable clippy baseline ${CLIPPY_BASELINE_FILE}: ${problem}${more.length === 0 ? "" : ` (and ${more.length} more)`}`,
      details: [...stored.error.problems, `repair it, save a new one (${SAVE_HINT}), or delete it to deny every warning again`],
    };
  },
};
