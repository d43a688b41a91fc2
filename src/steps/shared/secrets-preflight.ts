/**
 * The secrets preflight as the first step of staging and production, before anything runs: the environment's
 * secrets present and of their kind's shape, none of the other environment's, test and production keys apart,
 * none past rotation (src/secrets/). Names and problems only, never a value. Production reads the rotation
 * limits and declared dates from the trusted ref, as it reads the approval policy: the tagged commit cannot
 * lengthen the limits it is judged by.
 */
import { githubClient } from "../../adapters/github.js";
import { ApprovalError } from "../../approval/approval-error.js";
import { DEFAULT_POLICY_REF, readTrustedConfig, type TrustedConfig } from "../../approval/trusted-policy.js";
import { CONFIG_FILE_NAME } from "../../config/pipeline-config.js";
import { messageOf } from "../../core/error-chain.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { secretAgesFromGitHub } from "../../secrets/github-secret-ages.js";
import { parseSecretRotation, rotationDifferences, type SecretRotation } from "../../secrets/policy.js";
import { preflightSecrets, REQUIRED_SECRETS, type SecretEnvironment, type SecretFinding } from "../../secrets/preflight.js";
import { needHost } from "./host.js";

/** Findings named in the one-line summary. */
const NAMED_IN_SUMMARY = 3;

/** The rotation policy the run applies, where it came from, and how the checkout's differs from it. */
async function rotationOf(
  context: StepContext,
  host: HostCapabilities,
): Promise<{ rotation: SecretRotation; from: string; differences: string[]; unread?: string }> {
  const checkout = context.policies.secretRotation;
  if (host.environment.name !== "production") return { rotation: checkout, from: "the checkout", differences: [] };
  const ref = host.inputs.policyRef ?? host.ci.SHRIVEN_POLICY_REF ?? DEFAULT_POLICY_REF;
  let trusted: TrustedConfig;
  try {
    trusted = await readTrustedConfig(
      (args) => context.exec({ argv: ["git", ...args] }),
      ref,
      CONFIG_FILE_NAME,
      "the secrets rotation policy",
    );
  } catch (error) {
    // A local rehearsal trades paper on this machine: without the trusted ref it goes on with the checkout's values,
    // and says so; its later steps report what else the missing ref stops.
    if (host.inputs.localRehearsal !== true || !(error instanceof ApprovalError)) throw error;
    return { rotation: checkout, from: "the checkout", differences: [], unread: error.message };
  }
  const rotation = parseSecretRotation(trusted.tables.secrets, trusted.source);
  return { rotation, from: ref, differences: rotationDifferences(checkout, rotation) };
}

/** When each secret was last rotated: the declared dates, overridden by GitHub's metadata when asked for. */
async function agesOf(
  host: HostCapabilities,
  environment: SecretEnvironment,
  rotation: SecretRotation,
): Promise<{ updatedAt: Record<string, Date>; problem?: string; fromGitHub: boolean }> {
  const updatedAt: Record<string, Date> = { ...rotation.rotated };
  if (!rotation.githubAges) return { updatedAt, fromGitHub: false };
  const token = host.secret("GITHUB_TOKEN");
  const repository = host.ci.GITHUB_REPOSITORY;
  if (token === undefined || repository === undefined || repository === "")
    return {
      updatedAt,
      fromGitHub: false,
      problem: `github_ages = true needs GITHUB_TOKEN${environment === "test" ? " (not a secret of the test environment)" : ""} and GITHUB_REPOSITORY to read secret ages`,
    };
  try {
    const client = githubClient({
      token,
      timeoutMs: 15_000,
      ...(host.ci.GITHUB_API_URL === undefined ? {} : { baseUrl: host.ci.GITHUB_API_URL }),
    });
    return { updatedAt: { ...updatedAt, ...(await secretAgesFromGitHub(client, repository, environment)) }, fromGitHub: true };
  } catch (error) {
    return { updatedAt, fromGitHub: false, problem: `cannot read secret ages from GitHub for ${repository}: ${messageOf(error)}` };
  }
}

async function preflight(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const environment = host.environment.name;
  if (environment !== "test" && environment !== "production")
    return { status: "skipped", summary: `the ${environment} environment holds no secrets to check` };
  const { rotation, from, differences, unread } = await rotationOf(context, host);
  const ages = await agesOf(host, environment, rotation);
  const findings = preflightSecrets({
    environment,
    values: host.environment.secrets,
    misplaced: host.environment.misplacedSecrets ?? [],
    updatedAt: ages.updatedAt,
    now: new Date(host.clock.now()),
    rotation,
    localRun: host.inputs.localRehearsal === true,
  });
  if (ages.problem !== undefined)
    findings.push({ name: "GITHUB_TOKEN", severity: environment === "production" ? "error" : "warning", problem: ages.problem });
  if (unread !== undefined)
    findings.push({ name: "[secrets]", severity: "warning", problem: `of the checkout applies in this local rehearsal: ${unread}` });
  const details = [
    ...findings.map((f) => `${f.severity === "error" ? "❌" : "⚠️"} ${f.name} ${f.problem}`),
    `rotation: warn past ${rotation.rotateAfterDays} days${environment === "production" ? `, fail past ${rotation.maxAgeDays}` : ""} ([secrets] of ${from}); ages from ${ages.fromGitHub ? "GitHub's secret metadata and " : ""}${Object.keys(rotation.rotated).length} declared date(s)`,
    ...(differences.length === 0 ? [] : [`⚠️ the checkout's [secrets] differs from ${from}, whose values apply: ${differences.join("; ")}`]),
  ];
  const errors = findings.filter((f) => f.severity === "error");
  const warnings = findings.filter((f) => f.severity === "warning");
  const named = (list: readonly SecretFinding[]) =>
    `${list
      .slice(0, NAMED_IN_SUMMARY)
      .map((f) => `${f.name} ${f.problem}`)
      .join("; ")}${list.length > NAMED_IN_SUMMARY ? `; and ${list.length - NAMED_IN_SUMMARY} more` : ""}`;
  const data = { findings, rotation: { rotateAfterDays: rotation.rotateAfterDays, maxAgeDays: rotation.maxAgeDays, from } };
  if (errors.length > 0)
    return { status: "failed", summary: `${errors.length} problem(s) with the ${environment} secrets: ${named(errors)}`, details, data };
  const checked = `${Object.keys(host.environment.secrets).length} of the ${environment} secrets present and well-formed (${REQUIRED_SECRETS[environment].length} required)`;
  if (warnings.length > 0 || differences.length > 0)
    return {
      status: "warned",
      summary: `${checked}; ${warnings.length === 0 ? "the checkout's [secrets] is not the trusted one" : named(warnings)}`,
      details,
      data,
    };
  return { status: "passed", summary: checked, details, data };
}

/** The secrets preflight of staging and production. */
export const secretsPreflightStep: Step = {
  id: "secrets-preflight",
  title: "Secrets preflight",
  description: "the environment's secrets are present, well-formed, its own (not the other environment's) and rotated in time",
  defaultTimeoutSeconds: 60,
  run: (context) => preflight(context, needHost(context, "the secrets preflight")),
};
