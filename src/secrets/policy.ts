/**
 * The rotation keys of the `[secrets]` table: how old a secret may get (`rotate_after_days`, a warning;
 * `max_age_days`, production fails), where its age comes from (`github_ages`: GitHub's secret metadata) and the
 * rotation dates declared for secrets kept elsewhere (`[secrets.rotated]`, `NAME = 2026-09-01`). The table's
 * `allow` list belongs to the committed-secrets scan (src/supply-chain/secret-scan.ts).
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { describeIssues } from "../core/zod-issues.js";
import { DEFAULT_ROTATION, isSecretName, type RotationPolicy } from "./preflight.js";

/** Longest rotation period accepted: ten years. */
const MAX_DAYS = 3650;

const days = (what: string) =>
  z
    .int({ error: `expected a whole number of days (${what})` })
    .min(1, { error: "expected at least 1 day" })
    .max(MAX_DAYS, { error: `expected at most ${MAX_DAYS} days` });

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day `YYYY-MM-DD` (a TOML date or a string), as midnight UTC; undefined when it is no real day. */
export function calendarDay(value: Date | string): Date | undefined {
  const text = typeof value === "string" ? value : Number.isNaN(value.getTime()) ? "" : value.toISOString().slice(0, 10);
  const match = DAY.exec(text);
  if (match === null) return undefined;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : undefined;
}

const rotatedDate = z
  .union([z.date(), z.string()], { error: "expected a date such as 2026-09-01" })
  .refine((value) => calendarDay(value) !== undefined, { error: "expected a real calendar day such as 2026-09-01" });

/** The rotation keys of `[secrets]`; the config composes them with the scan's `allow`. */
export const secretRotationShape = {
  rotate_after_days: days("a warning past it").optional(),
  max_age_days: days("production fails past it").optional(),
  github_ages: z.boolean({ error: "expected true or false" }).optional(),
  rotated: z
    .record(z.string(), rotatedDate, {
      error: (issue) => (issue.code === "invalid_type" ? "expected a table of SECRET_NAME = date" : undefined),
    })
    .superRefine((table, context) => {
      for (const name of Object.keys(table))
        if (!isSecretName(name))
          context.addIssue({ code: "custom", path: [name], message: "is not a secret of the test or production environment" });
    })
    .optional(),
};

const rotationTableSchema = z.object(secretRotationShape);

/** The rotation keys as validated. */
export type SecretRotationConfig = z.output<typeof rotationTableSchema>;

/** The rotation policy of a run. */
export interface SecretRotation extends RotationPolicy {
  /** Read each secret's age from GitHub's secret metadata (needs GITHUB_TOKEN and the repository). */
  readonly githubAges: boolean;
  /** Declared rotation dates, by secret name. */
  readonly rotated: Readonly<Record<string, Date>>;
}

/** Problems of the rotation keys that span two of them, as `key: message`. */
export function rotationProblems(raw: SecretRotationConfig | undefined): string[] {
  const rotate = raw?.rotate_after_days ?? DEFAULT_ROTATION.rotateAfterDays;
  const max = raw?.max_age_days ?? DEFAULT_ROTATION.maxAgeDays;
  return max < rotate ? [`max_age_days: ${max} is below rotate_after_days (${rotate}): the hard limit comes after the warning`] : [];
}

/** Applies the defaults (rotate every 90 days, production refuses past 180, no GitHub lookup, no declared dates). */
export function secretRotationFrom(raw: SecretRotationConfig | undefined): SecretRotation {
  return {
    rotateAfterDays: raw?.rotate_after_days ?? DEFAULT_ROTATION.rotateAfterDays,
    maxAgeDays: raw?.max_age_days ?? DEFAULT_ROTATION.maxAgeDays,
    githubAges: raw?.github_ages ?? false,
    rotated: Object.fromEntries(Object.entries(raw?.rotated ?? {}).map(([name, value]) => [name, calendarDay(value) as Date])),
  };
}

/**
 * The rotation policy of a `[secrets]` table read elsewhere than the config loader (the trusted ref's file):
 * its rotation keys only; `allow` and any other key are left to their own reader.
 * @throws ConfigError naming `source` and the key.
 */
export function parseSecretRotation(table: unknown, source: string): SecretRotation {
  if (table === undefined) return secretRotationFrom(undefined);
  if (typeof table !== "object" || table === null || Array.isArray(table)) throw new ConfigError(source, ["secrets: expected a table"]);
  const picked = Object.fromEntries(Object.entries(table).filter(([key]) => key in secretRotationShape));
  const parsed = rotationTableSchema.safeParse(picked);
  if (!parsed.success)
    throw new ConfigError(
      source,
      describeIssues(parsed.error.issues).map((line) => `secrets.${line}`),
    );
  const problems = rotationProblems(parsed.data).map((line) => `secrets.${line}`);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return secretRotationFrom(parsed.data);
}

/** How `checkout` differs from `trusted`, one phrase each (empty when they agree). */
export function rotationDifferences(checkout: SecretRotation, trusted: SecretRotation): string[] {
  const out: string[] = [];
  if (checkout.rotateAfterDays !== trusted.rotateAfterDays)
    out.push(`rotate_after_days ${checkout.rotateAfterDays} instead of ${trusted.rotateAfterDays}`);
  if (checkout.maxAgeDays !== trusted.maxAgeDays) out.push(`max_age_days ${checkout.maxAgeDays} instead of ${trusted.maxAgeDays}`);
  if (checkout.githubAges !== trusted.githubAges) out.push(`github_ages ${checkout.githubAges} instead of ${trusted.githubAges}`);
  const day = (d: Date | undefined) => (d === undefined ? "none" : d.toISOString().slice(0, 10));
  for (const name of new Set([...Object.keys(checkout.rotated), ...Object.keys(trusted.rotated)]))
    if (day(checkout.rotated[name]) !== day(trusted.rotated[name]))
      out.push(`rotated.${name} ${day(checkout.rotated[name])} instead of ${day(trusted.rotated[name])}`);
  return out;
}
