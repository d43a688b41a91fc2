import type { ResolvedEnvironment } from "../config/env-profile.js";
import type { Policies } from "../config/pipeline-config.js";
import type { Command, ExecResult } from "./command.js";

/** Final state of a step. `warned` passes the gate but is shown. */
export type StepStatus = "passed" | "warned" | "failed" | "skipped" | "cancelled";

/** One test case a test step saw (for JUnit XML and the report). */
export interface TestCase {
  /** The test binary or suite, e.g. `orderbook (src/lib.rs)`. */
  readonly suite: string;
  /** The test path, e.g. `tests::cancel_removes_order`. */
  readonly name: string;
  readonly status: "passed" | "failed" | "ignored";
  /** Failure output (panic message and captured stdout), when failed. */
  readonly message?: string;
}

/** A file a step produced, for callers to pick up. */
export interface Artifact {
  readonly name: string;
  /** Local path of the file. */
  readonly path: string;
}

/** What a step's own logic decides; the stage adds identity and timing. */
export interface StepOutcome {
  readonly status: Exclude<StepStatus, "cancelled">;
  /** One line, e.g. `47/49 passed` or `No warnings`. */
  readonly summary: string;
  /** Further lines: file:line: message, failing test names, … */
  readonly details?: readonly string[];
  readonly artifacts?: readonly Artifact[];
  readonly tests?: readonly TestCase[];
  /** Structured output for the JSON report (e.g. the audit's cargo-audit-style entries). */
  readonly data?: unknown;
}

/** A step's full result as it appears in the report. */
export interface StepResult {
  readonly id: string;
  readonly title: string;
  readonly status: StepStatus;
  readonly summary: string;
  readonly details: readonly string[];
  readonly artifacts: readonly Artifact[];
  readonly tests?: readonly TestCase[];
  readonly data?: unknown;
  readonly durationMs: number;
  /** Log file with the step's full output, when one was written. */
  readonly logFile?: string;
}

/** What a step may use while running. It never learns which runner runs it. */
export interface StepContext {
  /** Runs a command through the stage's runner; throws when the step is cancelled or times out. */
  exec(command: Command): Promise<ExecResult>;
  /** Options for this step from the pipeline config (validated). */
  readonly options: StepOptions;
  /** Environment variables of the resolved environment profile (also passed to every command). */
  readonly profileEnv: Readonly<Record<string, string>>;
  /**
   * The workspace root as the commands see it (a host path, or the mount
   * point in a container); only for turning absolute paths in tool output
   * into workspace-relative ones.
   */
  readonly workspaceDir: string;
  /** Aborted when the stage fails fast or the user interrupts. */
  readonly signal: AbortSignal;
  /** The gates' policies from the pipeline config (defaults applied). */
  readonly policies: Policies;
  /** What the edge (CLI or Dagger module) provides besides commands. */
  readonly services: StepServices;
}

/** A local copy of the RustSec advisory database. */
export interface AdvisoryDatabaseHandle {
  readonly root: string;
  /** Where it came from (a path or a URL). */
  readonly origin: string;
  /** Set when the copy may be stale. */
  readonly warning?: string;
}

/**
 * What only a run on the host offers: the steps that talk to other machines
 * (paper trading's engine process, deploys over SSH) run in the pipeline's own
 * process, next to the workspace.
 */
export interface HostCapabilities {
  /** The workspace, as a host path. */
  readonly workspace: string;
  readonly environment: ResolvedEnvironment;
  /** A secret of the environment (env files or the process environment), by name. */
  secret(name: string): string | undefined;
  /** Who runs the stage (for the audit log and notifications). */
  readonly who: string;
  /** What steps hand to later steps of the same run (the release folder, the deploy outcome). */
  readonly shared: Map<string, unknown>;
  /** Time as the gates see it (wait timer, deploy window, monitoring); injectable so tests need not wait. */
  readonly clock: Clock;
  /** What the command line gave this run besides options of every stage. */
  readonly inputs: RunInputs;
  /** The CI system's variables (GITHUB_RUN_ID, GITHUB_REPOSITORY, GITHUB_REF, GITHUB_ACTOR, …); never secrets. */
  readonly ci: Readonly<Record<string, string | undefined>>;
  /** The CI run's page, when there is one (for the audit log, notifications and provenance). */
  readonly runUrl?: string;
}

/** Wall-clock time and waiting. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Inputs of a production run (`run production --tag … [--override-window …] [--local]`). */
export interface RunInputs {
  /** The release tag, `vX.Y.Z`. */
  readonly tag?: string;
  /** The emergency override of the deploy window: its reason. */
  readonly overrideWindow?: string;
  /** A local rehearsal: TRADING_MODE forced to paper, on local hosts. */
  readonly localRehearsal?: boolean;
}

/** Resources a step may need that are not commands; each edge provides them its own way. */
export interface StepServices {
  /** The advisory database: a cached clone on the host, Dagger's git API in the module. Rejects when none can be had. */
  advisoryDatabase(): Promise<AdvisoryDatabaseHandle>;
  /** Today's date (YYYY-MM-DD), for expiry dates. */
  today(): string;
  /** Present on the host only (the CLI); steps that need it fail clearly elsewhere. */
  readonly host?: HostCapabilities;
}

/** Options every step accepts from the pipeline config. */
export interface StepOptions {
  /** Extra arguments appended to the step's main cargo command. */
  readonly extraArgs: readonly string[];
}

/** A unit of work in a stage: written once, run by any runner. */
export interface Step {
  /** Stable id used on the CLI (`--only test`) and in reports. */
  readonly id: string;
  /** Human title shown in summaries (`Formatting`). */
  readonly title: string;
  /** One sentence on what the step checks. */
  readonly description: string;
  /** Default timeout, overridable in the pipeline config. */
  readonly defaultTimeoutSeconds: number;
  run(context: StepContext): Promise<StepOutcome>;
}
