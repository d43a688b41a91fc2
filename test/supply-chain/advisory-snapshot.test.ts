/**
 * The advisory snapshot: its format round-trips what the advisory files say,
 * every malformed or hostile snapshot is refused whole with a message naming
 * the file and the field or entry, and scripts/refresh-advisory-snapshot.ts
 * writes one from a database checkout (commit and date read with git) or
 * writes nothing.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { AdvisoryDatabaseError, loadAdvisories } from "../../src/supply-chain/advisory-db.js";
import { encodeSnapshot, parseSnapshot, readSnapshotFile, snapshotAdvisories } from "../../src/supply-chain/advisory-snapshot.js";
import { ADVISORY_DB, ADVISORY_SNAPSHOT } from "../helpers/advisory-data.js";
import { tempDir } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const SOURCE = {
  repository: "https://github.com/rustsec/advisory-db",
  commit: "0123456789abcdef0123456789abcdef01234567",
  date: "2026-11-30",
};

/** The fixture folder's advisories as a snapshot document (plain JSON, to be broken by each case). */
function document(): { [key: string]: unknown; advisories: Record<string, unknown>[] } {
  const loaded = loadAdvisories(ADVISORY_DB);
  return JSON.parse(gunzipSync(encodeSnapshot([...loaded.byCrate.values()].flat(), SOURCE)).toString("utf8"));
}

/** The message `parseSnapshot` throws for `bytes`. */
function refusal(bytes: Uint8Array, file = "snap.json.gz"): string {
  try {
    parseSnapshot(bytes, file);
  } catch (error) {
    if (error instanceof AdvisoryDatabaseError) return error.message;
    throw error;
  }
  throw new Error("expected the snapshot to be refused");
}

const gz = (value: unknown) => gzipSync(typeof value === "string" ? value : JSON.stringify(value));

/** The index of the tokio advisory RUSTSEC-2021-0072 among the document's entries. */
function tokioIndex(doc: ReturnType<typeof document>): number {
  return doc.advisories.findIndex((e) => (e.advisory as { id: string }).id === "RUSTSEC-2021-0072");
}

