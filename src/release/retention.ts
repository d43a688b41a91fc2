/**
 * The retention rule of the pipeline document: build artifacts older than 30
 * days are pruned; releases are kept forever.
 *
 * Artifacts live under one directory, one folder per build
 * (`<version>-<short commit>/`), each with a `build.json`
 * (`{ "version", "commit", "builtAt" }`). A build published as a release holds a
 * `released.json` marker (`{ "tag", "releasedAt", "url" }`) and is never pruned.
 * Age comes from `builtAt`, never from file times, which copies change. When in
 * doubt a folder is kept and the doubt reported.
 */
import { type Dirent, lstatSync, readdirSync, readFileSync, rmSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import { ProblemsError } from "../core/errors.js";
import { parseRfc3339 } from "../core/rfc3339.js";
import { describeIssues } from "../core/zod-issues.js";

/** Where the pipeline keeps build artifacts, relative to the workspace. */
export const DEFAULT_ARTIFACTS_DIR = "target/shriven-pipeline/artifacts";

/** Builds older than this many days are pruned unless released. */
export const DEFAULT_MAX_AGE_DAYS = 30;

/** The file each build folder describes itself in. */
export const BUILD_FILE = "build.json";

/** The marker of a build published as a release. */
export const RELEASED_FILE = "released.json";

/** Largest build.json / released.json accepted; anything bigger is not one. */
const MAX_MARKER_BYTES = 64 * 1024;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Retention was asked to do something unsafe or meaningless; nothing was removed. */
export class RetentionError extends ProblemsError {
  override readonly name: string = "RetentionError";
}

/** A build folder the plan removes. */
export interface PruneCandidate {
  /** The folder's name, a direct child of the artifacts directory. */
  readonly folder: string;
  /** `builtAt` as written in its build.json. */
  readonly builtAt: string;
  /** Days from `builtAt` to the plan's `now` (fractional). */
  readonly ageDays: number;
  /** Total size of the files in the folder. */
  readonly bytes: number;
}

/** A build folder the plan keeps, and why. */
export interface KeptBuild {
  readonly folder: string;
  readonly reason: "released" | "recent";
}

/** What {@link planPrune} decided. Folders with problems are in neither list. */
export interface PrunePlan {
  readonly remove: readonly PruneCandidate[];
  readonly keep: readonly KeptBuild[];
  /** One line per entry left alone for a reason other than age or release, each starting with its name. */
  readonly problems: readonly string[];
}

/** Options of {@link planPrune}. */
export interface PruneOptions {
  /** The moment ages are measured to. */
  readonly now: Date;
  /** Builds strictly older than this are removed; {@link DEFAULT_MAX_AGE_DAYS} unless given. Must be a positive number. */
  readonly maxAgeDays?: number;
}

const buildFileSchema = z.object(
  {
    version: z.string({ error: "expected a version string" }).min(1, { error: "is empty" }),
    commit: z.string({ error: "expected a commit hash" }).regex(/^[0-9a-f]{4,64}$/, { error: "expected a lowercase hex commit hash" }),
    builtAt: z.string({ error: "expected an RFC 3339 timestamp such as 2026-03-01T10:00:00Z" }),
  },
  { error: "expected an object with version, commit and builtAt" },
);

const releasedFileSchema = z.object(
  {
    tag: z.string({ error: "expected a tag string" }).min(1, { error: "is empty" }),
    releasedAt: z
      .string({ error: "expected an RFC 3339 timestamp" })
      .refine((value) => parseRfc3339(value) !== undefined, { error: "expected an RFC 3339 timestamp" }),
    url: z.url({ error: "expected a URL" }),
  },
  { error: "expected an object with tag, releasedAt and url" },
);

/** Reads and parses a small JSON file without following a symbolic link; a problem line on failure. */
function readJsonFile(path: string, label: string): { value: unknown } | { problem: string } {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === "ENOENT" ? `no ${label}` : `cannot read ${label}: ${(error as Error).message}` };
  }
  if (stats.isSymbolicLink()) return { problem: `${label} is a symbolic link, not followed` };
  if (!stats.isFile()) return { problem: `${label} is not a regular file` };
  if (stats.size > MAX_MARKER_BYTES) return { problem: `${label} is ${stats.size} bytes; at most ${MAX_MARKER_BYTES} expected` };
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path));
  } catch (error) {
    return { problem: `cannot read ${label}: ${(error as Error).message}` };
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { problem: `${label} is not valid JSON (${(error as Error).message})` };
  }
}

/** The build a folder describes, or the problems that keep it from being judged by age. */
function readBuild(folderPath: string, folder: string, now: Date): { builtAt: string; date: Date } | { problems: string[] } {
  const read = readJsonFile(join(folderPath, BUILD_FILE), BUILD_FILE);
  if ("problem" in read) return { problems: [read.problem] };
  const parsed = buildFileSchema.safeParse(read.value);
  if (!parsed.success) return { problems: describeIssues(parsed.error.issues).map((p) => `${BUILD_FILE}: ${p}`) };
  const { version, commit, builtAt } = parsed.data;
  const time = parseRfc3339(builtAt);
  if (time === undefined)
    return {
      problems: [`${BUILD_FILE}: builtAt: expected an RFC 3339 timestamp such as 2026-03-01T10:00:00Z, found ${JSON.stringify(builtAt)}`],
    };
  if (time.date.getTime() > now.getTime())
    return { problems: [`${BUILD_FILE}: builtAt: ${builtAt} is in the future (now is ${now.toISOString()}); its age is unknown`] };
  // The folder must be the build its build.json describes: `<version>-<short commit>`.
  const shortCommit = folder.startsWith(`${version}-`) ? folder.slice(version.length + 1) : "";
  if (shortCommit.length < 4 || !commit.startsWith(shortCommit))
    return {
      problems: [
        `${BUILD_FILE} describes ${version} at ${commit}, which does not match the folder name (expected ${version}-${commit.slice(0, 7)})`,
      ],
    };
  return { builtAt, date: time.date };
}

