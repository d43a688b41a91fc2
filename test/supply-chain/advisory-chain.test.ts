/**
 * Where the advisory data comes from, in order, each copy dated: a given local
 * copy (folder or snapshot file, used as is) → a git fetch of the configured
 * repository into the cached clone → that cached clone → the bundled snapshot.
 * Real git, with a local repository standing for GitHub; commits carry fixed
 * dates, so each copy's date is known.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AdvisoryDatabaseError } from "../../src/supply-chain/advisory-db.js";
import { resolveAdvisoryDatabase } from "../../src/supply-chain/advisory-db-fetch.js";
import { ADVISORY_DB, ADVISORY_SNAPSHOT, ADVISORY_SNAPSHOT_DATE } from "../helpers/advisory-data.js";
import { tempDir } from "../helpers/temp.js";

/** Runs git in `cwd` with commits dated `date` (an ISO 8601 time). */
function git(cwd: string, date: string, ...args: string[]): string {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  return execFileSync("git", args, { cwd, env: { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }, encoding: "utf8" }).trim();
}

/** A git repository holding the real advisories, committed on `date`: the "remote" a cached clone is made from. */
function databaseRepository(date = "2026-11-30T22:00:00-05:00"): string {
  const repo = join(tempDir(), "advisory-db");
  cpSync(ADVISORY_DB, repo, { recursive: true });
  git(repo, date, "init", "-q");
  git(repo, date, "add", ".");
  git(repo, date, "commit", "-q", "-m", "db");
  return repo;
}

const UNREACHABLE = "file:///nonexistent/advisory-db";

/** What the error of a failed resolve says. */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof AdvisoryDatabaseError) return error.message;
    throw error;
  }
  throw new Error("expected an AdvisoryDatabaseError");
}

