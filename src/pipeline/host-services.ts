/**
 * What the host edge (the CLI) gives steps besides commands: the advisory
 * database (a local copy, else a git fetch, the cached clone or the bundled
 * snapshot), resolved once per run; today's date on the run's clock.
 */
import { resolve } from "node:path";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import { type Clock, SYSTEM_CLOCK } from "../core/clock.js";
import type { RunInputs, StepServices } from "../engine/step.js";
import { bundledSnapshotPath, defaultCacheDir, type LocalCopy, resolveAdvisoryDatabase } from "../supply-chain/advisory-db-fetch.js";
import type { AdvisoryDatabaseHandle } from "../supply-chain/advisory-handle.js";
import type { AuditPolicy } from "../supply-chain/audit.js";

/** Inputs of {@link hostServices}. */
export interface HostServicesOptions {
  /** The workspace; a relative `[audit] db` is relative to it. */
  readonly workspace: string;
  readonly audit: AuditPolicy;
  /** `--advisory-db DIR|FILE` from the command line; wins over the config. */
  readonly advisoryDb?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The resolved environment and who runs the stage: with them, steps get the host capabilities. */
  readonly environment?: ResolvedEnvironment;
  readonly who?: string;
  /** The real clock when absent; today's date (ignore expiry, the advisory data's age) is read from it. */
  readonly clock?: Clock;
  /** `--tag`, `--override-window`, `--local` of a production run. */
  readonly inputs?: RunInputs;
  /** The run's page in CI. */
  readonly runUrl?: string;
}

/**
 * The CI variables steps read (never secrets): who pushed a tag, the run whose reviews count, the repository,
 * the trusted branch of the approval policy.
 */
const CI_VARIABLES = [
  "GITHUB_ACTOR",
  "GITHUB_API_URL",
  "GITHUB_REF",
  "GITHUB_REPOSITORY",
  "GITHUB_RUN_ID",
  "GITHUB_SERVER_URL",
  "SHRIVEN_POLICY_REF",
] as const;

/** The local advisory database copy the command line or the config names, if any. */
export function localAdvisoryCopy(workspace: string, audit: AuditPolicy, commandLine: string | undefined): LocalCopy | undefined {
  if (commandLine !== undefined) return { path: commandLine, from: "--advisory-db" };
  return audit.db === undefined ? undefined : { path: resolve(workspace, audit.db), from: "[audit] db in shriven-pipeline.toml" };
}

/** Services for a host run; the database is resolved at most once, when a step first asks. */
export function hostServices(options: HostServicesOptions): StepServices {
  let database: Promise<AdvisoryDatabaseHandle> | undefined;
  const localCopy = localAdvisoryCopy(options.workspace, options.audit, options.advisoryDb);
  const clock = options.clock ?? SYSTEM_CLOCK;
  return {
    advisoryDatabase() {
      database ??= resolveAdvisoryDatabase({
        ...(localCopy === undefined ? {} : { localCopy }),
        url: options.audit.dbUrl,
        cacheDir: defaultCacheDir(options.env),
        snapshot: bundledSnapshotPath(),
      });
      return database;
    },
    today: () => new Date(clock.now()).toISOString().slice(0, 10),
    ...(options.environment === undefined
      ? {}
      : {
          host: {
            workspace: options.workspace,
            environment: options.environment,
            secret: (name: string) => (options.environment as ResolvedEnvironment).secrets[name],
            who: options.who ?? "unknown",
            state: { deploys: {} },
            clock,
            startedAt: new Date(clock.now()),
            inputs: options.inputs ?? {},
            ci: Object.fromEntries(CI_VARIABLES.map((name) => [name, options.env[name]])),
            ...(options.runUrl === undefined ? {} : { runUrl: options.runUrl }),
          },
        }),
  };
}
