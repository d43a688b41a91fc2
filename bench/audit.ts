/**
 * The RustSec audit of a 500-package lockfile against the full real database
 * as a checkout lays it out (`crates/<name>/RUSTSEC-*.md`, written from the
 * bundled snapshot's 1,205 real advisories into a temporary folder, so the
 * bench runs on a fresh clone): parse the lockfile, read the
 * advisories of its crates, find the database's newest advisory, decide. Reported as
 * the median of repeated runs against the 250 ms target, and against reading
 * the whole database (what an audit that does not index by crate would pay);
 * then the same audit against the bundled snapshot (what an offline run pays).
 *
 * Usage: npx tsx bench/audit.ts [--repeats N]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gunzipSync } from "node:zlib";
import { stringify } from "smol-toml";
import { loadAdvisories, newestAdvisory } from "../src/supply-chain/advisory-db.js";
import { BUNDLED_SNAPSHOT } from "../src/supply-chain/advisory-db-fetch.js";
import { readSnapshotFile, snapshotAdvisories, snapshotNewest } from "../src/supply-chain/advisory-snapshot.js";
import { audit, auditPolicyFrom } from "../src/supply-chain/audit.js";
import { CRATES_IO_SOURCES, parseLockfile } from "../src/supply-chain/cargo-lock.js";

const SNAPSHOT = resolve(import.meta.dirname, "..", BUNDLED_SNAPSHOT);
const DB = databaseFolder(SNAPSHOT);
process.on("exit", () => rmSync(DB, { recursive: true, force: true }));

/**
 * The snapshot's advisories written out as a checkout holds them: one `crates/<name>/<id>.md` each, its
 * front matter in a TOML block, then the title.
 */
function databaseFolder(snapshot: string): string {
  const root = mkdtempSync(join(tmpdir(), "shriven-bench-advisory-db-"));
  const { advisories } = JSON.parse(gunzipSync(readFileSync(snapshot)).toString("utf8")) as {
    advisories: { advisory: { id: string; package: string }; title: string }[];
  };
  for (const { title, ...fields } of advisories) {
    const dir = join(root, "crates", fields.advisory.package);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${fields.advisory.id}.md`), `\`\`\`toml\n${stringify(fields)}\n\`\`\`\n\n# ${title}\n`);
  }
  return root;
}
const TARGET_MS = 250;
const PACKAGES = 500;

const { values } = parseArgs({ options: { repeats: { type: "string", default: "21" } } });
const repeats = Number(values.repeats);

/** A lockfile of 500 crates.io packages: every crate the database knows, then made-up ones, at assorted versions. */
function lockfileText(): string {
  const known = readdirSync(join(DB, "crates")).sort();
  const names = Array.from({ length: PACKAGES }, (_, i) => known[i] ?? `unlisted-crate-${i}`);
  const versions = ["0.1.0", "0.3.7", "1.0.0", "1.8.0", "2.4.1-beta.2"];
  const packages = names.map(
    (name, i) => `[[package]]\nname = "${name}"\nversion = "${versions[i % versions.length]}"\nsource = "${CRATES_IO_SOURCES[i % 2]}"\n`,
  );
  return `version = 4\n\n${packages.join("\n")}`;
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function time(run: () => unknown): number[] {
  return Array.from({ length: repeats }, () => {
    const started = performance.now();
    run();
    return performance.now() - started;
  });
}

const text = lockfileText();
const policy = auditPolicyFrom(undefined);
const today = new Date().toISOString().slice(0, 10);
let found = 0;
const auditOnce = () => {
  const lockfile = parseLockfile(text, "Cargo.lock");
  const advisories = loadAdvisories(
    DB,
    lockfile.packages.map((p) => p.name),
  );
  newestAdvisory(DB);
  found = audit(lockfile, advisories, policy, today).vulnerabilities.length;
};
const fullLoad = () => loadAdvisories(DB);
const snapshotAudit = () => {
  const lockfile = parseLockfile(text, "Cargo.lock");
  const snapshot = readSnapshotFile(SNAPSHOT);
  snapshotNewest(snapshot);
  return audit(
    lockfile,
    snapshotAdvisories(
      snapshot,
      lockfile.packages.map((p) => p.name),
    ),
    policy,
    today,
  ).vulnerabilities.length;
};

auditOnce();
const auditRuns = time(auditOnce);
const fullRuns = time(fullLoad);
const snapshotRuns = time(snapshotAudit);
const auditMs = median(auditRuns);
const fullMs = median(fullRuns);
console.log(
  `audit of a ${PACKAGES}-package lockfile against the snapshot's advisories as a checkout's files: ${found} vulnerabilities found`,
);
console.log(`  median ${auditMs.toFixed(1)} ms, worst ${Math.max(...auditRuns).toFixed(1)} ms over ${repeats} runs`);
console.log(`  ratio to the ${TARGET_MS} ms target: ${(auditMs / TARGET_MS).toFixed(2)} (≤ 1.00 meets it)`);
console.log(`  reading the whole database instead: median ${fullMs.toFixed(1)} ms; audit / full read = ${(auditMs / fullMs).toFixed(2)}`);
const snapshotMs = median(snapshotRuns);
console.log(`the same audit against the bundled snapshot (${SNAPSHOT}): ${snapshotAudit()} vulnerabilities found`);
console.log(`  median ${snapshotMs.toFixed(1)} ms; ratio to the ${TARGET_MS} ms target: ${(snapshotMs / TARGET_MS).toFixed(2)}`);
