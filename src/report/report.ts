/**
 * The run report: one object, rendered as console text, JSON, JUnit XML and
 * Markdown. Its zod schema is the single source of its JSON Schema.
 */
import { z } from "zod";

const stepStatus = z.enum(["passed", "warned", "failed", "skipped", "cancelled"]);

const testCaseSchema = z.strictObject({
  suite: z.string(),
  name: z.string(),
  status: z.enum(["passed", "failed", "ignored"]),
  message: z.string().optional(),
});

const stepResultSchema = z.strictObject({
  id: z.string().min(1),
  title: z.string().min(1),
  status: stepStatus,
  summary: z.string(),
  details: z.array(z.string()).readonly(),
  artifacts: z.array(z.strictObject({ name: z.string(), path: z.string() })).readonly(),
  tests: z.array(testCaseSchema).readonly().optional(),
  /** Structured output of the step (e.g. the audit's findings). */
  data: z.unknown().optional(),
  durationMs: z.number().nonnegative(),
  logFile: z.string().optional(),
});

/**
 * The container the steps ran in, when they ran in one: its images by digest and the Debian packages the
 * pipeline added, at the versions installed (read with `dpkg-query` from the container).
 */
const containerRecordSchema = z.strictObject({
  images: z.array(z.strictObject({ ref: z.string().min(1), digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) })).readonly(),
  /** The Debian release of the images, as a package URL's `distro` qualifier names it (`debian-12`). */
  distro: z.string().min(1),
  packages: z.array(z.strictObject({ name: z.string().min(1), version: z.string().min(1), architecture: z.string().min(1) })).readonly(),
});

/** What {@link runReportSchema}'s `container` records: images by digest, added packages by installed version. */
export type ContainerRecord = z.output<typeof containerRecordSchema>;

/** Schema of `report.json`. */
export const runReportSchema = z.strictObject({
  $schema: z.string().optional(),
  schemaVersion: z.literal(1),
  tool: z.strictObject({ name: z.literal("shriven-pipeline"), version: z.string() }),
  stage: z.enum(["dev", "staging", "production"]),
  environment: z.strictObject({
    name: z.enum(["development", "test", "production"]),
    /** Profile variables; secrets are never part of a report. */
    variables: z.record(z.string(), z.string()),
  }),
  runner: z.string(),
  /** The Dagger runner's container; absent for a run on the host's own toolchain. */
  container: containerRecordSchema.optional(),
  workspace: z.string(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  status: z.enum(["passed", "warned", "failed", "cancelled"]),
  /** The CLI's exit code for this run: 0 gates passed, 1 a gate failed, 130 interrupted. */
  exitCode: z.union([z.literal(0), z.literal(1), z.literal(130)]),
  steps: z.array(stepResultSchema).readonly(),
  /**
   * Set when the run was production's emergency hotfix (`--emergency`): its reason, who invoked it, and the steps
   * it skipped (ids). The audit log has its entry; the release notes say so.
   */
  emergency: z.strictObject({ reason: z.string().min(1), who: z.string(), skipped: z.array(z.string()).readonly() }).optional(),
  /**
   * What the run recorded in the hash-chained audit log (runs on the host): the log, the entries appended
   * (tests, benchmarks, the stage's verdict) and the chain head after them — the last entry's seq and the
   * SHA-256 of its line, which pins the end of the log. `error` when the log could not be written (the run fails).
   */
  audit: z
    .strictObject({
      log: z.string(),
      appended: z.number().int().nonnegative(),
      head: z.strictObject({ seq: z.number().int().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
      error: z.string().optional(),
    })
    .optional(),
  /** Notifications sent about the run (Slack); one that failed is reported here and never fails the run. */
  notifications: z
    .array(
      z.strictObject({
        channel: z.literal("slack"),
        event: z.string(),
        delivered: z.boolean(),
        attempts: z.number().int().nonnegative(),
        error: z.string().optional(),
      }),
    )
    .readonly()
    .optional(),
});

/** A run report. */
export type RunReport = z.output<typeof runReportSchema>;

/** The JSON Schema (draft 2020-12) of `report.json`. */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(runReportSchema, { target: "draft-2020-12" }) as Record<string, unknown>;
}

/** Exit code for a run status. */
export function exitCodeFor(status: RunReport["status"]): RunReport["exitCode"] {
  if (status === "failed") return 1;
  return status === "cancelled" ? 130 : 0;
}

/** `12.3 s`, or `850 ms` under a second. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Icon per status, in the pipeline document's style. */
export const STATUS_ICON: Readonly<Record<RunReport["steps"][number]["status"], string>> = {
  passed: "✅",
  warned: "⚠️",
  failed: "❌",
  skipped: "⏭️",
  cancelled: "🚫",
};

/** Control characters (ANSI escapes, NUL …) that tool output may carry; tab and newline stay. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/** Removes control characters so text is safe in XML and Markdown. */
export function stripControl(text: string): string {
  return text.replace(CONTROL, "");
}
