/**
 * A stage is data: ordered groups of steps. Steps of a group run at the same
 * time (up to a job limit); groups run one after another; the first failure
 * cancels running siblings and skips everything not yet started.
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { EnvironmentName } from "../config/env-profile.js";
import { defaultPipelineConfig, type Policies, type StepSettings } from "../config/pipeline-config.js";
import { type Command, type ExecResult, formatArgv, type Runner } from "../core/command.js";
import { PipelineError } from "../core/errors.js";
import { NO_SECRETS, type Redactor } from "../report/redact.js";
import type { Step, StepContext, StepOutcome, StepResult, StepServices, StepStatus } from "./step.js";

/** The three stages of the pipeline document. */
export type StageName = "dev" | "staging" | "production";

/** A stage definition. */
export interface Stage {
  readonly name: StageName;
  /** Environment whose profile the stage runs with. */
  readonly environment: EnvironmentName;
  readonly description: string;
  /** Groups run in order; the steps inside a group may overlap. */
  readonly groups: readonly (readonly Step[])[];
}

/** Progress events for live displays. */
export type StageEvent =
  | { readonly type: "step-started"; readonly step: Step; readonly startedAt: number }
  | { readonly type: "step-finished"; readonly result: StepResult };

/** Everything {@link runStage} needs. */
export interface RunStageOptions {
  readonly stage: Stage;
  readonly runner: Runner;
  /** The workspace root as the runner's commands see it. */
  readonly workspaceDir: string;
  /** Settings per step id (from the pipeline config); absent ids get defaults. */
  readonly settings?: Readonly<Record<string, StepSettings>>;
  /** Profile variables passed to every command. */
  readonly profileEnv?: Readonly<Record<string, string>>;
  /** The gates' policies; defaults when absent. */
  readonly policies?: Policies;
  /** Resources besides commands; steps that need one fail when it is absent. */
  readonly services?: StepServices;
  /** Removes the values of the run's secrets from every log line, output and result. */
  readonly redactor?: Redactor;
  /** Run only these step ids; the rest are reported as skipped. */
  readonly only?: ReadonlySet<string>;
  /** Steps not to run, each with the reason the report gives (production's emergency procedure). */
  readonly skip?: ReadonlyMap<string, string>;
  /** Most steps at once within a group (at least 1). */
  readonly jobs: number;
  /** Folder for one log file per step; none are written when absent. */
  readonly logDir?: string;
  /** Aborting stops the stage (e.g. Ctrl-C): running steps are cancelled. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: StageEvent) => void;
}

/** Overall result of a stage run. */
export interface StageOutcome {
  readonly status: Exclude<StepStatus, "skipped">;
  readonly steps: readonly StepResult[];
}

/** Thrown inside a step's exec when the step is cancelled; the stage reports it, never the step. */
class StepCancelled extends Error {}

/** Thrown inside a step's exec when the step ran out of time. */
class StepTimedOut extends Error {
  constructor(readonly seconds: number) {
    super(`timed out after ${seconds} s`);
  }
}

const DEFAULT_SETTINGS: StepSettings = { enabled: true, timeoutSeconds: undefined, extraArgs: [] };

/** Policies when the caller gives none: every documented default. */
const DEFAULT_POLICIES = defaultPipelineConfig([]).policies;

/** Services when the edge provides none: no advisory database, the real date. */
const NO_SERVICES: StepServices = {
  advisoryDatabase: () => Promise.reject(new Error("no advisory database was provided to this run")),
  today: () => new Date().toISOString().slice(0, 10),
};

/** All step ids of a stage, in order. */
export function stageStepIds(stage: Stage): string[] {
  return stage.groups.flat().map((step) => step.id);
}

/** Runs a stage with fail-fast; never throws for a failing step. */
export async function runStage(options: RunStageOptions): Promise<StageOutcome> {
  const { stage } = options;
  const failFast = new AbortController();
  const external = options.signal;
  const onExternalAbort = (): void => failFast.abort("the run was interrupted");
  external?.addEventListener("abort", onExternalAbort, { once: true });
  if (external?.aborted) onExternalAbort();
  if (options.logDir !== undefined) mkdirSync(options.logDir, { recursive: true });

  const results = new Map<string, StepResult>();
  try {
    for (const group of stage.groups) {
      const queue = [...group];
      const worker = async (): Promise<void> => {
        for (let step = queue.shift(); step !== undefined; step = queue.shift()) {
          const result = await runOne(step, options, failFast, new Map(results));
          results.set(step.id, result);
          const state = options.services?.host?.state;
          if (state !== undefined) state.finished = [...(state.finished ?? []), result];
          if (result.status === "failed" && !failFast.signal.aborted) failFast.abort(`${step.title} failed`);
          options.onEvent?.({ type: "step-finished", result });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, group.length)) }, worker));
    }
  } finally {
    external?.removeEventListener("abort", onExternalAbort);
  }

  const steps = stageStepIds(stage).map((id) => results.get(id) as StepResult);
  return { status: overallStatus(steps), steps };
}

