/** Building tapes, merging them, and printing decimals. */
import { describe, expect, it } from "vitest";
import { decimalsOf, formatDecimal } from "../../src/market/decimal-text.js";
import { mergeTapes } from "../../src/market/merge-tapes.js";
import { TapeBuilder } from "../../src/market/tape-builder.js";
import { BookSync, type DataFault, EventKind, MarketDataError, type MarketTape, type MarketType, Side } from "../../src/market/types.js";

const S = 1_000_000_000n;
const BASE = 1723161254n * S;

/** The facts a reader of a spot file with `faults` hands to `finish`. */
function facts(source: string, faults: DataFault[] = [], market: MarketType = "spot") {
  return { source, venue: "binance", market, faults, ignored: [] } as const;
}

function tapeOf(
  source: string,
  symbol: string,
  times: readonly number[],
  faults: DataFault[] = [],
  market: MarketType = "spot",
): MarketTape {
  const builder = new TapeBuilder();
  for (const [i, ms] of times.entries())
    builder.trade({ line: i + 1, ns: BASE + BigInt(ms) * 1_000_000n, symbol, price: "100.5", qty: "1", side: Side.Buy, id: i + 1 });
  return builder.finish(facts(source, faults, market));
}

describe("TapeBuilder", () => {
  it("appends every kind with its cells, decimals per symbol, exactly sized arrays", () => {
    const b = new TapeBuilder();
    b.quote({
      line: 3,
      ns: BASE + 250n,
      symbol: "BTCUSDT",
      bid: "61837.63000000",
      bidQty: "3.78826000",
      ask: "61837.64",
      askQty: "1.5",
      updateId: 9,
    });
    b.trade({ line: 4, ns: BASE + 1_500_000_000n, symbol: "ETHUSDT", price: "2650.1", qty: "0.1234", side: Side.Sell, id: 77 });
    b.depth({
      line: 5,
      ns: BASE + 2n * S,
      symbol: "BTCUSDT",
      firstId: 10,
      lastId: 12,
      bids: [["61837.5", "0"]],
      asks: [["61838.125", "2"]],
    });
    const row = b.snapshot({ line: 6, ns: BASE + 3n * S, symbol: "BTCUSDT", lastId: 12, bids: [["61837.5", "1"]], asks: [] });
    expect(row).toBe(3);
    expect(b.length).toBe(4);
    const tape = b.finish(facts("x"));
    expect(tape.baseNs).toBe(BASE);
    expect(tape.symbols).toEqual([
      { symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 3, qtyDecimals: 5 },
      { symbol: "ETHUSDT", venue: "binance", market: "spot", priceDecimals: 1, qtyDecimals: 4 },
    ]);
    expect(Array.from(tape.kind)).toEqual([EventKind.Quote, EventKind.Trade, EventKind.Depth, EventKind.Snapshot]);
    expect(Array.from(tape.symbol)).toEqual([0, 1, 0, 0]);
    expect(Array.from(tape.t)).toEqual([250, 1.5e9, 2e9, 3e9]);
    expect(Array.from(tape.line)).toEqual([3, 4, 5, 6]);
    expect(Array.from(tape.price)).toEqual([61837.63, 2650.1, 0, 0]);
    expect(Array.from(tape.qty)).toEqual([3.78826, 0.1234, 0, 0]);
    expect(Array.from(tape.price2)).toEqual([61837.64, 0, 0, 0]);
    expect(Array.from(tape.qty2)).toEqual([1.5, 0, 0, 0]);
    expect(Array.from(tape.side)).toEqual([0, Side.Sell, 0, 0]);
    expect(Array.from(tape.id)).toEqual([9, 77, 12, 12]);
    expect(Array.from(tape.id2)).toEqual([0, 0, 10, 0]);
    expect(Array.from(tape.levelStart)).toEqual([0, 0, 0, 2]);
    expect(Array.from(tape.levelCount)).toEqual([0, 0, 2, 1]);
    expect(Array.from(tape.levelPrice)).toEqual([61837.5, 61838.125, 61837.5]);
    expect(Array.from(tape.levelQty)).toEqual([0, 2, 1]);
    expect(Array.from(tape.levelSide)).toEqual([Side.Buy, Side.Sell, Side.Buy]);
    for (const column of [tape.kind, tape.t, tape.id2, tape.levelCount]) expect(column.buffer.byteLength).toBe(column.byteLength);
  });

  it("grows past its first capacity", () => {
    const times = Array.from({ length: 5000 }, (_, i) => i);
    const tape = tapeOf("big", "BTCUSDT", times);
    expect(tape.length).toBe(5000);
    expect(tape.t[4999]).toBe(4999e6);
    expect(tape.id[4999]).toBe(5000);
  });

  it("gives an empty tape with base 0", () => {
    const tape = new TapeBuilder().finish(facts("none"));
    expect([tape.length, tape.baseNs, tape.t.length, tape.symbols]).toEqual([0, 0n, 0, []]);
  });

  it.each([
    ["61837.63000000", 2],
    ["0.00001000", 5],
    ["5.000", 0],
    ["5", 0],
    ["0.1", 1],
  ])("decimalsOf(%s) = %s", (text, decimals) => {
    expect(decimalsOf(text)).toBe(decimals);
  });
});

