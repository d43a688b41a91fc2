/**
 * SHA-256 checksum lists in the format of GNU `sha256sum` (and `sha256sum -c`): one line per file,
 *
 *     <64 hex digits><space><space or *><file name>
 *
 * where the second separator character is a space for text mode and `*` for binary mode (the same hash on
 * POSIX systems). File names that GNU escapes (a leading backslash, for names with a newline or backslash)
 * are refused, as are absolute names and `..` components: a list only names files inside its own folder.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { PipelineError } from "../core/errors.js";

/** A checksum list is malformed; the message names the list, the line and the problem. */
export class ChecksumError extends PipelineError {
  override readonly name: string = "ChecksumError";
}

/** One file of a checksum list. */
export type Sha256Entry = {
  /** The file name, relative to the list's folder. */
  readonly name: string;
  /** The SHA-256 of the file, 64 lower-case hex digits. */
  readonly sha256: string;
};

/** The outcome of checking one listed file. */
export type ChecksumResult = {
  readonly name: string;
  readonly ok: boolean;
  /** Why the file failed: missing, not a regular file, unreadable, or a different hash. */
  readonly reason?: string;
};

/** The SHA-256 of a file, 64 lower-case hex digits, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/**
 * The `sha256sum` text for `entries`, sorted by name (by UTF-16 code unit, so the order does not depend on
 * the locale): `<hash>  <name>\n` per file.
 * @throws ChecksumError for a hash that is not 64 hex digits, a name `sha256sum -c` would not read back as
 *   given, or a name listed twice.
 */
export function formatSha256Sums(entries: readonly Sha256Entry[]): string {
  const seen = new Set<string>();
  const lines = entries.map((entry) => {
    const fail = (problem: string): never => {
      throw new ChecksumError(`cannot list ${JSON.stringify(entry.name)} in a checksum list: ${problem}`);
    };
    if (!/^[0-9a-fA-F]{64}$/.test(entry.sha256)) fail(`its SHA-256 must be 64 hex digits, got ${JSON.stringify(entry.sha256)}`);
    const problem = nameProblem(entry.name);
    if (problem !== undefined) fail(problem);
    if (seen.has(entry.name)) fail("it is listed twice");
    seen.add(entry.name);
    return { name: entry.name, line: `${entry.sha256.toLowerCase()}  ${entry.name}\n` };
  });
  lines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return lines.map((l) => l.line).join("");
}

/**
 * Reads a `sha256sum` list (text ` ` or binary `*` mode lines; blank lines are skipped), in file order,
 * hashes in lower case.
 * @param source The list's file name, for error messages.
 * @throws ChecksumError naming `source`, the line and the problem: a malformed line, a name listed twice,
 *   an unsafe name, or a list with no files.
 */
export function parseSha256Sums(text: string, source: string): Sha256Entry[] {
  const entries: Sha256Entry[] = [];
  const firstLine = new Map<string, number>();
  text.split("\n").forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "") return;
    const fail = (problem: string): never => {
      throw new ChecksumError(`${source}: line ${lineNumber}: ${problem}`);
    };
    const entry = parseLine(line, fail);
    const first = firstLine.get(entry.name);
    if (first !== undefined) fail(`${JSON.stringify(entry.name)} is listed twice (first on line ${first})`);
    firstLine.set(entry.name, lineNumber);
    entries.push(entry);
  });
  if (entries.length === 0) throw new ChecksumError(`${source}: lists no files`);
  return entries;
}

/**
 * Checks every file a `sha256sum` list names against its hash, like `sha256sum -c`, reading the files
 * from `dir`. Files in `dir` that the list does not name are not looked at.
 * @param source The list's file name, for parse errors.
 * @returns One result per listed file, in list order.
 * @throws ChecksumError if the list is malformed (see {@link parseSha256Sums}).
 */
export async function verifyChecksums(dir: string, sumsText: string, source: string): Promise<ChecksumResult[]> {
  const entries = parseSha256Sums(sumsText, source);
  const results: ChecksumResult[] = [];
  for (const entry of entries) results.push(await checkOne(join(dir, entry.name), entry));
  return results;
}

async function checkOne(path: string, entry: Sha256Entry): Promise<ChecksumResult> {
  let actual: string;
  try {
    if (!(await stat(path)).isFile()) return { name: entry.name, ok: false, reason: "not a regular file" };
    actual = await sha256File(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "missing: no such file" : `cannot read the file: ${(error as Error).message}`;
    return { name: entry.name, ok: false, reason };
  }
  if (actual === entry.sha256) return { name: entry.name, ok: true };
  return { name: entry.name, ok: false, reason: `SHA-256 mismatch: listed ${entry.sha256}, file has ${actual}` };
}

function parseLine(line: string, fail: (problem: string) => never): Sha256Entry {
  if (line.startsWith("\\")) fail("escaped file names (a leading backslash) are not supported");
  const hash = /^[^\s]*/.exec(line)?.[0] ?? "";
  if (!/^[0-9a-fA-F]*$/.test(hash)) fail("the hash contains a character that is not a hex digit");
  if (hash.length !== 64) fail(`the hash has ${hash.length} hex digits, expected 64`);
  const rest = line.slice(64);
  if (rest === "" || rest.trim() === "") fail("no file name after the hash");
  const match =
    /^ ([ *])(.+)$/.exec(rest) ?? fail('expected two spaces (text mode) or " *" (binary mode) between the hash and the file name');
  const name = match[2] as string;
  const problem = nameProblem(name);
  if (problem !== undefined) fail(problem);
  return { name, sha256: hash.toLowerCase() };
}

/** Why `name` cannot be listed, or undefined if it can. */
function nameProblem(name: string): string | undefined {
  if (name === "") return "the file name is empty";
  if (/[\n\r\\]/.test(name)) return "the file name contains a line break or a backslash";
  if (name.startsWith("/")) return "the file name is absolute; names are relative to the list's folder";
  if (name.split("/").includes("..")) return 'the file name has a ".." component; names must stay inside the list\'s folder';
  return undefined;
}
