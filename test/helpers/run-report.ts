/** A validated run report of the dev stage with the given steps, for tests of what is rendered from reports. */
import { type RunReport, runReportSchema } from "../../src/report/report.js";

/** One step of {@link devReportWith}: what a test sets; title, summary and the rest are filled in. */
export interface ReportStep {
  readonly id: string;
  readonly status: RunReport["status"] | "skipped";
  readonly title?: string;
  readonly data?: unknown;
}

/** A failed dev-stage report holding `steps`, parsed by the report schema. */
export function devReportWith(steps: readonly ReportStep[]): RunReport {
  return runReportSchema.parse({
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: "0.1.0" },
    stage: "dev",
    environment: { name: "development", variables: {} },
    runner: "host",
    workspace: "/w",
    startedAt: "2026-11-27T05:00:00.000Z",
    finishedAt: "2026-11-27T05:00:01.000Z",
    durationMs: 1000,
    status: "failed",
    exitCode: 1,
    steps: steps.map((s) => ({ title: s.id, ...s, summary: "s", details: [], artifacts: [], durationMs: 1 })),
  });
}
