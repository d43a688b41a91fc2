/**
 * The `shriven-pipeline` command line. `main` returns the exit code:
 * 0 all gates passed, 1 a gate failed, 2 usage or configuration error,
 * 130 interrupted.
 */
import { existsSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readEnvFiles, resolveEnvironment } from "../config/env-profile.js";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { ConfigError, UsageError } from "../core/errors.js";
import type { Clock, RunInputs } from "../core/step.js";
import { MIN_OVERRIDE_REASON_LENGTH } from "../gates/deploy-window.js";
import { hostServices } from "../pipeline/host-services.js";
import { checkOnly, runPipeline, stageByName } from "../pipeline/run-pipeline.js";
import { toolVersion } from "../pipeline/version.js";
import { ChecksumError } from "../release/checksums.js";
import { SignatureError } from "../release/minisign.js";
import { ProvenanceError } from "../release/provenance.js";
import { RetentionError } from "../release/retention.js";
import { renderConsoleSummary } from "../report/console.js";
import { HostRunner } from "../runners/host-runner.js";
import { allStepIds, STAGE_NAMES, STAGES } from "../stages/registry.js";
import { AdvisoryDatabaseError } from "../supply-chain/advisory-db.js";
import { checkReleaseTag } from "../supply-chain/release-tag.js";
import { auditLogCommand } from "./audit-log-command.js";
import { deployCommand, rollbackCommand } from "./deploy-commands.js";
import { auditCommand, licensesCommand } from "./gate-commands.js";
import { paperCommand } from "./paper-command.js";
import { perfCommand } from "./perf-command.js";
import { LiveProgress, PlainProgress, type ProgressView, type TextOut } from "./progress.js";
import { pruneCommand, publishCommand, releaseCommand, verifyCommand } from "./release-commands.js";
import { runIdentity } from "./run-identity.js";

/** Where the CLI reads and writes; the real process by default. */
export interface CliIo {
  readonly stdout: TextOut & { isTTY?: boolean };
  readonly stderr: TextOut;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Install a SIGINT/SIGTERM handler that cancels the run (the real CLI does). */
  readonly handleSignals: boolean;
  /** The gates' clock (wait timer, deploy window, monitoring); the real one when absent. */
  readonly clock?: Clock;
}

const USAGE = `Usage: shriven-pipeline <command> [options]

Commands:
  run <stage>      Run a stage (dev, staging, production) on a Rust workspace
  list             List the stages and their steps
  audit            RustSec audit of a Cargo.lock (exit 1 when a vulnerability is found)
                   [--source DIR | --lockfile FILE] [--db DIR] [--format text|json]
  licenses         Licence policy check of a workspace's crates (exit 1 when one is not allowed)
                   [--source DIR] [--format text|json]
  perf             Measure benchmarks and instruction counts against a baseline, or save one
                   [--source DIR] [--baseline NAME] [--save-baseline NAME --reason TEXT]
  paper            Paper trading: replay market data through the engine against a simulated exchange
                   [--source DIR] [--data FILE]... [--env-file FILE]... [--out DIR] [--no-build]
                   [--format text|json]
  release          Optimized release build, minisign signatures, SHA256SUMS, SLSA provenance
                   --tag vX.Y.Z [--source DIR] [--signing-key-file FILE (default: $RELEASE_SIGNING_KEY)]
                   [--out DIR] [--report FILE]... [--publish [--repository OWNER/NAME]] (token: $GITHUB_TOKEN)
  publish          Publish a signed release folder as a GitHub release (idempotent; token: $GITHUB_TOKEN)
                   --dir DIR --tag vX.Y.Z [--repository OWNER/NAME] [--report FILE.md]...
  verify           Check a release folder: signatures, checksums, provenance
                   --dir DIR --public-key minisign.pub
  prune-artifacts  Remove build artifacts older than the retention (default 30 days); releases are kept
                   [--source DIR | --dir DIR] [--days N] [--dry-run]
  deploy           Deploy a signed release to the pinned hosts of [deploy.<env>] (SSH key: $SSH_DEPLOY_KEY)
                   --env test|production --release DIR [--source DIR] [--ssh-key-file FILE] [--break-lock]
  rollback         Switch the hosts back to a retained release (signature re-verified, health-checked)
                   --env test|production --to vX.Y.Z [--source DIR] [--ssh-key-file FILE] [--break-lock]
  audit-log        The tamper-evident audit log: verify, prune (signed checkpoint), show
                   verify [--file F] [--public-key F] | prune --signing-key-file F [--days 90] | show [--last N]
  help             Show this help

Options of run:
  --source DIR       Cargo workspace to check (default: the current directory, if it has a Cargo.toml)
  --env-file FILE    Environment profile overrides (.env format); may be given more than once
  --report-dir DIR   Where report.json, junit.xml, summary.md and step logs go
                     (default: <source>/target/shriven-pipeline/<stage>)
  --only STEP[,STEP] Run only these steps; the others are reported as skipped
  --jobs N           Most steps at once within a group (default: one per CPU)
  --advisory-db DIR  A local copy of the RustSec advisory database
                     (default: a cached clone of github.com/rustsec/advisory-db)

Options of run production:
  --tag vX.Y.Z               The release tag (annotated, checked out, newer than every release)
  --override-window REASON   Emergency: deploy while the market is open; the reason is audit-logged
  --local                    A local rehearsal on local hosts: TRADING_MODE forced to paper, never live

  -h, --help         Show this help
  -v, --version      Show the version

Exit codes: 0 gates passed, 1 a gate failed, 2 usage or configuration error, 130 interrupted.
`;