describe("mergeTapes", () => {
  it("merges by time, ties in input order, on the earliest base", () => {
    const a = tapeOf("a", "BTCUSDT", [1000, 2000, 2000, 5000]);
    const b = tapeOf("b", "ETHUSDT", [500, 2000, 6000], [{ kind: "gap", count: 1, firstLine: 2, first: "x" }]);
    const c = tapeOf("c", "BTCUSDT", [2000]);
    const merged = mergeTapes([a, b, c]);
    expect(merged.source).toBe("a, b, c");
    expect(merged.baseNs).toBe(BASE);
    expect(Array.from(merged.t)).toEqual([0.5e9, 1e9, 2e9, 2e9, 2e9, 2e9, 5e9, 6e9]);
    // (symbol, line): ties at 2 s are a's two, then b's, then c's
    expect(Array.from(merged.symbol, (s, i) => `${s}:${merged.line[i]}`)).toEqual(["1:1", "0:1", "0:2", "0:3", "1:2", "0:1", "0:4", "1:3"]);
    expect(merged.symbols.map((s) => s.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
    expect(merged.faults).toEqual([{ kind: "gap", count: 1, firstLine: 2, first: "x" }]);
  });

  it("shifts a later file's times onto the earlier base and copies levels", () => {
    const day2 = new TapeBuilder();
    day2.depth({
      line: 1,
      ns: BASE + 86_400n * S + 7n,
      symbol: "BTCUSDT",
      firstId: 5,
      lastId: 6,
      bids: [["1.25", "2"]],
      asks: [["1.5", "0.001"]],
    });
    const day1 = new TapeBuilder();
    day1.quote({ line: 9, ns: BASE + 999n, symbol: "BTCUSDT", bid: "1", bidQty: "1", ask: "2", askQty: "1", updateId: 4 });
    day1.depth({ line: 10, ns: BASE + 1000n, symbol: "BTCUSDT", firstId: 3, lastId: 4, bids: [["1.2", "1"]], asks: [] });
    const merged = mergeTapes([day2.finish(facts("d2")), day1.finish(facts("d1"))]);
    expect(merged.baseNs).toBe(BASE);
    expect(Array.from(merged.t)).toEqual([999, 1000, 86_400e9 + 7]);
    expect(Array.from(merged.levelStart)).toEqual([0, 0, 1]);
    expect(Array.from(merged.levelCount)).toEqual([0, 1, 2]);
    expect(Array.from(merged.levelPrice)).toEqual([1.2, 1.25, 1.5]);
    expect(merged.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 3 }]);
  });

  it("merges nothing into an empty tape and skips empty tapes", () => {
    expect(mergeTapes([]).length).toBe(0);
    const merged = mergeTapes([new TapeBuilder().finish(facts("empty")), tapeOf("a", "BTCUSDT", [3000])]);
    expect(merged.baseNs).toBe(BASE + 3n * S);
    expect(Array.from(merged.t)).toEqual([0]);
  });

  it("keys instruments by venue, market and symbol: one symbol from spot and USD-M futures is refused, naming both files", () => {
    const spot = tapeOf("spot.gz", "BTCUSDT", [1000]);
    const futures = tapeOf("usdm.gz", "BTCUSDT", [2000], [], "usdm");
    expect(() => mergeTapes([spot, futures])).toThrow(MarketDataError);
    expect(() => mergeTapes([spot, futures])).toThrow(
      "BTCUSDT is Binance spot in spot.gz and Binance USD-M futures in usdm.gz: the engine protocol names instruments by symbol alone, so one replay cannot hold both",
    );
    const two = mergeTapes([tapeOf("usdm.gz", "BTCUSDT", [1000], [], "usdm"), tapeOf("eth.gz", "ETHUSDT", [2000])]);
    expect(two.symbols.map((s) => [s.symbol, s.market])).toEqual([
      ["BTCUSDT", "usdm"],
      ["ETHUSDT", "spot"],
    ]);
  });

  it("concatenates the ignored messages of every tape", () => {
    const ignored = { kind: "markPrice", count: 3, firstLine: 2, reason: "mark price and funding are not simulated" } as const;
    const b = new TapeBuilder();
    b.trade({ line: 1, ns: BASE, symbol: "BTCUSDT", price: "1", qty: "1", side: Side.Buy, id: 1 });
    const merged = mergeTapes([b.finish({ ...facts("f.gz", [], "usdm"), ignored: [ignored] }), tapeOf("g.gz", "ETHUSDT", [5])]);
    expect(merged.ignored).toEqual([ignored]);
  });
});

describe("book sync flags", () => {
  it("depth and snapshot rows start in step, and markBroken flags a row afterwards", () => {
    const b = new TapeBuilder();
    const depth = b.depth({ line: 1, ns: BASE, symbol: "BTCUSDT", firstId: 1, lastId: 2, bids: [], asks: [] });
    const snapshot = b.snapshot({ line: 2, ns: BASE + 1n, symbol: "BTCUSDT", lastId: 2, bids: [], asks: [] });
    b.markBroken(snapshot);
    const tape = b.finish(facts("x"));
    expect([tape.side[depth], tape.side[snapshot]]).toEqual([BookSync.InStep, BookSync.Broken]);
  });
});

describe("formatDecimal", () => {
  it.each([
    [1e-7, 8, "0.0000001"],
    [61837.63, 2, "61837.63"],
    [61837.63, 8, "61837.63"],
    [61837.6, 2, "61837.6"],
    [100, 2, "100"],
    [0, 8, "0"],
    [-0.00001, 8, "-0.00001"],
    [-1e-12, 8, "0"],
    [0.1 + 0.2, 8, "0.3"],
    [1.005, 2, "1"],
    [123456789012345680000, 2, "123456789012345680000"],
    [1e21, 2, "1000000000000000000000"],
    [2.5e-9, 10, "0.0000000025"],
  ])("formatDecimal(%s, %s) = %s", (value, decimals, text) => {
    expect(formatDecimal(value, decimals)).toBe(text);
    expect(formatDecimal(value, decimals)).not.toMatch(/e/i);
  });
});
