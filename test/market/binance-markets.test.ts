/**
 * Binance spot, USD-M and COIN-M captures: the market told by each file's
 * messages (or `[paper] market`), each market's depth continuity rule and
 * snapshot alignment, the messages read or left out on purpose, and hostile
 * lines per market. Every fixture line follows the documented payloads
 * (capture-lines.ts cites the pages); the rules are those of
 * https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly
 * and https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly
 * (COIN-M: the page of the same name under coin-margined-futures).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ReadMarketOptions, readMarketData } from "../../src/market/read-market.js";
import { BookSync, EventKind, MarketDataError, type MarketTape, Side } from "../../src/market/types.js";
import { Exchange } from "../../src/paper/exchange.js";
import type { ExchangeReport } from "../../src/paper/orders.js";
import { MARKET_CAPTURE_DIR } from "../helpers/market-data.js";
import { tempDir } from "../helpers/temp.js";
import {
  ALL_FAIL,
  at,
  captureFile,
  coinmSnapshot,
  depth,
  expectSameTape,
  futuresAggTrade,
  futuresDepth,
  futuresPartialDepth,
  futuresQuote,
  futuresSnapshot,
  futuresTrade,
  markPrice,
  quote,
  snapshot,
  spotAggTrade,
  spotPartialDepth,
  trade,
} from "./capture-lines.js";

async function read(lines: readonly string[], options: ReadMarketOptions = {}): Promise<MarketTape> {
  return (await readMarketData(captureFile(lines), options)).tape;
}

/** Reads `lines` expecting a MarketDataError naming the file; returns its message. */
async function readError(lines: readonly string[], options: ReadMarketOptions = {}): Promise<string> {
  const path = captureFile(lines);
  const error = await readMarketData(path, options).then(
    () => expect.fail("expected a MarketDataError"),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketDataError);
  const message = (error as Error).message;
  expect(message.startsWith(`${path}: `)).toBe(true);
  return message.slice(path.length + 2);
}

/** The BookSync flag of each Depth and Snapshot event, by line. */
function syncByLine(tape: MarketTape): Record<number, string> {
  const out: Record<number, string> = {};
  for (let i = 0; i < tape.length; i++)
    if (tape.kind[i] === EventKind.Depth || tape.kind[i] === EventKind.Snapshot)
      out[tape.line[i] as number] = tape.side[i] === BookSync.Broken ? "broken" : "in step";
  return out;
}

/** Replays the whole tape through the simulated exchange, then takes `qty` with a market buy: the [price, qty] fills. */
function marketBuy(tape: MarketTape, qty: number): [number, number][] {
  const exchange = new Exchange(tape, { makerFeeBps: 0, takerFeeBps: 0 });
  const out: ExchangeReport[] = [];
  for (let i = 0; i < tape.length; i++) exchange.onMarket(i, out);
  exchange.submit({ clientId: "x", symbol: 0, side: Side.Buy, type: "market", qty }, (tape.t[tape.length - 1] as number) + 1, out);
  return out.flatMap((r) => (r.type === "fill" ? [[r.price, r.qty] as [number, number]] : []));
}

