/**
 * Environment profiles of the pipeline document (development, test,
 * production): defaults per environment, overlaid by env files and then by
 * the process environment, validated before any step runs.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { readTextFile } from "../core/read-text-file.js";
import { ENVIRONMENT_SECRETS } from "../secrets/preflight.js";
import { parseEnvFile } from "./dotenv.js";

/** The environments a stage deploys to or simulates. */
export type EnvironmentName = "development" | "test" | "production";

/** Keys of a profile, in the order the pipeline document lists them. */
export const PROFILE_KEYS = [
  "ENVIRONMENT",
  "TRADING_MODE",
  "MAX_POSITION_SIZE",
  "MAX_DAILY_LOSS",
  "RISK_CHECK_ENABLED",
  "MONITORING_ENABLED",
  "ALERTING_ENABLED",
  "CPU_AFFINITY",
  "PERFORMANCE_MODE",
] as const;

/** One profile key. */
export type ProfileKey = (typeof PROFILE_KEYS)[number];

/**
 * Defaults per environment. `test` and `production` are the pipeline
 * document's values; `development` is the test profile with monitoring off.
 */
export const PROFILE_DEFAULTS: Readonly<Record<EnvironmentName, Readonly<Record<ProfileKey, string>>>> = {
  development: {
    ENVIRONMENT: "development",
    TRADING_MODE: "paper",
    MAX_POSITION_SIZE: "1000",
    MAX_DAILY_LOSS: "100000",
    RISK_CHECK_ENABLED: "true",
    MONITORING_ENABLED: "false",
    ALERTING_ENABLED: "false",
    CPU_AFFINITY: "false",
    PERFORMANCE_MODE: "standard",
  },
  test: {
    ENVIRONMENT: "test",
    TRADING_MODE: "paper",
    MAX_POSITION_SIZE: "1000",
    MAX_DAILY_LOSS: "100000",
    RISK_CHECK_ENABLED: "true",
    MONITORING_ENABLED: "true",
    ALERTING_ENABLED: "false",
    CPU_AFFINITY: "false",
    PERFORMANCE_MODE: "standard",
  },
  production: {
    ENVIRONMENT: "production",
    TRADING_MODE: "live",
    MAX_POSITION_SIZE: "10000",
    MAX_DAILY_LOSS: "5000000",
    RISK_CHECK_ENABLED: "true",
    MONITORING_ENABLED: "true",
    ALERTING_ENABLED: "true",
    CPU_AFFINITY: "true",
    PERFORMANCE_MODE: "ultra_low_latency",
  },
};

/** Secrets an environment may carry (the pipeline document's "Required Secrets"). Development has none. */
export const SECRET_KEYS: Readonly<Record<EnvironmentName, readonly string[]>> = { development: [], ...ENVIRONMENT_SECRETS };

const bool = z.enum(["true", "false"], { error: "expected true or false" }).transform((v) => v === "true");
const positiveAmount = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { error: "expected a positive number such as 1000 or 0.5" })
  .transform(Number)
  .refine((n) => n > 0 && Number.isFinite(n), { error: "expected a number greater than 0" });

const profileSchema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "production"], { error: "expected development, test or production" }),
  TRADING_MODE: z.enum(["paper", "live"], { error: "expected paper or live" }),
  MAX_POSITION_SIZE: positiveAmount,
  MAX_DAILY_LOSS: positiveAmount,
  RISK_CHECK_ENABLED: bool,
  MONITORING_ENABLED: bool,
  ALERTING_ENABLED: bool,
  CPU_AFFINITY: bool,
  PERFORMANCE_MODE: z.enum(["standard", "low_latency", "ultra_low_latency"], {
    error: "expected standard, low_latency or ultra_low_latency",
  }),
});

/** A validated profile. */
export type Profile = z.output<typeof profileSchema>;

/** A resolved environment: typed values, the variables steps see, and secrets kept apart. */
export interface ResolvedEnvironment {
  readonly name: EnvironmentName;
  readonly profile: Profile;
  /** Profile variables as strings, passed to step commands and shown in reports. */
  readonly variables: Readonly<Record<ProfileKey, string>>;
  /** Where each variable came from (`default`, `prod.env:4`, `process environment`). */
  readonly origins: Readonly<Record<ProfileKey, string>>;
  /** Secret values by name; never rendered anywhere. */
  readonly secrets: Readonly<Record<string, string>>;
  /**
   * Names of another environment's secrets set in the process environment: dropped, never read, and reported by
   * the secrets preflight (a production key in a test job is a leak waiting to happen).
   */
  readonly misplacedSecrets?: readonly string[];
}

/** The text of one env file and the name errors call it by. */
export interface EnvFileText {
  readonly name: string;
  readonly text: string;
}

/** Reads env files from disk (every failure a ConfigError naming the file). */
export function readEnvFiles(paths: readonly string[]): EnvFileText[] {
  return paths.map((name) => ({ name, text: readTextFile(name) }));
}