describe("fetch → cached clone → bundled snapshot", () => {
  it("clones once into the cache, dated by the commit (UTC day); then refreshes with fetch", async () => {
    const repo = databaseRepository();
    const cacheDir = tempDir();
    const first = await resolveAdvisoryDatabase({ url: `file://${repo}`, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    expect(first).toEqual({
      path: join(cacheDir, "advisory-db"),
      format: "folder",
      source: "fetched",
      origin: `file://${repo}`,
      // 22:00 at UTC-5 is the next day in UTC.
      date: "2026-12-01",
      dateOf: "commit",
      commit: git(repo, "", "rev-parse", "HEAD"),
    });
    mkdirSync(join(repo, "crates", "zzz-new"));
    cpSync(join(ADVISORY_DB, "crates", "badge", "RUSTSEC-2022-0057.md"), join(repo, "crates", "zzz-new", "RUSTSEC-2022-0057.md"));
    git(repo, "2026-12-02T08:00:00Z", "add", ".");
    git(repo, "2026-12-02T08:00:00Z", "commit", "-q", "-m", "new advisory");
    const second = await resolveAdvisoryDatabase({ url: `file://${repo}`, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    expect(second).toMatchObject({ source: "fetched", date: "2026-12-02", dateOf: "commit" });
    expect(second.warning).toBeUndefined();
    expect(existsSync(join(second.path, "crates", "zzz-new"))).toBe(true);
    expect(readdirSync(cacheDir)).toEqual(["advisory-db"]);
  });

  it("uses the cached clone, with its own commit's date and a warning, when the remote cannot be reached", async () => {
    const cacheDir = tempDir();
    await resolveAdvisoryDatabase({ url: `file://${databaseRepository("2026-11-20T10:00:00Z")}`, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    const stale = await resolveAdvisoryDatabase({ url: UNREACHABLE, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    expect(stale).toMatchObject({ source: "cached clone", format: "folder", date: "2026-11-20", dateOf: "commit" });
    expect(stale.warning).toMatch(
      /^could not refresh the advisory database from file:\/\/\/nonexistent\/advisory-db \(.+\); using the cached clone$/,
    );
  });

  it("falls back to the bundled snapshot, dated as recorded, when there is no cache and no remote; the cache stays empty", async () => {
    const cacheDir = tempDir();
    const handle = await resolveAdvisoryDatabase({ url: UNREACHABLE, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    expect(handle).toMatchObject({
      path: ADVISORY_SNAPSHOT,
      format: "snapshot",
      source: "bundled snapshot",
      date: ADVISORY_SNAPSHOT_DATE,
      dateOf: "snapshot",
      commit: "bf5c0d2",
    });
    expect(handle.warning).toMatch(
      /^could not fetch the RustSec advisory database from file:\/\/\/nonexistent\/advisory-db \(.+\); using the bundled snapshot$/,
    );
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("falls back to the snapshot when the repository fetched is not an advisory database, keeping nothing of it", async () => {
    const cacheDir = tempDir();
    const other = tempDir();
    writeFileSync(join(other, "README.md"), "not a database\n");
    git(other, "2026-11-30T10:00:00Z", "init", "-q");
    git(other, "2026-11-30T10:00:00Z", "add", ".");
    git(other, "2026-11-30T10:00:00Z", "commit", "-q", "-m", "x");
    const handle = await resolveAdvisoryDatabase({ url: `file://${other}`, cacheDir, snapshot: ADVISORY_SNAPSHOT });
    expect(handle.source).toBe("bundled snapshot");
    expect(handle.warning).toContain("is not a RustSec advisory database (no crates/ folder)");
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("fails naming --advisory-db when there is no snapshot either, leaving nothing half-cloned", async () => {
    const cacheDir = tempDir();
    const message = await refusal(resolveAdvisoryDatabase({ url: UNREACHABLE, cacheDir, snapshot: undefined }));
    expect(message).toMatch(
      /^cannot fetch the RustSec advisory database from file:\/\/\/nonexistent\/advisory-db: .+; and no snapshot is bundled\. /,
    );
    expect(message).toContain("Pass a copy with --advisory-db DIR|FILE");
    expect(message).not.toContain("--db ");
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("fails naming the snapshot file when the bundled snapshot is bad", async () => {
    const bad = join(tempDir(), "advisories.json.gz");
    writeFileSync(bad, readFileSync(ADVISORY_SNAPSHOT).subarray(0, 1000));
    const message = await refusal(resolveAdvisoryDatabase({ url: UNREACHABLE, cacheDir: tempDir(), snapshot: bad }));
    expect(message).toMatch(new RegExp(`^${bad}: truncated or corrupt gzip data`));
  });
});

describe("a local copy (--advisory-db or [audit] db) is used as is, never fetched nor replaced", () => {
  const resolveLocal = (path: string, cacheDir = tempDir()) =>
    resolveAdvisoryDatabase({ localCopy: { path, from: "--advisory-db" }, url: UNREACHABLE, cacheDir, snapshot: ADVISORY_SNAPSHOT });

  it("a folder without git history is dated by its newest advisory", async () => {
    const cacheDir = tempDir();
    expect(await resolveLocal(ADVISORY_DB, cacheDir)).toEqual({
      path: ADVISORY_DB,
      format: "folder",
      source: "local copy",
      origin: ADVISORY_DB,
      // RUSTSEC-2025-0023 (tokio) is the folder's newest advisory.
      date: "2025-04-07",
      dateOf: "newest advisory",
    });
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("a git checkout is dated by its HEAD commit", async () => {
    const repo = databaseRepository("2026-11-28T09:00:00Z");
    expect(await resolveLocal(repo)).toMatchObject({
      source: "local copy",
      date: "2026-11-28",
      dateOf: "commit",
      commit: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
  });

  it("a snapshot file is validated and dated as recorded", async () => {
    expect(await resolveLocal(ADVISORY_SNAPSHOT)).toEqual({
      path: ADVISORY_SNAPSHOT,
      format: "snapshot",
      source: "local copy",
      origin: ADVISORY_SNAPSHOT,
      date: ADVISORY_SNAPSHOT_DATE,
      dateOf: "snapshot",
      commit: "bf5c0d2",
    });
  });

  it.each([
    [
      "a path that does not exist",
      () => "/nonexistent/advisory-db",
      /^--advisory-db \/nonexistent\/advisory-db: cannot be read \(ENOENT\)\. Pass a copy with --advisory-db DIR\|FILE/,
    ],
    ["a path through a file", () => join(ADVISORY_SNAPSHOT, "crates"), /: cannot be read \(ENOTDIR\)\./],
    [
      "a folder that is not a database",
      () => tempDir(),
      /^--advisory-db \S+: neither a RustSec advisory database folder \(crates\/<name>\/RUSTSEC-\*\.md\) nor a snapshot file \(\.json\.gz\): the folder has no crates\/ folder$/,
    ],
    [
      "a file that is not a snapshot",
      () => join(ADVISORY_DB, "LICENSE.txt"),
      /^--advisory-db \S+LICENSE\.txt: neither a RustSec advisory database folder .* nor a snapshot file \(\.json\.gz\): the file is not gzip data$/,
    ],
    [
      "a truncated snapshot",
      () => {
        const file = join(tempDir(), "advisories.json.gz");
        writeFileSync(file, readFileSync(ADVISORY_SNAPSHOT).subarray(0, 5000));
        return file;
      },
      /^--advisory-db \S+advisories\.json\.gz: truncated or corrupt gzip data \(unexpected end of file\)$/,
    ],
  ])("refuses %s with a message naming the option and the path, and touches no cache", async (_, path, message) => {
    const cacheDir = tempDir();
    expect(await refusal(resolveLocal(path(), cacheDir))).toMatch(message);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it("names [audit] db when the copy came from the config", async () => {
    const attempt = resolveAdvisoryDatabase({
      localCopy: { path: "/nonexistent/db", from: "[audit] db in shriven-pipeline.toml" },
      url: UNREACHABLE,
      cacheDir: tempDir(),
      snapshot: ADVISORY_SNAPSHOT,
    });
    expect(await refusal(attempt)).toMatch(/^\[audit\] db in shriven-pipeline\.toml \/nonexistent\/db: cannot be read \(ENOENT\)/);
  });
});