describe("USD-M futures depth: each update's pu is the previous update's u", () => {
  it("a contiguous stream has zero gap faults, however far U jumps past the previous u", async () => {
    const tape = await read([
      futuresDepth(at(0), 100, 110, 95),
      futuresDepth(at(1), 118, 130, 110),
      futuresDepth(at(2), 131, 131, 130),
      futuresDepth(at(3), 140, 152, 131),
      futuresQuote(at(4), 153),
      futuresTrade(at(5), 7001),
    ]);
    expect(tape.faults).toEqual([]);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSDT", venue: "binance", market: "usdm", priceDecimals: 1, qtyDecimals: 3 }]);
    expect(Array.from(tape.kind)).toEqual([
      EventKind.Depth,
      EventKind.Depth,
      EventKind.Depth,
      EventKind.Depth,
      EventKind.Quote,
      EventKind.Trade,
    ]);
    expect(Array.from(tape.id2.subarray(0, 4))).toEqual([100, 118, 131, 140]);
    expect(Array.from(tape.id.subarray(0, 4))).toEqual([110, 130, 131, 152]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "in step", 3: "in step", 4: "in step" });
    // The spot rule (U = previous u + 1) would have counted lines 2 and 4 as gaps.
  });

  it("a broken pu link is exactly one gap fault, at its line, and breaks the book there", async () => {
    const lines = [
      futuresDepth(at(0), 100, 110, 95),
      futuresDepth(at(1), 118, 130, 110),
      futuresDepth(at(2), 140, 150, 125),
      futuresDepth(at(3), 151, 160, 150),
      futuresDepth(at(4), 161, 170, 160),
    ];
    const tape = await read(lines);
    expect(tape.length).toBe(5);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "BTCUSDT depth update pu 125 ≠ previous u 130" }]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "in step", 3: "broken", 4: "in step", 5: "in step" });
    expect(await readError(lines, { policy: ALL_FAIL })).toBe("1 gap (first at line 3: BTCUSDT depth update pu 125 ≠ previous u 130)");
  });

  it("reads depth@0ms, @100ms, @250ms, @500ms and plain @depth alike", async () => {
    const tape = await read([
      futuresDepth(at(0), 100, 110, 95, undefined, undefined, "BTCUSDT", "0ms"),
      futuresDepth(at(1), 111, 120, 110, undefined, undefined, "BTCUSDT", "100ms"),
      futuresDepth(at(2), 121, 130, 120, undefined, undefined, "BTCUSDT", "250ms"),
      futuresDepth(at(3), 131, 140, 130, undefined, undefined, "BTCUSDT", "500ms"),
      futuresDepth(at(4), 141, 150, 140).replace("btcusdt@depth@0ms", "btcusdt@depth"),
    ]);
    expect(tape.faults).toEqual([]);
    expect(tape.length).toBe(5);
  });
});