/** Runs the CLI with `args` (without `node` and the script). */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`shriven-pipeline: ${error.message}\nRun 'shriven-pipeline --help' for usage.\n`);
      return 2;
    }
    if (
      error instanceof AdvisoryDatabaseError ||
      error instanceof SignatureError ||
      error instanceof ChecksumError ||
      error instanceof RetentionError ||
      error instanceof ProvenanceError
    ) {
      io.stderr.write(`shriven-pipeline: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`shriven-pipeline: configuration error in ${error.message}\nNo step was run.\n`);
      return 2;
    }
    throw error;
  }
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), handleSignals: true };
}

async function dispatch(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    io.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version" || command === "-v") {
    io.stdout.write(`shriven-pipeline ${toolVersion()}\n`);
    return 0;
  }
  if (command === "list") {
    if (rest.length > 0) throw new UsageError(`list takes no arguments, got ${JSON.stringify(rest[0])}`);
    io.stdout.write(renderStageList());
    return 0;
  }
  if (command === "run") return run(rest, io);
  if (command === "audit") return auditCommand(rest, io);
  if (command === "licenses") return licensesCommand(rest, io);
  if (command === "perf") return perfCommand(rest, io);
  if (command === "paper") return paperCommand(rest, io);
  if (command === "release") return releaseCommand(rest, io);
  if (command === "verify") return verifyCommand(rest, io);
  if (command === "publish") return publishCommand(rest, io);
  if (command === "prune-artifacts") return pruneCommand(rest, io);
  if (command === "deploy") return deployCommand(rest, io);
  if (command === "rollback") return rollbackCommand(rest, io);
  if (command === "audit-log") return auditLogCommand(rest, io);
  throw new UsageError(
    `unknown command ${JSON.stringify(command)}; expected run, list, audit, licenses, perf, paper, release, publish, verify, prune-artifacts, deploy, rollback, audit-log or help`,
  );
}

function renderStageList(): string {
  const lines: string[] = [];
  for (const name of STAGE_NAMES) {
    const stage = STAGES[name];
    lines.push(`${name} (${stage.environment} environment): ${stage.description}`);
    stage.groups.forEach((group, index) => {
      for (const step of group) {
        const overlap =
          group.length > 1
            ? ` [group ${index + 1}, runs alongside ${group.length - 1} other${group.length === 2 ? "" : "s"}]`
            : ` [group ${index + 1}]`;
        lines.push(`  ${step.id.padEnd(8)} ${step.title}: ${step.description}${overlap}`);
      }
    });
    lines.push("");
  }
  return lines.join("\n");
}

function parseRunArgs(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        source: { type: "string" },
        "env-file": { type: "string", multiple: true },
        "report-dir": { type: "string" },
        "advisory-db": { type: "string" },
        only: { type: "string" },
        jobs: { type: "string" },
        tag: { type: "string" },
        "override-window": { type: "string" },
        local: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseRunArgs(args);
  if (values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? "run needs a stage: dev, staging or production" : `run takes one stage, got ${positionals.join(" ")}`,
    );
  }
  const stage = stageByName(positionals[0] as string);
  const inputs = productionInputs(stage.name, values);
  const source = resolveSource(values.source, io.cwd);
  const jobs = values.jobs === undefined ? undefined : parseJobs(values.jobs);
  const only = values.only === undefined ? undefined : parseOnly(values.only);
  checkOnly(stage, only);
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const environment = resolveEnvironment({
    environment: stage.environment,
    envFiles: readEnvFiles((values["env-file"] ?? []).map((f) => resolve(io.cwd, f))),
    processEnv: io.env,
    ...(inputs.localRehearsal === true ? { forcePaper: "--local (a local rehearsal)" } : {}),
  });
  if (inputs.localRehearsal === true) io.stdout.write(LOCAL_BANNER);
  const reportDir = resolve(io.cwd, values["report-dir"] ?? join(source, "target", "shriven-pipeline", stage.name));

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
        ...(values["advisory-db"] === undefined ? {} : { advisoryDb: resolve(io.cwd, values["advisory-db"]) }),
      }),
      signal: controller.signal,
      ...(io.env.GITHUB_STEP_SUMMARY === undefined ? {} : { stepSummaryFile: io.env.GITHUB_STEP_SUMMARY }),
      onEvent: (event) => progress.onEvent(event),
      // A production run announces the tag it releases.
      notify: { ...runIdentity(io.env), ...(inputs.tag === undefined ? {} : { version: inputs.tag }) },
    });
    progress.stop();
    io.stdout.write(`\n${renderConsoleSummary(report, files.json)}`);
    if (inputs.localRehearsal === true) io.stdout.write(LOCAL_BANNER);
    return report.exitCode;
  } finally {
    progress.stop();
    if (io.handleSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}

const LOCAL_BANNER = `
################################################################################
#  LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING               #
#  TRADING_MODE is forced to paper for every step and every host it deploys to. #
################################################################################

`;

/** The production-only options of \`run\`, refused for the other stages. */
function productionInputs(
  stage: string,
  values: { tag?: string | undefined; "override-window"?: string | undefined; local?: boolean | undefined },
): RunInputs {
  const given = (["tag", "override-window", "local"] as const).filter((k) => values[k] !== undefined);
  if (stage !== "production") {
    if (given.length > 0) throw new UsageError(`--${given[0]} is an option of run production, not of run ${stage}`);
    return {};
  }
  const tag = values.tag;
  if (tag === undefined || tag.trim() === "") throw new UsageError("run production needs --tag vX.Y.Z (the release tag)");
  // Its form only: pre-production validation checks it against the repository's tags and [release].
  const form = checkReleaseTag(tag, [], { allowPrerelease: true });
  if (!form.ok) throw new UsageError(`--tag: ${form.reason}`);
  const override = values["override-window"];
  if (override !== undefined && override.trim().length < MIN_OVERRIDE_REASON_LENGTH)
    throw new UsageError(
      `--override-window: the override needs its own reason, at least ${MIN_OVERRIDE_REASON_LENGTH} characters saying why the deploy cannot wait`,
    );
  return {
    tag,
    ...(override === undefined ? {} : { overrideWindow: override }),
    ...(values.local === true ? { localRehearsal: true } : {}),
  };
}

function resolveSource(given: string | undefined, cwd: string): string {
  const source = resolve(cwd, given ?? ".");
  const isDir = existsSync(source) && statSync(source).isDirectory();
  if (!isDir) throw new UsageError(`--source ${given ?? source}: no such directory`);
  if (!existsSync(join(source, "Cargo.toml"))) {
    throw new UsageError(
      given === undefined
        ? `no Cargo.toml in the current directory (${source}); pass --source DIR`
        : `--source ${given}: no Cargo.toml in ${source}; expected a Cargo workspace`,
    );
  }
  return source;
}

function parseJobs(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) {
    throw new UsageError(`--jobs: expected a whole number from 1 to 64, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parseOnly(text: string): string[] {
  const ids = text.split(",").map((s) => s.trim());
  if (ids.some((id) => id === "")) throw new UsageError(`--only: expected step ids separated by commas, got ${JSON.stringify(text)}`);
  return ids;
}
