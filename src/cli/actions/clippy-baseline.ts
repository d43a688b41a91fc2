/**
 * `shriven-pipeline clippy-baseline`: adopting the pipeline on a workspace
 * with legacy lints. `--save --reason TEXT` records the workspace's current
 * clippy warnings as the baseline (who, when, why, which clippy; every save
 * appended to an audit file); without `--save` it shows what the baseline
 * holds and how the workspace compares.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { rawFailure } from "../../cargo/commands.js";
import { formatDiagnostic, plural } from "../../cargo/messages.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { formatArgv } from "../../core/command.js";
import { ConfigError, UsageError } from "../../core/errors.js";
import { readFailure } from "../../core/read-text-file.js";
import { compareWithBaseline } from "../../lint/baseline-compare.js";
import {
  CLIPPY_BASELINE_FILE,
  type ClippyBaseline,
  countByLint,
  makeClippyBaseline,
  parseClippyBaseline,
  reasonProblem,
  saveClippyBaseline,
} from "../../lint/clippy-baseline.js";
import { stepLine } from "../../report/console.js";
import { HostRunner } from "../../runners/host-runner.js";
import { allStepIds } from "../../stages/registry.js";
import { CLIPPY_VERSION_COMMAND, clippyCommand, clippyStep, collectClippy } from "../../steps/dev/clippy.js";
import { type ParsedArgs, text } from "../args.js";
import type { GateIo } from "../io.js";
import { runIdentity } from "../run-identity.js";
import { runOneStep } from "../run-one-step.js";
import { workspaceDir } from "../workspace-dir.js";

export { runClippyBaseline as run };

async function runClippyBaseline({ values }: ParsedArgs, io: GateIo): Promise<number> {
  const reason = text(values.reason);
  if (values.save === true && (reason ?? "").trim() === "")
    throw new UsageError("--save needs --reason TEXT: every baseline update is recorded with who, when and why");
  if (values.save !== true && reason !== undefined) throw new UsageError("--reason goes with --save");
  const problem = reason === undefined ? undefined : reasonProblem(reason);
  if (problem !== undefined) throw new UsageError(`--reason: ${problem}`);
  const workspace = workspaceDir(text(values.source), io.cwd);
  return values.save === true ? save(workspace, reason ?? "", io) : show(workspace, io);
}

/** The baseline on disk: undefined when there is none. @throws ConfigError naming the file and field. */
function readBaseline(workspace: string): ClippyBaseline | undefined {
  const file = join(workspace, CLIPPY_BASELINE_FILE);
  let textOfFile: string;
  try {
    textOfFile = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(file, [readFailure(error)]);
  }
  return parseClippyBaseline(textOfFile, file);
}

function describeHoldings(baseline: ClippyBaseline): string[] {
  const byLint = countByLint(baseline.warnings).map(([code, n]) => `${n} × ${code}`);
  return [
    `Clippy baseline ${CLIPPY_BASELINE_FILE}: ${plural(baseline.warnings.length, "warning")}`,
    `  saved ${baseline.savedAt} by ${baseline.savedBy} with ${baseline.toolchain}`,
    `  reason: ${baseline.reason}`,
    ...(byLint.length === 0 ? [] : [`  ${byLint.join(", ")}`]),
  ];
}

async function show(workspace: string, io: GateIo): Promise<number> {
  const baseline = readBaseline(workspace);
  if (baseline === undefined) {
    io.stdout.write(
      `No clippy baseline (${CLIPPY_BASELINE_FILE}): the clippy step denies every warning (-D warnings).\n` +
        `To adopt a workspace with legacy warnings: shriven-pipeline clippy-baseline --save --reason "…"\n`,
    );
    return 0;
  }
  io.stdout.write(`${describeHoldings(baseline).join("\n")}\n`);
  const config = loadPipelineConfig({ workspace, stepIds: allStepIds() });
  const step = await runOneStep(clippyStep, { source: workspace, config });
  io.stdout.write(`${[stepLine(step), ...step.details.map((d) => `    ${d}`)].join("\n")}\n`);
  return step.status === "failed" ? 1 : 0;
}

async function save(workspace: string, reason: string, io: GateIo): Promise<number> {
  const config = loadPipelineConfig({ workspace, stepIds: allStepIds() });
  const settings = config.steps.clippy;
  const extraArgs = settings?.extraArgs ?? [];
  const timeoutMs = (settings?.timeoutSeconds ?? clippyStep.defaultTimeoutSeconds) * 1000;
  let previous: ClippyBaseline | undefined;
  let unreadable: string | undefined;
  try {
    previous = readBaseline(workspace);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    unreadable = error.message;
  }
  const runner = new HostRunner({ workspace });
  for (const command of [CLIPPY_VERSION_COMMAND, clippyCommand(extraArgs, "collect")]) io.stdout.write(`$ ${formatArgv(command.argv)}\n`);
  const run = await collectClippy((command) => runner.exec({ ...command, timeoutMs }), extraArgs);
  const refuse = (lines: readonly string[]): number => {
    io.stdout.write(`${[...lines, "No baseline saved."].join("\n")}\n`);
    return 1;
  };
  if (run.toolchain === undefined) return refuse(["❌ cargo clippy --version failed: is clippy installed (rustup component add clippy)?"]);
  if (run.result.timedOut) return refuse([`❌ cargo clippy timed out after ${timeoutMs / 1000} s ([steps.clippy] timeout_seconds)`]);
  if (run.errors.length > 0)
    return refuse([
      `❌ ${plural(run.errors.length, "error")}: errors are never baselined (a crate that does not compile hides the lints of the crates that depend on it); fix them first:`,
      ...run.errors.map((d) => `    ${formatDiagnostic(d)}`),
    ]);
  if (run.result.exitCode !== 0) {
    const raw = rawFailure("cargo clippy", run.result.exitCode, run.result.stderr);
    return refuse([`❌ ${raw.summary}`, ...raw.details.map((d) => `    ${d}`)]);
  }
  const made = makeClippyBaseline(run.warnings, { savedBy: runIdentity(io.env).who, reason, toolchain: run.toolchain, now: new Date() });
  const change =
    previous === undefined
      ? undefined
      : (({ newWarnings, fixed }) => ({ added: newWarnings.length, removed: fixed.length }))(
          compareWithBaseline(run.warnings, previous.warnings),
        );
  const { file, auditFile } = saveClippyBaseline(workspace, made.baseline, change);
  const lines = [
    `✅ Saved the clippy baseline: ${plural(made.baseline.warnings.length, "warning")} to ${file}`,
    ...describeHoldings(made.baseline).slice(1),
    ...(change === undefined ? [] : [`  against the previous baseline: ${change.added} added, ${change.removed} removed`]),
    ...(unreadable === undefined ? [] : [`  replaced an unreadable baseline: ${unreadable}`]),
    `  recorded in ${auditFile}`,
    ...(made.outside.length === 0
      ? []
      : [
          `⚠️ ${plural(made.outside.length, "warning")} in files outside the workspace cannot be baselined; the clippy step fails on them:`,
          ...made.outside.map((w) => `    ${w.file}:${w.line ?? "?"}: warning${w.code === undefined ? "" : `[${w.code}]`}: ${w.message}`),
        ]),
    "Commit it with the code: the clippy step now fails only on warnings it does not hold.",
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
