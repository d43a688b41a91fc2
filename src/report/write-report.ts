import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import { type RunReport, reportJsonSchema } from "./report.js";

/** Paths of the files {@link writeReport} wrote. */
export interface ReportFiles {
  readonly json: string;
  readonly schema: string;
  readonly markdown: string;
  /** Present when the run saw test cases. */
  readonly junit?: string;
}

/** Writes a file whole or not at all: a reader never sees half a report. */
export function writeAtomic(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/**
 * Writes `report.json` (with its `report.schema.json`), `summary.md` and, when
 * tests ran, `junit.xml` into `dir`; appends the Markdown to
 * `$GITHUB_STEP_SUMMARY` when `stepSummaryFile` is given.
 */
export function writeReport(report: RunReport, dir: string, stepSummaryFile?: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = {
    json: join(dir, "report.json"),
    schema: join(dir, "report.schema.json"),
    markdown: join(dir, "summary.md"),
  };
  writeAtomic(files.schema, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeAtomic(files.markdown, markdown);
  const junit = report.steps.some((s) => s.tests !== undefined) ? join(dir, "junit.xml") : undefined;
  if (junit !== undefined) writeAtomic(junit, renderJunit(report));
  writeAtomic(files.json, `${JSON.stringify({ $schema: "./report.schema.json", ...report }, null, 2)}\n`);
  if (stepSummaryFile !== undefined && stepSummaryFile !== "") appendFileSync(stepSummaryFile, `${markdown}\n`);
  return junit === undefined ? files : { ...files, junit };
}
