/** Binance public-data CSVs: trades and aggTrades, with and without header, ms and µs times. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readMarketData } from "../../src/market/read-market.js";
import { EventKind, MarketDataError, Side } from "../../src/market/types.js";
import { tempDir } from "../helpers/temp.js";
import { ALL_FAIL } from "./capture-lines.js";

const TRADES_HEADER = "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match";
const AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match";

/** Rows of a 2024 trades file (ms times). */
const TRADES_MS = [
  "3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True",
  "3735683260,61837.64000000,0.00100000,61.83764000,1723161255342,False,True",
  "3735683261,61838.10000000,0.00012000,7.42057200,1723161256001,true,true",
];

/** Rows of a 2025 aggTrades file (µs times). */
const AGG_US = [
  "3370113620,93576.00000000,0.00007000,4362233512,4362233512,1735689600013813,False,True",
  "3370113621,93575.99000000,0.00500000,4362233513,4362233515,1735689600013900,True,True",
];

function csvFile(name: string, lines: readonly string[]): string {
  const path = join(tempDir("market-csv-"), name);
  writeFileSync(path, `${lines.join("\r\n")}\r\n`);
  return path;
}

async function expectError(path: string, parts: readonly string[], options = {}): Promise<void> {
  const error = await readMarketData(path, options).then(
    () => expect.fail("expected a MarketDataError"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketDataError);
  expect((error as Error).message.startsWith(`${path}: `)).toBe(true);
  for (const part of parts) expect((error as Error).message).toContain(part);
}

describe("Binance trades CSV", () => {
  it.each([
    ["with a header", [TRADES_HEADER, ...TRADES_MS], 2],
    ["without a header", TRADES_MS, 1],
  ])("reads a trades file %s, times in ms", async (_name, lines, firstLine) => {
    const { tape } = await readMarketData(csvFile("BTCUSDT-trades-2024-08-08.csv", lines));
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 5 }]);
    expect(tape.baseNs).toBe(1723161255000000000n);
    expect(Array.from(tape.kind)).toEqual([EventKind.Trade, EventKind.Trade, EventKind.Trade]);
    expect(Array.from(tape.t)).toEqual([342_000_000, 342_000_000, 1_001_000_000]);
    expect(Array.from(tape.id)).toEqual([3735683259, 3735683260, 3735683261]);
    expect(Array.from(tape.price)).toEqual([61837.63, 61837.64, 61838.1]);
    expect(Array.from(tape.qty)).toEqual([0.02, 0.001, 0.00012]);
    expect(Array.from(tape.side)).toEqual([Side.Sell, Side.Buy, Side.Sell]);
    expect(Array.from(tape.line)).toEqual([firstLine, firstLine + 1, firstLine + 2]);
    expect(tape.faults).toEqual([]);
  });

  it.each([
    ["with a header", [AGG_HEADER, ...AGG_US]],
    ["without a header", AGG_US],
  ])("reads an aggTrades file %s, times in µs", async (_name, lines) => {
    const { tape } = await readMarketData(csvFile("BTCUSDT-aggTrades-2025-01-01.csv", lines));
    expect(tape.baseNs).toBe(1735689600000000000n);
    expect(Array.from(tape.t)).toEqual([13_813_000, 13_900_000]);
    expect(Array.from(tape.id)).toEqual([3370113620, 3370113621]);
    expect(Array.from(tape.price)).toEqual([93576, 93575.99]);
    expect(Array.from(tape.side)).toEqual([Side.Buy, Side.Sell]);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 5 }]);
  });

  it("reads aggTrades in ms and trades in µs too", async () => {
    const agg = AGG_US.map((row) => row.replace(/,(\d{13})\d{3},/, ",$1,"));
    expect((await readMarketData(csvFile("ETHUSDT-aggTrades-2024-12-31.csv", agg))).tape.t[1]).toBe(13_000_000);
    const trades = TRADES_MS.map((row) => row.replace(/,(\d{13}),/, ",$1123,"));
    expect((await readMarketData(csvFile("BTCUSDT-trades-2025-01-01.csv", trades))).tape.t[2]).toBe(1_001_123_000);
  });

  it("takes the symbol from the option when the file name does not tell it", async () => {
    const path = csvFile("trades.csv", TRADES_MS);
    await expectError(path, ["cannot tell the symbol"]);
    const { tape } = await readMarketData(path, { symbol: "BTCUSDT" });
    expect(tape.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT"]);
    expect((await readMarketData(csvFile("BTCUSDT-trades-2024-08-08.csv", TRADES_MS), { symbol: "XBT" })).tape.symbols[0]?.symbol).toBe(
      "XBT",
    );
  });

  it("reads a .csv.gz file", async () => {
    const path = join(tempDir(), "BTCUSDT-aggTrades-2025-01-01.csv.gz");
    writeFileSync(path, gzipSync(`${[AGG_HEADER, ...AGG_US].join("\n")}\n`));
    expect((await readMarketData(path)).tape.length).toBe(2);
  });

  it("follows an explicit format, and refuses a header of the other one", async () => {
    const path = csvFile("data.csv", [AGG_HEADER, ...AGG_US]);
    expect((await readMarketData(path, { format: "binance-aggtrades-csv", symbol: "BTCUSDT" })).tape.length).toBe(2);
    await expectError(path, ["line 1: the header is the aggTrades layout, but trades was asked for"], {
      format: "binance-trades-csv",
      symbol: "BTCUSDT",
    });
  });

  it("merges one file per symbol by time", async () => {
    const btc = csvFile("BTCUSDT-trades-2024-08-08.csv", TRADES_MS);
    const eth = csvFile("ETHUSDT-trades-2024-08-08.csv", [
      "100,2650.10,0.5,1325.05,1723161255100,False,True",
      "101,2650.2,0.1,265.02,1723161256001,True,True",
    ]);
    const { tape } = await readMarketData([btc, eth]);
    expect(tape.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
    expect(Array.from(tape.id)).toEqual([100, 3735683259, 3735683260, 3735683261, 101]);
    expect(Array.from(tape.symbol)).toEqual([1, 0, 0, 0, 1]);
  });
});

