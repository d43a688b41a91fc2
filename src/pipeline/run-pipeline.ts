/**
 * Running a stage end to end once its inputs are validated: run the stage,
 * build the report and write it. The edges (CLI on the host, the Dagger
 * module) load and validate configuration and environment first, so nothing
 * runs on bad input.
 */
import { join } from "node:path";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import type { PipelineConfig } from "../config/pipeline-config.js";
import type { Runner } from "../core/command.js";
import { UsageError } from "../core/errors.js";
import type { StepServices } from "../core/step.js";
import { notifySlack, type SlackEvent, type SlackOptions } from "../notify/slack.js";
import { Redactor } from "../report/redact.js";
import { exitCodeFor, type RunReport } from "../report/report.js";
import { type ReportFiles, writeReport } from "../report/write-report.js";
import { STAGES } from "../stages/registry.js";
import { runStage, type Stage, type StageEvent, type StageName, stageStepIds } from "../stages/stage.js";
import { toolVersion } from "./version.js";

/** Inputs of {@link runPipeline}. */
export interface RunPipelineOptions {
  readonly stage: Stage;
  readonly config: PipelineConfig;
  readonly environment: ResolvedEnvironment;
  readonly runner: Runner;
  /** The workspace root as the runner's commands see it. */
  readonly workspaceDir: string;
  /** How the report names the workspace (a host path, or the Dagger source). */
  readonly workspaceLabel: string;
  /** Local folder for the report files and step logs. */
  readonly reportDir: string;
  readonly only?: readonly string[];
  /** Most steps at once within a group. */
  readonly jobs: number;
  readonly services: StepServices;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: StageEvent) => void;
  /** `$GITHUB_STEP_SUMMARY`, appended to when set. */
  readonly stepSummaryFile?: string;
  /**
   * Who runs it, which version, and the run's page, for notifications: with the
   * environment's SLACK_WEBHOOK_URL secret, Slack hears when the stage starts and how it ended.
   */
  readonly notify?: { readonly who: string; readonly version: string; readonly runUrl?: string };
  /** Options of the Slack sender (retries, timeouts); for tests. */
  readonly slackOptions?: Omit<SlackOptions, "webhookUrl">;
}

/** A finished run. */
export interface PipelineRun {
  readonly report: RunReport;
  readonly files: ReportFiles;
}

/** Looks up a stage by name, with a usage error for the ones this version lacks. */
export function stageByName(name: string): Stage {
  if (!Object.hasOwn(STAGES, name))
    throw new UsageError(`unknown stage ${JSON.stringify(name)}; expected one of: ${Object.keys(STAGES).join(", ")}`);
  return STAGES[name as StageName];
}

/** Checks `--only` step ids against a stage. */
export function checkOnly(stage: Stage, only: readonly string[] | undefined): void {
  const stepIds = stageStepIds(stage);
  const unknown = (only ?? []).filter((id) => !stepIds.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only: unknown step ${unknown.map((id) => JSON.stringify(id)).join(", ")} in the ${stage.name} stage; expected: ${stepIds.join(", ")}`,
    );
  }
}

/** Runs a validated stage; gate failures are in the report, never thrown. */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineRun> {
  const { stage, environment } = options;
  checkOnly(stage, options.only);
  const startedAt = new Date();
  const webhookUrl = environment.secrets.SLACK_WEBHOOK_URL;
  const notify =
    webhookUrl === undefined || options.notify === undefined
      ? undefined
      : (event: SlackEvent) =>
          notifySlack(event, { ...options.slackOptions, webhookUrl }).then((d) => ({
            channel: "slack" as const,
            event: event.kind,
            delivered: d.delivered,
            attempts: d.attempts,
            ...(d.error === undefined ? {} : { error: d.error }),
          }));
  const base = options.notify === undefined ? undefined : { ...options.notify, stage: stage.name };
  // Sent alongside the stage, not before it: a slow webhook never holds the steps up.
  const started = notify === undefined || base === undefined ? undefined : notify({ kind: "stage-started", ...base });
  const outcome = await runStage({
    stage,
    runner: options.runner,
    workspaceDir: options.workspaceDir,
    settings: options.config.steps,
    profileEnv: environment.variables,
    policies: options.config.policies,
    redactor: new Redactor(Object.values(environment.secrets)),
    services: options.services,
    ...(options.only === undefined ? {} : { only: new Set(options.only) }),
    jobs: options.jobs,
    logDir: join(options.reportDir, "logs"),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const notifications =
    notify === undefined || base === undefined || started === undefined
      ? undefined
      : [
          await started,
          await notify({
            kind: outcome.status === "failed" || outcome.status === "cancelled" ? "stage-failed" : "stage-passed",
            ...base,
            summary: outcome.steps.filter((s) => s.status === "failed" || s.status === "warned").map((s) => `${s.title}: ${s.summary}`),
          }),
        ];
  const finishedAt = new Date();
  const report: RunReport = {
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: toolVersion() },
    stage: stage.name,
    environment: { name: environment.name, variables: { ...environment.variables } },
    runner: options.runner.name,
    workspace: options.workspaceLabel,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    status: outcome.status,
    exitCode: exitCodeFor(outcome.status),
    steps: outcome.steps,
    ...(notifications === undefined ? {} : { notifications }),
  };
  const files = writeReport(report, options.reportDir, options.stepSummaryFile);
  return { report, files };
}
