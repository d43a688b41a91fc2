/**
 * Malformed and hostile market data: every error names the file, the line and
 * the problem; with "skip" the faulty events are left out and reported.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readMarketData } from "../../src/market/read-market.js";
import { EventKind, MarketDataError } from "../../src/market/types.js";
import { tempDir } from "../helpers/temp.js";
import { ALL_FAIL, ALL_SKIP, at, captureFile, depth, quote, snapshot, trade } from "./capture-lines.js";

/** Reads `path` expecting a MarketDataError whose message holds every one of `parts`. */
async function expectError(path: string, parts: readonly (string | RegExp)[], options = {}): Promise<string> {
  const error = await readMarketData(path, options).then(
    () => expect.fail("expected a MarketDataError"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketDataError);
  const message = (error as Error).message;
  expect(message.startsWith(`${path}: `)).toBe(true);
  for (const part of parts) expect(message).toMatch(part);
  return message;
}

const GOOD = trade(at(0), 100);

describe("malformed capture lines (one error naming file, line and problem)", () => {
  it.each([
    ["a truncated JSON line", trade(at(1), 101).slice(0, 80), "truncated JSON"],
    ["a line without the receive time", trade(at(1), 101).replace(/^\d+ /, ""), "receive time missing"],
    ["a non-numeric receive time", trade(at(1), 101).replace(/^\d+/, "17231612x4"), 'receive time "17231612x4" is not an integer'],
    ["a NaN price", trade(at(1), 101, "NaN"), 'price p "NaN" is not a positive decimal'],
    ['an "abc" price', trade(at(1), 101, "abc"), 'price p "abc" is not a positive decimal'],
    ['a "1e5" price', trade(at(1), 101, "1e5"), 'price p "1e5" is not a positive decimal'],
    ['a "-1" price', trade(at(1), 101, "-1"), 'price p "-1" is not a positive decimal'],
    ["a zero price", trade(at(1), 101, "0.00000000"), 'price p "0.00000000" is not a positive decimal'],
    [
      "a price as a JSON number",
      trade(at(1), 101).replace('"p":"61837.63000000"', '"p":61837.63'),
      "price p 61837.63 is not a decimal string",
    ],
    ["a negative quantity", trade(at(1), 101, "61837.63", "-0.5"), 'quantity q "-0.5" is negative'],
    ["a trade quantity of 0", trade(at(1), 101, "61837.63", "0.00000000"), "quantity q is 0"],
    ["an unknown stream", trade(at(1), 101).replace("btcusdt@trade", "btcusdt@kline_1m"), 'unknown stream "btcusdt@kline_1m"'],
    ["a missing trade id", trade(at(1), 101).replace('"t":101,', ""), "trade id t missing"],
    [
      "a symbol other than the stream's",
      trade(at(1), 101).replace('"s":"BTCUSDT"', '"s":"ETHUSDT"'),
      'symbol "ETHUSDT" does not match stream',
    ],
    ["a JSON array", `${at(1)} [1,2,3]`, "expected a JSON object"],
    ["invalid JSON", `${at(1)} {"stream":}`, "invalid JSON"],
    ["an object that is no event", `${at(1)} {"hello":"world"}`, "neither a combined-stream event nor a depth snapshot"],
    ["a depth level that is not a pair", depth(at(1), 1, 2, [["61837.63", "1", "x"] as unknown as [string, string]]), "bids b[0]"],
  ])("%s", async (_name, bad, problem) => {
    const path = captureFile([GOOD, bad, trade(at(2), 102)]);
    await expectError(path, ["1 malformed line (first at line 2: ", problem]);
  });

  it("with malformed: skip, leaves the line out and reports it", async () => {
    const path = captureFile([GOOD, trade(at(1), 101, "abc"), trade(at(2), 101), trade(at(3), 102, "-1")]);
    const { tape } = await readMarketData(path, { policy: { ...ALL_FAIL, malformed: "skip" } });
    expect(Array.from(tape.line)).toEqual([1, 3]);
    expect(tape.faults).toEqual([{ kind: "malformed", count: 2, firstLine: 2, first: 'price p "abc" is not a positive decimal' }]);
  });

  it("lists every failing kind in one error, with counts and first lines", async () => {
    const path = captureFile([
      GOOD,
      trade(at(5), 101),
      trade(at(4), 102),
      trade(at(6), 103, "abc"),
      trade(at(3), 104),
      `${at(7)} {"stream"`,
    ]);
    const message = await expectError(path, []);
    expect(message).toBe(
      `${path}: 2 malformed lines (first at line 4: price p "abc" is not a positive decimal); 2 unsorted events (first at line 3: time ${at(4)} ns before ${at(5)} ns)`,
    );
  });
});

describe("hostile files", () => {
  it("an empty file", async () => {
    const path = captureFile([], "empty.txt");
    writeFileSync(path, "");
    await expectError(path, ["empty file"]);
  });

  it("a file of blank lines", async () => {
    const path = captureFile(["", "   ", ""], "BTCUSDT-trades-2024-08-08.csv");
    await expectError(path, ["empty file"]);
  });

  it("a missing file", async () => {
    await expectError(join(tempDir(), "nope.gz"), ["file not found"]);
  });

  it("a zip archive", async () => {
    const path = join(tempDir(), "BTCUSDT-trades-2024-08-08.zip");
    writeFileSync(path, Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(100, 7)]));
    await expectError(path, ["zip archive; unzip it first"]);
  });

  it("binary garbage", async () => {
    const path = join(tempDir(), "garbage.bin");
    writeFileSync(path, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37 + 11) % 256)));
    await expectError(path, [/line \d+: binary data/]);
  });

  it("bytes that are not UTF-8", async () => {
    const path = join(tempDir(), "latin1.txt");
    writeFileSync(path, Buffer.from([0x31, 0x20, 0x7b, 0xff, 0xfe, 0x41, 0x0a]));
    await expectError(path, ["not UTF-8 text"]);
  });

  it("a truncated gzip file", async () => {
    const whole = gzipSync(Buffer.from(`${[GOOD, trade(at(1), 101), trade(at(2), 102)].join("\n")}\n`));
    const path = join(tempDir(), "capture.gz");
    writeFileSync(path, whole.subarray(0, whole.length - 12));
    await expectError(path, ["corrupt or truncated gzip data"]);
  });

  it("a 10 MB line without a newline is malformed, read in bounded time", async () => {
    const path = join(tempDir(), "huge.txt");
    writeFileSync(path, `${at(0)} {"stream":"btcusdt@trade","data":"${"x".repeat(10 * 1024 * 1024)}`);
    const started = performance.now();
    await expectError(path, [/1 malformed line \(first at line 1: line is 1048\d{4} characters long; at most 1048576 expected\)/]);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("a 10 MB CSV line of digits is no CSV layout", async () => {
    const path = join(tempDir(), "BTCUSDT-trades-2024-08-08.csv");
    writeFileSync(path, "1".repeat(10 * 1024 * 1024));
    await expectError(path, ["1 malformed line (first at line 1: line is 10485760 characters long"]);
  });
});

