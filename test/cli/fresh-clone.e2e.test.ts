/**
 * The README's first command on a fresh clone with no access to GitHub:
 * `npm ci && node bin/shriven-pipeline.js run dev --source examples/trading-engine`
 * in a copy of the repository (its tracked and untracked-but-not-ignored files,
 * as a clone of the next commit holds them; no node_modules, no dist, no data
 * folder beside it), with an empty cache. The audit cannot fetch the RustSec
 * database, so it must fall back to the snapshot the package carries, say so
 * with the snapshot's date and age, and warn (dev) rather than fail.
 *
 * GitHub is made unreachable deterministically with GIT_ALLOW_PROTOCOL=file:
 * git then refuses the https URL at once ("transport 'https' not allowed"),
 * with no DNS lookup, proxy or timeout involved, on any machine. npm ci still
 * uses the registry, as CI has it.
 *
 * Budget: npm ci from the npm cache (about a minute) and a cold dev stage of
 * the example (four cargo builds, a release build for the performance check)
 * on a loaded 2-core machine: allowed 25 minutes, typically well under 10.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ageInDays } from "../../src/supply-chain/advisory-age.js";
import { ADVISORY_SNAPSHOT_DATE } from "../helpers/advisory-data.js";
import { tempDir } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const README_COMMAND = "npm ci && node bin/shriven-pipeline.js run dev --source examples/trading-engine";
const BUDGET_MS = 25 * 60_000;

/** Copies what a clone of the working tree would hold into `into`, and makes it a git repository of its own. */
function cloneLike(into: string): void {
  const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = listed.split("\0").filter((path) => path !== "" && existsSync(join(ROOT, path)));
  for (const path of files) {
    mkdirSync(dirname(join(into, path)), { recursive: true });
    copyFileSync(join(ROOT, path), join(into, path));
  }
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
  for (const args of [
    ["init", "-q"],
    ["add", "-A"],
    ["commit", "-qm", "clone"],
  ])
    execFileSync("git", args, { cwd: into, env });
}

describe("the README's first command on a fresh clone without GitHub", () => {
  it(
    "exits 0; the Security line names the bundled snapshot, its date and its age, as a warning",
    async () => {
      const parent = tempDir("shriven-clone-");
      const clone = join(parent, "shriven-pipeline");
      cloneLike(clone);
      expect(readdirSync(parent)).toEqual(["shriven-pipeline"]);
      expect(existsSync(join(clone, "node_modules")) || existsSync(join(clone, "dist"))).toBe(false);
      const cache = tempDir("shriven-cache-");
      const { GITHUB_STEP_SUMMARY: _, ...env } = process.env;
      const run = await execa("sh", ["-c", README_COMMAND], {
        cwd: clone,
        env: { ...env, CI: "true", GIT_ALLOW_PROTOCOL: "file", XDG_CACHE_HOME: cache },
        extendEnv: false,
        reject: false,
        all: true,
        timeout: BUDGET_MS,
      });
      const output = run.all ?? "";
      expect(run.exitCode, output).toBe(0);
      const today = new Date().toISOString().slice(0, 10);
      const days = ageInDays(ADVISORY_SNAPSHOT_DATE, today);
      // The summary's line (the progress lines before it start with "[dev] ").
      const security = output.split("\n").find((line) => /^(✅|⚠️|❌) Security: /u.test(line)) ?? "";
      // Either side of midnight UTC while the run went on.
      expect(
        [days, days - 1].map(
          (d) => `⚠️ Security: No vulnerabilities (0 crates; bundled snapshot of 2026-08-21, ${d} days old, over dev's 7-day limit)`,
        ),
      ).toContainEqual(security.replace(/ \([\d.]+ m?s\)$/, ""));
      expect(output).toContain(
        "database: could not fetch the RustSec advisory database from https://github.com/rustsec/advisory-db (fatal: transport 'https' not allowed); using the bundled snapshot",
      );
      expect(output).toMatch(/\ndev stage passed in /);
      // The failed fetch left nothing in the cache.
      expect(readdirSync(cache).flatMap((dir) => readdirSync(join(cache, dir)))).toEqual([]);
    },
    BUDGET_MS + 60_000,
  );
});
