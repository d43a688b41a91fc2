/**
 * Getting the RustSec advisory database on the host, in order: a local copy
 * when one is given (a folder or a snapshot file), else a git fetch of the
 * configured repository into a cached clone, else that cached clone as it is,
 * else the snapshot bundled with this package. Each copy is dated: the newest
 * commit's date for a git checkout, the recorded date for a snapshot, the
 * newest advisory's date for a folder without git history.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { packageRoot } from "../core/package-root.js";
import { AdvisoryDatabaseError, isDatabase, newestAdvisory } from "./advisory-db.js";
import type { AdvisoryDatabaseHandle, AdvisorySource } from "./advisory-handle.js";
import { type AdvisorySnapshot, looksLikeGzip, parseSnapshot, readSnapshotFile } from "./advisory-snapshot.js";

/** Where the snapshot lives in this package (sent to Dagger and shipped by npm with `data/`). */
export const BUNDLED_SNAPSHOT = "data/rustsec-advisory-db/advisories.json.gz";

/** A copy the user named, and where they named it (for messages). */
export interface LocalCopy {
  readonly path: string;
  /** `--advisory-db`, or `[audit] db in shriven-pipeline.toml`. */
  readonly from: string;
}

/** Options of {@link resolveAdvisoryDatabase}. */
export interface ResolveOptions {
  /** A local copy to use as is: no fetch, no fallback. */
  readonly localCopy?: LocalCopy;
  /** The git repository to fetch. */
  readonly url: string;
  /** Folder for the cached clone. */
  readonly cacheDir: string;
  /** The snapshot to fall back on; undefined when there is none. */
  readonly snapshot: string | undefined;
  /** Limit for each git command. */
  readonly timeoutMs?: number;
}

/** What to do when no copy can be had, in every message that says so. */
const LOCAL_COPY_HINT =
  "Pass a copy with --advisory-db DIR|FILE (a database checkout, or a snapshot made by scripts/refresh-advisory-snapshot.ts), or set [audit] db in shriven-pipeline.toml.";

/** `$XDG_CACHE_HOME/shriven-pipeline`, or `~/.cache/shriven-pipeline`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "shriven-pipeline");
}

/** The snapshot bundled with this package, or undefined when the package has none. */
export function bundledSnapshotPath(): string | undefined {
  const root = packageRoot();
  const path = root === undefined ? undefined : join(root.dir, BUNDLED_SNAPSHOT);
  return path !== undefined && existsSync(path) ? path : undefined;
}

async function git(args: string[], timeoutMs: number): Promise<{ ok: boolean; reason: string; stdout: string }> {
  const result = await execa("git", args, {
    reject: false,
    timeout: timeoutMs,
    env: { GIT_TERMINAL_PROMPT: "0" },
    stdin: "ignore",
  });
  const reason = result.timedOut
    ? `git timed out after ${timeoutMs / 1000} s`
    : ((result.stderr ?? "").split("\n").find((l) => /fatal|error/i.test(l)) ?? result.shortMessage ?? "git failed").trim();
  return { ok: result.exitCode === 0, reason, stdout: typeof result.stdout === "string" ? result.stdout : "" };
}

/**
 * The HEAD commit of the git checkout at `root` and its committer date (UTC day); undefined when `root` is
 * not the top of a checkout or git cannot read it (no git installed, as in Dagger's module runtime).
 */
export async function gitHead(root: string, timeoutMs = 30_000): Promise<{ commit: string; date: string } | undefined> {
  if (!existsSync(join(root, ".git"))) return undefined;
  const log = await git(["-C", root, "log", "-1", "--format=%H %ct"], timeoutMs);
  const match = /^([0-9a-f]{40}) (\d+)$/.exec(log.stdout.trim());
  if (!log.ok || match === null) return undefined;
  return { commit: match[1] as string, date: new Date(Number(match[2]) * 1000).toISOString().slice(0, 10) };
}

/** A handle on the database folder `root`, dated by its HEAD commit, else by its newest advisory. */
export async function folderHandle(
  root: string,
  source: AdvisorySource,
  origin: string,
  warning?: string,
): Promise<AdvisoryDatabaseHandle> {
  const head = await gitHead(root);
  const dated =
    head === undefined ? { date: newestAdvisory(root).date, dateOf: "newest advisory" as const } : { ...head, dateOf: "commit" as const };
  return { path: root, format: "folder", source, origin, ...dated, ...(warning === undefined ? {} : { warning }) };
}

/** A handle on a validated snapshot, dated by its header. */
function snapshotHandle(snapshot: AdvisorySnapshot, source: AdvisorySource, origin: string, warning?: string): AdvisoryDatabaseHandle {
  return {
    path: snapshot.file,
    format: "snapshot",
    source,
    origin,
    date: snapshot.source.date,
    dateOf: "snapshot",
    commit: snapshot.source.commit,
    ...(warning === undefined ? {} : { warning }),
  };
}

