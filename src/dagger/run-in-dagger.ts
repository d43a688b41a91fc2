/**
 * The Dagger edge of the pipeline: read configuration from the workspace
 * `Directory`, validate it, run a stage with the {@link DaggerRunner} on the
 * toolchain container, and hand the report back as a `Directory`.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { type Directory, dag, type File, type Secret } from "@dagger.io/dagger";
import { RUST_IMAGE, TOOLCHAIN_PACKAGES } from "../../containers/images.js";
import { cacheVolume, toolchainImage, WORKSPACE_DIR, withCargoCaches } from "../../containers/rust-toolchain.js";
import { REGISTRY_TOKEN } from "../cargo/commands.js";
import { type EnvFileText, resolveEnvironment } from "../config/env-profile.js";
import { CONFIG_FILE_NAME, defaultPipelineConfig, type PipelineConfig, parsePipelineConfig } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import type { Stage } from "../engine/stage.js";
import type { StepServices } from "../engine/step.js";
import { checkOnly, type PipelineRun, runPipeline, stageByName } from "../pipeline/run-pipeline.js";
import { renderAnnotations } from "../report/annotations.js";
import { renderConsoleSummary } from "../report/console.js";
import type { ContainerRecord } from "../report/report.js";
import { DaggerRunner } from "../runners/dagger-runner.js";
import { allStepIds } from "../stages/registry.js";
import { AdvisoryDatabaseError, isDatabase } from "../supply-chain/advisory-db.js";
import { bundledSnapshotPath, folderHandle, snapshotFallback } from "../supply-chain/advisory-db-fetch.js";
import type { AdvisoryDatabaseHandle } from "../supply-chain/advisory-handle.js";
import { fetchDependencies } from "./cargo-fetch.js";
import { containerRecord } from "./container-record.js";

/** Arguments every stage and step function takes. */
export interface DaggerRunArgs {
  readonly source: Directory;
  readonly envFile?: File;
  readonly only?: readonly string[];
  readonly jobs?: number;
  readonly registryToken?: Secret;
  /** A checkout of the RustSec advisory database to use as is, instead of fetching it with git. */
  readonly advisoryDb?: Directory;
}

/** How a report names a workspace that came in as a Dagger `Directory`. */
const WORKSPACE_LABEL = `dagger:${WORKSPACE_DIR}`;

/**
 * Cache volumes for build output are scoped to a workspace: the hash of its
 * root `Cargo.toml`, so two workspaces never share a target directory.
 */
export function workspaceCacheScope(manifest: string): string {
  return createHash("sha256").update(manifest).digest("hex").slice(0, 16);
}

export async function loadConfig(source: Directory, entries: readonly string[]): Promise<PipelineConfig> {
  if (!entries.includes(CONFIG_FILE_NAME)) return defaultPipelineConfig(allStepIds());
  return parsePipelineConfig(await source.file(CONFIG_FILE_NAME).contents(), CONFIG_FILE_NAME, allStepIds());
}

async function loadEnvFiles(envFile: File | undefined): Promise<EnvFileText[]> {
  if (envFile === undefined) return [];
  return [{ name: await envFile.name(), text: await envFile.contents() }];
}

/** The most steps any group of the stage holds: every step of a group at once. */
function widestGroup(stage: Stage): number {
  return Math.max(1, ...stage.groups.map((group) => group.length));
}

/**
 * A runner on the offline toolchain container with `source` mounted, build caches scoped to its
 * Cargo.toml. Before the first command that may reach the registry (those that may use its token: builds,
 * tests, lints, `cargo metadata`), the workspace's dependencies are fetched once, the one download; the
 * steps only read the caches. `cargo fmt` needs none and never waits for it. When the fetch fails, each
 * command that needed it fails with cargo's message.
 */
export async function workspaceRunner(source: Directory, registryToken: Secret | undefined): Promise<DaggerRunner> {
  const scope = workspaceCacheScope(await source.file("Cargo.toml").contents());
  let fetched: Promise<void> | undefined;
  return new DaggerRunner({
    base: withCargoCaches(toolchainImage(), "offline").withMountedDirectory(WORKSPACE_DIR, source),
    workdir: WORKSPACE_DIR,
    cacheVolume: (cache) => cacheVolume(cache.key, scope),
    secrets: registryToken === undefined ? {} : { [REGISTRY_TOKEN]: registryToken },
    before: (command) => {
      if (!command.secretEnv?.includes(REGISTRY_TOKEN)) return undefined;
      fetched ??= fetchDependencies(source, registryToken);
      return fetched;
    },
  });
}

/** The toolchain container's record (image digest, valgrind's installed version) for reports and provenance. */
export function toolchainRecord(): Promise<ContainerRecord> {
  return containerRecord(toolchainImage(), [RUST_IMAGE], TOOLCHAIN_PACKAGES);
}