describe("the snapshot format", () => {
  it("round-trips the advisory files exactly, in the same bytes every time", () => {
    const loaded = loadAdvisories(ADVISORY_DB);
    const advisories = [...loaded.byCrate.values()].flat();
    const bytes = encodeSnapshot(advisories, SOURCE);
    expect(encodeSnapshot([...advisories].reverse(), SOURCE).equals(bytes)).toBe(true);
    const snapshot = parseSnapshot(bytes, "snap.json.gz");
    expect(snapshot.source).toEqual(SOURCE);
    expect(snapshotAdvisories(snapshot).byCrate).toEqual(loaded.byCrate);
    expect(
      snapshotAdvisories(snapshot, ["tokio", "not-in-it"])
        .byCrate.get("tokio")
        ?.map((a) => a.id),
    ).toEqual(loaded.byCrate.get("tokio")?.map((a) => a.id));
  });

  it("keeps only what matching and reporting read: no descriptions, keywords, references or affected functions", () => {
    const doc = document();
    const tokio = doc.advisories[tokioIndex(doc)];
    expect(tokio).toEqual({
      advisory: {
        id: "RUSTSEC-2021-0072",
        package: "tokio",
        date: "2021-07-07",
        url: "https://github.com/tokio-rs/tokio/issues/3929",
        aliases: ["CVE-2021-38191", "GHSA-2grh-hm3w-w7hv"],
        categories: ["memory-corruption"],
      },
      versions: { patched: [">= 1.5.1, < 1.6.0", ">= 1.6.3, < 1.7.0", ">= 1.7.2, < 1.8.0", ">= 1.8.1"], unaffected: ["< 0.3.0"] },
      title: "Task dropped in wrong thread when aborting `LocalSet` task",
    });
    expect(doc.advisories.find((e) => (e.advisory as { id: string }).id === "RUSTSEC-2023-0001")?.affected).toEqual({ os: ["windows"] });
  });

  it("bundles the database with its licence and a README naming the commit and date", () => {
    const dir = join(ADVISORY_SNAPSHOT, "..");
    expect(readdirSync(dir).sort()).toEqual(["LICENSE.txt", "README.md", "advisories.json.gz"]);
    expect(readFileSync(join(dir, "LICENSE.txt"), "utf8")).toMatch(
      /^All code and data in the RustSec advisory database repository are dedicated/,
    );
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    expect(readme).toContain("| commit | `bf5c0d2` |");
    expect(readme).toContain("| commit date | 2026-08-21 |");
    const bundled = readSnapshotFile(ADVISORY_SNAPSHOT);
    // Advisories adapted from GitHub's database keep their CC-BY-4.0 licence and the url that attributes them.
    const ccBy = bundled.advisories.filter((a) => a.license === "CC-BY-4.0");
    expect(ccBy.length).toBeGreaterThan(0);
    for (const advisory of ccBy) expect(advisory.url, advisory.id).toMatch(/^https:\/\//);
  });
});

describe("a malformed snapshot is refused whole, naming the file and the field or entry", () => {
  const good = encodeSnapshot([...loadAdvisories(ADVISORY_DB).byCrate.values()].flat(), SOURCE);

  it.each([
    ["truncated gzip", good.subarray(0, good.length - 20), /^snap\.json\.gz: truncated or corrupt gzip data \(unexpected end of file\)$/],
    ["gzip cut after its header", good.subarray(0, 12), /^snap\.json\.gz: truncated or corrupt gzip data/],
    ["not gzip at all", Buffer.from('{"format":"x"}'), /^snap\.json\.gz: not a snapshot file \(not gzip data\)$/],
    ["an empty file", Buffer.alloc(0), /^snap\.json\.gz: not a snapshot file \(not gzip data\)$/],
    [
      "bad JSON",
      gz('{"format": "shriven-pipeline/rustsec-advisory-snapshot", '),
      /^snap\.json\.gz: not valid JSON inside the gzip data \(/,
    ],
    ["a JSON array", gz("[]"), /^snap\.json\.gz: not a usable advisory snapshot:\n {2}\(top level\): /],
  ])("%s", (_, bytes, message) => {
    expect(refusal(bytes)).toMatch(message);
  });

  it.each([
    ["another format", { format: "cargo-audit" }, 'format: expected "shriven-pipeline/rustsec-advisory-snapshot"'],
    ["a newer layout", { version: 2 }, "version: expected 1 (the snapshot layout this version reads)"],
    ["another licence", { license: "MIT" }, 'license: expected "CC0-1.0" (the RustSec database\'s licence)'],
    ["no licence", { license: undefined }, 'license: expected "CC0-1.0"'],
    ["a bad commit", { source: { ...SOURCE, commit: "HEAD~1" } }, "source.commit: expected a commit id of 7 to 40 hex digits"],
    ["no commit", { source: { repository: SOURCE.repository, date: SOURCE.date } }, "source.commit: expected a commit id"],
    ["a bad date", { source: { ...SOURCE, date: "30/11/2026" } }, "source.date: expected the commit's date YYYY-MM-DD"],
    ["a bad repository", { source: { ...SOURCE, repository: "github" } }, "source.repository: expected the URL"],
    ["an unknown header key", { signed: true }, "signed: unknown key; expected one of: format, version, license, source, advisories"],
    ["no advisories array", { advisories: {} }, "advisories: expected an array of advisories"],
  ])("header: %s", (_, change, problem) => {
    const message = refusal(gz({ ...document(), ...change }));
    expect(message).toMatch(/^snap\.json\.gz: not a usable advisory snapshot:\n {2}/);
    expect(message).toContain(problem);
  });

  it("no advisories at all", () => {
    expect(refusal(gz({ ...document(), advisories: [] }))).toBe("snap.json.gz: the snapshot holds no advisories");
  });

  type Entry = Record<string, unknown> & { advisory: Record<string, unknown>; versions: Record<string, unknown> };
  it.each<[string, (entry: Entry) => unknown, string]>([
    ["a bad version range", (e) => ({ ...e, versions: { patched: [">= 1.x"] } }), "advisories[I] (RUSTSEC-2021-0072): versions: "],
    ["a wildcard range", (e) => ({ ...e, versions: { patched: ["*"] } }), "advisories[I] (RUSTSEC-2021-0072): versions: "],
    [
      "overlapping ranges",
      (e) => ({ ...e, versions: { patched: [">= 1.0.0"], unaffected: ["< 2.0.0"] } }),
      'advisories[I] (RUSTSEC-2021-0072): versions: ">= 1.0.0" and "< 2.0.0" overlap',
    ],
    ["no versions table", ({ versions: _, ...e }) => e, "advisories[I] (RUSTSEC-2021-0072): versions: expected a [versions] table"],
    ["patched not an array", (e) => ({ ...e, versions: { patched: ">= 1.8.1" } }), "advisories[I] (RUSTSEC-2021-0072): versions.patched: "],
    [
      "no package",
      (e) => ({ ...e, advisory: { ...e.advisory, package: undefined } }),
      "advisories[I] (RUSTSEC-2021-0072): advisory.package: ",
    ],
    ["a bad id", (e) => ({ ...e, advisory: { ...e.advisory, id: "RS 1" } }), "advisories[I] (RS 1): advisory.id: expected an id"],
    ["a bad date", (e) => ({ ...e, advisory: { ...e.advisory, date: "2021-7-7" } }), "advisories[I] (RUSTSEC-2021-0072): advisory.date: "],
    ["no title", ({ title: _, ...e }) => e, "advisories[I] (RUSTSEC-2021-0072): title: expected a string"],
    ["an empty title", (e) => ({ ...e, title: " " }), "advisories[I] (RUSTSEC-2021-0072): title: expected a string"],
    ["not an object", () => 42, "advisories[I]: "],
    ["null", () => null, "advisories[I]: "],
  ])("entry: %s", (_, change, problem) => {
    const doc = document();
    const index = tokioIndex(doc);
    doc.advisories[index] = change(doc.advisories[index] as Entry) as Record<string, unknown>;
    const message = refusal(gz(doc));
    expect(message).toMatch(/^snap\.json\.gz: not a usable advisory snapshot:\n {2}/);
    expect(message).toContain(problem.replace("[I]", `[${index}]`));
  });

  it("a duplicated advisory names both entries", () => {
    const doc = document();
    const index = tokioIndex(doc);
    doc.advisories.push(doc.advisories[index] as Record<string, unknown>);
    expect(refusal(gz(doc))).toContain(
      `advisories[${doc.advisories.length - 1}] (RUSTSEC-2021-0072): advisory.id: RUSTSEC-2021-0072 is also advisories[${index}]`,
    );
  });

  it("lists the first five bad entries and counts the rest", () => {
    const doc = document();
    const bad = doc.advisories.map((e) => ({ ...e, title: 7 }));
    const message = refusal(gz({ ...doc, advisories: bad }));
    expect(message.split("\n")).toHaveLength(1 + 5 + 1);
    expect(message).toMatch(new RegExp(`\\n {2}and ${bad.length - 5} more$`));
  });

  it("a file that cannot be read names the file and why", () => {
    expect(() => readSnapshotFile("/nonexistent/advisories.json.gz")).toThrow("/nonexistent/advisories.json.gz: cannot be read (ENOENT)");
  });
});

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@t",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@t",
  GIT_COMMITTER_DATE: "2026-11-30T23:30:00+00:00",
  GIT_AUTHOR_DATE: "2026-11-30T23:30:00+00:00",
};

/** Runs scripts/refresh-advisory-snapshot.ts as a user would (with tsx). */
function refresh(args: readonly string[]) {
  return execa(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "scripts/refresh-advisory-snapshot.ts"), ...args], { reject: false });
}

