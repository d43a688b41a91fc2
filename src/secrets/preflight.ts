/**
 * Secrets preflight, per environment, before anything runs: the pipeline document's required secrets are
 * present and have the shape of their kind, test and production keys differ, no production key sits in the
 * test environment, and none is older than the rotation policy allows. Only names and problems are ever
 * reported: a value never reaches a message, and values are compared through keyed digests (HMAC-SHA256 under
 * a key made for this check and dropped with it).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { loadSigningKey } from "../adapters/minisign.js";

/** The environments that hold secrets. */
export type SecretEnvironment = "test" | "production";

/**
 * The secrets each environment may carry: the pipeline document's "Required Secrets" and the pipeline's own
 * (`RELEASE_SIGNING_KEY`, production's `GITHUB_TOKEN`). The one list the env profiles and the preflight read.
 */
export const ENVIRONMENT_SECRETS: Readonly<Record<SecretEnvironment, readonly string[]>> = {
  test: [
    "TEST_ZERODHA_API_KEY",
    "TEST_ZERODHA_API_SECRET",
    "TEST_BINANCE_API_KEY",
    "TEST_BINANCE_API_SECRET",
    "SLACK_WEBHOOK_URL",
    "SSH_DEPLOY_KEY",
    "RELEASE_SIGNING_KEY",
  ],
  production: [
    "PROD_ZERODHA_API_KEY",
    "PROD_ZERODHA_API_SECRET",
    "PROD_BINANCE_API_KEY",
    "PROD_BINANCE_API_SECRET",
    "SLACK_WEBHOOK_URL",
    "SSH_DEPLOY_KEY",
    "RELEASE_SIGNING_KEY",
    "GITHUB_TOKEN",
  ],
};

/** Those an environment may run without: Slack notices in test; the token only reads and publishes on GitHub. */
const OPTIONAL_SECRETS: Readonly<Record<SecretEnvironment, readonly string[]>> = {
  test: ["SLACK_WEBHOOK_URL"],
  production: ["GITHUB_TOKEN"],
};

/** The secrets each environment must hold. */
export const REQUIRED_SECRETS: Readonly<Record<SecretEnvironment, readonly string[]>> = {
  test: ENVIRONMENT_SECRETS.test.filter((name) => !OPTIONAL_SECRETS.test.includes(name)),
  production: ENVIRONMENT_SECRETS.production.filter((name) => !OPTIONAL_SECRETS.production.includes(name)),
};

/** Rotation policy: `[secrets] rotate_after_days` (warning) and `max_age_days` (production fails). */
export interface RotationPolicy {
  readonly rotateAfterDays: number;
  readonly maxAgeDays: number;
}

/** The defaults: rotate every 90 days; production refuses a key older than 180. */
export const DEFAULT_ROTATION: RotationPolicy = { rotateAfterDays: 90, maxAgeDays: 180 };

/** One finding, naming the secret (never its value). */
export interface SecretFinding {
  readonly name: string;
  readonly severity: "error" | "warning";
  readonly problem: string;
}

/** What the preflight looks at. */
export interface PreflightInput {
  readonly environment: SecretEnvironment;
  /** The secrets as the run sees them (its environment variables). */
  readonly values: Readonly<Record<string, string | undefined>>;
  /** When each secret was last set: GitHub's `updated_at`, or a declared rotation date. */
  readonly updatedAt?: Readonly<Record<string, Date>>;
  readonly now: Date;
  readonly rotation?: RotationPolicy;
  /**
   * Names of the other environment's secrets the run was given but does not use (the resolved environment
   * drops them): each is reported as misplaced, its value never looked at.
   */
  readonly misplaced?: readonly string[];
  /**
   * A local run (`--local`): local targets need no deploy key and a paper engine no exchange key, so a missing
   * secret is a warning; a malformed one is still an error.
   */
  readonly localRun?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Why `value` is not a `name`, or `undefined` when it has the shape of one. Never includes the value. */
export function shapeProblem(name: string, value: string): string | undefined {
  const kind = name.replace(/^(TEST|PROD)_/, "");
  // Keys (SSH, PEM) end in a newline; a one-line secret with whitespace around it is a copy-paste artefact.
  if (!["SSH_DEPLOY_KEY", "RELEASE_SIGNING_KEY"].includes(kind) && !value.startsWith("-----BEGIN ") && value.trim() !== value)
    return "has leading or trailing whitespace (a copy-paste artefact; the service will refuse it)";
  switch (kind) {
    case "ZERODHA_API_KEY":
    case "ZERODHA_API_SECRET":
      // Kite Connect issues lowercase alphanumeric keys (16) and secrets (32); allow a little either way.
      return /^[a-z0-9]{12,64}$/.test(value) ? undefined : "is not a Kite Connect key: expected 12–64 lowercase letters and digits";
    case "BINANCE_API_KEY":
      return /^[A-Za-z0-9]{64}$/.test(value) ? undefined : "is not a Binance API key: expected 64 letters and digits";
    case "BINANCE_API_SECRET":
      // An HMAC secret, or the private key of an Ed25519/RSA API key in PEM.
      return /^[A-Za-z0-9]{64}$/.test(value) ||
        /^-----BEGIN (?:RSA )?PRIVATE KEY-----\n[\s\S]+\n-----END (?:RSA )?PRIVATE KEY-----$/.test(value)
        ? undefined
        : "is not a Binance API secret: expected 64 letters and digits, or a PEM private key";
    case "SLACK_WEBHOOK_URL":
      return slackProblem(value);
    case "SSH_DEPLOY_KEY":
      return sshKeyProblem(value);
    case "RELEASE_SIGNING_KEY":
      try {
        loadSigningKey(value, name);
        return undefined;
      } catch {
        return "is not a minisign secret key or a raw Ed25519 private key";
      }
    case "GITHUB_TOKEN":
      return /^(gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})$/.test(value) ? undefined : "is not a GitHub token";
    default:
      return value === "" ? "is empty" : undefined;
  }
}

function slackProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  // A relay on the runner itself (a proxy that forwards to Slack, or a test's webhook) is reached over loopback.
  if ((url.protocol === "http:" || url.protocol === "https:") && /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/.test(url.hostname))
    return undefined;
  if (url.protocol !== "https:") return "is not an https URL";
  if (url.hostname !== "hooks.slack.com" || !/^\/services\/[A-Z0-9]+\/[A-Z0-9]+\/[A-Za-z0-9]+$/.test(url.pathname))
    return "is not a Slack incoming webhook (https://hooks.slack.com/services/T…/B…/…)";
  return undefined;
}

function sshKeyProblem(value: string): string | undefined {
  const match = /^-----BEGIN OPENSSH PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)\n-----END OPENSSH PRIVATE KEY-----\n?$/.exec(value);
  if (match === null) return "is not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY----- … -----END OPENSSH PRIVATE KEY-----)";
  const bytes = Buffer.from((match[1] as string).replaceAll("\n", ""), "base64");
  const magic = "openssh-key-v1\0";
  if (bytes.subarray(0, magic.length).toString("latin1") !== magic) return "is not an OpenSSH private key (its data is not openssh-key-v1)";
  const cipherLength = bytes.length >= magic.length + 4 ? bytes.readUInt32BE(magic.length) : -1;
  if (cipherLength < 0 || bytes.length < magic.length + 4 + cipherLength) return "is a truncated OpenSSH private key";
  const cipher = bytes.subarray(magic.length + 4, magic.length + 4 + cipherLength).toString("latin1");
  if (cipher !== "none") return "is protected by a passphrase: the deploy runs unattended and cannot type it";
  return undefined;
}

/** Checks the environment's secrets; the findings, errors first. */
export function preflightSecrets(input: PreflightInput): SecretFinding[] {
  const rotation = input.rotation ?? DEFAULT_ROTATION;
  const findings: SecretFinding[] = [];
  const present = (name: string) => {
    const value = input.values[name];
    return value !== undefined && value !== "" ? value : undefined;
  };
  for (const name of REQUIRED_SECRETS[input.environment]) {
    const value = input.values[name];
    if (value === undefined)
      findings.push(
        input.localRun === true
          ? { name, severity: "warning", problem: `is missing from the ${input.environment} environment (a local run goes on without it)` }
          : { name, severity: "error", problem: `is missing from the ${input.environment} environment` },
      );
    else if (value === "") findings.push({ name, severity: "error", problem: "is empty" });
  }
  for (const [name, value] of Object.entries(input.values)) {
    if (value === undefined || value === "" || !isSecretName(name)) continue;
    const problem = shapeProblem(name, value);
    if (problem !== undefined) findings.push({ name, severity: "error", problem });
  }
  const foreign = input.environment === "test" ? "PROD_" : "TEST_";
  const misplaced = new Set([
    ...Object.keys(input.values).filter((n) => n.startsWith(foreign) && present(n) !== undefined),
    ...(input.misplaced ?? []).filter((n) => n.startsWith(foreign)),
  ]);
  for (const name of [...misplaced].sort())
    findings.push({
      name,
      severity: "error",
      problem:
        input.environment === "test"
          ? "is a production secret in the test environment: production keys never leave production"
          : "is a test secret in the production environment",
    });
  // Test and production keys must differ: compared as keyed digests, never as text.
  const key = randomBytes(32);
  const digest = (value: string) => createHmac("sha256", key).update(value).digest();
  for (const name of Object.keys(input.values).filter((n) => n.startsWith("TEST_"))) {
    const test = present(name);
    const production = present(`PROD_${name.slice("TEST_".length)}`);
    if (test !== undefined && production !== undefined && timingSafeEqual(digest(test), digest(production)))
      findings.push({
        name: `PROD_${name.slice("TEST_".length)}`,
        severity: "error",
        problem: `has the same value as ${name}: each environment has its own keys`,
      });
  }
  key.fill(0);
  for (const [name, at] of Object.entries(input.updatedAt ?? {})) {
    if (present(name) === undefined) continue;
    const ageMs = input.now.getTime() - at.getTime();
    const days = Math.max(0, Math.floor(ageMs / DAY_MS));
    if (Number.isNaN(ageMs)) findings.push({ name, severity: "error", problem: "has no valid rotation date" });
    // A day of slack: a declared calendar day is midnight UTC, and clocks drift.
    else if (ageMs < -DAY_MS)
      findings.push({
        name,
        severity: "error",
        problem: `has a rotation date ${at.toISOString().slice(0, 10)} in the future: a key cannot have been rotated after today`,
      });
    else if (days > rotation.maxAgeDays && input.environment === "production")
      findings.push({
        name,
        severity: "error",
        problem: `was last rotated ${days} days ago, past the limit of ${rotation.maxAgeDays}: rotate it before deploying`,
      });
    else if (days > rotation.rotateAfterDays)
      findings.push({
        name,
        severity: "warning",
        problem: `was last rotated ${days} days ago; rotate it every ${rotation.rotateAfterDays} days`,
      });
  }
  return findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

const SECRET_NAMES = new Set([...ENVIRONMENT_SECRETS.test, ...ENVIRONMENT_SECRETS.production]);

/** The names the preflight treats as secrets: those of either environment. */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name);
}
