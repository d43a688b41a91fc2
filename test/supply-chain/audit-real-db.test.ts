/**
 * The audit decision on real RustSec advisories, with lockfiles built around
 * real advisories' boundaries. Each expected verdict is read off the advisory
 * text quoted above its case. Every case runs twice: on the advisory files
 * (a folder of real ones) and on the bundled snapshot, which must decide the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAdvisory } from "../../src/supply-chain/advisory.js";
import { type LoadedAdvisories, loadAdvisories } from "../../src/supply-chain/advisory-db.js";
import { readSnapshotFile, snapshotAdvisories } from "../../src/supply-chain/advisory-snapshot.js";
import { audit, auditPolicyFrom, describeFinding } from "../../src/supply-chain/audit.js";
import { CRATES_IO_SOURCES, parseLockfile } from "../../src/supply-chain/cargo-lock.js";
import { ADVISORY_DB, ADVISORY_SNAPSHOT, ADVISORY_SNAPSHOT_DATE } from "../helpers/advisory-data.js";

const REGISTRY = CRATES_IO_SOURCES[0];

function lockfile(packages: readonly [string, string, string?][]): string {
  const body = packages.map(
    ([name, version, source]) => `[[package]]\nname = "${name}"\nversion = "${version}"\nsource = "${source ?? REGISTRY}"\n`,
  );
  return `version = 4\n\n${body.join("\n")}`;
}

const SNAPSHOT = readSnapshotFile(ADVISORY_SNAPSHOT);

/** The two forms of the same advisories: the files, and the snapshot's entries. */
const FORMS: readonly [string, (crates: string[]) => LoadedAdvisories][] = [
  ["advisory files", (crates) => loadAdvisories(ADVISORY_DB, crates)],
  ["bundled snapshot", (crates) => snapshotAdvisories(SNAPSHOT, crates)],
];