/** Checks that `source` is a Cargo workspace and returns its entries. */
export async function workspaceEntries(source: Directory): Promise<string[]> {
  const entries = await source.entries();
  if (!entries.includes("Cargo.toml")) throw new UsageError("source: no Cargo.toml at its root; expected a Cargo workspace");
  return entries;
}

/**
 * Runs a stage in Dagger. Configuration and usage errors throw before any
 * step runs; gate failures are in the returned report.
 */
export async function runStageInDagger(stageName: string, args: DaggerRunArgs): Promise<PipelineRun> {
  const stage = stageByName(stageName);
  checkOnly(stage, args.only);
  const config = await loadConfig(args.source, await workspaceEntries(args.source));
  const environment = resolveEnvironment({ environment: stage.environment, envFiles: await loadEnvFiles(args.envFile) });
  const [runner, container] = await Promise.all([workspaceRunner(args.source, args.registryToken), toolchainRecord()]);
  return runPipeline({
    services: daggerServices(args.advisoryDb, config.policies.audit.dbUrl),
    stage,
    config,
    environment,
    runner,
    container,
    workspaceDir: WORKSPACE_DIR,
    workspaceLabel: WORKSPACE_LABEL,
    reportDir: mkdtempSync(join(tmpdir(), `shriven-${stage.name}-`)),
    ...(args.only === undefined ? {} : { only: args.only }),
    jobs: args.jobs ?? config.jobs ?? widestGroup(stage),
  });
}

/**
 * Services in the module: the advisory database from the given directory as is; else from git through
 * Dagger's git API; else, when that fails (no network, GitHub down), the snapshot bundled with this module,
 * read from the module's own files on the runtime's disk (the file dagger.json sends with the source, found as
 * the CLI finds it; no engine call that could fail the same way). Exported into the module's filesystem
 * once, when a step first asks. A fetched tree is dated by its commit when git can read it, else by its
 * newest advisory: the TypeScript runtime's image has no git (`production`, which fails on old data, runs
 * the CLI in a container with git, where the host's chain and the commit's date apply).
 */
function daggerServices(advisoryDb: Directory | undefined, url: string): StepServices {
  let database: Promise<AdvisoryDatabaseHandle> | undefined;
  const exported = async (directory: Directory): Promise<string> => {
    const root = mkdtempSync(join(tmpdir(), "shriven-advisory-db-"));
    await directory.export(root);
    return root;
  };
  const resolveCopy = async (): Promise<AdvisoryDatabaseHandle> => {
    if (advisoryDb !== undefined) {
      let root: string;
      try {
        root = await exported(advisoryDb);
      } catch (error) {
        throw new AdvisoryDatabaseError(`--advisory-db: cannot be read: ${(error as Error).message}`);
      }
      if (!isDatabase(root)) throw new AdvisoryDatabaseError("--advisory-db: not a RustSec advisory database checkout (no crates/ folder)");
      return folderHandle(root, "local copy", "--advisory-db");
    }
    let reason: string;
    try {
      const root = await exported(dag.git(url).head().tree());
      if (isDatabase(root)) return folderHandle(root, "fetched", url);
      reason = "the repository is not a RustSec advisory database (no crates/ folder)";
    } catch (error) {
      reason = (error as Error).message.split("\n")[0] ?? "the git fetch failed";
    }
    return snapshotFallback(url, reason, bundledSnapshotPath());
  };
  return {
    advisoryDatabase: () => {
      database ??= resolveCopy();
      return database;
    },
    today: () => new Date().toISOString().slice(0, 10),
  };
}

/**
 * The console summary of a run, followed by its findings as GitHub workflow commands (`::error file=…`: a
 * function cannot see whether its caller runs in GitHub Actions, and elsewhere they are plain lines); throws
 * it as the error when a gate failed, so `dagger call` exits non-zero.
 */
export function summaryOrFailure(run: PipelineRun): string {
  const summary = `${renderConsoleSummary(run.report)}${renderAnnotations(run.report)}`;
  if (run.report.exitCode !== 0) throw new Error(`${run.report.stage} stage ${run.report.status}\n${summary}`);
  return summary;
}

/** The report files of a run (report.json, its schema, junit.xml, summary.md, summary.txt, logs/) as a Directory. */
export function reportDirectory(run: PipelineRun): Directory {
  const root = join(run.files.json, "..");
  let directory = dag.directory().withNewFile("summary.txt", renderConsoleSummary(run.report));
  for (const file of listFiles(root)) directory = directory.withNewFile(relative(root, file), readFileSync(file, "utf8"));
  return directory;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
