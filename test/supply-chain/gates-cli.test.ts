/**
 * The supply-chain gates from the command line and the advisory database's
 * cached git clone (real git, a local repository standing for GitHub).
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AdvisoryDatabaseError } from "../../src/supply-chain/advisory-db.js";
import { fetchAdvisoryDatabase } from "../../src/supply-chain/advisory-db-fetch.js";
import { checkReleaseTag } from "../../src/supply-chain/release-tag.js";
import { runCli } from "../helpers/cli.js";
import { ADVISORY_DB, HAS_ADVISORY_DB } from "../helpers/shared-data.js";
import { tempDir } from "../helpers/temp.js";

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
const git = (cwd: string, ...args: string[]) => execFileSync("git", args, { cwd, env: GIT_ENV, stdio: "ignore" });

/** A git repository holding a copy of the real database: the "remote" a cached clone is made from. */
function databaseRepository(): string {
  const repo = join(tempDir(), "advisory-db");
  cpSync(ADVISORY_DB, repo, { recursive: true });
  git(repo, "init", "-q");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "db");
  return repo;
}

const VULNERABLE_LOCK = `version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "tokio"
version = "1.8.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
`;

describe.skipIf(!HAS_ADVISORY_DB)("advisory database copies", () => {
  it("clones the database once into the cache, then refreshes it with fetch", async () => {
    const repo = databaseRepository();
    const cacheDir = tempDir();
    const first = await fetchAdvisoryDatabase({ url: `file://${repo}`, cacheDir });
    expect(first).toEqual({ root: join(cacheDir, "advisory-db"), origin: `file://${repo}` });
    mkdirSync(join(repo, "crates", "zzz-new"));
    cpSync(join(ADVISORY_DB, "crates", "badge", "RUSTSEC-2022-0057.md"), join(repo, "crates", "zzz-new", "RUSTSEC-2022-0057.md"));
    git(repo, "add", ".");
    git(repo, "commit", "-q", "-m", "new advisory");
    const second = await fetchAdvisoryDatabase({ url: `file://${repo}`, cacheDir });
    expect(second.warning).toBeUndefined();
    expect(existsSync(join(second.root, "crates", "zzz-new"))).toBe(true);
  });

  it("uses a stale cache with a warning when the remote cannot be reached", async () => {
    const cacheDir = tempDir();
    await fetchAdvisoryDatabase({ url: `file://${databaseRepository()}`, cacheDir });
    const stale = await fetchAdvisoryDatabase({ url: "file:///nonexistent/advisory-db", cacheDir });
    expect(stale.warning).toMatch(
      /^could not refresh the advisory database from file:\/\/\/nonexistent\/advisory-db \(.+\); using the cached copy$/,
    );
  });

  it("fails clearly, leaving nothing half-cloned, when no copy can be had", async () => {
    const cacheDir = tempDir();
    const attempt = fetchAdvisoryDatabase({ url: "file:///nonexistent/advisory-db", cacheDir });
    await expect(attempt).rejects.toThrow(AdvisoryDatabaseError);
    await expect(fetchAdvisoryDatabase({ url: "file:///nonexistent/advisory-db", cacheDir })).rejects.toThrow(
      /^cannot fetch the RustSec advisory database from file:\/\/\/nonexistent\/advisory-db: .+ Pass a local copy with --db DIR/,
    );
    expect(existsSync(join(cacheDir, "advisory-db"))).toBe(false);
  });

  it("refuses a --db folder that is not a database", async () => {
    await expect(fetchAdvisoryDatabase({ localCopy: tempDir(), url: "unused", cacheDir: tempDir() })).rejects.toThrow(
      "not a RustSec advisory database",
    );
  });
});

