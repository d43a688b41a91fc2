/**
 * A warning's identity across unrelated edits: its lint code, its file and the
 * source line its primary span starts on (whitespace collapsed), never its
 * line number, so code inserted above a warning does not make it new. Warnings
 * with the same identity in one file are told apart by how many there are (see
 * `baseline-compare.ts`), not by where they are.
 *
 * Trade-offs of the source line as identity:
 * - it survives lines inserted or removed elsewhere, re-indentation and a
 *   reformat that keeps the line whole;
 * - an edit of the flagged line itself, a rename of its file or a move to
 *   another file makes the warning new (touched code meets today's bar), and
 *   the old entry is reported as fixed;
 * - a multi-line span (a whole `fn` for `new_without_default`) is identified
 *   by its first line only, so edits inside the body do not make it new;
 * - two identical lines in a file with the same lint (`return x;` twice) are
 *   one identity counted twice: one more than the baseline holds is one new
 *   warning, but which of them is new cannot be told.
 */

/** What a baseline needs of a compiler warning; a cargo `Diagnostic` has these fields. */
export interface LintWarning {
  /** Lint code, e.g. `clippy::needless_range_loop`; absent for the few warnings without one. */
  readonly code: string | undefined;
  readonly message: string;
  /** File of the primary span as the compiler names it (workspace-relative for members). */
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** The first source line the primary span covers, as the compiler quoted it. */
  readonly sourceLine: string | undefined;
}

/** The identity of a warning in a baseline. */
export interface LintFingerprint {
  /** Lint code, or null when the warning has none. */
  readonly code: string | null;
  /** Workspace-relative `/`-separated file, or null when the warning points at no source. */
  readonly file: string | null;
  /** The source line, normalised by {@link normaliseText}; the message when the warning quotes no source line. */
  readonly snippet: string;
}

/** Longest snippet kept, in characters: enough to tell lines apart, short enough to review. */
export const MAX_SNIPPET_CHARS = 200;

/** Longest message kept, in characters. */
export const MAX_MESSAGE_CHARS = 500;

/** C0 and C1 control characters and DEL: never kept, so a stored text cannot drive a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** Whether `text` holds a control character (tab and newline included). */
export function hasControlCharacter(text: string): boolean {
  return CONTROL.test(text);
}

/**
 * Collapses every run of whitespace to one space, trims, turns other
 * control characters into U+FFFD and keeps at most `maxChars` characters:
 * the same text before and after a re-indent.
 */
export function normaliseText(text: string, maxChars: number): string {
  const collapsed = text.replace(/\s+/gu, " ").trim().replace(new RegExp(CONTROL.source, "gu"), "\ufffd");
  return Array.from(collapsed).slice(0, maxChars).join("");
}

/**
 * Why `file` cannot be a baseline's file, or undefined when it can: a
 * workspace-relative `/`-separated path without `.` or `..` segments, empty
 * segments or control characters.
 */
export function baselinePathProblem(file: string): string | undefined {
  if (file === "") return "expected a workspace-relative path, got an empty one";
  if (hasControlCharacter(file)) return "expected a path without control characters";
  if (file.includes("\\")) return `expected "/" as the separator, got ${JSON.stringify(file)}`;
  if (file.startsWith("/") || /^[A-Za-z]:/.test(file))
    return `expected a workspace-relative path, got the absolute ${JSON.stringify(file)}`;
  if (file.split("/").some((segment) => segment === "" || segment === "." || segment === ".."))
    return `expected a path inside the workspace without "", "." or ".." segments, got ${JSON.stringify(file)}`;
  return undefined;
}

/** A warning's fingerprint; its file with `\` turned into `/` and a leading `./` removed. */
export function fingerprintOf(warning: LintWarning): LintFingerprint {
  const file = warning.file === undefined ? null : warning.file.replaceAll("\\", "/").replace(/^(\.\/)+/, "");
  const line = file === null || warning.sourceLine === undefined ? "" : normaliseText(warning.sourceLine, MAX_SNIPPET_CHARS);
  const snippet = line === "" ? normaliseText(warning.message, MAX_SNIPPET_CHARS) : line;
  return { code: warning.code ?? null, file, snippet };
}

/** Whether a warning with this fingerprint can be held by a baseline (its file is inside the workspace). */
export function isBaselinable(fingerprint: LintFingerprint): boolean {
  return fingerprint.file === null || baselinePathProblem(fingerprint.file) === undefined;
}

/** One string per identity, for grouping. */
export function fingerprintKey(fingerprint: LintFingerprint): string {
  return JSON.stringify([fingerprint.code, fingerprint.file, fingerprint.snippet]);
}