describe.each(FORMS)("audit on real RustSec advisories (%s)", (_, read) => {
  /** Audits one package and returns the ids of the advisories it is affected by, per kind. */
  function verdict(name: string, version: string, source?: string) {
    const lock = parseLockfile(lockfile([[name, version, source]]), "Cargo.lock");
    const result = audit(lock, read([name]), auditPolicyFrom(undefined), "2026-11-27");
    return {
      vulnerable: result.vulnerabilities.map((f) => f.advisory.id).sort(),
      warnings: result.warnings.map((f) => f.advisory.id).sort(),
      checked: result.checked,
    };
  }

  // RUSTSEC-2021-0072 (tokio): patched = [">= 1.5.1, < 1.6.0", ">= 1.6.3, < 1.7.0", ">= 1.7.2, < 1.8.0", ">= 1.8.1"], unaffected = ["< 0.3.0"]
  it.each([
    ["0.2.25", false, "below 0.3.0 is unaffected"],
    ["0.3.0", true, "0.3.0 is the first affected version"],
    ["1.5.0", true, "just below the first patched interval"],
    ["1.5.1", false, "first version of >= 1.5.1, < 1.6.0"],
    ["1.6.0", true, "< 1.6.0 excludes 1.6.0"],
    ["1.6.3", false, ">= 1.6.3"],
    ["1.8.0", true, "between < 1.8.0 and >= 1.8.1"],
    ["1.8.1-rc.1", true, "a prerelease of 1.8.1 is below 1.8.1"],
    ["1.8.1", false, ">= 1.8.1"],
    ["1.9.0-alpha.1", false, "a prerelease above 1.8.1 is inside >= 1.8.1 by SemVer precedence"],
  ])("tokio %s against RUSTSEC-2021-0072: affected=%s (%s)", (version, affected) => {
    expect(verdict("tokio", version).vulnerable.includes("RUSTSEC-2021-0072")).toBe(affected);
  });

  // RUSTSEC-2023-0001 (tokio, windows only): patched = [">= 1.18.4, < 1.19.0", ">= 1.20.3, < 1.21.0", ">= 1.23.1"], unaffected = ["< 1.7.0"]
  it.each([
    ["1.6.9", false],
    ["1.7.0", true],
    ["1.18.4", false],
    ["1.19.0", true],
    ["1.23.0", true],
    ["1.23.1", false],
    ["1.24.0-alpha.1", false],
  ])("tokio %s against RUSTSEC-2023-0001 (windows): affected=%s", (version, affected) => {
    expect(verdict("tokio", version).vulnerable.includes("RUSTSEC-2023-0001")).toBe(affected);
  });

  // RUSTSEC-2023-0125 (aws-sigv4): patched = [">= 0.55.1", "0.54.2", "0.53.2", …] — bare versions are caret requirements
  it.each([
    ["0.54.1", true, "below the bare 0.54.2"],
    ["0.54.2", false, "0.54.2 = >= 0.54.2, < 0.55.0-0"],
    ["0.54.9", false, "still inside ^0.54.2"],
    ["0.55.0-alpha.1", true, "the caret bound excludes prereleases of the next minor"],
    ["0.55.0", true, "neither ^0.54.2 nor >= 0.55.1"],
    ["0.55.1", false, ">= 0.55.1"],
    ["0.53.1", true, "below the bare 0.53.2"],
    ["0.53.2", false, "the bare 0.53.2"],
  ])("aws-sigv4 %s against RUSTSEC-2023-0125: affected=%s (%s)", (version, affected) => {
    expect(verdict("aws-sigv4", version).vulnerable.includes("RUSTSEC-2023-0125")).toBe(affected);
  });

  // RUSTSEC-2019-0004 (libp2p-core): patched = ["^0.7.1"] — an explicit caret
  it.each([
    ["0.7.0", true],
    ["0.7.1", false],
    ["0.7.9", false],
    ["0.8.0", true],
  ])("libp2p-core %s against RUSTSEC-2019-0004 (^0.7.1): affected=%s", (version, affected) => {
    expect(verdict("libp2p-core", version).vulnerable.includes("RUSTSEC-2019-0004")).toBe(affected);
  });

  it("never counts a withdrawn advisory (RUSTSEC-2020-0055, libpulse-binding, withdrawn 2020-10-22)", () => {
    const result = verdict("libpulse-binding", "1.0.0");
    expect(result.vulnerable).not.toContain("RUSTSEC-2020-0055");
    expect(result.warnings).not.toContain("RUSTSEC-2020-0055");
  });

  it("never counts a withdrawn informational advisory (RUSTSEC-2022-0044, markdown)", () => {
    expect(verdict("markdown", "0.3.0").warnings).not.toContain("RUSTSEC-2022-0044");
  });

  it("reports informational advisories as warnings, not vulnerabilities (badge: unmaintained; atty: unsound on windows)", () => {
    expect(verdict("badge", "0.3.0")).toMatchObject({ vulnerable: [], warnings: ["RUSTSEC-2022-0057"] });
    expect(verdict("atty", "0.2.14").warnings).toContain("RUSTSEC-2021-0145");
  });

  it("skips packages that are not from crates.io, and workspace members", () => {
    expect(verdict("tokio", "1.8.0", "git+https://github.com/tokio-rs/tokio#abc")).toMatchObject({ vulnerable: [], checked: 0 });
    expect(verdict("tokio", "1.8.0", "path+file:///w/tokio")).toMatchObject({ vulnerable: [], checked: 0 });
    expect(verdict("tokio", "1.8.0", "registry+https://my.registry/index")).toMatchObject({ vulnerable: [], checked: 0 });
    expect(verdict("tokio", "1.8.0", CRATES_IO_SOURCES[1]).vulnerable).toContain("RUSTSEC-2021-0072");
    const lock = parseLockfile('version = 3\n[[package]]\nname = "tokio"\nversion = "1.8.0"\n', "Cargo.lock");
    expect(audit(lock, read(["tokio"]), auditPolicyFrom(undefined), "2026-11-27").checked).toBe(0);
  });

  it("describes a finding with id, crate, version, title, patched versions and platform", () => {
    const lock = parseLockfile(lockfile([["tokio", "1.19.0"]]), "Cargo.lock");
    const result = audit(lock, read(["tokio"]), auditPolicyFrom(undefined), "2026-11-27");
    const line = result.vulnerabilities.map(describeFinding).find((l) => l.startsWith("RUSTSEC-2023-0001"));
    expect(line).toBe(
      "RUSTSEC-2023-0001 tokio 1.19.0: reject_remote_clients Configuration corruption (patched: >= 1.18.4, < 1.19.0 | >= 1.20.3, < 1.21.0 | >= 1.23.1; only on windows)",
    );
  });

  it("honours an ignore until it expires, and fails on an expired one", () => {
    const lock = parseLockfile(lockfile([["tokio", "1.8.0"]]), "Cargo.lock");
    const db = read(["tokio"]);
    const policy = auditPolicyFrom({ ignore: [{ id: "RUSTSEC-2021-0072", reason: "LocalSet not used", expires: "2026-12-31" }] });
    const active = audit(lock, db, policy, "2026-11-27");
    expect(active.vulnerabilities.map((f) => f.advisory.id)).not.toContain("RUSTSEC-2021-0072");
    expect(active.ignored.map((f) => [f.advisory.id, f.ignoredBecause])).toEqual([
      ["RUSTSEC-2021-0072", "LocalSet not used (until 2026-12-31)"],
    ]);
    expect(active.expiredIgnores).toEqual([]);
    const expired = audit(lock, db, policy, "2027-01-01");
    expect(expired.expiredIgnores.map((e) => e.id)).toEqual(["RUSTSEC-2021-0072"]);
    expect(expired.vulnerabilities.map((f) => f.advisory.id)).toContain("RUSTSEC-2021-0072");
  });
});

describe("the bundled snapshot against the advisory files", () => {
  it("holds the whole database at its recorded commit: every entry valid, each crate's advisories together", () => {
    expect(SNAPSHOT.source).toEqual({
      repository: "https://github.com/rustsec/advisory-db",
      commit: "bf5c0d2",
      date: ADVISORY_SNAPSHOT_DATE,
    });
    expect(SNAPSHOT.advisories.length).toBeGreaterThan(1000);
    expect(snapshotAdvisories(SNAPSHOT).byCrate.size).toBeGreaterThan(900);
  });

  it("gives, for each real advisory file, exactly what parsing that file gives", () => {
    const files = loadAdvisories(ADVISORY_DB);
    expect(files.errors).toEqual([]);
    const fromSnapshot = snapshotAdvisories(SNAPSHOT, files.byCrate.keys());
    for (const [crate, advisories] of files.byCrate) expect(fromSnapshot.byCrate.get(crate), crate).toEqual(advisories);
    const tokio = readFileSync(join(ADVISORY_DB, "crates/tokio/RUSTSEC-2021-0072.md"), "utf8");
    expect(SNAPSHOT.advisories.find((a) => a.id === "RUSTSEC-2021-0072")).toEqual(
      parseAdvisory(tokio, "crates/tokio/RUSTSEC-2021-0072.md"),
    );
  });
});
