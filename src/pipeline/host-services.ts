/**
 * What the host edge (the CLI) gives steps besides commands: the advisory
 * database from a local copy or a cached git clone, fetched once per run.
 */
import { resolve } from "node:path";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import { type AdvisoryDatabaseHandle, type Clock, type RunInputs, type StepServices, SYSTEM_CLOCK } from "../core/step.js";
import { defaultCacheDir, fetchAdvisoryDatabase } from "../supply-chain/advisory-db-fetch.js";
import type { AuditPolicy } from "../supply-chain/audit.js";

/** Inputs of {@link hostServices}. */
export interface HostServicesOptions {
  /** The workspace; a relative `[audit] db` is relative to it. */
  readonly workspace: string;
  readonly audit: AuditPolicy;
  /** `--advisory-db DIR` from the command line; wins over the config. */
  readonly advisoryDb?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The resolved environment and who runs the stage: with them, steps get the host capabilities. */
  readonly environment?: ResolvedEnvironment;
  readonly who?: string;
  /** The real clock when absent. */
  readonly clock?: Clock;
  /** `--tag`, `--override-window`, `--local` of a production run. */
  readonly inputs?: RunInputs;
  /** The run's page in CI. */
  readonly runUrl?: string;
}

/** The CI variables steps read (never secrets): who pushed a tag, the run whose reviews count, the repository. */
const CI_VARIABLES = ["GITHUB_ACTOR", "GITHUB_REF", "GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_SERVER_URL"] as const;

/** Services for a host run; the database is fetched at most once, when a step first asks. */
export function hostServices(options: HostServicesOptions): StepServices {
  let database: Promise<AdvisoryDatabaseHandle> | undefined;
  const localCopy = options.advisoryDb ?? (options.audit.db === undefined ? undefined : resolve(options.workspace, options.audit.db));
  return {
    advisoryDatabase() {
      database ??= fetchAdvisoryDatabase({
        ...(localCopy === undefined ? {} : { localCopy }),
        url: options.audit.dbUrl,
        cacheDir: defaultCacheDir(options.env),
      });
      return database;
    },
    today: () => new Date().toISOString().slice(0, 10),
    ...(options.environment === undefined
      ? {}
      : {
          host: {
            workspace: options.workspace,
            environment: options.environment,
            secret: (name: string) => (options.environment as ResolvedEnvironment).secrets[name],
            who: options.who ?? "unknown",
            shared: new Map<string, unknown>(),
            clock: options.clock ?? SYSTEM_CLOCK,
            inputs: options.inputs ?? {},
            ci: Object.fromEntries(CI_VARIABLES.map((name) => [name, options.env[name]])),
            ...(options.runUrl === undefined ? {} : { runUrl: options.runUrl }),
          },
        }),
  };
}
