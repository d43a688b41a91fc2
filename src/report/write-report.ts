import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomically } from "../core/atomic-file.js";
import { renderJunit } from "./junit.js";
import { renderMarkdown } from "./markdown.js";
import { type RunReport, reportJsonSchema } from "./report.js";
import { clippySarif } from "./sarif.js";

/** Paths of the files {@link writeReport} wrote. */
export interface ReportFiles {
  readonly json: string;
  readonly schema: string;
  readonly markdown: string;
  /** Present when the run saw test cases. */
  readonly junit?: string;
  /** `clippy.sarif`: present when the clippy step ran. */
  readonly sarif?: string;
}

/**
 * Writes `report.json` (with its `report.schema.json`), `summary.md`, when
 * tests ran `junit.xml`, and when clippy ran `clippy.sarif` into `dir`; appends the Markdown to
 * `$GITHUB_STEP_SUMMARY` when `stepSummaryFile` is given.
 */
export function writeReport(report: RunReport, dir: string, stepSummaryFile?: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const files = {
    json: join(dir, "report.json"),
    schema: join(dir, "report.schema.json"),
    markdown: join(dir, "summary.md"),
  };
  writeFileAtomically(files.schema, `${JSON.stringify(reportJsonSchema(), null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileAtomically(files.markdown, markdown);
  const junit = report.steps.some((s) => s.tests !== undefined) ? join(dir, "junit.xml") : undefined;
  if (junit !== undefined) writeFileAtomically(junit, renderJunit(report));
  const sarifLog = clippySarif(report);
  const sarif = sarifLog === undefined ? undefined : join(dir, "clippy.sarif");
  if (sarif !== undefined) writeFileAtomically(sarif, `${JSON.stringify(sarifLog, null, 2)}\n`);
  writeFileAtomically(files.json, `${JSON.stringify({ $schema: "./report.schema.json", ...report }, null, 2)}\n`);
  if (stepSummaryFile !== undefined && stepSummaryFile !== "") appendFileSync(stepSummaryFile, `${markdown}\n`);
  return { ...files, ...(junit === undefined ? {} : { junit }), ...(sarif === undefined ? {} : { sarif }) };
}
