/**
 * The supply-chain gates from the command line: the audit with a given
 * advisory database folder (real advisory files), and offline, from the
 * bundled snapshot; the licences with real cargo metadata; the release tag.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkReleaseTag } from "../../src/supply-chain/release-tag.js";
import { ADVISORY_DB, ADVISORY_SNAPSHOT } from "../helpers/advisory-data.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

const VULNERABLE_LOCK = `version = 4

[[package]]
name = "app"
version = "0.1.0"

[[package]]
name = "tokio"
version = "1.8.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
`;

describe("shriven-pipeline audit", () => {
  it("exits 1 and names the advisory for a vulnerable lockfile; JSON carries cargo-audit's fields", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    const text = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--advisory-db", ADVISORY_DB]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^❌ Security: \d+ vulnerabilities: RUSTSEC-\d{4}-\d{4} tokio 1\.8\.0: /);
    expect(text.stdout).toContain(
      "RUSTSEC-2021-0072 tokio 1.8.0: Task dropped in wrong thread when aborting `LocalSet` task (patched: >= 1.5.1, < 1.6.0 | ",
    );
    const json = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--advisory-db", ADVISORY_DB, "--format", "json"]);
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
    // A folder without git history is dated by its newest advisory.
    expect(report.database).toMatchObject({
      source: "local copy",
      origin: ADVISORY_DB,
      "last-updated": "2025-04-07",
      "date-of": "newest advisory",
    });
  });

  it("exits 0 for the example workspace, and fails an expired ignore from the workspace config", async () => {
    const ok = await runCli([
      "audit",
      "--source",
      join(import.meta.dirname, "../../examples/trading-engine"),
      "--advisory-db",
      ADVISORY_DB,
    ]);
    expect(ok.code).toBe(0);
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    writeFileSync(join(dir, "Cargo.toml"), '[package]\nname = "app"\nversion = "0.1.0"\n');
    writeFileSync(
      join(dir, "shriven-pipeline.toml"),
      '[[audit.ignore]]\nid = "RUSTSEC-2021-0072"\nreason = "LocalSet unused"\nexpires = 2020-01-01\n',
    );
    const expired = await runCli(["audit", "--source", dir, "--advisory-db", ADVISORY_DB]);
    expect(expired.code).toBe(1);
    expect(expired.stdout).toContain("expired ignore: RUSTSEC-2021-0072 (LocalSet unused) expired on 2020-01-01");
  });

  it("reads --db, the option's old name, with a notice naming --advisory-db; refuses both at once", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    const old = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--db", ADVISORY_DB]);
    expect(old.code).toBe(1);
    expect(old.stdout).toContain("RUSTSEC-2021-0072 tokio 1.8.0");
    expect(old.stderr).toBe("shriven-pipeline: --db is deprecated; use --advisory-db\n");
    const both = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--db", ADVISORY_DB, "--advisory-db", ADVISORY_DB]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give --advisory-db only (--db is its old name)");
  });

  it("offline, audits against the bundled snapshot and says so; a bad --advisory-db exits 1 naming it", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "Cargo.lock"), VULNERABLE_LOCK);
    // The config's repository cannot be reached (a file URL that does not exist: no network involved).
    writeFileSync(join(dir, "shriven-pipeline.toml"), '[audit]\ndb_url = "file:///nonexistent/advisory-db"\n');
    const cache = tempDir();
    const offline = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock")], { env: { XDG_CACHE_HOME: cache, CI: "true" } });
    expect(offline.code).toBe(1);
    expect(offline.stdout).toContain("RUSTSEC-2021-0072 tokio 1.8.0");
    expect(offline.stdout).toMatch(
      /database: could not fetch the RustSec advisory database from file:\/\/\/nonexistent\/advisory-db \(.+\); using the bundled snapshot/,
    );
    expect(offline.stdout).toContain(`against the bundled snapshot of 2026-08-21 (commit bf5c0d2, ${ADVISORY_SNAPSHOT})`);
    const bad = await runCli(["audit", "--lockfile", join(dir, "Cargo.lock"), "--advisory-db", join(dir, "Cargo.lock")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^shriven-pipeline: --advisory-db \S+Cargo\.lock: neither a RustSec advisory database folder/);
  });

  it("gives usage errors exit 2", async () => {
    expect((await runCli(["audit", "--format", "xml"])).stderr).toContain('--format: expected text or json, got "xml"');
    expect((await runCli(["audit", "--source", ".", "--lockfile", "x"])).code).toBe(2);
    expect((await runCli(["audit", "--lockfile", "/nonexistent/Cargo.lock"])).stderr).toContain("no such lockfile");
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
