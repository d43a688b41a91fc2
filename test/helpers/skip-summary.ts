/**
 * The end-of-run summary of tests skipped for missing tools: each tool, how
 * many tests it kept from running and in which files, and the command that
 * installs it (the Debian packages `.ci/run` installs).
 */
import { TOOLS, type ToolName } from "./tools.js";

/** A skipped test, as the reporter reads it from the run's results. */
export interface SkippedTest {
  /** The test file, relative to the project root. */
  readonly file: string;
  /** The tools it was skipped for (its task meta's `missingTools`). */
  readonly missingTools: readonly ToolName[];
}

/** `n` with the noun in the singular or plural. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** The install command for the packages of `tools`, in {@link TOOLS} order, each once. */
export function installCommand(tools: readonly ToolName[]): string {
  return `apt-get install -y ${[...new Set(tools.map((name) => TOOLS[name].debianPackage))].join(" ")}`;
}

/**
 * The summary for `skipped`, or "" when no test was skipped for a tool. A
 * test that needs two missing tools counts under both; the totals count it once.
 */
export function missingToolsSummary(skipped: readonly SkippedTest[]): string {
  const byTool = new Map<ToolName, Map<string, number>>();
  for (const test of skipped) {
    for (const tool of new Set(test.missingTools)) {
      const files = byTool.get(tool) ?? new Map<string, number>();
      files.set(test.file, (files.get(test.file) ?? 0) + 1);
      byTool.set(tool, files);
    }
  }
  const tools = (Object.keys(TOOLS) as ToolName[]).filter((name) => byTool.has(name));
  if (tools.length === 0) return "";
  const total = skipped.filter((test) => test.missingTools.length > 0).length;
  const lines = [`Skipped for missing tools: ${count(total, "test")} did not run, for lack of ${count(tools.length, "tool")}.`];
  for (const tool of tools) {
    const files = [...(byTool.get(tool) ?? [])].sort(([a], [b]) => a.localeCompare(b));
    const tests = files.reduce((sum, [, n]) => sum + n, 0);
    lines.push(`  ${tool}: ${count(tests, "test")} skipped (${files.map(([file, n]) => `${file} ${n}`).join(", ")})`);
    lines.push(`    ${TOOLS[tool].what}; install: ${installCommand([tool])}`);
  }
  lines.push(`Install them (as root): ${installCommand(tools)}`);
  lines.push(".ci/run installs every tool the tests need, then runs npm test.");
  return `${lines.join("\n")}\n`;
}