describe("hostile CSVs", () => {
  it("a row with the wrong column count", async () => {
    const path = csvFile("BTCUSDT-trades-2024-08-08.csv", [
      TRADES_HEADER,
      TRADES_MS[0] as string,
      "3735683260,61837.64,0.001,1723161255342,False,True",
    ]);
    await expectError(path, [
      "1 malformed line (first at line 3: expected 7 columns (id,price,qty,quote_qty,time,is_buyer_maker,is_best_match), found 6)",
    ]);
  });

  it.each([
    ["a bad price", "3735683260,abc,0.001,61.8,1723161255342,False,True", 'price "abc" is not a positive decimal'],
    ["a bad id", "37356x3260,61837.64,0.001,61.8,1723161255342,False,True", 'id "37356x3260" is not an id'],
    ["a bad boolean", "3735683260,61837.64,0.001,61.8,1723161255342,yes,True", 'is_buyer_maker "yes" is not True or False'],
    ["a time in seconds", "3735683260,61837.64,0.001,61.8,1723161255,False,True", 'time "1723161255" is neither milliseconds'],
    ["a zero quantity", "3735683260,61837.64,0,0,1723161255342,False,True", "quantity is 0"],
    ["a bad quote quantity", "3735683260,61837.64,0.001,NaN,1723161255342,False,True", 'quote_qty "NaN" is not a decimal'],
  ])("%s", async (_name, row, problem) => {
    const path = csvFile("BTCUSDT-trades-2024-08-08.csv", [TRADES_MS[0] as string, row]);
    await expectError(path, [`1 malformed line (first at line 2: ${problem}`]);
  });

  it("a file mixing ms and µs times is rejected whatever the policy", async () => {
    const path = csvFile("BTCUSDT-trades-2025-01-01.csv", [
      TRADES_MS[0] as string,
      "3735683260,61837.64,0.001,61.8,1723161255342000,False,True",
    ]);
    const parts = ["line 2: time 1723161255342000 is in microseconds, but the file's first row (line 1) is in milliseconds"];
    await expectError(path, parts);
    await expectError(path, parts, { policy: { ...ALL_FAIL, malformed: "skip" } });
  });

  it("an unknown header", async () => {
    await expectError(csvFile("BTCUSDT-trades-2024-08-08.csv", ["a,b,c", "1,2,3"]), ["line 1: unknown CSV header"]);
  });

  it("rows of neither layout in a file whose name does not tell", async () => {
    await expectError(csvFile("x.csv", ["1,2,3"]), ["line 1: 3 columns: neither trades"], { symbol: "BTCUSDT" });
  });

  it("unsorted and duplicate rows", async () => {
    const rows = [TRADES_MS[0] as string, TRADES_MS[2] as string, TRADES_MS[1] as string, TRADES_MS[1] as string];
    const path = csvFile("BTCUSDT-trades-2024-08-08.csv", rows);
    await expectError(path, ["2 unsorted events (first at line 3: time 1723161255342000000 ns before 1723161256001000000 ns)"]);
    const { tape } = await readMarketData(path, { policy: { ...ALL_FAIL, unsorted: "skip", duplicate: "skip", gap: "skip" } });
    expect(Array.from(tape.id)).toEqual([3735683259, 3735683261]);
    expect(tape.faults.map((f) => [f.kind, f.count, f.firstLine])).toEqual([
      ["unsorted", 2, 3],
      ["gap", 1, 2],
    ]);
  });
});
