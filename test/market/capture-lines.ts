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

/*
 * Futures lines, shaped as Binance documents them (the docs' example payloads, with our ids and prices):
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Diff-Book-Depth-Streams
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Individual-Symbol-Book-Ticker-Streams
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Aggregate-Trade-Streams
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Mark-Price-Stream
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Partial-Book-Depth-Streams
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Order-Book
 * and the COIN-M pages of the same names under derivatives/coin-margined-futures/. The `@trade`
 * stream is not in the futures docs; its shape (`X`: "MARKET") is that of frames captured from
 * wss://fstream.binance.com, as the issue's real capture has them.
 */

/** A futures `<symbol>@depth@<speed>` diff update with ids `U`..`u` and the previous update's `pu`. */
export function futuresDepth(
  ns: bigint,
  U: number,
  u: number,
  pu: number,
  bids: Levels = [["61837.60", "1.500"]],
  asks: Levels = [["61837.70", "0"]],
  symbol = "BTCUSDT",
  speed = "0ms",
): string {
  const pair = symbol.includes("_") ? `"ps":"${symbol.split("_")[0]}",` : "";
  return `${ns} {"stream":"${symbol.toLowerCase()}@depth@${speed}","data":{"e":"depthUpdate","E":1723161255208,"T":1723161255206,"s":"${symbol}",${pair}"U":${U},"u":${u},"pu":${pu},"b":${JSON.stringify(bids)},"a":${JSON.stringify(asks)}}}`;
}

/** A futures `<symbol>@bookTicker` line (it has `e`, `E` and `T`, which spot's has not). */
export function futuresQuote(ns: bigint, u: number, bid = "61837.60", ask = "61837.70", symbol = "BTCUSDT"): string {
  return `${ns} {"stream":"${symbol.toLowerCase()}@bookTicker","data":{"e":"bookTicker","u":${u},"E":1723161255343,"T":1723161255342,"s":"${symbol}","b":"${bid}","B":"3.788","a":"${ask}","A":"1.547"}}`;
}

/** A futures `<symbol>@trade` line (`X` is the trade's type; spot's has `M` instead). */
export function futuresTrade(ns: bigint, id: number, price = "61837.60", qty = "0.020", m = true, symbol = "BTCUSDT"): string {
  return `${ns} {"stream":"${symbol.toLowerCase()}@trade","data":{"e":"trade","E":1723161255343,"T":1723161255342,"s":"${symbol}","t":${id},"p":"${price}","q":"${qty}","X":"MARKET","m":${m}}}`;
}

/** A futures `<symbol>@aggTrade` line (no `M`, which spot's has). */
export function futuresAggTrade(ns: bigint, id: number, price = "61837.60", qty = "0.020", m = true, symbol = "BTCUSDT"): string {
  return `${ns} {"stream":"${symbol.toLowerCase()}@aggTrade","data":{"e":"aggTrade","E":1723161255343,"s":"${symbol}","a":${id},"p":"${price}","q":"${qty}","f":${id * 10},"l":${id * 10 + 2},"T":1723161255342,"m":${m}}}`;
}

/** A `<symbol>@markPrice@1s` line. */
export function markPrice(ns: bigint, symbol = "BTCUSDT"): string {
  return `${ns} {"stream":"${symbol.toLowerCase()}@markPrice@1s","data":{"e":"markPriceUpdate","E":1723161255000,"s":"${symbol}","p":"61840.10000000","i":"61835.62659091","P":"61836.25641265","r":"0.00010000","T":1723190400000}}`;
}

/** A futures `<symbol>@depth5@100ms` partial book (the diff update's shape, top 5 levels). */
export function futuresPartialDepth(ns: bigint, u: number, symbol = "BTCUSDT"): string {
  return `${ns} {"stream":"${symbol.toLowerCase()}@depth5@100ms","data":{"e":"depthUpdate","E":1723161255208,"T":1723161255206,"s":"${symbol}","U":${u - 3},"u":${u},"pu":${u - 5},"b":[["61837.60","1.500"]],"a":[["61837.70","2.000"]]}}`;
}

/** A USD-M REST depth snapshot (`GET /fapi/v1/depth`: it has `E` and `T`, and names no symbol). */
export function futuresSnapshot(ns: bigint, id: number, bids: Levels, asks: Levels): string {
  return `${ns} {"lastUpdateId":${id},"E":1723161255400,"T":1723161255398,"bids":${JSON.stringify(bids)},"asks":${JSON.stringify(asks)}}`;
}

/** A COIN-M REST depth snapshot (`GET /dapi/v1/depth`: it also names `symbol` and `pair`). */
export function coinmSnapshot(ns: bigint, id: number, bids: Levels, asks: Levels, symbol = "BTCUSD_PERP"): string {
  return `${ns} {"lastUpdateId":${id},"symbol":"${symbol}","pair":"${symbol.split("_")[0]}","E":1723161255400,"T":1723161255398,"bids":${JSON.stringify(bids)},"asks":${JSON.stringify(asks)}}`;
}

/** A spot `<symbol>@aggTrade` line (it has `M`). */
export function spotAggTrade(ns: bigint, id: number, price = "61837.63000000", qty = "0.02000000", m = true): string {
  return `${ns} {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161255343,"s":"BTCUSDT","a":${id},"p":"${price}","q":"${qty}","f":${id * 10},"l":${id * 10 + 2},"T":1723161255342,"m":${m},"M":true}}`;
}

/** A spot `<symbol>@depth5@100ms` partial book (`lastUpdateId`, `bids`, `asks`; no symbol). */
export function spotPartialDepth(ns: bigint, id: number): string {
  return `${ns} {"stream":"btcusdt@depth5@100ms","data":{"lastUpdateId":${id},"bids":[["61837.63000000","3.78826000"]],"asks":[["61837.64000000","1.54698000"]]}}`;
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
