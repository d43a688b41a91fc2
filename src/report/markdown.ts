import { formatDuration, type RunReport, STATUS_ICON, stripControl } from "./report.js";

/** Detail lines per step in the job summary. */
const DETAIL_LINES = 30;

function cell(text: string): string {
  return stripControl(text).replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** A GitHub job summary (Markdown) of the run. */
export function renderMarkdown(report: RunReport): string {
  const headline = report.status === "warned" ? "passed with warnings" : report.status;
  const lines = [
    `### shriven-pipeline · ${report.stage} stage: ${STATUS_ICON[report.status]} ${headline} (${formatDuration(report.durationMs)})`,
    "",
    "| | Step | Result | Time |",
    "|---|---|---|---|",
    ...report.steps.map(
      (s) =>
        `| ${STATUS_ICON[s.status]} | ${cell(s.title)} | ${cell(s.summary)} | ${s.status === "skipped" ? "" : formatDuration(s.durationMs)} |`,
    ),
  ];
  if (report.audit !== undefined) {
    lines.push(
      "",
      report.audit.head === undefined
        ? `Audit log ${cell(report.audit.log)}: ${report.audit.error === undefined ? "empty" : `❌ not written: ${cell(report.audit.error)}`}`
        : `Audit log ${cell(report.audit.log)}: chain head seq ${report.audit.head.seq}, sha256 \`${report.audit.head.sha256}\``,
    );
  }
  for (const step of report.steps) {
    if (step.details.length === 0 || (step.status !== "failed" && step.status !== "warned")) continue;
    const shown = stripControl(step.details.slice(0, DETAIL_LINES).join("\n")).replaceAll("```", "ʼʼʼ");
    lines.push(
      "",
      `<details><summary>${cell(step.title)}: ${step.details.length} detail line(s)</summary>`,
      "",
      "```text",
      shown,
      "```",
      "</details>",
    );
  }
  return `${lines.join("\n")}\n`;
}
