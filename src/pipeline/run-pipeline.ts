/**
 * Running a stage end to end once its inputs are validated: run the stage,
 * build the report and write it. The edges (CLI on the host, the Dagger
 * module) load and validate configuration and environment first, so nothing
 * runs on bad input.
 */
import { join, relative } from "node:path";
import { appendAuditEntry } from "../audit-log/append.js";
import { DEFAULT_AUDIT_LOG } from "../audit-log/policy.js";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import type { PipelineConfig } from "../config/pipeline-config.js";
import type { Runner } from "../core/command.js";
import { UsageError } from "../core/errors.js";
import { runStage, type Stage, type StageEvent, type StageName, stageStepIds } from "../engine/stage.js";
import type { StepServices } from "../engine/step.js";
import { notifySlack, type SlackEvent, type SlackOptions } from "../notify/slack.js";
import { Redactor } from "../report/redact.js";
import { type ContainerRecord, exitCodeFor, type RunReport } from "../report/report.js";
import { type ReportFiles, writeReport } from "../report/write-report.js";
import { STAGES } from "../stages/registry.js";
import { checkProductionGates, type Emergency, emergencyOf, emergencySkipLines } from "./production-gates.js";
import { recordStageRun, type StageAudit } from "./stage-audit.js";
import { toolVersion } from "./version.js";

/** The report's `audit`: the log (relative to the workspace), what was appended, the chain head or the error. */
function auditRecord(audit: StageAudit, workspace: string): NonNullable<RunReport["audit"]> {
  return {
    log: relative(workspace, audit.log),
    appended: audit.appended,
    ...(audit.head === undefined ? {} : { head: audit.head }),
    ...(audit.error === undefined ? {} : { error: audit.error }),
  };
}

/** Inputs of {@link runPipeline}. */
export interface RunPipelineOptions {
  readonly stage: Stage;
  readonly config: PipelineConfig;
  readonly environment: ResolvedEnvironment;
  readonly runner: Runner;
  /** The container the runner runs commands in (images, installed packages), for the report. */
  readonly container?: ContainerRecord;
  /** The workspace root as the runner's commands see it. */
  readonly workspaceDir: string;
  /** How the report names the workspace (a host path, or the Dagger source). */
  readonly workspaceLabel: string;
  /** Local folder for the report files and step logs. */
  readonly reportDir: string;
  readonly only?: readonly string[];
  /**
   * Tests of single gates only (never from a command line or a config): runs only these steps, without the
   * check that keeps `--only` out of production.
   */
  readonly testSelection?: readonly string[];
  /** Production's emergency hotfix (`--emergency`): its reason. Needs `auditLog`. */
  readonly emergency?: string;
  /** The workspace's audit log, where an emergency is recorded before any step runs. */
  readonly auditLog?: string;
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

/**
 * Production's emergency hotfix, recorded in the audit log before any step runs.
 * @throws UsageError for another stage, a short reason or no audit log; AuditLogError when it cannot be recorded.
 */
function declareEmergency(options: RunPipelineOptions, reason: string): Emergency {
  if (options.stage.name !== "production")
    throw new UsageError(`--emergency is an option of run production, not of run ${options.stage.name}`);
  const emergency = emergencyOf(reason, options.stage);
  if (options.auditLog === undefined) throw new UsageError("an emergency hotfix is recorded in the audit log: this run has none");
  const who = options.notify?.who ?? "unknown";
  appendAuditEntry(options.auditLog, {
    kind: "emergency",
    actor: who,
    data: {
      stage: options.stage.name,
      version: options.notify?.version ?? "unknown",
      reason: emergency.reason,
      skipped: [...emergency.skips.keys()],
      ...(options.notify?.runUrl === undefined ? {} : { run: options.notify.runUrl }),
    },
  });
  return emergency;
}

/** Runs a validated stage; gate failures are in the report, never thrown. */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineRun> {
  const { stage, environment } = options;
  checkOnly(stage, options.only);
  checkOnly(stage, options.testSelection);
  checkProductionGates(stage, options.config.steps, options.config.file, options.only);
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
  const emergency = options.emergency === undefined ? undefined : declareEmergency(options, options.emergency);
  const announced =
    emergency === undefined || notify === undefined || base === undefined
      ? undefined
      : await notify({
          kind: "emergency",
          environment: environment.name,
          version: base.version,
          who: base.who,
          ...(base.runUrl === undefined ? {} : { runUrl: base.runUrl }),
          reason: emergency.reason,
          skipped: emergencySkipLines(stage),
        });
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
    ...(options.testSelection === undefined ? {} : { only: new Set(options.testSelection) }),
    ...(emergency === undefined ? {} : { skip: emergency.skips }),
    jobs: options.jobs,
    logDir: join(options.reportDir, "logs"),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const host = options.services.host;
  // Every run on the host records its tests, benchmarks and verdict; a run that cannot be recorded fails.
  const audit =
    host === undefined
      ? undefined
      : recordStageRun(join(host.workspace, DEFAULT_AUDIT_LOG), {
          stage: stage.name,
          status: outcome.status,
          steps: outcome.steps,
          who: host.who,
          ...(host.runUrl === undefined ? {} : { runUrl: host.runUrl }),
          ...(host.inputs.tag === undefined ? {} : { tag: host.inputs.tag }),
        });
  const status = audit?.error !== undefined && outcome.status !== "cancelled" ? "failed" : outcome.status;
  const failures = outcome.steps.filter((s) => s.status === "failed" || s.status === "warned").map((s) => `${s.title}: ${s.summary}`);
  const notifications =
    notify === undefined || base === undefined || started === undefined
      ? undefined
      : [
          ...(announced === undefined ? [] : [announced]),
          await started,
          await notify({
            kind: status === "failed" || status === "cancelled" ? "stage-failed" : "stage-passed",
            ...base,
            summary: audit?.error === undefined ? failures : [...failures, `Audit log not written: ${audit.error}`],
            ...(audit?.head === undefined ? {} : { chainHead: audit.head }),
          }),
        ];
  const finishedAt = new Date();
  const report: RunReport = {
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: toolVersion() },
    stage: stage.name,
    environment: { name: environment.name, variables: { ...environment.variables } },
    runner: options.runner.name,
    ...(options.container === undefined ? {} : { container: options.container }),
    workspace: options.workspaceLabel,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    status,
    exitCode: exitCodeFor(status),
    steps: outcome.steps,
    ...(emergency === undefined
      ? {}
      : { emergency: { reason: emergency.reason, who: options.notify?.who ?? "unknown", skipped: [...emergency.skips.keys()] } }),
    ...(audit === undefined ? {} : { audit: auditRecord(audit, host?.workspace ?? options.workspaceDir) }),
    ...(notifications === undefined ? {} : { notifications }),
  };
  const files = writeReport(report, options.reportDir, options.stepSummaryFile);
  return { report, files };
}