function overallStatus(steps: readonly StepResult[]): StageOutcome["status"] {
  if (steps.some((s) => s.status === "failed")) return "failed";
  if (steps.some((s) => s.status === "cancelled")) return "cancelled";
  return steps.some((s) => s.status === "warned") ? "warned" : "passed";
}

function skipped(step: Step, summary: string): StepResult {
  return { id: step.id, title: step.title, status: "skipped", summary, details: [], artifacts: [], durationMs: 0 };
}

async function runOne(
  step: Step,
  options: RunStageOptions,
  failFast: AbortController,
  completed: ReadonlyMap<string, StepResult>,
): Promise<StepResult> {
  const settings = options.settings?.[step.id] ?? DEFAULT_SETTINGS;
  if (options.only !== undefined && !options.only.has(step.id)) return skipped(step, "Not selected (--only)");
  if (!settings.enabled) return skipped(step, "Disabled in the pipeline config");
  const skip = options.skip?.get(step.id);
  if (skip !== undefined) return skipped(step, skip);
  if (failFast.signal.aborted) return skipped(step, `Not run: ${String(failFast.signal.reason)}`);

  const startedAt = Date.now();
  options.onEvent?.({ type: "step-started", step, startedAt });
  const timeoutSeconds = settings.timeoutSeconds ?? step.defaultTimeoutSeconds;
  const deadline = performance.now() + timeoutSeconds * 1000;
  const logFile = options.logDir === undefined ? undefined : join(options.logDir, `${step.id}.log`);
  const file: WriteStream | undefined = logFile === undefined ? undefined : createWriteStream(logFile);
  const redactor = options.redactor ?? NO_SECRETS;
  const log = file === undefined ? undefined : redactor.stream(file);
  const profileEnv = options.profileEnv ?? {};

  const context: StepContext = {
    options: { extraArgs: settings.extraArgs },
    profileEnv,
    workspaceDir: options.workspaceDir,
    signal: failFast.signal,
    policies: options.policies ?? DEFAULT_POLICIES,
    completed,
    services: options.services ?? NO_SERVICES,
    async exec(command: Command): Promise<ExecResult> {
      if (failFast.signal.aborted) throw new StepCancelled();
      const remaining = Math.ceil(deadline - performance.now());
      if (remaining <= 0) throw new StepTimedOut(timeoutSeconds);
      log?.write(`$ ${formatArgv(command.argv)}\n`);
      const result = await options.runner.exec(
        { ...command, env: { ...profileEnv, ...command.env }, timeoutMs: Math.min(remaining, command.timeoutMs ?? remaining) },
        { signal: failFast.signal, ...(log === undefined ? {} : { log }) },
      );
      log?.write(`\n[exit code ${result.exitCode ?? "none"} after ${(result.durationMs / 1000).toFixed(1)} s]\n`);
      if (result.timedOut) throw new StepTimedOut(timeoutSeconds);
      if (result.cancelled) throw new StepCancelled();
      return {
        ...result,
        stdout: redactor.redact(result.stdout),
        stderr: redactor.redact(result.stderr),
        output: redactor.redact(result.output),
      };
    },
  };

  const base = { id: step.id, title: step.title, ...(logFile === undefined ? {} : { logFile }) };
  let result: StepResult;
  try {
    const outcome = redactOutcome(await step.run(context), redactor);
    result = {
      ...base,
      status: outcome.status,
      summary: outcome.summary,
      details: outcome.details ?? [],
      artifacts: outcome.artifacts ?? [],
      ...(outcome.tests === undefined ? {} : { tests: outcome.tests }),
      ...(outcome.data === undefined ? {} : { data: outcome.data }),
      durationMs: Date.now() - startedAt,
    };
  } catch (error) {
    const [status, summary]: [StepStatus, string] =
      error instanceof StepTimedOut
        ? ["failed", `Timed out after ${error.seconds} s`]
        : error instanceof StepCancelled
          ? ["cancelled", `Cancelled: ${String(failFast.signal.reason)}`]
          : error instanceof PipelineError
            ? ["failed", redactor.redact(error.message)]
            : ["failed", `Internal error: ${redactor.redact((error as Error).message)}`];
    result = { ...base, status, summary, details: [], artifacts: [], durationMs: Date.now() - startedAt };
  }
  if (log !== undefined && file !== undefined) {
    log.write(`[${result.status}] ${result.summary}\n`);
    log.end();
    file.end();
    await finished(file);
  }
  return result;
}

/**
 * A step's outcome with the run's secrets removed from every text it carries:
 * each string on its own (data included, key by key), before anything is
 * serialised, so escaping cannot hide a secret from the redactor.
 */
function redactOutcome(outcome: StepOutcome, redactor: Redactor): StepOutcome {
  return {
    ...outcome,
    summary: redactor.redact(outcome.summary),
    details: (outcome.details ?? []).map((d) => redactor.redact(d)),
    ...(outcome.tests === undefined
      ? {}
      : {
          tests: outcome.tests.map((t) => ({
            ...t,
            suite: redactor.redact(t.suite),
            name: redactor.redact(t.name),
            ...(t.message === undefined ? {} : { message: redactor.redact(t.message) }),
          })),
        }),
    ...(outcome.data === undefined ? {} : { data: redactor.redactJson(outcome.data) }),
  };
}
