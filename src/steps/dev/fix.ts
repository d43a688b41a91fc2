/**
 * The fixes for the two checks a developer repairs by hand (the pipeline
 * document's troubleshooting: `cargo fmt`, `cargo clippy --fix`), as commands
 * the host (`shriven-pipeline fix`) and the Dagger module (`fmt-fix`,
 * `clippy-fix`) both run: one definition of each argv, one reading of the result.
 */

import { cargo, LINT_TARGET, rawFailure } from "../../cargo/commands.js";
import { type Diagnostic, formatDiagnostic, plural, readCargoMessages, shortDiagnostic } from "../../cargo/messages.js";
import type { StepSettings } from "../../config/pipeline-config.js";
import type { Command, ExecResult } from "../../core/command.js";
import { PipelineError } from "../../core/errors.js";
import { clippyStep } from "./clippy.js";
import { fmtStep } from "./fmt.js";

/** What to fix: formatting (`fmt`), or lints and then formatting (`clippy`). */
export type FixKind = "fmt" | "clippy";

/** One command of a fix, with the name messages give it. */
export interface FixCommand {
  /** `cargo fmt --all` or `cargo clippy --fix`. */
  readonly tool: string;
  readonly command: Command;
}

/**
 * Flags that let `cargo clippy --fix` rewrite files git has not committed:
 * the lints to fix are usually in the change being worked on, and a
 * container gets the workspace without `.git` (the source ignores it). Both
 * edges make the fix safe instead: the host puts every file back when a tool
 * fails, the module returns a new tree.
 */
const ALLOW_UNCOMMITTED = ["--allow-dirty", "--allow-staged", "--allow-no-vcs"];

/** A fix command that did not finish: why in one line, and the tool's own lines. */
export class FixFailedError extends PipelineError {
  override readonly name: string = "FixFailedError";

  constructor(
    readonly summary: string,
    readonly details: readonly string[],
  ) {
    super([summary, ...details.map((d) => `    ${d}`)].join("\n"));
  }
}

/** A fix's timeout: its step's `timeout_seconds`, else the step's default. */
function timeoutMs(settings: StepSettings | undefined, defaultSeconds: number): number {
  return (settings?.timeoutSeconds ?? defaultSeconds) * 1000;
}

/**
 * `cargo fmt --all`: what the fmt step checks, written. It takes
 * `[steps.fmt]`'s extra arguments and timeout, so it formats what the step checks.
 */
function fmtFixCommand(settings?: StepSettings): FixCommand {
  return {
    tool: "cargo fmt --all",
    command: { ...cargo(["fmt", "--all", ...(settings?.extraArgs ?? [])]), timeoutMs: timeoutMs(settings, fmtStep.defaultTimeoutSeconds) },
  };
}

/**
 * `cargo clippy --fix` on every target of every member, in the clippy step's
 * target directory (its cache, so the check after the fix builds nothing
 * new), with `[steps.clippy]`'s extra arguments and timeout. JSON messages
 * name the first error when the workspace does not compile, and the warnings
 * clippy has no machine-applicable fix for.
 */
function clippyFixCommand(settings?: StepSettings): FixCommand {
  const args = [
    "clippy",
    "--fix",
    "--workspace",
    "--all-targets",
    ...ALLOW_UNCOMMITTED,
    "--message-format=json",
    ...(settings?.extraArgs ?? []),
  ];
  return {
    tool: "cargo clippy --fix",
    command: { ...cargo(args, LINT_TARGET), timeoutMs: timeoutMs(settings, clippyStep.defaultTimeoutSeconds) },
  };
}

/**
 * The commands of a fix, in order. The lint fix formats after clippy:
 * clippy's rewrites are not always formatted, and the point of a fix is that
 * the fmt and clippy steps pass afterwards.
 * @param steps Settings per step id (`[steps.fmt]`, `[steps.clippy]` of the pipeline config).
 */
export function fixCommands(kind: FixKind, steps: Readonly<Record<string, StepSettings>>): FixCommand[] {
  const fmt = fmtFixCommand(steps.fmt);
  return kind === "fmt" ? [fmt] : [clippyFixCommand(steps.clippy), fmt];
}

/**
 * Reads what a fix command left: the diagnostics of its last build (for clippy,
 * the warnings it had no fix for; none for rustfmt).
 * @throws FixFailedError when the command failed or timed out, naming its first error.
 */
export function readFixResult(fix: FixCommand, result: ExecResult): readonly Diagnostic[] {
  if (result.timedOut) {
    throw new FixFailedError(`${fix.tool} timed out after ${Math.round((fix.command.timeoutMs ?? 0) / 1000)} s`, []);
  }
  const { diagnostics } = readCargoMessages(result.stdout);
  if (result.exitCode === 0) return diagnostics;
  const errors = diagnostics.filter((d) => d.level === "error");
  const first = errors[0];
  if (first === undefined) {
    const raw = rawFailure(fix.tool, result.exitCode, result.output);
    throw new FixFailedError(raw.summary, raw.details);
  }
  throw new FixFailedError(
    `${fix.tool} failed: ${plural(errors.length, "error")}: ${shortDiagnostic(first)}`,
    errors.map(formatDiagnostic),
  );
}

/**
 * The warnings a fix left, one line each (`file: warning[code]: message`),
 * each once. Without line numbers: a later fix or the formatting moves the
 * lines, and cargo reports a lint once per target, before and after its fixes.
 */
export function unfixedWarnings(diagnostics: readonly Diagnostic[]): string[] {
  const lines = diagnostics
    .filter((d) => d.level === "warning")
    .map((d) => `${d.file === undefined ? "" : `${d.file}: `}warning${d.code === undefined ? "" : `[${d.code}]`}: ${d.message}`);
  return [...new Set(lines)];
}

/** Whether a workspace-relative path is in a folder no fix touches: cargo's `target` at the root, `.git` and `node_modules` anywhere. */
export function inSkippedFolder(path: string): boolean {
  const parts = path.split("/");
  return parts[0] === "target" || parts.includes(".git") || parts.includes("node_modules");
}

/** Whether a workspace-relative path is Rust source a fix may rewrite (rustfmt and clippy only ever rewrite `.rs` files). */
export function isFixableSource(path: string): boolean {
  return path.endsWith(".rs") && !inSkippedFolder(path);
}