describe("order, duplicates, gaps and crossed books", () => {
  it("an unsorted pair fails by default", async () => {
    const path = captureFile([GOOD, trade(at(10), 101), quote(at(9), 5)]);
    await expectError(path, [`1 unsorted event (first at line 3: time ${at(9)} ns before ${at(10)} ns)`]);
  });

  it("unsorted events left out with skip keep the tape in order", async () => {
    const path = captureFile([GOOD, trade(at(10), 101), trade(at(5), 102), trade(at(11), 103)]);
    const { tape } = await readMarketData(path, { policy: ALL_SKIP });
    expect(Array.from(tape.line)).toEqual([1, 2, 4]);
    expect(tape.faults).toContainEqual({ kind: "unsorted", count: 1, firstLine: 3, first: `time ${at(5)} ns before ${at(10)} ns` });
  });

  it("a duplicate trade id is left out and reported by default", async () => {
    const path = captureFile([GOOD, trade(at(1), 101), trade(at(2), 100, "61900.00"), trade(at(3), 102)]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.id)).toEqual([100, 101, 102]);
    expect(tape.faults).toEqual([{ kind: "duplicate", count: 1, firstLine: 3, first: "BTCUSDT trade id 100 seen before" }]);
  });

  it("a duplicate trade id fails with duplicate: fail", async () => {
    const path = captureFile([GOOD, trade(at(1), 101), trade(at(2), 100, "61900.00")]);
    await expectError(path, ["1 duplicate event (first at line 3: BTCUSDT trade id 100 seen before)"], { policy: ALL_FAIL });
  });

  it("a line identical to the one before is a duplicate", async () => {
    const path = captureFile([GOOD, quote(at(1), 5), quote(at(1), 5), quote(at(2), 5)]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.line)).toEqual([1, 2]);
    expect(tape.faults).toEqual([{ kind: "duplicate", count: 2, firstLine: 3, first: "line identical to line 2" }]);
  });

  it("a late trade id filling a gap is no duplicate", async () => {
    const path = captureFile([GOOD, trade(at(1), 102), trade(at(2), 101), trade(at(3), 101)]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.id)).toEqual([100, 102, 101]);
    expect(tape.faults).toEqual([
      { kind: "duplicate", count: 1, firstLine: 4, first: "BTCUSDT trade id 101 seen before" },
      { kind: "gap", count: 1, firstLine: 2, first: "BTCUSDT trade id 102 after 100" },
    ]);
  });

  it("trade id gaps are counted per jump and the events kept", async () => {
    const path = captureFile([GOOD, trade(at(1), 101), trade(at(2), 105), trade(at(3), 106), trade(at(4), 110)]);
    const { tape } = await readMarketData(path);
    expect(tape.length).toBe(5);
    expect(tape.faults).toEqual([{ kind: "gap", count: 2, firstLine: 3, first: "BTCUSDT trade id 105 after 101" }]);
    await expectError(path, ["2 gaps (first at line 3: BTCUSDT trade id 105 after 101)"], { policy: ALL_FAIL });
  });

  it("a depth update not starting right after the previous one is a gap", async () => {
    const path = captureFile([depth(at(0), 10, 20), depth(at(100), 21, 25), depth(at(200), 27, 30), depth(at(300), 31, 31)]);
    const { tape } = await readMarketData(path);
    expect(tape.length).toBe(4);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "BTCUSDT depth update U 27 after u 25" }]);
    await expectError(path, ["1 gap (first at line 3: BTCUSDT depth update U 27 after u 25)"], { policy: ALL_FAIL });
  });

  it("a depth update with U after u is malformed", async () => {
    const path = captureFile([depth(at(0), 10, 20), depth(at(100), 25, 21)]);
    await expectError(path, ["1 malformed line (first at line 2: first update id U 25 is after last update id u 21)"]);
  });

  it("a quiet time longer than maxGapSeconds is a gap", async () => {
    const path = captureFile([GOOD, trade(at(1), 101), trade(at(3001), 102)]);
    const { tape } = await readMarketData(path, { maxGapSeconds: 2 });
    expect(tape.length).toBe(3);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "no event for 3.000 s (more than 2 s) after line 2" }]);
    expect((await readMarketData(path)).tape.faults).toEqual([]);
  });

  it("a repeated book-ticker update id is a duplicate", async () => {
    const path = captureFile([quote(at(0), 5), quote(at(1), 5, "61837.62"), quote(at(2), 6)]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.id)).toEqual([5, 6]);
    expect(tape.faults).toEqual([{ kind: "duplicate", count: 1, firstLine: 2, first: "BTCUSDT book ticker update id 5 repeated" }]);
  });

  it("a crossed quote is left out and reported, or fails", async () => {
    const path = captureFile([quote(at(0), 5), quote(at(1), 6, "61838.00", "61837.64"), quote(at(2), 7, "0", "61837.64")]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.id)).toEqual([5, 7]);
    expect(tape.faults).toEqual([{ kind: "crossed", count: 1, firstLine: 2, first: "book ticker bid 61838.00 ≥ ask 61837.64" }]);
    await expectError(path, ["1 crossed book (first at line 2: book ticker bid 61838.00 ≥ ask 61837.64)"], { policy: ALL_FAIL });
  });

  it("a crossed snapshot is left out and reported, or fails", async () => {
    const book = snapshot(
      at(1),
      50,
      [
        ["100.5", "1"],
        ["101.5", "2"],
      ],
      [
        ["101.0", "1"],
        ["102.0", "3"],
      ],
    );
    const path = captureFile([quote(at(0), 5), book, quote(at(2), 6)]);
    const { tape } = await readMarketData(path);
    expect(Array.from(tape.kind)).toEqual([EventKind.Quote, EventKind.Quote]);
    expect(tape.faults).toEqual([{ kind: "crossed", count: 1, firstLine: 2, first: "depth snapshot bid 101.5 ≥ ask 101.0" }]);
    await expectError(path, ["1 crossed book (first at line 2: depth snapshot bid 101.5 ≥ ask 101.0)"], { policy: ALL_FAIL });
  });

  it("a snapshot in a file with no symbol anywhere is malformed", async () => {
    const path = captureFile([snapshot(at(0), 50, [["100", "1"]], [["101", "1"]])]);
    await expectError(path, ["1 malformed line (first at line 1: depth snapshot names no symbol"]);
  });

  it("a snapshot before any stream event takes the file's symbol", async () => {
    const path = captureFile([snapshot(at(0), 50, [["100.25", "1"]], [["101", "1.125"]]), quote(at(1), 51, "100.25", "101")]);
    const { tape } = await readMarketData(path);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 5 }]);
    expect(Array.from(tape.kind)).toEqual([EventKind.Snapshot, EventKind.Quote]);
    expect(Array.from(tape.levelPrice)).toEqual([100.25, 101]);
  });
});
