/**
 * How old the advisory data is and whether a stage accepts it: pure decisions
 * over dates, today's date passed in from the run's clock.
 */
import type { AdvisoryDatabaseHandle } from "./advisory-handle.js";

/** The stages whose audit has an age limit (`[audit.max_age_days]`). */
export const AUDIT_STAGES = ["dev", "staging", "production"] as const;

/** A stage the audit runs for: its age limit, and whether old data warns (dev) or fails (staging, production). */
export type AuditStage = (typeof AUDIT_STAGES)[number];

const DAY_MS = 86_400_000;

/** Whole days from `date` to `today` (both YYYY-MM-DD, UTC); 0 when `date` is after `today`. */
export function ageInDays(date: string, today: string): number {
  return Math.max(0, Math.floor((Date.parse(`${today}T00:00:00Z`) - Date.parse(`${date}T00:00:00Z`)) / DAY_MS));
}

/** The verdict on the data's age for one stage. */
export interface DataFreshness {
  readonly ageDays: number;
  readonly maxAgeDays: number;
  /** `stale-warning` past the limit in dev; `stale-failure` past it in staging and production. */
  readonly verdict: "fresh" | "stale-warning" | "stale-failure";
}

/** Checks data dated `date` against `stage`'s limit on `today`. */
export function checkFreshness(date: string, today: string, stage: AuditStage, maxAgeDays: number): DataFreshness {
  const ageDays = ageInDays(date, today);
  const verdict = ageDays <= maxAgeDays ? "fresh" : stage === "dev" ? "stale-warning" : "stale-failure";
  return { ageDays, maxAgeDays, verdict };
}

/** `bundled snapshot of 2026-08-21`, `fetched clone of 2026-12-01`, `local copy with advisories to 2026-08-20`. */
export function describeData(database: Pick<AdvisoryDatabaseHandle, "source" | "format" | "date" | "dateOf">): string {
  const what =
    database.source === "fetched"
      ? "fetched clone"
      : database.source === "local copy" && database.format === "snapshot"
        ? "local snapshot"
        : database.source;
  return database.dateOf === "newest advisory" ? `${what} with advisories to ${database.date}` : `${what} of ${database.date}`;
}

/** `1 day old`, `103 days old`. */
export function describeAge(days: number): string {
  return `${days} ${days === 1 ? "day" : "days"} old`;
}