/**
 * The last link of the chain: the snapshot, with a warning saying why no fresher copy could be had.
 * @throws AdvisoryDatabaseError when there is no snapshot either, or it is not valid.
 */
export function snapshotFallback(url: string, reason: string, snapshot: string | undefined): AdvisoryDatabaseHandle {
  if (snapshot === undefined)
    throw new AdvisoryDatabaseError(
      `cannot fetch the RustSec advisory database from ${url}: ${reason}; and no snapshot is bundled. ${LOCAL_COPY_HINT}`,
    );
  const warning = `could not fetch the RustSec advisory database from ${url} (${reason}); using the bundled snapshot`;
  return snapshotHandle(readSnapshotFile(snapshot), "bundled snapshot", snapshot, warning);
}

/**
 * A copy the user named: a database folder or a snapshot file, used as is.
 * @throws AdvisoryDatabaseError naming the option and the path when it cannot be read or is neither.
 */
async function openLocalCopy(copy: LocalCopy): Promise<AdvisoryDatabaseHandle> {
  const named = `${copy.from} ${copy.path}`;
  const neither = `${named}: neither a RustSec advisory database folder (crates/<name>/RUSTSEC-*.md) nor a snapshot file (.json.gz)`;
  let bytes: Buffer | undefined;
  try {
    if (statSync(copy.path).isFile()) bytes = readFileSync(copy.path);
    else readdirSync(copy.path);
  } catch (error) {
    throw new AdvisoryDatabaseError(
      `${named}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ${LOCAL_COPY_HINT}`,
    );
  }
  if (bytes !== undefined) {
    if (!looksLikeGzip(bytes)) throw new AdvisoryDatabaseError(`${neither}: the file is not gzip data`);
    try {
      return snapshotHandle(parseSnapshot(bytes, copy.path), "local copy", copy.path);
    } catch (error) {
      if (error instanceof AdvisoryDatabaseError) throw new AdvisoryDatabaseError(`${copy.from} ${error.message}`);
      throw error;
    }
  }
  if (!isDatabase(copy.path)) throw new AdvisoryDatabaseError(`${neither}: the folder has no crates/ folder`);
  return folderHandle(copy.path, "local copy", copy.path);
}

/** Why a clone cannot serve as a database, or undefined when it can. */
function unusableClone(root: string): string | undefined {
  return isDatabase(root) ? undefined : "the repository is not a RustSec advisory database (no crates/ folder)";
}

/**
 * Brings the cached clone up to date with `url`: fetched when it exists, else cloned beside it and renamed
 * into place, so a failed clone leaves nothing behind. Returns why that failed, or undefined when it worked.
 */
async function refreshClone(clone: string, url: string, timeoutMs: number): Promise<string | undefined> {
  if (existsSync(join(clone, ".git"))) {
    const fetched = await git(["-C", clone, "fetch", "--quiet", "--depth", "1", url, "HEAD"], timeoutMs);
    const reset = fetched.ok ? await git(["-C", clone, "reset", "--quiet", "--hard", "FETCH_HEAD"], timeoutMs) : fetched;
    return reset.ok ? unusableClone(clone) : reset.reason;
  }
  mkdirSync(dirname(clone), { recursive: true });
  const partial = `${clone}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const cloned = await git(["clone", "--quiet", "--depth", "1", url, partial], timeoutMs);
  const failure = cloned.ok ? unusableClone(partial) : cloned.reason;
  if (failure === undefined) {
    try {
      renameSync(partial, clone);
    } catch (error) {
      // Another run put its clone in place first: use that one.
      if (!existsSync(join(clone, ".git"))) throw error;
    }
  }
  rmSync(partial, { recursive: true, force: true });
  return failure;
}

/**
 * Returns a readable database copy, trying in order: the local copy (used as is, never replaced by
 * another); a fetch of `url` into the cached clone; the cached clone as it is; the snapshot.
 * @throws AdvisoryDatabaseError when the local copy is unusable, or no link of the chain gives a copy.
 */
export async function resolveAdvisoryDatabase(options: ResolveOptions): Promise<AdvisoryDatabaseHandle> {
  if (options.localCopy !== undefined) return openLocalCopy(options.localCopy);
  const clone = join(options.cacheDir, "advisory-db");
  const failure = await refreshClone(clone, options.url, options.timeoutMs ?? 120_000);
  if (failure === undefined) return folderHandle(clone, "fetched", options.url);
  if (existsSync(join(clone, ".git")) && isDatabase(clone))
    return folderHandle(
      clone,
      "cached clone",
      clone,
      `could not refresh the advisory database from ${options.url} (${failure}); using the cached clone`,
    );
  return snapshotFallback(options.url, failure, options.snapshot);
}
