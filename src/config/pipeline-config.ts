/**
 * The optional pipeline config file in the target workspace,
 * `shriven-pipeline.toml`. Every key is optional; the documented defaults
 * apply to what is left out. Unknown keys are errors, so a typo never turns a
 * gate off silently.
 */
import { join } from "node:path";
import { z } from "zod";
import { type ApprovalPolicy, approvalPolicyFrom, approvalSchema } from "../approval/policy.js";
import { ConfigError } from "../core/errors.js";
import { readTextFile } from "../core/read-text-file.js";
import { parseTomlText } from "../core/toml.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";
import { type DeployPolicy, deployPolicyFrom, deploySchema } from "../deploy/policy.js";
import { type DeployWindow, deployWindowFrom, deployWindowSchema } from "../deploy-window/policy.js";
import { type GitHubEnvironmentsPolicy, githubEnvironmentsPolicyFrom, githubEnvironmentsSchema } from "../github-environments/policy.js";
import { type MonitorPolicy, monitorPolicyFrom, monitorPolicySchema } from "../monitor/policy.js";
import { type PaperPolicy, paperPolicyFrom, paperPolicySchema } from "../paper/policy.js";
import { type PerfPolicy, perfPolicyFrom, perfPolicySchema } from "../perf/policy.js";
import { type ReleasePolicy, releasePolicyFrom, releasePolicySchema } from "../release/policy.js";
import { rotationProblems, type SecretRotation, secretRotationFrom, secretRotationShape } from "../secrets/policy.js";
import { type AuditPolicy, auditPolicyFrom, auditPolicySchema } from "../supply-chain/audit.js";
import { type LicensePolicy, licensePolicyFrom, licensePolicySchema } from "../supply-chain/license-policy.js";
import { type SecretPolicy, secretPolicyFrom, secretPolicySchema } from "../supply-chain/secret-scan.js";

/** File name looked up in the workspace root. */
export const CONFIG_FILE_NAME = "shriven-pipeline.toml";

/** Longest step timeout accepted: a day. */
const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

/** Settings of one step, after defaults. */
export interface StepSettings {
  /** Run the step at all (default true). A disabled step is reported as skipped. */
  readonly enabled: boolean;
  /** Step timeout in seconds; `undefined` means the step's own default. */
  readonly timeoutSeconds: number | undefined;
  /** Extra arguments for the step's cargo command (default none). */
  readonly extraArgs: readonly string[];
}

/** Policies of the gates, each from its own table. */
export interface Policies {
  readonly audit: AuditPolicy;
  readonly licenses: LicensePolicy;
  readonly secrets: SecretPolicy;
  /** The rotation keys of `[secrets]`: ages and their limits, for the secrets preflight. */
  readonly secretRotation: SecretRotation;
  readonly perf: PerfPolicy;
  readonly release: ReleasePolicy;
  readonly paper: PaperPolicy;
  readonly deploy: DeployPolicy;
  readonly deployWindow: DeployWindow;
  readonly approval: ApprovalPolicy;
  readonly monitor: MonitorPolicy;
  readonly githubEnvironments: GitHubEnvironmentsPolicy;
}

/** The whole validated config. */
export interface PipelineConfig {
  /** Where it was read from, or `undefined` when the workspace has none. */
  readonly file: string | undefined;
  /** Most steps run at once within a group; `undefined` means one per CPU. */
  readonly jobs: number | undefined;
  /** Per-step settings for every known step id. */
  readonly steps: Readonly<Record<string, StepSettings>>;
  readonly policies: Policies;
}

const stepSchema = closedObject({
  enabled: z.boolean({ error: "expected true or false" }).optional(),
  timeout_seconds: z
    .int({ error: "expected a whole number of seconds" })
    .min(1, { error: "expected at least 1 second" })
    .max(MAX_TIMEOUT_SECONDS, { error: `expected at most ${MAX_TIMEOUT_SECONDS} seconds (one day)` })
    .optional(),
  extra_args: z
    .array(
      z.string({ error: "expected a string" }).refine((s) => !s.includes("\0"), { error: "contains a NUL byte" }),
      {
        error: "expected an array of strings",
      },
    )
    .optional(),
});

