/**
 * The advisory data tests carry with them: the snapshot this package ships,
 * and a small folder of real advisory files in the database's own layout
 * (test/fixtures/rustsec-advisory-db, with its licence and source).
 */
import { resolve } from "node:path";
import { BUNDLED_SNAPSHOT } from "../../src/supply-chain/advisory-db-fetch.js";

/** The RustSec snapshot bundled with the package (`data/rustsec-advisory-db/advisories.json.gz`). */
export const ADVISORY_SNAPSHOT = resolve(import.meta.dirname, "../..", BUNDLED_SNAPSHOT);

/** The date the bundled snapshot records (its advisory-db commit's), which its age is counted from. */
export const ADVISORY_SNAPSHOT_DATE = "2026-08-21";

/** A database folder of real advisories (`crates/<name>/RUSTSEC-*.md`): tokio, aws-sigv4, libp2p-core, libpulse-binding, markdown, badge, atty. */
export const ADVISORY_DB = resolve(import.meta.dirname, "../fixtures/rustsec-advisory-db");
