import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The read-only real data shared with the project (`../shared/data`). */
export const SHARED_DATA = resolve(import.meta.dirname, "../../../shared/data");

/** The real RustSec advisory database copy. */
export const ADVISORY_DB = resolve(SHARED_DATA, "rustsec-advisory-db");

/** True when the real advisory database is present; tests that need it are skipped with a message otherwise. */
export const HAS_ADVISORY_DB = existsSync(resolve(ADVISORY_DB, "crates"));

if (!HAS_ADVISORY_DB) console.warn(`skipping tests that need the real RustSec database: ${ADVISORY_DB} is absent`);

/** The real Binance spot BTCUSDT capture files (`btcusdt_20240808.gz`, `btcusdt_20240809.gz`). */
export const MARKET_CAPTURE_DIR = resolve(SHARED_DATA, "market/binance-spot-capture");

/** True when the real capture files are present; tests that need them are skipped with a message otherwise. */
export const HAS_MARKET_CAPTURE =
  existsSync(resolve(MARKET_CAPTURE_DIR, "btcusdt_20240808.gz")) && existsSync(resolve(MARKET_CAPTURE_DIR, "btcusdt_20240809.gz"));

if (!HAS_MARKET_CAPTURE) console.warn(`skipping tests that need the real Binance capture: ${MARKET_CAPTURE_DIR} is absent`);
