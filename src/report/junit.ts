import type { RunReport } from "./report.js";

/** Characters XML 1.0 forbids (control characters such as ANSI escapes), removed from text. */
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/** Number of test cases a report holds, over all steps. */
export function countTests(report: RunReport): number {
  return report.steps.reduce((sum, step) => sum + (step.tests?.length ?? 0), 0);
}

/**
 * JUnit XML of the test cases the run saw, one `<testsuite>` per test binary,
 * in the shape GitHub, GitLab and Jenkins read.
 */
export function renderJunit(report: RunReport): string {
  const suites = new Map<string, NonNullable<RunReport["steps"][number]["tests"]>[number][]>();
  for (const step of report.steps) {
    for (const testCase of step.tests ?? []) {
      const list = suites.get(testCase.suite) ?? [];
      list.push(testCase);
      suites.set(testCase.suite, list);
    }
  }
  const all = [...suites.values()].flat();
  const failures = all.filter((c) => c.status === "failed").length;
  const skipped = all.filter((c) => c.status === "ignored").length;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(`shriven-pipeline ${report.stage}`)}" tests="${all.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
  ];
  for (const [suite, cases] of suites) {
    const suiteFailures = cases.filter((c) => c.status === "failed").length;
    const suiteSkipped = cases.filter((c) => c.status === "ignored").length;
    out.push(
      `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${suiteFailures}" errors="0" skipped="${suiteSkipped}" timestamp="${report.startedAt}">`,
    );
    for (const testCase of cases) {
      const open = `    <testcase classname="${escapeXml(suite)}" name="${escapeXml(testCase.name)}"`;
      if (testCase.status === "passed") out.push(`${open}/>`);
      else if (testCase.status === "ignored") out.push(`${open}><skipped/></testcase>`);
      else {
        const message = testCase.message ?? "failed";
        const firstLine = message.split("\n").find((l) => l.trim() !== "") ?? "failed";
        out.push(`${open}><failure message="${escapeXml(firstLine)}">${escapeXml(message)}</failure></testcase>`);
      }
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return `${out.join("\n")}\n`;
}