describe("futures snapshot alignment: drop u < lastUpdateId, first applied U ≤ lastUpdateId ≤ u", () => {
  const book = {
    bids: [["61830.00", "1.000"]],
    asks: [
      ["61840.00", "1.000"],
      ["61841.00", "2.000"],
      ["61842.00", "3.000"],
    ],
  } as const;

  it("a snapshot received after the update that bridges it: the older update stays out of the book, the bridging and later ones go in", async () => {
    const tape = await read([
      // u 110 < 112: older than the snapshot.
      futuresDepth(at(0), 100, 110, 95, [], [["61840.00", "4.000"]]),
      // 111 ≤ 112 ≤ 115: the first update applied, received before the snapshot.
      futuresDepth(at(1), 111, 115, 110, [], [["61841.00", "7.000"]]),
      futuresSnapshot(at(2), 112, book.bids, book.asks),
      futuresDepth(at(3), 116, 120, 115, [], [["61842.00", "0"]]),
    ]);
    expect(tape.faults).toEqual([]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "in step", 3: "in step", 4: "in step" });
    // The snapshot's 1 at 61840 (not line 1's 4), line 2's 7 at 61841, 61842 removed by line 4.
    expect(marketBuy(tape, 20)).toEqual([
      [61840, 1],
      [61841, 7],
    ]);
  });

  it("a snapshot newer than every update so far is bridged by the first update reaching it; older ones in between are dropped", async () => {
    const tape = await read([
      futuresDepth(at(0), 100, 110, 95),
      futuresSnapshot(at(1), 120, book.bids, book.asks),
      futuresDepth(at(2), 111, 118, 110, [], [["61840.00", "9.000"]]),
      futuresDepth(at(3), 119, 125, 118, [], [["61841.00", "0.500"]]),
    ]);
    expect(tape.faults).toEqual([]);
    expect(marketBuy(tape, 4)).toEqual([
      [61840, 1],
      [61841, 0.5],
      [61842, 2.5],
    ]);
  });

  it("an update whose pu is the snapshot's lastUpdateId follows it, though its U is past it", async () => {
    const tape = await read([futuresSnapshot(at(0), 110, book.bids, book.asks), futuresDepth(at(1), 114, 120, 110)]);
    expect(tape.faults).toEqual([]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "in step" });
  });

  it("a snapshot the first update skips past is one gap fault naming the snapshot, and its book is not used", async () => {
    const tape = await read([
      futuresSnapshot(at(0), 100, book.bids, book.asks),
      futuresDepth(at(1), 105, 110, 103),
      futuresDepth(at(2), 111, 120, 110),
    ]);
    expect(tape.faults).toEqual([
      {
        kind: "gap",
        count: 1,
        firstLine: 2,
        first: "BTCUSDT depth snapshot of line 1 (lastUpdateId 100) not bridged: the next update starts after it (pu 103)",
      },
    ]);
    expect(syncByLine(tape)).toEqual({ 1: "broken", 2: "in step", 3: "in step" });
    expect(marketBuy(tape, 1)).toEqual([]);
  });

  it("a snapshot older than the updates around it is one gap fault", async () => {
    const tape = await read([
      futuresDepth(at(0), 100, 110, 95),
      futuresDepth(at(1), 111, 120, 110),
      futuresSnapshot(at(2), 90, book.bids, book.asks),
    ]);
    expect(tape.faults).toEqual([
      {
        kind: "gap",
        count: 1,
        firstLine: 3,
        first:
          "BTCUSDT depth snapshot lastUpdateId 90 is older than the updates received (they follow u 95): the updates between are missing",
      },
    ]);
    expect(syncByLine(tape)[3]).toBe("broken");
  });

  it("a broken pu link while a snapshot waits is one gap, and neither the snapshot nor the update is trusted", async () => {
    const tape = await read([
      futuresDepth(at(0), 100, 110, 95),
      futuresSnapshot(at(1), 115, book.bids, book.asks),
      futuresDepth(at(2), 120, 130, 118),
    ]);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "BTCUSDT depth update pu 118 ≠ previous u 110" }]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "broken", 3: "broken" });
  });

  it("a gap in the updates drops the L2 book until the next snapshot bridged by the updates after the gap", async () => {
    const tape = await read([
      futuresSnapshot(at(0), 110, book.bids, book.asks),
      futuresDepth(at(1), 111, 120, 110),
      futuresDepth(at(2), 130, 140, 125, [], [["61840.00", "5.000"]]),
      futuresDepth(at(3), 141, 150, 140),
    ]);
    expect(tape.faults.map((f) => [f.kind, f.count, f.firstLine])).toEqual([["gap", 1, 3]]);
    expect(marketBuy(tape, 1)).toEqual([]);
    const resynced = await read([
      futuresSnapshot(at(0), 110, book.bids, book.asks),
      futuresDepth(at(1), 111, 120, 110),
      futuresDepth(at(2), 130, 140, 125, [], [["61840.00", "5.000"]]),
      futuresDepth(at(3), 141, 150, 140, [], [["61841.00", "0"]]),
      futuresSnapshot(
        at(4),
        145,
        [["61830.00", "1.000"]],
        [
          ["61840.00", "2.000"],
          ["61841.00", "3.000"],
        ],
      ),
    ]);
    expect(resynced.faults.map((f) => [f.kind, f.count, f.firstLine])).toEqual([["gap", 1, 3]]);
    expect(syncByLine(resynced)[5]).toBe("in step");
    // The new snapshot, then line 4 (u 150 > 145, received before it) re-applied: 61841 removed.
    expect(marketBuy(resynced, 4)).toEqual([[61840, 2]]);
  });
});

