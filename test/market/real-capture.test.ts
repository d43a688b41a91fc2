/**
 * The capture reader on the two real Binance BTCUSDT capture files. Expected
 * counts are those of the data README, checked against `zcat | grep -c` of
 * each stream; first and last values are copied from `zcat | head/tail`.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readMarketData } from "../../src/market/read-market.js";
import { EventKind, type MarketTape, Side } from "../../src/market/types.js";
import { MARKET_CAPTURE_DIR } from "../helpers/market-data.js";
import { tempDir } from "../helpers/temp.js";
import { expectSameTape } from "./capture-lines.js";

const DAY1 = join(MARKET_CAPTURE_DIR, "btcusdt_20240808.gz");
const DAY2 = join(MARKET_CAPTURE_DIR, "btcusdt_20240809.gz");

function countKinds(tape: MarketTape): Record<string, number> {
  const counts = { trade: 0, quote: 0, depth: 0, snapshot: 0 };
  const names = {
    [EventKind.Trade]: "trade",
    [EventKind.Quote]: "quote",
    [EventKind.Depth]: "depth",
    [EventKind.Snapshot]: "snapshot",
  } as const;
  for (const kind of tape.kind) counts[names[kind as EventKind]]++;
  return counts;
}

/** Absolute receive time of event `i` in ns. */
function ns(tape: MarketTape, i: number): bigint {
  return tape.baseNs + BigInt(tape.t[i] as number);
}

/** Index of the first event of `kind`. */
function firstOf(tape: MarketTape, kind: EventKind): number {
  return tape.kind.indexOf(kind);
}

