import type { TestCase } from "../cargo/libtest-output.js";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import type { Policies } from "../config/pipeline-config.js";
import type { Clock } from "../core/clock.js";
import type { Command, ExecResult } from "../core/command.js";
import type { DeployOutcome } from "../deploy/outcome.js";
import type { BuiltRelease } from "../release/built-release.js";
import type { PromotionRecord } from "../release/promotion.js";
import type { ReleaseTag } from "../release/release-tag.js";
import type { AdvisoryDatabaseHandle } from "../supply-chain/advisory-handle.js";

/** Final state of a step. `warned` passes the gate but is shown. */
export type StepStatus = "passed" | "warned" | "failed" | "skipped" | "cancelled";

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
  /** The results of the steps of this run that finished before this step started, by step id. */
  readonly completed?: ReadonlyMap<string, StepResult>;
  /** What the edge (CLI or Dagger module) provides besides commands. */
  readonly services: StepServices;
}

/** What steps of one run hand to later steps: each field written by one step, read by the steps after it. */
export interface RunState {
  /** The signed release the release build made. */
  builtRelease?: BuiltRelease;
  /** The release tag pre-production validation checked. */
  releaseTag?: ReleaseTag;
  /** The verified promotion record of the tagged commit (production), for its build and deploy. */
  promotion?: PromotionRecord;
  /** Each environment's deploy in this run (a rollback after it included). */
  readonly deploys: { test?: DeployOutcome; production?: DeployOutcome };
  /** The p99 order latency (µs) each test host served before the deploy. */
  latencyReferences?: ReadonlyMap<string, number>;
  /** The approvers the approval gate counted. */
  approvers?: readonly string[];
  /** The results of the steps finished so far in this run, in the order they finished (for the release notes). */
  finished?: StepResult[];
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
  /** What steps hand to later steps of the same run (the release built, the tag, the deploy outcomes). */
  readonly state: RunState;
  /** Time as the gates see it (wait timer, deploy window, monitoring); injectable so tests need not wait. */
  readonly clock: Clock;
  /** What the command line gave this run besides options of every stage. */
  readonly inputs: RunInputs;
  /** The CI system's variables (GITHUB_RUN_ID, GITHUB_REPOSITORY, GITHUB_REF, GITHUB_ACTOR, …); never secrets. */
  readonly ci: Readonly<Record<string, string | undefined>>;
  /** The CI run's page, when there is one (for the audit log, notifications and provenance). */
  readonly runUrl?: string;
  /** When this stage run started, on {@link clock}: the approval wait's fallback start. */
  readonly startedAt?: Date;
}

/** Inputs of a run besides its stage (`run production --tag … [--override-window …] [--local]`, `run staging --local`). */
export interface RunInputs {
  /** The release tag, `vX.Y.Z`. */
  readonly tag?: string;
  /** The emergency override of the deploy window: its reason. */
  readonly overrideWindow?: string;
  /**
   * Production's emergency hotfix (`run production --emergency REASON`): its reason. The run skips what the
   * emergency procedure allows (src/pipeline/production-gates.ts), is audit-logged and announced, and its
   * release notes say so.
   */
  readonly emergency?: string;
  /**
   * A local run (`--local`, as `scripts/deploy/local-deploy.sh` starts it): it may deploy to local targets
   * (see src/deploy/local-targets.ts); in production it is a rehearsal, with TRADING_MODE forced to paper.
   */
  readonly localRehearsal?: boolean;
  /**
   * Set when a local run without RELEASE_SIGNING_KEY signs its release with a key generated for the run: that
   * key's id, so what it signed is labelled as such. Its public key is pinned for the run's local targets only.
   */
  readonly ephemeralKeyId?: string;
  /** `--policy-ref`: the trusted ref the approval policy is read from (default: the CI's SHRIVEN_POLICY_REF, else origin/main). */
  readonly policyRef?: string;
  /** `--wait-starts-at`: a recorded time the approval wait starts from (such as a staging promotion record's). */
  readonly waitStartsAt?: Date;
}

/** Resources a step may need that are not commands; each edge provides them its own way. */
export interface StepServices {
  /**
   * The advisory database: a given copy, else fetched with git (a cached clone on the host, Dagger's git API in the
   * module), else the cached clone, else the snapshot bundled with this package. Rejects when none can be had.
   */
  advisoryDatabase(): Promise<AdvisoryDatabaseHandle>;
  /** Today's date (YYYY-MM-DD) on the run's clock, for expiry dates and the advisory data's age. */
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
