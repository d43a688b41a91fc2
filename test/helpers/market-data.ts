/**
 * The real market data the tests replay, carried in the repository beside the
 * example that trades on it (source, licence and contents in its README.md).
 */
import { resolve } from "node:path";

/** The real Binance spot BTCUSDT capture: `btcusdt_20240808.gz`, `btcusdt_20240809.gz`, their LICENSE and README.md. */
export const MARKET_CAPTURE_DIR = resolve(import.meta.dirname, "../../examples/trading-engine/market-data/binance-spot");

/** The capture's files, in time order (about 11 contiguous minutes together). */
export const MARKET_CAPTURE_FILES = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] as const;
