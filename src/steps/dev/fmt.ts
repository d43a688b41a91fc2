import { cargo, rawFailure, relativeToWorkspace } from "../../cargo/commands.js";
import { plural } from "../../cargo/messages.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { type Finding, workspacePath } from "../../report/findings.js";

const DIFF_HEADER = /^Diff in (.+?)(?::(\d+):| at line (\d+):)\s*$/;

/** `cargo fmt --all -- --check`: fails listing each unformatted file. */
export const fmtStep: Step = {
  id: "fmt",
  title: "Formatting",
  description: "cargo fmt --check: every file is formatted by rustfmt",
  defaultTimeoutSeconds: 120,
  async run(context: StepContext): Promise<StepOutcome> {
    const result = await context.exec(cargo(["fmt", "--all", ...context.options.extraArgs, "--", "--check", "--color", "never"]));
    if (result.exitCode === 0) return { status: "passed", summary: "Passed" };
    const unformatted = new Map<string, number[]>();
    // The first changed line of each hunk: its header's line plus the context lines before the first - or +.
    const changed = new Map<string, number[]>();
    let hunk: { file: string; line: number } | undefined;
    for (const line of result.stdout.split("\n")) {
      const diff = DIFF_HEADER.exec(line);
      if (diff === null) {
        if (hunk === undefined) continue;
        if (line.startsWith(" ")) hunk.line += 1;
        else {
          if (line.startsWith("-") || line.startsWith("+")) changed.set(hunk.file, [...(changed.get(hunk.file) ?? []), hunk.line]);
          hunk = undefined;
        }
        continue;
      }
      const file = relativeToWorkspace(diff[1] as string, context.workspaceDir);
      const lines = unformatted.get(file) ?? [];
      lines.push(Number(diff[2] ?? diff[3]));
      unformatted.set(file, lines);
      hunk = { file, line: Number(diff[2] ?? diff[3]) };
    }
    if (unformatted.size === 0) {
      return { status: "failed", ...rawFailure("rustfmt", result.exitCode, result.output) };
    }
    const files = [...unformatted.keys()];
    return {
      status: "failed",
      summary: `${plural(files.length, "unformatted file")}: ${files.slice(0, 3).join(", ")}${files.length > 3 ? ", …" : ""} (run cargo fmt)`,
      details: [...unformatted].map(([file, lines]) => `${file}: differs at line ${lines.join(", ")}`),
      data: { findings: [...unformatted].map(([file, lines]) => unformattedFinding(file, changed.get(file) ?? lines)) },
    };
  },
};

/** One unformatted file as one finding, at its first changed line (`lines`: each hunk's). */
function unformattedFinding(file: string, lines: readonly number[]): Finding {
  const path = workspacePath(file);
  const first = lines[0];
  return {
    level: "error",
    title: "Formatting: cargo fmt",
    message: `${file} differs from rustfmt's formatting at line ${lines.join(", ")} (run cargo fmt)`,
    ...(path === undefined ? {} : { file: path, ...(first === undefined || !(first > 0) ? {} : { line: first }) }),
  };
}
