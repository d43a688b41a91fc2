/**
 * The RustSec audit of a 500-package lockfile against the full real database
 * (`../shared/data/rustsec-advisory-db`): parse the lockfile, read the
 * advisories of its crates, compute the database's age, decide. Reported as
 * the median of repeated runs against the 250 ms target, and against reading
 * the whole database (what an audit that does not index by crate would pay).
 *
 * Usage: npx tsx bench/audit.ts [--repeats N]
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { databaseAge, loadAdvisories } from "../src/supply-chain/advisory-db.js";
import { audit, auditPolicyFrom } from "../src/supply-chain/audit.js";
import { CRATES_IO_SOURCES, parseLockfile } from "../src/supply-chain/cargo-lock.js";

const DB = resolve(import.meta.dirname, "../../shared/data/rustsec-advisory-db");
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
  databaseAge(DB, new Date());
  found = audit(lockfile, advisories, policy, today).vulnerabilities.length;
};
const fullLoad = () => loadAdvisories(DB);

auditOnce();
const auditRuns = time(auditOnce);
const fullRuns = time(fullLoad);
const auditMs = median(auditRuns);
const fullMs = median(fullRuns);
console.log(`audit of a ${PACKAGES}-package lockfile against ${DB}: ${found} vulnerabilities found`);
console.log(`  median ${auditMs.toFixed(1)} ms, worst ${Math.max(...auditRuns).toFixed(1)} ms over ${repeats} runs`);
console.log(`  ratio to the ${TARGET_MS} ms target: ${(auditMs / TARGET_MS).toFixed(2)} (≤ 1.00 meets it)`);
console.log(`  reading the whole database instead: median ${fullMs.toFixed(1)} ms; audit / full read = ${(auditMs / fullMs).toFixed(2)}`);