describe("the real Binance BTCUSDT capture", () => {
  it("reads day 1: 41,249 lines, every event kept, no faults", async () => {
    const { tape, cached } = await readMarketData(DAY1);
    expect(cached).toEqual([false]);
    expect(countKinds(tape)).toEqual({ trade: 9757, quote: 28040, depth: 3451, snapshot: 1 });
    expect(tape.length).toBe(41249);
    expect(tape.faults).toEqual([]);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 6 }]);
    expect(tape.baseNs).toBe(1723161253000000000n);

    // line 1: the first depth update
    expect([tape.kind[0], tape.line[0], ns(tape, 0), tape.id2[0], tape.id[0], tape.levelCount[0]]).toEqual([
      EventKind.Depth,
      1,
      1723161253937085768n,
      50093239189,
      50093239202,
      12,
    ]);
    expect([tape.levelPrice[0], tape.levelQty[0], tape.levelSide[0]]).toEqual([61737.63, 0, Side.Buy]);
    expect([tape.levelPrice[3], tape.levelQty[3], tape.levelSide[3]]).toEqual([61837.64, 1.54698, Side.Sell]);

    // line 4: the first trade, buyer is maker → aggressor sold
    const t = firstOf(tape, EventKind.Trade);
    expect([tape.line[t], tape.id[t], tape.price[t], tape.qty[t], tape.side[t], ns(tape, t)]).toEqual([
      4,
      3735683259,
      61837.63,
      0.02,
      Side.Sell,
      1723161254087896568n,
    ]);

    // line 3: the first book ticker
    const q = firstOf(tape, EventKind.Quote);
    expect([tape.line[q], tape.id[q], tape.price[q], tape.qty[q], tape.price2[q], tape.qty2[q]]).toEqual([
      3, 50093239212, 61837.63, 3.78826, 61837.64, 1.54698,
    ]);

    // line 8: the REST snapshot, 1,000 levels a side, named after the file's stream
    const s = firstOf(tape, EventKind.Snapshot);
    expect([tape.line[s], tape.id[s], tape.levelCount[s], tape.symbol[s]]).toEqual([8, 50093239218, 2000, 0]);
    const start = tape.levelStart[s] as number;
    expect([tape.levelPrice[start], tape.levelQty[start], tape.levelSide[start]]).toEqual([61837.63, 3.78826, Side.Buy]);
    expect([tape.levelPrice[start + 1000], tape.levelQty[start + 1000], tape.levelSide[start + 1000]]).toEqual([
      61837.64,
      1.54698,
      Side.Sell,
    ]);

    // line 41,249: the last book ticker; the last trade, id 3735693015, ends 9,757 consecutive ids
    const last = tape.length - 1;
    expect([
      tape.kind[last],
      tape.line[last],
      ns(tape, last),
      tape.id[last],
      tape.price[last],
      tape.qty[last],
      tape.price2[last],
      tape.qty2[last],
    ]).toEqual([EventKind.Quote, 41249, 1723161599999231384n, 50093421612, 61685.99, 1.25869, 61686, 2.44807]);
    const lastTrade = tape.kind.lastIndexOf(EventKind.Trade);
    expect([tape.line[lastTrade], tape.id[lastTrade], tape.qty[lastTrade]]).toEqual([41247, 3735693015, 0.0014]);
    expect(3735693015 - 3735683259 + 1).toBe(9757);
  });

  it("reads day 2: 58,325 lines, no snapshot, no faults", async () => {
    const { tape } = await readMarketData(DAY2);
    expect(countKinds(tape)).toEqual({ trade: 10147, quote: 45134, depth: 3044, snapshot: 0 });
    expect(tape.faults).toEqual([]);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 6 }]);
    expect(tape.baseNs).toBe(1723161600000000000n);
    expect([tape.kind[0], ns(tape, 0), tape.id2[0], tape.id[0], tape.levelCount[0]]).toEqual([
      EventKind.Depth,
      1723161600001658384n,
      50093421585,
      50093421612,
      19,
    ]);
    const t = firstOf(tape, EventKind.Trade);
    expect([tape.line[t], tape.id[t], tape.price[t], tape.qty[t], tape.side[t]]).toEqual([7, 3735693016, 61685.99, 0.00017, Side.Sell]);
    const lastTrade = tape.kind.lastIndexOf(EventKind.Trade);
    expect([tape.line[lastTrade], tape.id[lastTrade], tape.price[lastTrade], tape.qty[lastTrade], tape.side[lastTrade]]).toEqual([
      58324,
      3735703162,
      61602.02,
      0.00536,
      Side.Buy,
    ]);
    const last = tape.length - 1;
    expect([tape.kind[last], tape.line[last], ns(tape, last), tape.id2[last], tape.id[last], tape.levelCount[last]]).toEqual([
      EventKind.Depth,
      58325,
      1723161904535092233n,
      50093696292,
      50093696318,
      22,
    ]);
  });

  it("merges the two days in time order on day 1's base, trade ids running on", async () => {
    const { tape, cached } = await readMarketData([DAY2, DAY1]);
    expect(cached).toEqual([false, false]);
    expect(tape.length).toBe(41249 + 58325);
    expect(tape.baseNs).toBe(1723161253000000000n);
    expect(countKinds(tape)).toEqual({ trade: 19904, quote: 73174, depth: 6495, snapshot: 1 });
    for (let i = 1; i < tape.length; i++)
      if ((tape.t[i] as number) < (tape.t[i - 1] as number)) expect.fail(`event ${i} before event ${i - 1}`);
    // day 1 entirely precedes day 2
    expect([tape.line[41248], ns(tape, 41248)]).toEqual([41249, 1723161599999231384n]);
    expect([tape.line[41249], ns(tape, 41249)]).toEqual([1, 1723161600001658384n]);
    const ids = tape.id.filter((_, i) => tape.kind[i] === EventKind.Trade);
    expect(ids.every((id, i) => i === 0 || id === (ids[i - 1] as number) + 1)).toBe(true);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "spot", priceDecimals: 2, qtyDecimals: 6 }]);
    expect(tape.faults).toEqual([]);
  });

  it("reads the second time from the parse cache, the same tape", async () => {
    const cacheDir = tempDir("market-cache-");
    const first = await readMarketData([DAY1, DAY2], { cacheDir });
    const second = await readMarketData([DAY1, DAY2], { cacheDir });
    expect(first.cached).toEqual([false, false]);
    expect(second.cached).toEqual([true, true]);
    expectSameTape(second.tape, first.tape);
  });
});