function configSchema(stepIds: readonly string[]) {
  return closedObject({
    jobs: z
      .int({ error: "expected a whole number" })
      .min(1, { error: "expected at least 1" })
      .max(64, { error: "expected at most 64" })
      .optional(),
    steps: closedObject(Object.fromEntries(stepIds.map((id) => [id, stepSchema.optional()]))).optional(),
    audit: auditPolicySchema.optional(),
    licenses: licensePolicySchema.optional(),
    secrets: closedObject({ ...secretPolicySchema.shape, ...secretRotationShape }).optional(),
    perf: perfPolicySchema.optional(),
    release: releasePolicySchema.optional(),
    paper: paperPolicySchema.optional(),
    deploy: deploySchema.optional(),
    deploy_window: deployWindowSchema.optional(),
    approval: approvalSchema.optional(),
    monitor: monitorPolicySchema.optional(),
    github_environments: githubEnvironmentsSchema.optional(),
  });
}

/**
 * Loads `shriven-pipeline.toml` from a workspace (or an explicit path).
 * A missing file in the workspace means all defaults; a missing explicit file is an error.
 * @param stepIds Every step id the pipeline knows, so unknown ones are rejected.
 */
export function loadPipelineConfig(options: { workspace: string; file?: string; stepIds: readonly string[] }): PipelineConfig {
  const path = options.file ?? join(options.workspace, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readTextFile(path);
  } catch (error) {
    const missing = error instanceof ConfigError && error.problems[0] === "file not found";
    if (missing && options.file === undefined) return defaultPipelineConfig(options.stepIds);
    throw error;
  }
  return parsePipelineConfig(text, path, options.stepIds);
}

/** The configuration of a workspace without a config file: every documented default. */
export function defaultPipelineConfig(stepIds: readonly string[]): PipelineConfig {
  return defaults(stepIds, undefined, {});
}

/** Parses and validates config text; see {@link loadPipelineConfig}. */
export function parsePipelineConfig(text: string, file: string, stepIds: readonly string[]): PipelineConfig {
  const raw = parseTomlText(text, file);
  const parsed = configSchema(stepIds).safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  const problems = rotationProblems(parsed.data.secrets).map((line) => `secrets.${line}`);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return defaults(stepIds, file, parsed.data);
}

/** The parsed tables, before defaults. */
type RawConfig = z.output<ReturnType<typeof configSchema>>;

function defaults(stepIds: readonly string[], file: string | undefined, raw: Partial<RawConfig>): PipelineConfig {
  const steps = (raw.steps ?? {}) as Record<string, z.output<typeof stepSchema> | undefined>;
  const settings = Object.fromEntries(
    stepIds.map((id) => {
      const step = steps[id] ?? {};
      return [id, { enabled: step.enabled ?? true, timeoutSeconds: step.timeout_seconds, extraArgs: step.extra_args ?? [] }];
    }),
  );
  return {
    file,
    jobs: raw.jobs,
    steps: settings,
    policies: {
      audit: auditPolicyFrom(raw.audit),
      licenses: licensePolicyFrom(raw.licenses),
      secrets: secretPolicyFrom(raw.secrets),
      secretRotation: secretRotationFrom(raw.secrets),
      perf: perfPolicyFrom(raw.perf),
      release: releasePolicyFrom(raw.release),
      paper: paperPolicyFrom(raw.paper),
      deploy: deployPolicyFrom(raw.deploy),
      deployWindow: deployWindowFrom(raw.deploy_window),
      approval: approvalPolicyFrom(raw.approval),
      monitor: monitorPolicyFrom(raw.monitor),
      githubEnvironments: githubEnvironmentsPolicyFrom(raw.github_environments),
    },
  };
}
