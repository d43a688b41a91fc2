/**
 * The clippy baseline: the warnings a workspace had when it adopted the
 * pipeline, stored as data in the workspace (one warning per line, so a
 * review sees what was accepted), with who saved it, when, why and with which
 * clippy; every save is also appended to an audit file next to it. Its
 * presence is the opt-in: without the file the clippy step denies every
 * warning.
 *
 * Format (`schemaVersion` 1):
 *
 *     {
 *       "schemaVersion": 1,
 *       "savedAt": "2026-05-01T12:00:00.000Z",
 *       "savedBy": "alice",
 *       "reason": "legacy lints of the imported engine",
 *       "toolchain": "clippy 0.1.95 (59807616e1 2026-04-14)",
 *       "warnings": [
 *         {"code":"clippy::needless_range_loop","file":"src/lib.rs","line":3,"snippet":"for i in 0..v.len() {","message":"…"}
 *       ]
 *     }
 *
 * `line` and `message` are for people; matching uses `code`, `file` and `snippet` (see `lint-fingerprint.ts`).
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";
import { writeFileAtomically } from "../core/atomic-file.js";
import { ConfigError } from "../core/errors.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";
import { CLIPPY_BASELINE_FILE } from "./clippy-baseline-file.js";
import {
  baselinePathProblem,
  fingerprintOf,
  hasControlCharacter,
  isBaselinable,
  type LintWarning,
  MAX_MESSAGE_CHARS,
  MAX_SNIPPET_CHARS,
  normaliseText,
} from "./lint-fingerprint.js";

export { CLIPPY_BASELINE_FILE };

/** The audit trail of saves, one JSON line each, next to the baseline. */
export const CLIPPY_BASELINE_AUDIT_FILE = ".shriven-pipeline/clippy-baseline.audit.jsonl";

/** Most warnings a baseline may hold; more is not a hand-kept file. */
const MAX_WARNINGS = 100_000;

/** Longest name or version kept, in characters. */
const MAX_NAME_CHARS = 200;

/** Largest baseline file read, in characters. */
const MAX_FILE_CHARS = 64 * 1024 * 1024;

/** A zod error option: "missing" for an absent key, else what was expected. */
function expected(what: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? `missing; expected ${what}` : `expected ${what}`) };
}

/** Text that may not hold control characters (a name, a version, a source line). */
function plainText(what: string, maxChars: number) {
  return z
    .string(expected(what))
    .min(1, { error: `expected ${what}` })
    .max(maxChars, { error: `expected at most ${maxChars} characters` })
    .refine((text) => !hasControlCharacter(text), { error: `expected ${what} without control characters` });
}

const entrySchema = closedObject({
  code: z.string(expected("a lint code or null")).min(1, { error: "expected a lint code or null" }).nullable(),
  file: z
    .string(expected("a workspace-relative path or null"))
    .refine((file) => baselinePathProblem(file) === undefined, { error: (issue) => baselinePathProblem(issue.input as string) })
    .nullable(),
  line: z.int(expected("a line number or null")).min(1, { error: "expected a line number from 1" }).nullable(),
  snippet: plainText("the flagged source line", MAX_SNIPPET_CHARS),
  message: plainText("the compiler's message", MAX_MESSAGE_CHARS),
});

/** Why `reason` cannot be a baseline's reason (empty, or control characters other than tab and newline), or undefined. */
export function reasonProblem(reason: string): string | undefined {
  if (reason.trim() === "") return "expected why it was saved, got an empty reason";
  if (hasControlCharacter(reason.replace(/[\t\n]/gu, " "))) return "expected text without control characters (tabs and newlines allowed)";
  return undefined;
}

/** Schema of the baseline file. */
const clippyBaselineSchema = closedObject({
  schemaVersion: z.literal(1, {
    error: (issue) =>
      issue.input === undefined
        ? "missing; expected 1"
        : `expected 1 (the format this version of shriven-pipeline reads), got ${JSON.stringify(issue.input)}`,
  }),
  savedAt: z.iso.datetime(expected("an ISO date-time such as 2026-05-01T12:00:00.000Z")),
  savedBy: plainText("who saved it", MAX_NAME_CHARS),
  reason: z
    .string(expected("why it was saved"))
    .refine((text) => reasonProblem(text) === undefined, { error: (issue) => reasonProblem(issue.input as string) }),
  toolchain: plainText("the clippy version it was saved with", MAX_NAME_CHARS),
  warnings: z
    .array(entrySchema, expected("an array of warnings"))
    .max(MAX_WARNINGS, { error: `expected at most ${MAX_WARNINGS} warnings` }),
});

/** A saved baseline. */
export type ClippyBaseline = z.output<typeof clippyBaselineSchema>;

/** One warning a baseline holds. */
export type ClippyBaselineEntry = ClippyBaseline["warnings"][number];

/**
 * Parses a baseline file's text.
 * @param file The name errors give the file (workspace-relative in a step, absolute on the CLI).
 * @throws ConfigError naming the file and each bad field (`warnings.3.file: …`).
 */
