/**
 * Findings: a step's problems at places in the code (a file, a line), kept in
 * the step's `data.findings`, from which the GitHub annotations and the
 * clippy SARIF file are made.
 */
import { z } from "zod";
import type { Diagnostic } from "../cargo/messages.js";
import type { RunReport } from "./report.js";

const position = z.number().int().positive();

/** Schema of one finding. */
export const findingSchema = z.strictObject({
  level: z.enum(["error", "warning"]),
  /** Short title: the step and, for a lint or a compiler error, its code. */
  title: z.string(),
  message: z.string(),
  /** Workspace-relative path (GitHub needs repository-relative paths); absent when the problem has no place in the workspace. */
  file: z.string().optional(),
  line: position.optional(),
  column: position.optional(),
  endLine: position.optional(),
  endColumn: position.optional(),
  /** The lint or error code (`clippy::needless_range_loop`, `E0308`). */
  rule: z.string().optional(),
});

/** A problem at a place in the code. */
export type Finding = z.output<typeof findingSchema>;

/** `path` when it names a file inside the workspace (relative, not climbing out of it), else undefined. */
export function workspacePath(path: string | undefined): string | undefined {
  if (path === undefined || path === "") return undefined;
  const slashed = path.replace(/\\/g, "/").replace(/^\.\//, "");
  if (slashed.startsWith("/") || /^[A-Za-z]:\//.test(slashed) || slashed.split("/").includes("..")) return undefined;
  return slashed;
}

/** A compiler or clippy diagnostic as a finding titled `<stepTitle>` plus its code. */
export function diagnosticFinding(diagnostic: Diagnostic, stepTitle: string): Finding {
  const file = workspacePath(diagnostic.file);
  return {
    level: diagnostic.level,
    title: diagnostic.code === undefined ? stepTitle : `${stepTitle}: ${diagnostic.code}`,
    message: diagnostic.message,
    ...(file === undefined ? {} : { file }),
    ...(file === undefined || diagnostic.line === undefined ? {} : { line: diagnostic.line }),
    ...(file === undefined || diagnostic.column === undefined ? {} : { column: diagnostic.column }),
    ...(file === undefined || diagnostic.endLine === undefined ? {} : { endLine: diagnostic.endLine }),
    ...(file === undefined || diagnostic.endColumn === undefined ? {} : { endColumn: diagnostic.endColumn }),
    ...(diagnostic.code === undefined ? {} : { rule: diagnostic.code }),
  };
}

const PANIC_AT = /panicked at ([^\s:][^:\n]*):(\d+):(\d+)/;

/** Lines of a failure message an annotation keeps: the panic and its message, not a backtrace. */
const MESSAGE_LINES = 20;

/** A failure message without its backtrace (`stack backtrace:` on) and at most {@link MESSAGE_LINES} lines. */
function withoutBacktrace(message: string): string {
  const lines = message.trimEnd().split("\n");
  const backtrace = lines.findIndex((line) => line.trim() === "stack backtrace:");
  const kept = backtrace < 0 ? lines : lines.slice(0, backtrace);
  return kept.length > MESSAGE_LINES
    ? [...kept.slice(0, MESSAGE_LINES), `… ${kept.length - MESSAGE_LINES} more lines`].join("\n")
    : kept.join("\n");
}

/** A failing test as a finding, placed where it panicked (`panicked at src/x.rs:12:5`) when the message says so. */
export function failingTestFinding(suite: string, name: string, message: string | undefined): Finding {
  const text = message === undefined || message.trim() === "" ? "failed" : withoutBacktrace(message).trimEnd();
  const at = PANIC_AT.exec(text);
  const file = workspacePath(at?.[1]);
  return {
    level: "error",
    title: `Test failed: ${name}`,
    message: `${suite}: ${name}\n${text}`,
    ...(file === undefined ? {} : { file, line: Number(at?.[2]), column: Number(at?.[3]) }),
  };
}

/** The valid findings a step of a report recorded in `data.findings` (others are ignored: data is free-form). */
export function findingsOf(step: RunReport["steps"][number]): Finding[] {
  const data = step.data;
  if (typeof data !== "object" || data === null || !("findings" in data) || !Array.isArray(data.findings)) return [];
  return data.findings.flatMap((item: unknown) => {
    const parsed = findingSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}