describe("spot depth (behaviour unchanged): U = previous u + 1, first applied U ≤ lastUpdateId + 1 ≤ u", () => {
  const bids = [["61830.00000000", "1.00000000"]] as const;
  const asks = [
    ["61840.00000000", "1.00000000"],
    ["61841.00000000", "2.00000000"],
  ] as const;

  it("a snapshot received after the update that bridges it: the older update stays out, the bridging one goes in", async () => {
    const tape = await read([
      depth(at(0), 100, 110, [], [["61840.00000000", "4.00000000"]]),
      depth(at(1), 111, 115, [], [["61841.00000000", "7.00000000"]]),
      snapshot(at(2), 112, bids, asks),
      depth(at(3), 116, 120, [], []),
    ]);
    expect(tape.faults).toEqual([]);
    expect(tape.symbols[0]?.market).toBe("spot");
    expect(marketBuy(tape, 20)).toEqual([
      [61840, 1],
      [61841, 7],
    ]);
  });

  it("updates up to the snapshot's lastUpdateId are dropped; the one starting right after it bridges it", async () => {
    const tape = await read([
      depth(at(0), 100, 110),
      snapshot(at(1), 118, bids, asks),
      depth(at(2), 111, 118, [], [["61840.00000000", "9.00000000"]]),
      depth(at(3), 119, 125, [], [["61841.00000000", "0.50000000"]]),
    ]);
    expect(tape.faults).toEqual([]);
    expect(marketBuy(tape, 2)).toEqual([
      [61840, 1],
      [61841, 0.5],
    ]);
  });

  it("a snapshot the first update skips past is one gap fault naming the snapshot", async () => {
    const tape = await read([snapshot(at(0), 100, bids, asks), depth(at(1), 105, 110)]);
    expect(tape.faults).toEqual([
      {
        kind: "gap",
        count: 1,
        firstLine: 2,
        first: "BTCUSDT depth snapshot of line 1 (lastUpdateId 100) not bridged: the next update starts after it (U 105)",
      },
    ]);
    expect(syncByLine(tape)).toEqual({ 1: "broken", 2: "in step" });
  });

  it("a snapshot older than the updates around it is one gap fault", async () => {
    const tape = await read([depth(at(0), 100, 110), snapshot(at(1), 90, bids, asks)]);
    expect(tape.faults.map((f) => [f.kind, f.count, f.firstLine, f.first])).toEqual([
      [
        "gap",
        1,
        2,
        "BTCUSDT depth snapshot lastUpdateId 90 is older than the updates received (they follow u 99): the updates between are missing",
      ],
    ]);
  });

  it("a gap before a snapshot that the same update bridges is counted, and the book built from the snapshot stands", async () => {
    const tape = await read([
      depth(at(0), 100, 110),
      snapshot(at(1), 115, bids, asks),
      depth(at(2), 113, 120, [], [["61841.00000000", "0"]]),
    ]);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "BTCUSDT depth update U 113 after u 110" }]);
    expect(syncByLine(tape)).toEqual({ 1: "in step", 2: "in step", 3: "in step" });
    expect(marketBuy(tape, 5)).toEqual([[61840, 1]]);
  });

  it("the real capture: no gap, and the update received before the snapshot that bridges it (line 6) is in the book", async () => {
    const { tape } = await readMarketData(join(MARKET_CAPTURE_DIR, "btcusdt_20240808.gz"));
    expect(tape.faults).toEqual([]);
    const flags = Object.values(syncByLine(tape));
    expect(flags.length).toBe(3451 + 1);
    expect(flags.every((f) => f === "in step")).toBe(true);
    // Line 6 (U 50093239208, u 50093239224) is newer than the snapshot of line 8 (lastUpdateId
    // 50093239218), received before it: it adds ask 61860.34 and removes asks 61862.50 and 61865.86,
    // which the snapshot lacks and still holds. Taking every ask after the snapshot shows line 6 applied.
    const snapshotRow = tape.kind.indexOf(EventKind.Snapshot);
    const start = tape.levelStart[snapshotRow] as number;
    const levels = Array.from({ length: tape.levelCount[snapshotRow] as number }, (_, j) => tape.levelPrice[start + j]);
    expect(levels).not.toContain(61860.34);
    expect(levels).toEqual(expect.arrayContaining([61862.5, 61865.86]));
    const exchange = new Exchange(tape, { makerFeeBps: 0, takerFeeBps: 0 });
    const out: ExchangeReport[] = [];
    for (let i = 0; i <= snapshotRow; i++) exchange.onMarket(i, out);
    exchange.submit({ clientId: "x", symbol: 0, side: Side.Buy, type: "market", qty: 1e6 }, tape.t[snapshotRow] as number, out);
    const prices = out.flatMap((r) => (r.type === "fill" ? [r.price] : []));
    expect(prices).toContain(61860.34);
    expect(prices).not.toContain(61862.5);
    expect(prices).not.toContain(61865.86);
  });
});