describe.skipIf(!HAS_ADVISORY_DB)("shriven-pipeline audit", () => {
  it("exits 1 and names the advisory for a vulnerable lockfile; JSON carries cargo-audit's fields", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    const text = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--db", ADVISORY_DB]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^❌ Security: \d+ vulnerabilities: RUSTSEC-\d{4}-\d{4} tokio 1\.8\.0: /);
    expect(text.stdout).toContain(
      "RUSTSEC-2021-0072 tokio 1.8.0: Task dropped in wrong thread when aborting `LocalSet` task (patched: >= 1.5.1, < 1.6.0 | ",
    );
    const json = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--db", ADVISORY_DB, "--format", "json"]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.vulnerabilities.found).toBe(true);
    const entry = report.vulnerabilities.list.find((v: { advisory: { id: string } }) => v.advisory.id === "RUSTSEC-2021-0072");
    expect(entry).toMatchObject({
      advisory: {
        id: "RUSTSEC-2021-0072",
        package: "tokio",
        aliases: ["CVE-2021-38191", "GHSA-2grh-hm3w-w7hv"],
        url: "https://github.com/tokio-rs/tokio/issues/3929",
      },
      versions: { patched: [">= 1.5.1, < 1.6.0", ">= 1.6.3, < 1.7.0", ">= 1.7.2, < 1.8.0", ">= 1.8.1"], unaffected: ["< 0.3.0"] },
      package: { name: "tokio", version: "1.8.0", source: "registry+https://github.com/rust-lang/crates.io-index" },
    });
    expect(report.database["last-updated"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("exits 0 for the example workspace, and fails an expired ignore from the workspace config", async () => {
    const ok = await runCli(["audit", "--source", join(import.meta.dirname, "../../examples/trading-engine"), "--db", ADVISORY_DB]);
    expect(ok.code).toBe(0);
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    writeFileSync(join(dir, "Cargo.toml"), '[package]\nname = "app"\nversion = "0.1.0"\n');
    writeFileSync(
      join(dir, "shriven-pipeline.toml"),
      '[[audit.ignore]]\nid = "RUSTSEC-2021-0072"\nreason = "LocalSet unused"\nexpires = 2020-01-01\n',
    );
    const expired = await runCli(["audit", "--source", dir, "--db", ADVISORY_DB]);
    expect(expired.code).toBe(1);
    expect(expired.stdout).toContain("expired ignore: RUSTSEC-2021-0072 (LocalSet unused) expired on 2020-01-01");
  });

  it("gives usage errors exit 2 and an unreachable database exit 1 with a message", async () => {
    expect((await runCli(["audit", "--format", "xml"])).stderr).toContain('--format: expected text or json, got "xml"');
    expect((await runCli(["audit", "--source", ".", "--lockfile", "x"])).code).toBe(2);
    expect((await runCli(["audit", "--lockfile", "/nonexistent/Cargo.lock"])).stderr).toContain("no such lockfile");
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    const offline = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock")], { env: { XDG_CACHE_HOME: tempDir(), CI: "true" } });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/cannot fetch the RustSec advisory database from https:\/\/github\.com\/rustsec\/advisory-db/);
  });
});

describe("shriven-pipeline licenses (real cargo metadata)", () => {
  it("passes the example workspace", async () => {
    const run = await runCli(["licenses", "--source", join(import.meta.dirname, "../../examples/trading-engine")]);
    expect(run).toMatchObject({ code: 0, stdout: "✅ Licences: All 4 crates allowed\n" });
  });

  it("fails a GPL dependency and a crate without a licence, naming each and why", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "Cargo.toml"),
      '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT/Apache-2.0"\n\n[dependencies]\ngpl-dep = { path = "gpl-dep" }\nbare = { path = "bare" }\n',
    );
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "lib.rs"), "");
    for (const [name, license] of [
      ["gpl-dep", 'license = "GPL-3.0-only"\n'],
      ["bare", ""],
    ] as const) {
      mkdirSync(join(dir, name, "src"), { recursive: true });
      writeFileSync(join(dir, name, "Cargo.toml"), `[package]\nname = "${name}"\nversion = "0.2.0"\nedition = "2021"\n${license}`);
      writeFileSync(join(dir, name, "src", "lib.rs"), "");
    }
    const run = await runCli(["licenses", "--source", dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^❌ Licences: 2 crates not allowed: /);
    expect(run.stdout).toContain(
      'gpl-dep 0.2.0 (GPL-3.0-only): "GPL-3.0-only" is not accepted: GPL-3.0-only is in the GPL family, which is denied',
    );
    expect(run.stdout).toMatch(/bare 0\.2\.0 \(no licence\): no licence declared/);
    const json = JSON.parse((await runCli(["licenses", "--source", dir, "--format", "json"])).stdout);
    expect(json.crates.find((c: { name: string }) => c.name === "app")).toMatchObject({ expression: "MIT OR Apache-2.0", accepted: true });
  });
});

describe("release-tag gate", () => {
  const policy = { allowPrerelease: false };
  it.each([
    ["v1.2.0", ["v1.1.9", "v1.0.0", "not-a-release"], true, "previous v1.1.9"],
    ["v1.0.0", [], true, "first release"],
    ["1.2.0", [], false, "is not a release tag: expected vMAJOR.MINOR.PATCH"],
    ["v1.2", [], false, "is not semantic"],
    ["v01.2.3", [], false, "is not semantic"],
    ["v1.2.3.4", [], false, "is not semantic"],
    ["release-1", [], false, "is not a release tag"],
    ["v1.3.0-rc.1", [], false, "is a prerelease; production takes final releases"],
    ["v1.1.9", ["v1.2.0"], false, "is not newer than the latest release v1.2.0"],
    ["v1.2.0", ["v1.2.0"], true, "re-running the same tag compares with the others"],
    ["v1.2.0", ["v1.2.0", "v1.2.1"], false, "is not newer than the latest release v1.2.1"],
  ])("%s after %j: ok=%s (%s)", (tag, existing, ok, why) => {
    const verdict = checkReleaseTag(tag, existing, policy);
    expect(verdict.ok).toBe(ok);
    if (!verdict.ok) expect(verdict.reason).toContain(why);
  });

  it("accepts prereleases when configured, still ordered by SemVer precedence", () => {
    expect(checkReleaseTag("v1.3.0-rc.2", ["v1.3.0-rc.1", "v1.2.0"], { allowPrerelease: true })).toEqual({
      ok: true,
      version: "1.3.0-rc.2",
      previous: "v1.3.0-rc.1",
    });
    expect(checkReleaseTag("v1.3.0-rc.1", ["v1.3.0-rc.2"], { allowPrerelease: true }).ok).toBe(false);
  });
});
