/**
 * GitHub Actions workflow commands for findings (`::error file=…,line=…::message`),
 * so that they appear on the pull request's lines. Values are escaped as
 * @actions/core escapes them (its command.ts): a message or a path can never
 * end the command early or start another one on a new line.
 */
import { type Finding, findingsOf } from "./findings.js";
import { NO_SECRETS, type Redactor } from "./redact.js";
import type { RunReport } from "./report.js";

/** A command's message: `%`, CR and LF escaped (@actions/core's escapeData). */
export function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** A command property's value: as {@link escapeData}, plus `:` and `,` (@actions/core's escapeProperty). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

/** One finding as one workflow command line (no newline at its end); secrets redacted before escaping. */
export function workflowCommand(finding: Finding, redactor: Redactor = NO_SECRETS): string {
  const properties: [string, string | number | undefined][] = [
    ["file", finding.file === undefined ? undefined : redactor.redact(finding.file)],
    ["line", finding.line],
    ["col", finding.column],
    ["endLine", finding.endLine],
    ["endColumn", finding.endColumn],
    ["title", redactor.redact(finding.title)],
  ];
  const given = properties.filter(([, value]) => value !== undefined && value !== "");
  const list = given.map(([key, value]) => `${key}=${escapeProperty(String(value))}`).join(",");
  return `::${finding.level}${list === "" ? "" : ` ${list}`}::${escapeData(redactor.redact(finding.message))}`;
}

/**
 * The workflow commands of a run's findings, one line each: failed and warned steps only, the same problem
 * (file, line, column, message) once even when several steps saw it (a compile error fails check, clippy and test).
 */
export function renderAnnotations(report: RunReport, redactor: Redactor = NO_SECRETS): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const step of report.steps) {
    if (step.status !== "failed" && step.status !== "warned") continue;
    for (const finding of findingsOf(step)) {
      const key = JSON.stringify([finding.file, finding.line, finding.column, finding.message]);
      if (seen.has(key)) continue;
      seen.add(key);
      lines.push(workflowCommand(finding, redactor));
    }
  }
  return lines.map((line) => `${line}\n`).join("");
}

/** Whether the CLI runs in GitHub Actions, which reads workflow commands from its output. */
export function inGitHubActions(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.GITHUB_ACTIONS === "true";
}
