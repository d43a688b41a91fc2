import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The read-only real data shared with the project (`../shared/data`). */
export const SHARED_DATA = resolve(import.meta.dirname, "../../../shared/data");

/** The real RustSec advisory database copy. */
export const ADVISORY_DB = resolve(SHARED_DATA, "rustsec-advisory-db");

/** True when the real advisory database is present; tests that need it are skipped with a message otherwise. */
export const HAS_ADVISORY_DB = existsSync(resolve(ADVISORY_DB, "crates"));

if (!HAS_ADVISORY_DB) console.warn(`skipping tests that need the real RustSec database: ${ADVISORY_DB} is absent`);
