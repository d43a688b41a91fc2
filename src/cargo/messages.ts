/**
 * Reading cargo's `--message-format=json` stream: compiler diagnostics as
 * `file:line:column: level[code]: message`, duplicates (the same warning seen
 * for a lib and its test target) removed.
 */
import { z } from "zod";

/** One compiler diagnostic. */
export interface Diagnostic {
  readonly level: "error" | "warning";
  /** Lint or error code: `E0308`, `clippy::needless_range_loop`, `unused_variables`. */
  readonly code: string | undefined;
  readonly message: string;
  /** Workspace-relative file of the primary span, when there is one. */
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Where the primary span ends (cargo gives it; absent in diagnostics made by hand). */
  readonly endLine?: number;
  readonly endColumn?: number;
  /** The first source line the primary span covers, as the compiler quoted it (not trimmed). */
  readonly sourceLine: string | undefined;
  /** The compiler's own rendering, for logs. */
  readonly rendered: string;
}

const spanSchema = z.object({
  file_name: z.string(),
  line_start: z.number(),
  column_start: z.number(),
  line_end: z.number().optional(),
  column_end: z.number().optional(),
  is_primary: z.boolean(),
  text: z.array(z.object({ text: z.string() })).optional(),
});

const compilerMessageSchema = z.object({
  reason: z.literal("compiler-message"),
  message: z.object({
    level: z.string(),
    message: z.string(),
    code: z.object({ code: z.string() }).nullable().optional(),
    spans: z.array(spanSchema),
    rendered: z.string().nullable().optional(),
  }),
});

const SUMMARY_WITHOUT_SPAN = /^(aborting due to|\d+ warnings? emitted|some errors have detailed explanations|for more information about)/;

/** Result of reading a cargo JSON stream. */
export interface CargoMessages {
  readonly diagnostics: readonly Diagnostic[];
  /** Lines of the stream that were not cargo JSON messages, in order. */
  readonly textLines: readonly string[];
}

/**
 * Splits cargo output into compiler diagnostics and other text.
 * Lines that are not JSON, or JSON of another shape, are kept as text.
 */
export function readCargoMessages(output: string): CargoMessages {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const textLines: string[] = [];
  for (const line of output.split("\n")) {
    const parsed = line.startsWith("{") ? parseJsonLine(line) : undefined;
    if (parsed === undefined) {
      textLines.push(line.replace(/\r$/, ""));
      continue;
    }
    if (typeof parsed !== "object" || parsed === null || !("reason" in parsed)) {
      textLines.push(line);
      continue;
    }
    const message = compilerMessageSchema.safeParse(parsed);
    if (!message.success) continue;
    const diagnostic = toDiagnostic(message.data.message);
    if (diagnostic === undefined) continue;
    const key = `${diagnostic.level}|${diagnostic.code}|${diagnostic.message}|${diagnostic.file}|${diagnostic.line}|${diagnostic.column}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diagnostics.push(diagnostic);
  }
  return { diagnostics, textLines };
}

function parseJsonLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

function toDiagnostic(message: z.output<typeof compilerMessageSchema>["message"]): Diagnostic | undefined {
  const level =
    message.level === "error" || message.level === "error: internal compiler error"
      ? "error"
      : message.level === "warning"
        ? "warning"
        : undefined;
  if (level === undefined) return undefined;
  const primary = message.spans.find((span) => span.is_primary) ?? message.spans[0];
  if (primary === undefined && SUMMARY_WITHOUT_SPAN.test(message.message)) return undefined;
  return {
    level,
    code: message.code?.code,
    message: message.message,
    file: primary?.file_name,
    line: primary?.line_start,
    column: primary?.column_start,
    ...(primary?.line_end === undefined ? {} : { endLine: primary.line_end }),
    ...(primary?.column_end === undefined ? {} : { endColumn: primary.column_end }),
    sourceLine: primary?.text?.[0]?.text,
    rendered: message.rendered ?? message.message,
  };
}

/** `crates/risk/src/lib.rs:10:5: error[E0308]: mismatched types` */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where = diagnostic.file === undefined ? "" : `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: `;
  const code = diagnostic.code === undefined ? "" : `[${diagnostic.code}]`;
  return `${where}${diagnostic.level}${code}: ${diagnostic.message}`;
}

/** `crates/risk/src/lib.rs:10: mismatched types`, the short form used in one-line summaries. */
export function shortDiagnostic(diagnostic: Diagnostic): string {
  const where = diagnostic.file === undefined ? "" : `${diagnostic.file}:${diagnostic.line}: `;
  return `${where}${diagnostic.message}`;
}

/** Counts a word with its plural: `1 error`, `3 errors`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
