/**
 * Getting the RustSec advisory database on the host: a local copy when one is
 * given, else a cached git clone refreshed on every run. When nothing can be
 * had the audit fails with a message; it never passes without a database.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { AdvisoryDatabaseError, assertDatabase } from "./advisory-db.js";

/** A database copy ready to read. */
export interface AdvisoryDatabaseCopy {
  readonly root: string;
  /** Where it came from (a path or a URL). */
  readonly origin: string;
  /** Set when the copy may be stale (the refresh failed). */
  readonly warning?: string;
}

/** Options of {@link fetchAdvisoryDatabase}. */
export interface FetchOptions {
  /** A local copy to use as is (`--db`). */
  readonly localCopy?: string;
  /** The git repository to clone. */
  readonly url: string;
  /** Folder for the cached clone. */
  readonly cacheDir: string;
  /** Limit for each git command. */
  readonly timeoutMs?: number;
}

/** `$XDG_CACHE_HOME/shriven-pipeline`, or `~/.cache/shriven-pipeline`. */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "shriven-pipeline");
}

async function git(args: string[], timeoutMs: number): Promise<{ ok: boolean; reason: string }> {
  const result = await execa("git", args, {
    reject: false,
    timeout: timeoutMs,
    env: { GIT_TERMINAL_PROMPT: "0" },
    stdin: "ignore",
  });
  const reason = result.timedOut
    ? `git timed out after ${timeoutMs / 1000} s`
    : ((result.stderr ?? "").split("\n").find((l) => /fatal|error/i.test(l)) ?? result.shortMessage ?? "git failed").trim();
  return { ok: result.exitCode === 0, reason };
}

/**
 * Returns a readable database copy: the local copy if given, else the cached
 * clone of `url` (cloned the first time, fetched afterwards).
 * @throws AdvisoryDatabaseError when no copy can be had.
 */
export async function fetchAdvisoryDatabase(options: FetchOptions): Promise<AdvisoryDatabaseCopy> {
  if (options.localCopy !== undefined) {
    assertDatabase(options.localCopy);
    return { root: options.localCopy, origin: options.localCopy };
  }
  const timeoutMs = options.timeoutMs ?? 120_000;
  const clone = join(options.cacheDir, "advisory-db");
  if (existsSync(join(clone, ".git"))) {
    const fetched = await git(["-C", clone, "fetch", "--quiet", "--depth", "1", options.url, "HEAD"], timeoutMs);
    const reset = fetched.ok ? await git(["-C", clone, "reset", "--quiet", "--hard", "FETCH_HEAD"], timeoutMs) : fetched;
    assertDatabase(clone);
    if (!reset.ok)
      return {
        root: clone,
        origin: options.url,
        warning: `could not refresh the advisory database from ${options.url} (${reset.reason}); using the cached copy`,
      };
    return { root: clone, origin: options.url };
  }
  mkdirSync(dirname(clone), { recursive: true });
  const partial = `${clone}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const cloned = await git(["clone", "--quiet", "--depth", "1", options.url, partial], timeoutMs);
  if (!cloned.ok) {
    rmSync(partial, { recursive: true, force: true });
    throw new AdvisoryDatabaseError(
      `cannot fetch the RustSec advisory database from ${options.url}: ${cloned.reason}. Pass a local copy with --db DIR (or [audit] db in shriven-pipeline.toml).`,
    );
  }
  renameSync(partial, clone);
  assertDatabase(clone);
  return { root: clone, origin: options.url };
}