describe("messages read, and messages left out on purpose (counted)", () => {
  it("futures: markPrice, partial books and aggTrades beside the trades are counted, not replayed", async () => {
    const tape = await read([
      futuresTrade(at(0), 7001),
      futuresAggTrade(at(1), 900),
      markPrice(at(2)),
      futuresPartialDepth(at(3), 120),
      futuresDepth(at(4), 100, 110, 95),
      markPrice(at(5)),
    ]);
    expect(Array.from(tape.kind)).toEqual([EventKind.Trade, EventKind.Depth]);
    expect(tape.ignored).toEqual([
      { kind: "aggTrade", count: 1, firstLine: 2, reason: "the file has the same symbol's @trade stream, which the aggregates repeat" },
      { kind: "markPrice", count: 2, firstLine: 3, reason: "mark price and funding are not simulated" },
      { kind: "partialDepth", count: 1, firstLine: 4, reason: "a top-N book, not updates to the full book the depth stream keeps" },
    ]);
    expect(tape.faults).toEqual([]);
  });

  it('futures trade records with X "NA" (price and quantity 0, no execution) are counted, not replayed, and keep the trade ids whole', async () => {
    const marker = futuresTrade(at(1), 7002, "0", "0").replace('"X":"MARKET"', '"X":"NA"');
    const tape = await read([futuresTrade(at(0), 7001), marker, futuresTrade(at(2), 7003)]);
    expect(Array.from(tape.id)).toEqual([7001, 7003]);
    expect(tape.faults).toEqual([]);
    expect(tape.ignored).toEqual([
      { kind: "tradeMarker", count: 1, firstLine: 2, reason: 'futures trade records that are no execution (X "NA", price and quantity 0)' },
    ]);
    const repeated = await read([futuresTrade(at(0), 7001), marker, marker.replace(`${at(1)}`, `${at(2)}`)]);
    expect(repeated.faults).toEqual([{ kind: "duplicate", count: 1, firstLine: 3, first: "BTCUSDT trade id 7002 seen before" }]);
  });

  it("futures aggTrades are the trades when the file has no @trade stream: aggregate ids, aggressor from m, id gaps counted", async () => {
    const tape = await read([
      futuresAggTrade(at(0), 900, "61837.60", "0.020", true),
      futuresAggTrade(at(1), 901, "61837.70", "0.150", false),
      futuresAggTrade(at(2), 905, "61837.70", "0.001", false),
    ]);
    expect(tape.symbols[0]?.market).toBe("usdm");
    expect(Array.from(tape.kind)).toEqual([EventKind.Trade, EventKind.Trade, EventKind.Trade]);
    expect(Array.from(tape.id)).toEqual([900, 901, 905]);
    expect(Array.from(tape.side)).toEqual([Side.Sell, Side.Buy, Side.Buy]);
    expect(Array.from(tape.qty)).toEqual([0.02, 0.15, 0.001]);
    expect(tape.faults).toEqual([{ kind: "gap", count: 1, firstLine: 3, first: "BTCUSDT trade id 905 after 901" }]);
    expect(tape.ignored).toEqual([]);
  });

  it("spot: aggTrades beside the trades and partial books (which name no symbol) are counted", async () => {
    const tape = await read([trade(at(0), 100), spotAggTrade(at(1), 50), spotPartialDepth(at(2), 160), quote(at(3), 7)]);
    expect(Array.from(tape.kind)).toEqual([EventKind.Trade, EventKind.Quote]);
    expect(tape.ignored.map((i) => [i.kind, i.count, i.firstLine])).toEqual([
      ["aggTrade", 1, 2],
      ["partialDepth", 1, 3],
    ]);
    expect(tape.symbols[0]?.market).toBe("spot");
  });

  it("the parse cache keeps the market and the ignored counts", async () => {
    const path = captureFile([futuresTrade(at(0), 7001), markPrice(at(1)), futuresDepth(at(2), 100, 110, 95)]);
    const cacheDir = tempDir("market-cache-");
    const first = await readMarketData(path, { cacheDir });
    const second = await readMarketData(path, { cacheDir });
    expect([first.cached, second.cached]).toEqual([[false], [true]]);
    expectSameTape(second.tape, first.tape);
    expect(second.tape.ignored).toEqual(first.tape.ignored);
    expect(second.tape.symbols[0]?.market).toBe("usdm");
  });
});

