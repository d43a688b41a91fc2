/** The parse cache: hits give the same tape, anything wrong with a cache file means a fresh parse. */
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMarketData } from "../../src/market/read-market.js";
import { tempDir } from "../helpers/temp.js";
import { ALL_SKIP, at, captureFile, depth, expectSameTape, quote, snapshot, trade } from "./capture-lines.js";

/** A small capture with every event kind and a reported fault. */
function sample(): string {
  return captureFile([
    depth(at(0), 10, 20, [["61837.63", "1.5"]], [["61837.64", "0.25"]]),
    snapshot(
      at(5),
      20,
      [
        ["61837.63", "1.5"],
        ["61837.10", "0.001"],
      ],
      [["61837.64", "0.25"]],
    ),
    quote(at(10), 21),
    trade(at(20), 100),
    trade(at(30), 103, "61837.64", "0.5", false),
    depth(at(100), 21, 25),
  ]);
}

function cacheFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith(".tape"));
}

describe("the parse cache", () => {
  it("parses the first time, reads the cache the second, and the tapes are identical", async () => {
    const cacheDir = tempDir("market-cache-");
    const path = sample();
    const first = await readMarketData(path, { cacheDir });
    expect(first.cached).toEqual([false]);
    expect(first.tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 5, first: "BTCUSDT trade id 103 after 100" }]);
    expect(cacheFiles(cacheDir)).toHaveLength(1);
    expect(readdirSync(cacheDir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    const second = await readMarketData(path, { cacheDir });
    expect(second.cached).toEqual([true]);
    expectSameTape(second.tape, first.tape);
    expect(second.tape).toEqual(first.tape);
    for (const column of [second.tape.t, second.tape.levelPrice, second.tape.line, second.tape.symbol]) {
      expect(column.byteOffset % column.BYTES_PER_ELEMENT).toBe(0);
      expect(column.buffer.byteLength).toBe(column.byteLength);
    }
  });

  it("says per file whether it came from the cache", async () => {
    const cacheDir = tempDir("market-cache-");
    const a = sample();
    const b = captureFile([trade(at(1), 7), trade(at(2), 8)]);
    await readMarketData(a, { cacheDir });
    const both = await readMarketData([a, b], { cacheDir });
    expect(both.cached).toEqual([true, false]);
    expect((await readMarketData([a, b], { cacheDir })).cached).toEqual([true, true]);
  });

  it("names the file it is asked for, not the one the cache was written for", async () => {
    const cacheDir = tempDir("market-cache-");
    const a = sample();
    const copy = join(tempDir(), "capture.txt");
    writeFileSync(copy, readFileSync(a));
    await readMarketData(a, { cacheDir });
    const { tape, cached } = await readMarketData(copy, { cacheDir });
    expect(cached).toEqual([true]);
    expect(tape.source).toBe(copy);
  });

  it.each([
    ["truncated to half", (file: string) => truncateSync(file, Math.floor(readFileSync(file).length / 2))],
    ["truncated by one byte", (file: string) => truncateSync(file, readFileSync(file).length - 1)],
    ["emptied", (file: string) => truncateSync(file, 0)],
    [
      "with a flipped byte in the arrays",
      (file: string) => {
        const bytes = readFileSync(file);
        bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 0xff;
        writeFileSync(file, bytes);
      },
    ],
    [
      "with flipped bytes in the header",
      (file: string) => {
        const bytes = readFileSync(file);
        for (let i = 14; i < 60; i += 3) bytes[i] = (bytes[i] as number) ^ 0x55;
        writeFileSync(file, bytes);
      },
    ],
    [
      "with a lying header length",
      (file: string) => {
        const bytes = readFileSync(file);
        bytes.writeUInt32LE(0xffffff, 8);
        writeFileSync(file, bytes);
      },
    ],
    ["replaced by a foreign file", (file: string) => writeFileSync(file, "this is not a tape\n")],
    ["replaced by JSON", (file: string) => writeFileSync(file, JSON.stringify({ length: 5 }))],
  ])("rebuilds a cache file %s", async (_name, damage) => {
    const cacheDir = tempDir("market-cache-");
    const path = sample();
    const first = await readMarketData(path, { cacheDir });
    const [name] = cacheFiles(cacheDir);
    damage(join(cacheDir, name as string));
    const again = await readMarketData(path, { cacheDir });
    expect(again.cached).toEqual([false]);
    expectSameTape(again.tape, first.tape);
    const third = await readMarketData(path, { cacheDir });
    expect(third.cached).toEqual([true]);
    expectSameTape(third.tape, first.tape);
  });

  it("keys on every option that changes the tape", async () => {
    const cacheDir = tempDir("market-cache-");
    const path = sample();
    expect((await readMarketData(path, { cacheDir })).cached).toEqual([false]);
    expect((await readMarketData(path, { cacheDir, policy: ALL_SKIP })).cached).toEqual([false]);
    expect((await readMarketData(path, { cacheDir, maxGapSeconds: 0.05 })).cached).toEqual([false]);
    expect((await readMarketData(path, { cacheDir, format: "binance-capture" })).cached).toEqual([false]);
    expect(cacheFiles(cacheDir)).toHaveLength(4);
    const gaps = await readMarketData(path, { cacheDir, maxGapSeconds: 0.05 });
    expect(gaps.cached).toEqual([true]);
    expect(gaps.tape.faults).toEqual([{ kind: "gap", count: 2, firstLine: 5, first: "BTCUSDT trade id 103 after 100" }]);
  });

  it("keys on the file bytes", async () => {
    const cacheDir = tempDir("market-cache-");
    const path = captureFile([trade(at(1), 7), trade(at(2), 8)]);
    await readMarketData(path, { cacheDir });
    writeFileSync(path, `${[trade(at(1), 7), trade(at(2), 9)].join("\n")}\n`);
    const { tape, cached } = await readMarketData(path, { cacheDir });
    expect(cached).toEqual([false]);
    expect(Array.from(tape.id)).toEqual([7, 9]);
  });

  it("caches nothing that failed, and nothing without a cacheDir", async () => {
    const cacheDir = tempDir("market-cache-");
    const path = captureFile([trade(at(2), 7), trade(at(1), 8)]);
    await expect(readMarketData(path, { cacheDir })).rejects.toThrow("1 unsorted event");
    expect(readdirSync(cacheDir)).toEqual([]);
    expect((await readMarketData(sample())).cached).toEqual([false]);
  });

  it("reads on when the cache cannot be written", async () => {
    const notADir = join(tempDir(), "file");
    writeFileSync(notADir, "x");
    const { cached, tape } = await readMarketData(sample(), { cacheDir: notADir });
    expect(cached).toEqual([false]);
    expect(tape.length).toBe(6);
  });
});
