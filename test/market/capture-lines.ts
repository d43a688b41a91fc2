/** Building Binance capture lines and files for the market-data tests. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { DataFaultPolicy, MarketTape } from "../../src/market/types.js";
import { tempDir } from "../helpers/temp.js";

/** A receive time a little after 2024-08-08 23:54:14 UTC. */
export const T0 = 1723161254000000000n;

/** Every fault kind stops the read: the error message then lists them all. */
export const ALL_FAIL: DataFaultPolicy = { malformed: "fail", unsorted: "fail", duplicate: "fail", gap: "fail", crossed: "fail" };

/** Every fault kind is reported in `tape.faults`, the faulty events left out (gaps kept). */
export const ALL_SKIP: DataFaultPolicy = { malformed: "skip", unsorted: "skip", duplicate: "skip", gap: "skip", crossed: "skip" };

/** `ms` milliseconds after {@link T0}, in ns. */
export function at(ms: number): bigint {
  return T0 + BigInt(ms) * 1_000_000n;
}

/** A `btcusdt@trade` line; `m` true = buyer is maker = aggressor sold. */
export function trade(ns: bigint, id: number, price = "61837.63000000", qty = "0.02000000", m = true): string {
  return `${ns} {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":${id},"p":"${price}","q":"${qty}","T":1723161255342,"m":${m},"M":true}}`;
}

/** A `btcusdt@bookTicker` line. */
export function quote(
  ns: bigint,
  u: number,
  bid = "61837.63000000",
  ask = "61837.64000000",
  bidQty = "3.78826000",
  askQty = "1.54698000",
): string {
  return `${ns} {"stream":"btcusdt@bookTicker","data":{"u":${u},"s":"BTCUSDT","b":"${bid}","B":"${bidQty}","a":"${ask}","A":"${askQty}"}}`;
}

type Levels = readonly (readonly [string, string])[];

/** A `btcusdt@depth@100ms` line with update ids `U`..`u`. */
export function depth(ns: bigint, U: number, u: number, bids: Levels = [["61837.63", "1.5"]], asks: Levels = [["61837.64", "0"]]): string {
  return `${ns} {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":${U},"u":${u},"b":${JSON.stringify(bids)},"a":${JSON.stringify(asks)}}}`;
}

/** A REST depth snapshot line (it names no symbol). */
export function snapshot(ns: bigint, id: number, bids: Levels, asks: Levels): string {
  return `${ns} {"lastUpdateId":${id},"bids":${JSON.stringify(bids)},"asks":${JSON.stringify(asks)}}`;
}

/** Writes `lines` (newline-terminated) to `name` in a fresh temporary folder; returns the path. */
export function captureFile(lines: readonly string[], name = "capture.txt"): string {
  const path = join(tempDir("market-"), name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

const COLUMNS = [
  "kind",
  "symbol",
  "t",
  "line",
  "price",
  "qty",
  "price2",
  "qty2",
  "side",
  "id",
  "id2",
  "levelStart",
  "levelCount",
  "levelPrice",
  "levelQty",
  "levelSide",
] as const;

/** Asserts two tapes are identical: every field, every array byte for byte (quicker than a deep compare of big arrays). */
export function expectSameTape(actual: MarketTape, expected: MarketTape): void {
  const { source, symbols, baseNs, length, faults } = expected;
  expect({ source: actual.source, symbols: actual.symbols, baseNs: actual.baseNs, length: actual.length, faults: actual.faults }).toEqual({
    source,
    symbols,
    baseNs,
    length,
    faults,
  });
  for (const name of COLUMNS) {
    const a = actual[name];
    const b = expected[name];
    expect(a.constructor, name).toBe(b.constructor);
    expect(a.length, name).toBe(b.length);
    expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength)), name).toBe(true);
  }
}
