/**
 * Running a stage end to end: validate configuration and environment (before
 * any step), run the stage, build the report and write it.
 */
import { join, resolve } from "node:path";
import { resolveEnvironment } from "../config/env-profile.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import type { Runner } from "../core/command.js";
import { UsageError } from "../core/errors.js";
import { exitCodeFor, type RunReport } from "../report/report.js";
import { type ReportFiles, writeReport } from "../report/write-report.js";
import { allStepIds, STAGES } from "../stages/registry.js";
import { runStage, type Stage, type StageEvent, type StageName, stageStepIds } from "../stages/stage.js";
import { toolVersion } from "./version.js";

/** Inputs of {@link runPipeline}. */
export interface RunPipelineOptions {
  /** Stage name as given by the user; unknown names are usage errors. */
  readonly stage: string;
  /** Workspace on this machine (holds `Cargo.toml`). */
  readonly source: string;
  readonly runner: Runner;
  /** The workspace root as the runner's commands see it; defaults to `source`. */
  readonly workspaceDir?: string;
  readonly envFiles?: readonly string[];
  readonly processEnv?: Readonly<Record<string, string | undefined>>;
  /** Defaults to `<source>/target/shriven-pipeline/<stage>`. */
  readonly reportDir?: string;
  readonly only?: readonly string[];
  /** Overrides the config's `jobs`; defaults to one per CPU. */
  readonly jobs?: number;
  readonly defaultJobs: number;
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: StageEvent) => void;
  /** Pre-flight done, steps about to run. */
  readonly onStart?: (stage: Stage, reportDir: string) => void;
  /** `$GITHUB_STEP_SUMMARY`, appended to when set. */
  readonly stepSummaryFile?: string;
}

/** A finished run. */
export interface PipelineRun {
  readonly report: RunReport;
  readonly files: ReportFiles;
}

/** Looks up a stage by name, with a usage error for the ones this version lacks. */
export function stageByName(name: string): Stage {
  const stage = STAGES[name as StageName];
  if (stage === undefined) {
    const available = Object.keys(STAGES).join(", ");
    if (name === "staging" || name === "production") {
      throw new UsageError(`the ${name} stage is not available in this version yet; available: ${available}`);
    }
    throw new UsageError(`unknown stage ${JSON.stringify(name)}; expected one of: ${available}`);
  }
  return stage;
}

/**
 * Runs a stage. Configuration and usage problems throw (ConfigError,
 * UsageError) before any step runs; gate failures are in the report.
 */
export async function runPipeline(options: RunPipelineOptions): Promise<PipelineRun> {
  const stage = stageByName(options.stage);
  const source = resolve(options.source);
  const stepIds = stageStepIds(stage);
  const unknown = (options.only ?? []).filter((id) => !stepIds.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only: unknown step ${unknown.map((id) => JSON.stringify(id)).join(", ")} in the ${stage.name} stage; expected: ${stepIds.join(", ")}`,
    );
  }
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const environment = resolveEnvironment({
    environment: stage.environment,
    envFiles: options.envFiles ?? [],
    processEnv: options.processEnv ?? {},
  });
  const reportDir = resolve(options.reportDir ?? join(source, "target", "shriven-pipeline", stage.name));
  options.onStart?.(stage, reportDir);

  const startedAt = new Date();
  const outcome = await runStage({
    stage,
    runner: options.runner,
    workspaceDir: options.workspaceDir ?? source,
    settings: config.steps,
    profileEnv: environment.variables,
    ...(options.only === undefined ? {} : { only: new Set(options.only) }),
    jobs: options.jobs ?? config.jobs ?? options.defaultJobs,
    logDir: join(reportDir, "logs"),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
  });
  const finishedAt = new Date();
  const report: RunReport = {
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: toolVersion() },
    stage: stage.name,
    environment: { name: environment.name, variables: { ...environment.variables } },
    runner: options.runner.name,
    workspace: source,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    status: outcome.status,
    exitCode: exitCodeFor(outcome.status),
    steps: outcome.steps,
  };
  const files = writeReport(report, reportDir, options.stepSummaryFile);
  return { report, files };
}