/** Total size of the files under `path`, never following symbolic links. */
function folderBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) total += folderBytes(child);
    else total += lstatSync(child).size;
  }
  return total;
}

function checkOptions(options: PruneOptions): number {
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
  const problems: string[] = [];
  if (typeof maxAgeDays !== "number" || !Number.isFinite(maxAgeDays) || maxAgeDays <= 0)
    problems.push(`maxAgeDays: is ${String(maxAgeDays)}; expected a positive number of days`);
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) problems.push("now: is not a valid date");
  if (problems.length > 0) throw new RetentionError("retention policy", problems);
  return maxAgeDays;
}

/**
 * Decides which build folders under `dir` to remove: those whose build.json
 * `builtAt` is more than `maxAgeDays` before `now`, unless released. A missing
 * `dir` means nothing to prune.
 * @throws RetentionError when `maxAgeDays` is not a positive number, `now` is invalid, or `dir` is not a directory.
 */
export function planPrune(dir: string, options: PruneOptions): PrunePlan {
  const maxAgeDays = checkOptions(options);
  const { now } = options;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { remove: [], keep: [], problems: [] };
    throw new RetentionError(dir, [code === "ENOTDIR" ? "is not a directory" : `cannot list: ${(error as Error).message}`]);
  }
  const remove: PruneCandidate[] = [];
  const keep: KeptBuild[] = [];
  const problems: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const folder = entry.name;
    if (entry.isSymbolicLink()) {
      problems.push(`${folder}: is a symbolic link; not followed, left alone`);
      continue;
    }
    if (!entry.isDirectory()) {
      problems.push(`${folder}: is not a build folder (${entry.isFile() ? "a file" : "not a directory"}); left alone`);
      continue;
    }
    const folderPath = join(dir, folder);
    const build = readBuild(folderPath, folder, now);
    const released = releaseMarker(folderPath);
    if (released !== undefined) {
      // Released builds are kept forever, whatever else is wrong with them; the doubts are still reported.
      keep.push({ folder, reason: "released" });
      for (const problem of [...released, ...("problems" in build ? build.problems : [])]) problems.push(`${folder}: ${problem}`);
      continue;
    }
    if ("problems" in build) {
      for (const problem of build.problems) problems.push(`${folder}: ${problem}; kept`);
      continue;
    }
    const ageDays = (now.getTime() - build.date.getTime()) / DAY_MS;
    if (ageDays > maxAgeDays) remove.push({ folder, builtAt: build.builtAt, ageDays, bytes: folderBytes(folderPath) });
    else keep.push({ folder, reason: "recent" });
  }
  return { remove, keep, problems };
}

/**
 * The problems of a folder's release marker: `undefined` when it has none,
 * an empty list when the marker is valid. Any entry named released.json marks a release.
 */
function releaseMarker(folderPath: string): string[] | undefined {
  try {
    lstatSync(join(folderPath, RELEASED_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    return [`cannot read ${RELEASED_FILE}: ${(error as Error).message}; treated as released`];
  }
  const read = readJsonFile(join(folderPath, RELEASED_FILE), RELEASED_FILE);
  if ("problem" in read) return [`${read.problem}; treated as released`];
  const parsed = releasedFileSchema.safeParse(read.value);
  return parsed.success ? [] : describeIssues(parsed.error.issues).map((p) => `${RELEASED_FILE}: ${p}; treated as released`);
}

/** Why `folder` may not be removed from `dir`, or `undefined` when it may. */
function refusal(dir: string, folder: unknown): string | undefined {
  if (typeof folder !== "string" || folder === "") return "is not a folder name";
  if (folder === "." || folder === ".." || /[/\\\0]/.test(folder) || dirname(resolve(dir, folder)) !== resolve(dir))
    return "is not a direct child folder of the artifacts directory";
  let stats: Stats;
  try {
    stats = lstatSync(join(dir, folder));
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : `cannot inspect: ${(error as Error).message}`;
  }
  if (stats.isSymbolicLink()) return "is a symbolic link; not followed";
  if (!stats.isDirectory()) return "is not a folder";
  if (releaseMarker(join(dir, folder)) !== undefined) return `holds ${RELEASED_FILE}; releases are kept forever`;
  return undefined;
}

/**
 * Removes exactly the folders `plan.remove` lists from `dir`. Every entry is
 * checked first: each must name an existing direct child folder of `dir` that
 * is not a symbolic link and not released. If any fails, nothing is removed.
 * @returns The entries removed.
 * @throws RetentionError naming each refused folder.
 */
export function prune(plan: Pick<PrunePlan, "remove">, dir: string): PruneCandidate[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const candidate of plan.remove) {
    const folder: unknown = candidate.folder;
    const reason = refusal(dir, folder);
    if (reason !== undefined) problems.push(`${JSON.stringify(folder)}: ${reason}; refused`);
    else if (seen.has(folder as string)) problems.push(`${JSON.stringify(folder)}: is listed twice; refused`);
    seen.add(String(folder));
  }
  if (problems.length > 0) throw new RetentionError(dir, problems);
  const removed: PruneCandidate[] = [];
  for (const candidate of plan.remove) {
    // rmSync removes a symbolic link found inside the folder, never what it points to.
    rmSync(join(dir, candidate.folder), { recursive: true });
    removed.push(candidate);
  }
  return removed;
}