/** Inputs to {@link resolveEnvironment}. */
export interface ResolveEnvironmentInput {
  readonly environment: EnvironmentName;
  /** Env files, applied in order; later files override earlier ones. */
  readonly envFiles?: readonly EnvFileText[];
  /** The process environment; its profile keys override the files. */
  readonly processEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * A local rehearsal of production: TRADING_MODE is paper whatever the files and
   * the environment say, and live is refused. The text says why (shown as the value's origin).
   */
  readonly forcePaper?: string;
}

const PROCESS_ENV = "process environment";

/**
 * Resolves and validates the profile for an environment.
 * Precedence: defaults < env files (in order) < process environment.
 * @throws ConfigError naming the file, line and key of every bad value.
 */
export function resolveEnvironment(input: ResolveEnvironmentInput): ResolvedEnvironment {
  const { environment } = input;
  const values: Record<string, string> = { ...PROFILE_DEFAULTS[environment] };
  const origins: Record<string, string> = Object.fromEntries(PROFILE_KEYS.map((k) => [k, "default"]));
  const secrets: Record<string, string> = {};
  const allowedSecrets = new Set(SECRET_KEYS[environment]);

  for (const { name: file, text } of input.envFiles ?? []) {
    const problems: string[] = [];
    for (const entry of parseEnvFile(text, file)) {
      const where = `line ${entry.line}: ${entry.key}`;
      if ((PROFILE_KEYS as readonly string[]).includes(entry.key)) {
        values[entry.key] = entry.value;
        origins[entry.key] = `${file}:${entry.line}`;
      } else if (allowedSecrets.has(entry.key)) {
        if (entry.value === "") problems.push(`${where}: secret is empty`);
        else secrets[entry.key] = entry.value;
      } else {
        problems.push(`${where}: ${unknownKeyReason(entry.key, environment)}`);
      }
    }
    if (problems.length > 0) throw new ConfigError(file, problems);
  }

  const env = input.processEnv ?? {};
  for (const key of PROFILE_KEYS) {
    const value = env[key];
    if (value !== undefined) {
      values[key] = value;
      origins[key] = PROCESS_ENV;
    }
  }
  for (const key of allowedSecrets) {
    const value = env[key];
    if (value !== undefined && value !== "") secrets[key] = value;
  }
  const misplacedSecrets = [...new Set(Object.values(SECRET_KEYS).flat())]
    .filter((key) => !allowedSecrets.has(key) && env[key] !== undefined && env[key] !== "")
    .sort();

  if (input.forcePaper !== undefined) {
    values.TRADING_MODE = "paper";
    origins.TRADING_MODE = `forced by ${input.forcePaper}`;
  }
  const parsed = profileSchema.safeParse(values);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const key = String(issue.path[0]);
        return `${key} = ${JSON.stringify(values[key])} (from ${origins[key]}): ${issue.message}`;
      });
  if (parsed.success) problems.push(...policyProblems(environment, parsed.data, origins, input.forcePaper !== undefined));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(`${environment} environment profile`, problems);

  const variables = Object.fromEntries(PROFILE_KEYS.map((k) => [k, values[k] as string])) as Record<ProfileKey, string>;
  return { name: environment, profile: parsed.data, variables, origins: origins as Record<ProfileKey, string>, secrets, misplacedSecrets };
}

function unknownKeyReason(key: string, environment: EnvironmentName): string {
  const otherEnvironment = (Object.keys(SECRET_KEYS) as EnvironmentName[]).find(
    (env) => env !== environment && SECRET_KEYS[env].includes(key),
  );
  if (otherEnvironment !== undefined) {
    return `is a ${otherEnvironment} secret and must not be given to the ${environment} environment (each environment has its own keys)`;
  }
  const allowed = [...PROFILE_KEYS, ...SECRET_KEYS[environment]].join(", ");
  return `unknown key; expected one of: ${allowed}`;
}

/** Rules across keys that keep a profile safe for its environment. */
function policyProblems(environment: EnvironmentName, profile: Profile, origins: Record<string, string>, rehearsal: boolean): string[] {
  const problems: string[] = [];
  const at = (key: ProfileKey, value: unknown, rule: string): void => {
    problems.push(`${key} = ${JSON.stringify(String(value))} (from ${origins[key]}): ${rule}`);
  };
  if (profile.ENVIRONMENT !== environment) {
    at("ENVIRONMENT", profile.ENVIRONMENT, `this stage runs in the ${environment} environment`);
  }
  if (environment === "production" && !rehearsal && profile.TRADING_MODE !== "live") {
    at("TRADING_MODE", profile.TRADING_MODE, "the production profile trades live; expected live");
  }
  if (environment !== "production" && profile.TRADING_MODE !== "paper") {
    at("TRADING_MODE", profile.TRADING_MODE, `only production may trade live; expected paper in ${environment}`);
  }
  if (environment !== "development") {
    if (!profile.RISK_CHECK_ENABLED) at("RISK_CHECK_ENABLED", false, `risk checks cannot be disabled in ${environment}`);
    if (!profile.MONITORING_ENABLED) at("MONITORING_ENABLED", false, `monitoring cannot be disabled in ${environment}`);
  }
  if (environment === "production" && !profile.ALERTING_ENABLED) {
    at("ALERTING_ENABLED", false, "alerting cannot be disabled in production");
  }
  return problems;
}