describe("the market: told by the messages or set, never guessed", () => {
  it("COIN-M: symbols PAIR_PERP, the pair on updates and the snapshot's symbol and pair", async () => {
    const tape = await read([
      coinmSnapshot(at(0), 100, [["9638.0", "431"]], [["9638.2", "12"]]),
      futuresDepth(at(1), 101, 105, 100, [["9638.0", "430"]], [], "BTCUSD_PERP", "100ms"),
      futuresQuote(at(2), 106, "9638.0", "9638.2", "BTCUSD_PERP"),
    ]);
    expect(tape.faults).toEqual([]);
    expect(tape.symbols).toEqual([{ symbol: "BTCUSD_PERP", venue: "binance", market: "coinm", priceDecimals: 1, qtyDecimals: 3 }]);
    expect(Array.from(tape.kind)).toEqual([EventKind.Snapshot, EventKind.Depth, EventKind.Quote]);
  });

  it("a delivery contract both futures markets name alike needs a COIN-M snapshot or [paper] market", async () => {
    const lines = [futuresDepth(at(0), 100, 110, 95, undefined, undefined, "BTCUSD_250627", "100ms")];
    expect(await readError(lines)).toBe(
      'line 1 (symbol BTCUSD_250627): cannot tell USD-M from COIN-M futures (a delivery contract name both use, and no COIN-M depth snapshot says); set [paper] market = "usdm" or "coinm"',
    );
    expect((await read(lines, { market: "coinm" })).symbols[0]?.market).toBe("coinm");
    expect((await read(lines, { market: "usdm" })).symbols[0]?.market).toBe("usdm");
    const withSnapshot = await read([...lines, coinmSnapshot(at(1), 110, [["9638.0", "1"]], [["9639.0", "1"]], "BTCUSD_250627")]);
    expect(withSnapshot.symbols[0]?.market).toBe("coinm");
  });

  it("data that tells neither spot nor futures is refused, naming the file and line, unless [paper] market says", async () => {
    const bare = [trade(at(0), 100).replace(',"M":true', ""), trade(at(1), 101).replace(',"M":true', "")];
    expect(await readError(bare)).toBe(
      'line 1 (a trade) and no later line tells Binance spot from futures data; set [paper] market = "spot", "usdm" or "coinm"',
    );
    expect((await read(bare, { market: "spot" })).symbols[0]?.market).toBe("spot");
    expect((await read(bare, { market: "usdm" })).symbols[0]?.market).toBe("usdm");
  });

  it("a spot and a USD-M capture of the same symbol are not merged into one book", async () => {
    const spot = captureFile([trade(at(0), 100), quote(at(1), 5)], "btcusdt-spot.txt");
    const usdm = captureFile([futuresTrade(at(2), 7001), futuresQuote(at(3), 9)], "btcusdt-usdm.txt");
    const error = await readMarketData([spot, usdm]).then(
      () => expect.fail("expected a MarketDataError"),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(MarketDataError);
    expect(error.message).toBe(
      `BTCUSDT is Binance spot in ${spot} and Binance USD-M futures in ${usdm}: the engine protocol names instruments by symbol alone, so one replay cannot hold both; replay each market's data on its own`,
    );
  });

  it("USD-M and COIN-M instruments in one file are refused", async () => {
    expect(await readError([futuresTrade(at(0), 1), futuresTrade(at(1), 2, "9638.0", "1", true, "BTCUSD_PERP")])).toBe(
      "line 2 (symbol BTCUSD_PERP) is Binance COIN-M futures data, but line 1 (symbol BTCUSDT) is Binance USD-M futures: one file holds one market",
    );
  });

  it("a setting the data contradicts is refused", async () => {
    expect(await readError([futuresTrade(at(0), 1, "9638.0", "1", true, "BTCUSD_PERP")], { market: "usdm" })).toBe(
      'line 1 (symbol BTCUSD_PERP) is Binance COIN-M futures data, but [paper] market = "usdm"',
    );
    expect(await readError([futuresDepth(at(0), 100, 110, 95)], { market: "spot" })).toBe(
      '1 malformed line (first at line 1: a depth update with pu is Binance futures data, but [paper] market = "spot" makes this file Binance spot)',
    );
    const csv = join(tempDir("market-"), "BTCUSDT-trades-2024-08-08.csv");
    writeFileSync(csv, "1,61837.63,0.02,1236.75,1723161255342,True,True\n");
    await expect(readMarketData(csv, { market: "usdm" })).rejects.toThrow(
      `${csv}: a Binance spot trades or aggTrades CSV (the layouts read here), but [paper] market = "usdm" (Binance USD-M futures)`,
    );
  });
});

describe("malformed and hostile lines per market (one error naming file, line and problem)", () => {
  const GOOD = futuresDepth(at(0), 100, 110, 95);
  it.each([
    [
      "a futures depth update without pu (a 100ms stream)",
      futuresDepth(at(1), 111, 120, 110, undefined, undefined, "BTCUSDT", "100ms").replace('"pu":110,', ""),
      "a depth update without pu is Binance spot data, but line 1 (a depth update with pu) makes this file Binance futures",
    ],
    [
      "a depth@0ms update without pu",
      futuresDepth(at(1), 111, 120, 110).replace('"pu":110,', ""),
      "previous update id pu missing: depth@0ms is a futures stream, and futures depth updates carry pu",
    ],
    [
      "a pu that is a string",
      futuresDepth(at(1), 111, 120, 110).replace('"pu":110', '"pu":"110"'),
      'previous update id pu "110" is not an id',
    ],
    ["a negative pu", futuresDepth(at(1), 111, 120, 110).replace('"pu":110', '"pu":-1'), "previous update id pu -1 is not an id"],
    ["an enormous u", futuresDepth(at(1), 111, 120, 110).replace('"u":120', '"u":1e300'), "last update id u 1e+300 is not an id"],
    [
      "a U beyond 2^53",
      futuresDepth(at(1), 111, 120, 110).replace('"U":111', '"U":12345678901234567890'),
      "first update id U 12345678901234567000 is not an id",
    ],
    [
      "a 40-digit price",
      futuresDepth(at(1), 111, 120, 110, [["1234567890123456789012345678901234567890", "1"]]),
      'bids b[0] price "123456789012345678901234567890123456... is not a positive decimal',
    ],
    ["a negative quantity", futuresDepth(at(1), 111, 120, 110, [], [["61837.70", "-1"]]), 'asks a[0] quantity "-1" is negative'],
    ["a level that is not a pair", futuresDepth(at(1), 111, 120, 110, [["61837.70"] as unknown as [string, string]]), "bids b[0]"],
    [
      "a book ticker with a text event time",
      futuresQuote(at(1), 5).replace('"E":1723161255343', '"E":"now"'),
      'event time E "now" is not an id',
    ],
    ["a book ticker with E but no T", futuresQuote(at(1), 5).replace('"T":1723161255342,', ""), "transaction time T missing"],
    [
      "a spot-shaped book ticker in a futures file",
      quote(at(1), 5),
      "a book ticker without E or T is Binance spot data, but line 1 (a depth update with pu) makes this file Binance futures",
    ],
    ["a trade type that is a number", futuresTrade(at(1), 7).replace('"X":"MARKET"', '"X":5'), "trade type X 5 is not a string"],
    [
      'a no-execution record (X "NA") with a text price',
      futuresTrade(at(1), 7, "zero", "0").replace('"X":"MARKET"', '"X":"NA"'),
      'price p "zero" is not a decimal',
    ],
    ["a trade with a negative quantity", futuresTrade(at(1), 7, "61837.60", "-0.020"), 'quantity q "-0.020" is negative'],
    [
      "an aggTrade whose first trade id is after its last",
      futuresAggTrade(at(1), 9).replace('"f":90', '"f":99'),
      "first trade id f 99 is after last trade id l 92",
    ],
    [
      "a markPrice event of the wrong type",
      markPrice(at(1)).replace('"e":"markPriceUpdate"', '"e":"markPrice"'),
      'event type e "markPrice" is not "markPriceUpdate"',
    ],
    ["a snapshot with E but no T", futuresSnapshot(at(1), 120, [], []).replace('"T":1723161255398,', ""), "transaction time T missing"],
    [
      "a COIN-M snapshot whose pair is a number",
      coinmSnapshot(at(1), 120, [], []).replace('"pair":"BTCUSD"', '"pair":5'),
      "pair 5 is not a symbol",
    ],
    [
      "a symbol with two underscores",
      futuresTrade(at(1), 7)
        .replace(/BTCUSDT/g, "BTC_USD_X")
        .replace("btcusdt@", "btc_usd_x@"),
      'symbol s "BTC_USD_X" is not a symbol',
    ],
    ["a truncated futures line", futuresDepth(at(1), 111, 120, 110).slice(0, 90), "truncated JSON"],
  ])("%s", async (_name, bad, problem) => {
    const message = await readError([GOOD, bad, futuresDepth(at(2), 121, 130, 110)]);
    expect(message).toContain("1 malformed line (first at line 2: ");
    expect(message).toContain(problem);
  });

  it("a spot depth update carrying pu in a spot file is malformed", async () => {
    const message = await readError([depth(at(0), 100, 110), depth(at(1), 111, 120).replace('"U":111', '"pu":110,"U":111')]);
    expect(message).toBe(
      "1 malformed line (first at line 2: a depth update with pu is Binance futures data, but line 1 (a depth update without pu) makes this file Binance spot)",
    );
  });
});