describe("scripts/refresh-advisory-snapshot.ts", () => {
  it("writes the snapshot, the licence and a README from a checkout, reading the commit and its date with git", async () => {
    const db = join(tempDir(), "advisory-db");
    cpSync(ADVISORY_DB, db, { recursive: true });
    for (const args of [
      ["init", "-q"],
      ["add", "."],
      ["commit", "-qm", "db"],
    ])
      execFileSync("git", args, { cwd: db, env: GIT_ENV });
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: db, encoding: "utf8" }).trim();
    const out = join(tempDir(), "data");
    const run = await refresh([db, "--out", out]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`: 16 advisories of 7 crates, commit ${commit} of 2026-11-30, \\d+ bytes$`));
    const snapshot = readSnapshotFile(join(out, "advisories.json.gz"));
    expect(snapshot.source).toEqual({ repository: "https://github.com/rustsec/advisory-db", commit, date: "2026-11-30" });
    expect(snapshotAdvisories(snapshot).byCrate).toEqual(loadAdvisories(ADVISORY_DB).byCrate);
    expect(readFileSync(join(out, "LICENSE.txt"))).toEqual(readFileSync(join(ADVISORY_DB, "LICENSE.txt")));
    expect(readFileSync(join(out, "README.md"), "utf8")).toContain(`| commit | \`${commit}\` |`);
    expect(readdirSync(out).sort()).toEqual(["LICENSE.txt", "README.md", "advisories.json.gz"]);
  });

  it("takes --commit and --date for a copy without git history, and refuses to guess them", async () => {
    const out = join(tempDir(), "data");
    const guessed = await refresh([ADVISORY_DB, "--out", out]);
    expect(guessed.exitCode).toBe(2);
    expect(guessed.stderr).toContain("is not a git checkout: give --commit SHA --date YYYY-MM-DD");
    expect(existsSync(out)).toBe(false);
    const bad = await refresh([ADVISORY_DB, "--out", out, "--commit", "tip", "--date", "2026-08-21"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("source.commit: expected a commit id of 7 to 40 hex digits");
    expect(existsSync(out)).toBe(false);
    const given = await refresh([ADVISORY_DB, "--out", out, "--commit", "bf5c0d2", "--date", "2026-08-21"]);
    expect(given.exitCode).toBe(0);
    expect(readSnapshotFile(join(out, "advisories.json.gz")).source).toMatchObject({ commit: "bf5c0d2", date: "2026-08-21" });
  });

  it("writes nothing when one advisory file is bad, naming it", async () => {
    const db = join(tempDir(), "advisory-db");
    cpSync(ADVISORY_DB, db, { recursive: true });
    mkdirSync(join(db, "crates", "broken"));
    writeFileSync(join(db, "crates", "broken", "RUSTSEC-2099-0001.md"), '```toml\n[advisory]\nid = "RUSTSEC-2099-0001"\n```\n');
    const out = join(tempDir(), "data");
    const run = await refresh([db, "--out", out, "--commit", "bf5c0d2", "--date", "2026-08-21"]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("1 advisory file cannot be read:");
    expect(run.stderr).toContain("crates/broken/RUSTSEC-2099-0001.md");
    expect(existsSync(out)).toBe(false);
    const missing = await refresh([tempDir(), "--out", out, "--commit", "bf5c0d2", "--date", "2026-08-21"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("not a RustSec advisory database (no crates/ folder)");
  });
});
