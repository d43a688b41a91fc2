/**
 * `shriven-pipeline run <stage>`: a stage on a Rust workspace on this machine,
 * with live progress, the reports written and the summary printed; exit code
 * 0 when every gate passed, 1 when one failed, 130 when interrupted.
 */
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_AUDIT_LOG } from "../../audit-log/policy.js";
import { readEnvFiles, resolveEnvironment } from "../../config/env-profile.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { hostServices } from "../../pipeline/host-services.js";
import { checkProductionGates } from "../../pipeline/production-gates.js";
import { checkOnly, runPipeline, stageByName } from "../../pipeline/run-pipeline.js";
import { inGitHubActions, renderAnnotations } from "../../report/annotations.js";
import { renderConsoleSummary } from "../../report/console.js";
import { Redactor } from "../../report/redact.js";
import { HostRunner } from "../../runners/host-runner.js";
import { allStepIds } from "../../stages/registry.js";
import { type ParsedArgs, text, texts } from "../args.js";
import type { CliIo } from "../io.js";
import { prepareRun } from "../local-run.js";
import { LiveProgress, PlainProgress, type ProgressView } from "../progress.js";
import { runIdentity } from "../run-identity.js";
import { parseJobs, parseOnly, runInputs } from "../run-inputs.js";
import { workspaceDir } from "../workspace-dir.js";

const LOCAL_BANNER = `
################################################################################
#  LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING               #
#  TRADING_MODE is forced to paper for every step and every host it deploys to. #
################################################################################

`;

const LOCAL_RUN_NOTICE = `
Local run of the staging stage: an environment without hosts deploys to local targets on this machine
(.shriven-pipeline/local-targets/test), not to test servers.

`;

export { runStageCommand as run };

async function runStageCommand({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? "run needs a stage: dev, staging or production" : `run takes one stage, got ${positionals.join(" ")}`,
    );
  }
  const stage = stageByName(positionals[0] as string);
  const given = runInputs(stage.name, {
    tag: text(values.tag),
    "override-window": text(values["override-window"]),
    emergency: text(values.emergency),
    local: values.local === true ? true : undefined,
    "policy-ref": text(values["policy-ref"]),
    "wait-starts-at": text(values["wait-starts-at"]),
  });
  const source = workspaceDir(text(values.source), io.cwd);
  const jobsText = text(values.jobs);
  const jobs = jobsText === undefined ? undefined : parseJobs(jobsText);
  const onlyText = text(values.only);
  const only = onlyText === undefined ? undefined : parseOnly(onlyText);
  checkOnly(stage, only);
  const loaded = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  // Before anything runs or is prepared: production's gates are not configuration.
  checkProductionGates(stage, loaded.steps, loaded.file, only);
  const profile = resolveEnvironment({
    environment: stage.environment,
    envFiles: readEnvFiles((texts(values["env-file"]) ?? []).map((f) => resolve(io.cwd, f))),
    processEnv: io.env,
    ...(given.localRehearsal === true && stage.name === "production" ? { forcePaper: "--local (a local rehearsal)" } : {}),
  });
  const banner = given.localRehearsal === true ? (stage.name === "production" ? LOCAL_BANNER : LOCAL_RUN_NOTICE) : "";
  io.stdout.write(banner);
  const prepared = await prepareRun({
    stage,
    config: loaded,
    environment: profile,
    inputs: given,
    workspace: source,
    only: io.testSelection ?? only,
    env: io.env,
    say: (line) => io.stdout.write(`${line}\n`),
  });
  const { config, environment, inputs } = prepared;
  const reportDir = resolve(io.cwd, text(values["report-dir"]) ?? join(source, "target", "shriven-pipeline", stage.name));
  const advisoryDb = text(values["advisory-db"]);

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  if (io.handleSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  const live = io.stdout.isTTY === true && io.env.CI !== "true" && io.env.CI !== "1";
  const progress: ProgressView = live ? new LiveProgress(io.stdout, stage) : new PlainProgress(io.stdout, stage);
  try {
    const { report, files } = await runPipeline({
      stage,
      config,
      environment,
      runner: new HostRunner({ workspace: source, secrets: environment.secrets }),
      workspaceDir: source,
      workspaceLabel: source,
      reportDir,
      ...(only === undefined ? {} : { only }),
      ...(io.testSelection === undefined ? {} : { testSelection: io.testSelection }),
      ...(inputs.emergency === undefined ? {} : { emergency: inputs.emergency }),
      auditLog: join(source, DEFAULT_AUDIT_LOG),
      jobs: jobs ?? config.jobs ?? availableParallelism(),
      services: hostServices({
        workspace: source,
        audit: config.policies.audit,
        env: io.env,
        environment,
        who: runIdentity(io.env).who,
        inputs,
        ...(io.clock === undefined ? {} : { clock: io.clock }),
        ...(runIdentity(io.env).runUrl === undefined ? {} : { runUrl: runIdentity(io.env).runUrl }),
        ...(advisoryDb === undefined ? {} : { advisoryDb: resolve(io.cwd, advisoryDb) }),
      }),
      signal: controller.signal,
      ...(io.env.GITHUB_STEP_SUMMARY === undefined ? {} : { stepSummaryFile: io.env.GITHUB_STEP_SUMMARY }),
      onEvent: (event) => progress.onEvent(event),
      // A production run announces the tag it releases.
      notify: { ...runIdentity(io.env), ...(inputs.tag === undefined ? {} : { version: inputs.tag }) },
    });
    progress.stop();
    io.stdout.write(`\n${renderConsoleSummary(report, files.json)}`);
    // In GitHub Actions the findings also go out as workflow commands: annotations on the pull request's lines.
    if (inGitHubActions(io.env)) io.stdout.write(renderAnnotations(report, new Redactor(Object.values(environment.secrets))));
    return report.exitCode;
  } finally {
    progress.stop();
    // No local target's service outlives the run, whatever ended it.
    for (const problem of await prepared.stop()) io.stderr.write(`shriven-pipeline: ${problem}\n`);
    io.stdout.write(banner);
    if (io.handleSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}