export function parseClippyBaseline(text: string, file: string): ClippyBaseline {
  if (text.length > MAX_FILE_CHARS) throw new ConfigError(file, [`is ${text.length} characters; at most ${MAX_FILE_CHARS} expected`]);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [jsonProblem(text, error as Error)]);
  }
  const parsed = clippyBaselineSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * Where JSON.parse stopped, as a line and column an editor can jump to
 * (node's own message gives a character offset and quotes the text).
 */
function jsonProblem(text: string, error: Error): string {
  if (text.trim() === "") return "not valid JSON: the file is empty";
  if (/end of JSON input/.test(error.message)) return "not valid JSON: it ends too early (truncated?)";
  const at = /position (\d+)/.exec(error.message);
  if (at === null) return "not valid JSON";
  const before = text.slice(0, Number(at[1])).split("\n");
  return `not valid JSON at line ${before.length}, column ${(before.at(-1) ?? "").length + 1}`;
}

/** Who saves a baseline, why, and with which clippy. */
export interface BaselineSaveInfo {
  readonly savedBy: string;
  readonly reason: string;
  /** `cargo clippy --version`'s output line. */
  readonly toolchain: string;
  readonly now: Date;
}

/** A new baseline, and the warnings it could not hold. */
export interface NewClippyBaseline {
  readonly baseline: ClippyBaseline;
  /** Warnings in files outside the workspace (absolute or `..` paths): a baseline cannot hold them, so they always fail. */
  readonly outside: readonly LintWarning[];
}

/**
 * Builds a baseline of `warnings`, sorted by file, line and code so that a
 * re-save shows as a small diff.
 */
export function makeClippyBaseline(warnings: readonly LintWarning[], info: BaselineSaveInfo): NewClippyBaseline {
  const entries: ClippyBaselineEntry[] = [];
  const outside: LintWarning[] = [];
  for (const warning of warnings) {
    const fingerprint = fingerprintOf(warning);
    if (!isBaselinable(fingerprint)) {
      outside.push(warning);
      continue;
    }
    entries.push({ ...fingerprint, line: warning.line ?? null, message: normaliseText(warning.message, MAX_MESSAGE_CHARS) });
  }
  entries.sort(
    (a, b) =>
      (a.file ?? "").localeCompare(b.file ?? "") ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.code ?? "").localeCompare(b.code ?? "") ||
      a.snippet.localeCompare(b.snippet),
  );
  const baseline: ClippyBaseline = {
    schemaVersion: 1,
    savedAt: info.now.toISOString(),
    savedBy: normaliseText(info.savedBy, MAX_NAME_CHARS) || "unknown",
    reason: info.reason.trim(),
    toolchain: normaliseText(info.toolchain, MAX_NAME_CHARS),
    warnings: entries,
  };
  // What is written must read back: a reason with control characters or an empty version stops here.
  const checked = clippyBaselineSchema.safeParse(baseline);
  if (!checked.success) throw new ConfigError("the new clippy baseline", describeIssues(checked.error.issues));
  return { baseline: checked.data, outside };
}

/** The baseline as stored: the header keys one per line, then one warning per line. */
export function serialiseClippyBaseline(baseline: ClippyBaseline): string {
  const { warnings, ...header } = baseline;
  const head = Object.entries(header).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  const rows = warnings.map((entry, index) => `    ${JSON.stringify(entry)}${index === warnings.length - 1 ? "" : ","}`);
  return `{\n${head.join("\n")}\n  "warnings": [${rows.length === 0 ? "]" : `\n${rows.join("\n")}\n  ]`}\n}\n`;
}

/** One line of the audit file: a save, with how the baseline changed. */
export interface ClippyBaselineRecord {
  readonly savedAt: string;
  readonly by: string;
  readonly reason: string;
  readonly toolchain: string;
  readonly warnings: number;
  /** Warnings by lint code (`(none)` for warnings without one). */
  readonly byLint: Readonly<Record<string, number>>;
  /** Against the baseline it replaced; absent when there was none (or it was unreadable). */
  readonly added?: number;
  readonly removed?: number;
}

/** Counts a baseline's warnings by lint code, most frequent first. */
export function countByLint(entries: readonly Pick<ClippyBaselineEntry, "code">[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry.code ?? "(none)", (counts.get(entry.code ?? "(none)") ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * Writes `<workspace>/.shriven-pipeline/clippy-baseline.json` whole or not at
 * all, and appends the save to the audit file next to it.
 * @param change How it differs from the baseline it replaces, when there was one.
 * @returns The two files' paths.
 */
export function saveClippyBaseline(
  workspace: string,
  baseline: ClippyBaseline,
  change?: { readonly added: number; readonly removed: number },
): { file: string; auditFile: string } {
  const file = join(workspace, CLIPPY_BASELINE_FILE);
  const auditFile = join(workspace, CLIPPY_BASELINE_AUDIT_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomically(file, serialiseClippyBaseline(baseline));
  const record: ClippyBaselineRecord = {
    savedAt: baseline.savedAt,
    by: baseline.savedBy,
    reason: baseline.reason,
    toolchain: baseline.toolchain,
    warnings: baseline.warnings.length,
    byLint: Object.fromEntries(countByLint(baseline.warnings)),
    ...(change === undefined ? {} : change),
  };
  appendFileSync(auditFile, `${JSON.stringify(record)}\n`);
  return { file, auditFile };
}
