import { formatDuration, type RunReport, STATUS_ICON } from "./report.js";

/** Detail lines shown under a step in the console; the rest are in the report and log. */
const DETAIL_LINES = 8;

/** One step's line: `✅ Tests: 49/49 passed (2.1 s)`. */
export function stepLine(step: RunReport["steps"][number]): string {
  const time = step.status === "skipped" ? "" : ` (${formatDuration(step.durationMs)})`;
  return `${STATUS_ICON[step.status]} ${step.title}: ${step.summary}${time}`;
}

/** The console summary of a run, in the pipeline document's style. */
export function renderConsoleSummary(report: RunReport, reportFile?: string): string {
  const lines: string[] = [];
  if (report.emergency !== undefined) {
    lines.push(`🚨 EMERGENCY HOTFIX by ${report.emergency.who}: ${report.emergency.reason}`);
    lines.push(`    skipped: ${report.emergency.skipped.join(", ")} (audit-logged)`);
  }
  for (const step of report.steps) {
    lines.push(stepLine(step));
    if (step.status === "failed" || step.status === "warned") {
      for (const detail of step.details.slice(0, DETAIL_LINES)) lines.push(`    ${detail}`);
      if (step.details.length > DETAIL_LINES) lines.push(`    … ${step.details.length - DETAIL_LINES} more`);
      if (step.logFile !== undefined && step.status === "failed") lines.push(`    log: ${step.logFile}`);
    }
  }
  for (const note of report.notifications ?? [])
    if (!note.delivered)
      lines.push(`⚠️ Slack notification (${note.event}) not delivered after ${note.attempts} attempt(s): ${note.error ?? "unknown error"}`);
  const verdict = report.status === "passed" || report.status === "warned" ? "passed" : report.status;
  lines.push("");
  lines.push(
    `${report.stage} stage ${verdict} in ${formatDuration(report.durationMs)}${reportFile === undefined ? "" : ` — report: ${reportFile}`}`,
  );
  return `${lines.join("\n")}\n`;
}
