/**
 * The clippy step's findings as SARIF 2.1.0 (`clippy.sarif` next to
 * report.json), for code scanning: one result per lint or error at a place in
 * the workspace, its rule the lint's name.
 */
import { type Finding, findingsOf } from "./findings.js";
import type { RunReport } from "./report.js";

const CLIPPY_LINTS = "https://rust-lang.github.io/rust-clippy/master/index.html#";

function rule(id: string): Record<string, unknown> {
  const lint = id.startsWith("clippy::") ? id.slice("clippy::".length) : undefined;
  return { id, ...(lint === undefined ? {} : { helpUri: `${CLIPPY_LINTS}${lint}` }) };
}

function result(finding: Finding & { file: string }): Record<string, unknown> {
  const region = {
    ...(finding.line === undefined ? {} : { startLine: finding.line }),
    ...(finding.column === undefined ? {} : { startColumn: finding.column }),
    ...(finding.endLine === undefined ? {} : { endLine: finding.endLine }),
    ...(finding.endColumn === undefined ? {} : { endColumn: finding.endColumn }),
  };
  return {
    ruleId: finding.rule ?? "clippy",
    level: finding.level,
    message: { text: finding.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: finding.file.split("/").map(encodeURIComponent).join("/") },
          ...(Object.keys(region).length === 0 ? {} : { region }),
        },
      },
    ],
  };
}

/**
 * The SARIF log of the report's clippy step, or undefined when clippy did not run (skipped, cancelled, absent).
 * Findings without a file in the workspace are left out: code scanning needs a location.
 */
export function clippySarif(report: RunReport): Record<string, unknown> | undefined {
  const step = report.steps.find((s) => s.id === "clippy");
  if (step === undefined || step.status === "skipped" || step.status === "cancelled") return undefined;
  const placed = findingsOf(step).filter((f): f is Finding & { file: string } => f.file !== undefined);
  const ruleIds = [...new Set(placed.map((f) => f.rule ?? "clippy"))].sort();
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "clippy", informationUri: "https://github.com/rust-lang/rust-clippy", rules: ruleIds.map(rule) } },
        results: placed.map(result),
      },
    ],
  };
}
