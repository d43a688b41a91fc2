/**
 * The simulated exchange on hand-made tapes: every expected fill is computed in
 * the comments next to it. Fees: maker 2 bps, taker 5 bps unless said.
 */
import { describe, expect, it } from "vitest";
import { Side } from "../../src/market/types.js";
import { Exchange, type PreTradeCheck } from "../../src/paper/exchange.js";
import type { ExchangeConfig } from "../../src/paper/matching.js";
import type { ExchangeReport, OrderRequest } from "../../src/paper/orders.js";
import { type TapeEvent, tape } from "../helpers/tape.js";

const FEES: ExchangeConfig = { makerFeeBps: 2, takerFeeBps: 5 };
const BUY = Side.Buy;
const SELL = Side.Sell;

/** An exchange over `events`, played forward on demand. */
class Sim {
  readonly exchange: Exchange;
  private next = 0;
  private readonly events: readonly TapeEvent[];

  constructor(events: readonly TapeEvent[], config: ExchangeConfig = FEES, check?: PreTradeCheck) {
    this.events = events;
    this.exchange = new Exchange(tape(events), config, check);
  }

  /** Plays events up to and including index `last` (all without one); returns their reports. */
  play(last = this.events.length - 1): ExchangeReport[] {
    const out: ExchangeReport[] = [];
    for (; this.next <= last; this.next++) this.exchange.onMarket(this.next, out);
    return out;
  }

  submit(order: Partial<OrderRequest> & Pick<OrderRequest, "clientId" | "side" | "type" | "qty">, t = 1000): ExchangeReport[] {
    const out: ExchangeReport[] = [];
    this.exchange.submit({ symbol: 0, ...order }, t, out);
    return out;
  }

  cancel(clientId: string, t = 1000): ExchangeReport[] {
    const out: ExchangeReport[] = [];
    this.exchange.cancel(clientId, t, out);
    return out;
  }
}

/** The fills among `reports`, as [price, qty, liquidity, leaves]. */
function fills(reports: readonly ExchangeReport[]): [number, number, string, number][] {
  return reports.flatMap((r) => (r.type === "fill" ? [[r.price, r.qty, r.liquidity, r.leaves] as [number, number, string, number]] : []));
}

function types(reports: readonly ExchangeReport[]): string[] {
  return reports.map((r) =>
    r.type === "cancelled" || r.type === "reject" || r.type === "cancel_reject" ? `${r.type}:${r.reason}` : r.type,
  );
}

const QUOTE: TapeEvent = { t: 0, kind: "quote", bid: 100, bidQty: 3, ask: 101, askQty: 1.5 };

describe("taking liquidity", () => {
  it("fills a market buy at the touch, capped at the quoted ask quantity, and cancels the rest", () => {
    const sim = new Sim([QUOTE]);
    sim.play();
    const reports = sim.submit({ clientId: "m1", side: BUY, type: "market", qty: 2 }, 500);
    // Ask 101 × 1.5 shown, no L2: fill 1.5 @ 101, 2 − 1.5 = 0.5 cancelled.
    // Taker fee: 101 × 1.5 × 5 / 10000 = 0.07575.
    expect(reports).toEqual([
      { type: "ack", clientId: "m1", t: 500 },
      { type: "fill", clientId: "m1", t: 500, symbol: 0, side: BUY, price: 101, qty: 1.5, fee: 0.07575, liquidity: "taker", leaves: 0.5 },
      { type: "cancelled", clientId: "m1", t: 500, reason: "ioc" },
    ]);
    expect((reports[1] as { fee: number }).fee).toBeCloseTo(0.07575, 12);
  });

  it("does not take the same quoted quantity twice until the next quote reports it", () => {
    const sim = new Sim([QUOTE, { t: 2000, kind: "quote", bid: 100, bidQty: 3, ask: 101, askQty: 0.4 }]);
    sim.play(0);
    expect(fills(sim.submit({ clientId: "a", side: BUY, type: "market", qty: 1 }))).toEqual([[101, 1, "taker", 0]]);
    // 1.5 − 1 = 0.5 left at 101.
    expect(sim.exchange.bestAsk(0)).toBe(101);
    expect(fills(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 1 }))).toEqual([[101, 0.5, "taker", 0.5]]);
    // Nothing left at the ask: a third market buy fills nothing and no ask is left.
    expect(sim.exchange.bestAsk(0)).toBeUndefined();
    expect(types(sim.submit({ clientId: "c", side: BUY, type: "market", qty: 1 }))).toEqual(["ack", "cancelled:ioc"]);
    // The next quote reports 101 × 0.4 again: only that is available.
    sim.play();
    expect(fills(sim.submit({ clientId: "d", side: BUY, type: "market", qty: 1 }, 3000))).toEqual([[101, 0.4, "taker", 0.6]]);
  });

  it("walks three L2 levels, ignoring depth before the snapshot and not newer than it, and cancels the remainder", () => {
    const sim = new Sim([
      // Before any snapshot: ignored.
      { t: 0, kind: "depth", id: 5, firstId: 4, asks: [[100.5, 9]] },
      {
        t: 1,
        kind: "snapshot",
        id: 10,
        bids: [[100, 5]],
        asks: [
          [101, 1],
          [102, 2],
          [103, 3],
          [104, 4],
        ],
      },
      // u = 9 ≤ 10: older than the snapshot, ignored.
      { t: 2, kind: "depth", id: 9, firstId: 8, asks: [[101, 50]] },
      // u = 12 > 10: applied; 102 becomes 2.5, 104 is removed.
      {
        t: 3,
        kind: "depth",
        id: 12,
        firstId: 11,
        asks: [
          [102, 2.5],
          [104, 0],
        ],
      },
    ]);
    sim.play();
    expect(sim.exchange.bestAsk(0)).toBe(101);
    expect(sim.exchange.bestBid(0)).toBe(100);
    expect(sim.exchange.mid(0)).toBe(100.5);
    const reports = sim.submit({ clientId: "w", side: BUY, type: "market", qty: 10 });
    // 1 @ 101 (leaves 9), 2.5 @ 102 (leaves 6.5), 3 @ 103 (leaves 3.5); 104 is gone: 3.5 cancelled.
    expect(fills(reports)).toEqual([
      [101, 1, "taker", 9],
      [102, 2.5, "taker", 6.5],
      [103, 3, "taker", 3.5],
    ]);
    expect(types(reports).at(-1)).toBe("cancelled:ioc");
    // Fees: (101 × 1 + 102 × 2.5 + 103 × 3) × 5 / 10000 = (101 + 255 + 309) × 0.0005 = 0.3325.
    const fee = reports.reduce((a, r) => a + (r.type === "fill" ? r.fee : 0), 0);
    expect(fee).toBeCloseTo(0.3325, 12);
  });

  it("takes consumed L2 levels again only after a depth update reports them", () => {
    const sim = new Sim([
      {
        t: 0,
        kind: "snapshot",
        id: 10,
        bids: [[100, 5]],
        asks: [
          [101, 1],
          [102, 2],
        ],
      },
      { t: 2000, kind: "depth", id: 11, firstId: 11, asks: [[102, 0.7]] },
    ]);
    sim.play(0);
    expect(fills(sim.submit({ clientId: "a", side: BUY, type: "market", qty: 3 }))).toEqual([
      [101, 1, "taker", 2],
      [102, 2, "taker", 0],
    ]);
    expect(types(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 1 }))).toEqual(["ack", "cancelled:ioc"]);
    sim.play();
    // Only 102 was reported again, with 0.7: fill 0.7, cancel 0.3.
    const reports = sim.submit({ clientId: "c", side: BUY, type: "market", qty: 1 }, 3000);
    expect(fills(reports)).toEqual([[102, 0.7, "taker", 0.3]]);
    expect(types(reports).at(-1)).toBe("cancelled:ioc");
  });

  it("uses the quote for the best level and L2 only behind it", () => {
    const sim = new Sim([
      // L2 still shows 100.5 (stale, better than the quoted ask) and 101 × 4 (the quoted level).
      {
        t: 0,
        kind: "snapshot",
        id: 10,
        bids: [[99, 1]],
        asks: [
          [100.5, 7],
          [101, 4],
          [102, 2],
        ],
      },
      { t: 1, kind: "quote", bid: 100, bidQty: 3, ask: 101, askQty: 1 },
    ]);
    sim.play();
    // Quote 101 × 1, then L2 behind it: 102 × 2. 1 + 1.5 = 2.5.
    expect(fills(sim.submit({ clientId: "q", side: BUY, type: "market", qty: 2.5 }))).toEqual([
      [101, 1, "taker", 1.5],
      [102, 1.5, "taker", 0],
    ]);
    // Sells: the quoted bid 100 × 3, then L2 99 × 1; 5 − 4 = 1 cancelled.
    const sells = sim.submit({ clientId: "s", side: SELL, type: "market", qty: 5 });
    expect(fills(sells)).toEqual([
      [100, 3, "taker", 2],
      [99, 1, "taker", 1],
    ]);
    expect(types(sells).at(-1)).toBe("cancelled:ioc");
  });

  it("fills an IOC only at or better than its limit", () => {
    const sim = new Sim([
      {
        t: 0,
        kind: "snapshot",
        id: 1,
        bids: [[100, 5]],
        asks: [
          [101, 1],
          [102, 2],
          [103, 3],
        ],
      },
    ]);
    sim.play();
    const buy = sim.submit({ clientId: "i1", side: BUY, type: "ioc", price: 102, qty: 5 });
    // 1 @ 101 and 2 @ 102 are ≤ 102; 103 is not: 5 − 3 = 2 cancelled.
    expect(fills(buy)).toEqual([
      [101, 1, "taker", 4],
      [102, 2, "taker", 2],
    ]);
    expect(types(buy).at(-1)).toBe("cancelled:ioc");
    // A sell IOC at 100.5 finds no bid ≥ 100.5: nothing filled, nothing rests.
    expect(types(sim.submit({ clientId: "i2", side: SELL, type: "ioc", price: 100.5, qty: 1 }))).toEqual(["ack", "cancelled:ioc"]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0, sell: 0 });
  });

  it("rounds quantities so that 0.1 + 0.2 leaves exactly nothing", () => {
    const sim = new Sim([
      {
        t: 0,
        kind: "snapshot",
        id: 1,
        bids: [],
        asks: [
          [101, 0.1],
          [102, 0.2],
        ],
      },
    ]);
    sim.play();
    const reports = sim.submit({ clientId: "f", side: BUY, type: "market", qty: 0.3 });
    // 0.3 − 0.1 = 0.19999999999999998 in doubles; rounded to 1e-12 it is 0.2, and 0.2 − 0.2 = 0: no cancel.
    expect(fills(reports)).toEqual([
      [101, 0.1, "taker", 0.2],
      [102, 0.2, "taker", 0],
    ]);
    expect(types(reports)).toEqual(["ack", "fill", "fill"]);
  });
});

describe("a limit order", () => {
  it("takes its marketable part as taker and rests the rest as maker", () => {
    const sim = new Sim([QUOTE, { t: 2000, kind: "trade", price: 101, qty: 5, side: "sell" }]);
    sim.play(0);
    const reports = sim.submit({ clientId: "l", side: BUY, type: "limit", price: 101, qty: 2 });
    // Ask 101 × 1.5 taken; 0.5 rests at 101 (better than the bid 100: nobody ahead).
    expect(fills(reports)).toEqual([[101, 1.5, "taker", 0.5]]);
    expect(types(reports)).toEqual(["ack", "fill"]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0.5, sell: 0 });
    // A sell trade at 101 × 5 fills the 0.5 as maker: fee 101 × 0.5 × 2 / 10000 = 0.0101.
    const later = sim.play();
    expect(fills(later)).toEqual([[101, 0.5, "maker", 0]]);
    expect((later[0] as { fee: number }).fee).toBeCloseTo(0.0101, 12);
  });

  it("does not fill when the book moves through it, on buy trades, or on sells above it; fills on a sell through it", () => {
    const sim = new Sim([
      QUOTE,
      // The book moves through the buy at 100: ask 99 < 100.
      { t: 2000, kind: "quote", bid: 98, bidQty: 1, ask: 99, askQty: 1 },
      // Trades on the other side (buy aggressors), even below 100.
      { t: 3000, kind: "trade", price: 99, qty: 5, side: "buy" },
      // A sell aggressor at a worse price for it (above 100).
      { t: 4000, kind: "trade", price: 100.5, qty: 5, side: "sell" },
      // A sell aggressor through 100: fills up to the trade quantity 0.4.
      { t: 5000, kind: "trade", price: 99.5, qty: 0.4, side: "sell" },
      // Another, larger than what is left (1 − 0.4 = 0.6).
      { t: 6000, kind: "trade", price: 99, qty: 2, side: "sell" },
    ]);
    sim.play(0);
    expect(types(sim.submit({ clientId: "r", side: BUY, type: "limit", price: 100, qty: 1 }))).toEqual(["ack"]);
    expect(sim.play(3)).toEqual([]);
    const through = sim.play(4);
    // Fill at the limit price 100, not the trade price; maker fee 100 × 0.4 × 2 / 10000 = 0.008.
    expect(fills(through)).toEqual([[100, 0.4, "maker", 0.6]]);
    expect(through[0]).toMatchObject({ t: 5000, fee: 0.008 });
    expect(fills(sim.play(5))).toEqual([[100, 0.6, "maker", 0]]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0, sell: 0 });
    expect(sim.cancel("r")).toEqual([{ type: "cancel_reject", clientId: "r", t: 1000, reason: "order is closed" }]);
  });

  it("waits for the queue ahead at its price to trade, then fills the rest of a trade", () => {
    const sim = new Sim([
      QUOTE,
      { t: 2000, kind: "trade", price: 100, qty: 1, side: "sell" },
      { t: 3000, kind: "trade", price: 100, qty: 2.5, side: "sell" },
      { t: 4000, kind: "trade", price: 100, qty: 1, side: "sell" },
    ]);
    sim.play(0);
    // Joins the bid 100 × 3: queue ahead 3.
    sim.submit({ clientId: "q", side: BUY, type: "limit", price: 100, qty: 2 });
    // 1 traded at 100: queue 3 − 1 = 2, no fill.
    expect(sim.play(1)).toEqual([]);
    // 2.5 traded: 2 clears the queue, 0.5 fills; leaves 2 − 0.5 = 1.5.
    expect(fills(sim.play(2))).toEqual([[100, 0.5, "maker", 1.5]]);
    // Queue 0: the whole 1 fills; leaves 0.5.
    expect(fills(sim.play(3))).toEqual([[100, 1, "maker", 0.5]]);
  });

  it("shortens its queue when the book shows less at its price, but never fills from that alone", () => {
    const sim = new Sim([
      QUOTE,
      // 100 now shows 1.2 (orders ahead cancelled): queue min(3, 1.2) = 1.2.
      { t: 2000, kind: "quote", bid: 100, bidQty: 1.2, ask: 101, askQty: 1 },
      // Shows more again: the queue does not grow back.
      { t: 3000, kind: "quote", bid: 100, bidQty: 8, ask: 101, askQty: 1 },
      // 2 traded at 100: 1.2 clears the queue, 0.8 fills.
      { t: 4000, kind: "trade", price: 100, qty: 2, side: "sell" },
    ]);
    sim.play(0);
    sim.submit({ clientId: "q", side: BUY, type: "limit", price: 100, qty: 2 });
    expect(sim.play(2)).toEqual([]);
    expect(fills(sim.play(3))).toEqual([[100, 0.8, "maker", 1.2]]);
  });

  it("takes its queue behind the quote from L2, and shares one trade between our orders", () => {
    const sim = new Sim([
      {
        t: 0,
        kind: "snapshot",
        id: 1,
        bids: [
          [100, 3],
          [99, 4],
        ],
        asks: [[101, 2]],
      },
      { t: 1, kind: "quote", bid: 100, bidQty: 3, ask: 101, askQty: 2 },
      // 4.5 sell aggressor at 99: 99's queue is 4 (L2), 4.5 − 4 = 0.5 beyond it.
      // The buy at 100.5 (through, earlier in price) takes its 0.3 first, then the one at 100 (through) 0.3:
      // 0.6 of the trade used; the buy at 99 gets 4.5 − 4 − 0.6 = −0.1 → nothing.
      { t: 2000, kind: "trade", price: 99, qty: 4.5, side: "sell" },
      // 1 more at 99: queue now 0; 1 − 0 = 1 ≥ its 0.5.
      { t: 3000, kind: "trade", price: 99, qty: 1, side: "sell" },
    ]);
    sim.play(1);
    sim.submit({ clientId: "b99", side: BUY, type: "limit", price: 99, qty: 0.5 });
    sim.submit({ clientId: "b100", side: BUY, type: "limit", price: 100, qty: 0.3 });
    sim.submit({ clientId: "b100.5", side: BUY, type: "limit", price: 100.5, qty: 0.3 });
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 1.1, sell: 0 });
    const first = sim.play(2);
    expect(first.map((r) => r.clientId)).toEqual(["b100.5", "b100"]);
    expect(fills(first)).toEqual([
      [100.5, 0.3, "maker", 0],
      [100, 0.3, "maker", 0],
    ]);
    expect(fills(sim.play(3))).toEqual([[99, 0.5, "maker", 0]]);
  });

  it("counts an unknown queue behind a quote-only book as infinite until the quote shows its price", () => {
    const sim = new Sim([
      QUOTE,
      // 99 is behind the quoted bid 100 and there is no L2: nobody knows what is ahead; no fill at 99.
      { t: 2000, kind: "trade", price: 99, qty: 10, side: "sell" },
      // The bid comes down to 99 × 2: queue min(∞, 2) = 2.
      { t: 3000, kind: "quote", bid: 99, bidQty: 2, ask: 100, askQty: 1 },
      // 2.5 at 99: 2 clears the queue, 0.5 fills.
      { t: 4000, kind: "trade", price: 99, qty: 2.5, side: "sell" },
    ]);
    sim.play(0);
    sim.submit({ clientId: "u", side: BUY, type: "limit", price: 99, qty: 1 });
    expect(sim.play(2)).toEqual([]);
    expect(fills(sim.play())).toEqual([[99, 0.5, "maker", 0.5]]);
  });

  it("pays a negative maker fee as a rebate", () => {
    const sim = new Sim([QUOTE, { t: 2000, kind: "trade", price: 99, qty: 1, side: "sell" }], { makerFeeBps: -1, takerFeeBps: 4 });
    sim.play(0);
    // Taker: 101 × 1 × 4 / 10000 = 0.0404.
    const taken = sim.submit({ clientId: "t", side: BUY, type: "market", qty: 1 });
    expect(taken[1]).toMatchObject({ liquidity: "taker", fee: 0.0404 });
    sim.submit({ clientId: "m", side: BUY, type: "limit", price: 100, qty: 0.5 });
    // Maker: 100 × 0.5 × (−1) / 10000 = −0.005.
    const made = sim.play();
    expect(made).toHaveLength(1);
    expect(made[0]).toMatchObject({ liquidity: "maker", price: 100, qty: 0.5 });
    expect((made[0] as { fee: number }).fee).toBeCloseTo(-0.005, 12);
  });
});

describe("without a book (trade-only data)", () => {
  const events: TapeEvent[] = [
    { t: 0, kind: "trade", price: 100, qty: 1, side: "buy" },
    { t: 2000, kind: "trade", price: 100, qty: 0.3, side: "sell" },
  ];

  it("cancels a market order unfilled and fills a resting limit from trades", () => {
    const sim = new Sim(events);
    sim.play(0);
    expect(sim.exchange.bestBid(0)).toBeUndefined();
    expect(sim.exchange.mid(0)).toBeUndefined();
    expect(sim.exchange.lastTradePrice(0)).toBe(100);
    expect(types(sim.submit({ clientId: "m", side: BUY, type: "market", qty: 1 }))).toEqual(["ack", "cancelled:ioc"]);
    expect(types(sim.submit({ clientId: "l", side: BUY, type: "limit", price: 100, qty: 1 }))).toEqual(["ack"]);
    // No book: nobody known ahead; the 0.3 sold at 100 fills 0.3.
    expect(fills(sim.play())).toEqual([[100, 0.3, "maker", 0.7]]);
  });
});

describe("order lifecycle", () => {
  it("rejects invalid orders, duplicate ids and what the pre-trade check refuses", () => {
    const check: PreTradeCheck = (order) => (order.qty > 5 ? "too big" : undefined);
    const sim = new Sim([QUOTE], FEES, check);
    sim.play();
    const reject = (order: Parameters<Sim["submit"]>[0]) => {
      const [report, ...rest] = sim.submit(order);
      expect(rest).toEqual([]);
      return report?.type === "reject" ? report.reason : report?.type;
    };
    expect(reject({ clientId: "s", symbol: 1, side: BUY, type: "market", qty: 1 })).toBe("unknown symbol");
    expect(reject({ clientId: "z", side: BUY, type: "market", qty: 0 })).toBe("quantity must be positive");
    expect(reject({ clientId: "n", side: BUY, type: "market", qty: -1 })).toBe("quantity must be positive");
    expect(reject({ clientId: "p", side: BUY, type: "limit", qty: 1 })).toBe("missing price for a limit order");
    expect(reject({ clientId: "p2", side: BUY, type: "ioc", qty: 1 })).toBe("missing price for a ioc order");
    expect(reject({ clientId: "big", side: BUY, type: "limit", price: 90, qty: 6 })).toBe("too big");
    expect(reject({ clientId: "ok", side: BUY, type: "limit", price: 90, qty: 1 })).toBe("ack");
    expect(reject({ clientId: "ok", side: BUY, type: "limit", price: 90, qty: 1 })).toBe("duplicate client id");
    // A rejected id is used as well.
    expect(reject({ clientId: "big", side: BUY, type: "limit", price: 90, qty: 1 })).toBe("duplicate client id");
    // The duplicate did not replace the first order.
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 1, sell: 0 });
  });

  it("cancels on request and refuses cancels of unknown and closed orders", () => {
    const sim = new Sim([QUOTE]);
    sim.play();
    sim.submit({ clientId: "r", side: SELL, type: "limit", price: 102, qty: 1 });
    sim.submit({ clientId: "f", side: BUY, type: "market", qty: 1 });
    expect(sim.cancel("nope", 7)).toEqual([{ type: "cancel_reject", clientId: "nope", t: 7, reason: "unknown order" }]);
    expect(sim.cancel("f", 7)).toEqual([{ type: "cancel_reject", clientId: "f", t: 7, reason: "order is closed" }]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0, sell: 1 });
    expect(sim.cancel("r", 8)).toEqual([{ type: "cancelled", clientId: "r", t: 8, reason: "requested" }]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0, sell: 0 });
    expect(sim.cancel("r", 9)).toEqual([{ type: "cancel_reject", clientId: "r", t: 9, reason: "order is closed" }]);
  });

  it("cancels every open order at the end of data, and only those", () => {
    const sim = new Sim([QUOTE, { t: 2000, kind: "trade", price: 99, qty: 1, side: "sell" }]);
    sim.play(0);
    sim.submit({ clientId: "a", side: SELL, type: "limit", price: 103, qty: 1 });
    sim.submit({ clientId: "b", side: BUY, type: "limit", price: 100, qty: 1 });
    sim.submit({ clientId: "c", side: BUY, type: "limit", price: 99.5, qty: 2 });
    // Sell 1 @ 99 goes through both bids: b (better price) takes the 1, c gets nothing.
    expect(fills(sim.play())).toEqual([[100, 1, "maker", 0]]);
    const out: ExchangeReport[] = [];
    sim.exchange.cancelAll(9000, out);
    expect(out).toEqual([
      { type: "cancelled", clientId: "a", t: 9000, reason: "end" },
      { type: "cancelled", clientId: "c", t: 9000, reason: "end" },
    ]);
    expect(sim.exchange.openOrders(0)).toEqual({ buy: 0, sell: 0 });
  });
});

describe("a deep book", () => {
  /** Prices `from`, `from + step`, … up to `to` (inclusive), in that order. */
  const range = (from: number, to: number, step: number): number[] =>
    Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);

  // Snapshot: asks 1001 … 1300 × 1, bids 1000 … 701 × 2 (300 levels a side, best first).
  // Depth 2 changes levels all over both sides: every odd ask 1001 … 1299 goes, 1100.5 … 1199.5 × 0.25
  // come in between, and the bids 1000 … 801 go. Depth 3 removes the best ask 1002.
  const book: TapeEvent[] = [
    {
      t: 0,
      kind: "snapshot",
      id: 1,
      asks: range(1001, 1300, 1).map((p) => [p, 1] as const),
      bids: range(1000, 701, -1).map((p) => [p, 2] as const),
    },
    {
      t: 1,
      kind: "depth",
      id: 2,
      firstId: 2,
      asks: [...range(1001, 1299, 2).map((p) => [p, 0] as const), ...range(1100.5, 1199.5, 1).map((p) => [p, 0.25] as const)].sort(
        (a, b) => a[0] - b[0],
      ),
      bids: range(1000, 801, -1).map((p) => [p, 0] as const),
    },
    { t: 2, kind: "depth", id: 3, firstId: 3, asks: [[1002, 0]] },
  ];

  it("walks the asks in price order after updates all over the book", () => {
    const sim = new Sim(book);
    sim.play();
    expect([sim.exchange.bestBid(0), sim.exchange.bestAsk(0)]).toEqual([800, 1004]);
    // Asks left: the 149 even prices 1004 … 1300 × 1 and the 100 prices 1100.5 … 1199.5 × 0.25; a buy of
    // 200 takes them all (149 + 25 = 174) from the cheapest up and cancels the other 26.
    const levels = [...range(1004, 1300, 2).map((p) => [p, 1]), ...range(1100.5, 1199.5, 1).map((p) => [p, 0.25])].sort(
      (a, b) => (a[0] as number) - (b[0] as number),
    );
    let leaves = 200;
    const expected = levels.map(([price, qty]) => {
      leaves -= qty as number;
      return [price, qty, "taker", leaves];
    });
    const reports = sim.submit({ clientId: "w", side: BUY, type: "market", qty: 200 });
    expect(fills(reports)).toEqual(expected);
    expect(leaves).toBe(26);
    expect(types(reports).at(-1)).toBe("cancelled:ioc");
    expect(sim.exchange.bestAsk(0)).toBeUndefined();
    // The bids: 800 … 701 × 2; a sell of 5 takes 2 @ 800, 2 @ 799, 1 @ 798.
    expect(fills(sim.submit({ clientId: "s", side: SELL, type: "ioc", price: 790, qty: 5 }))).toEqual([
      [800, 2, "taker", 3],
      [799, 2, "taker", 1],
      [798, 1, "taker", 0],
    ]);
    expect(sim.exchange.bestBid(0)).toBe(798);
  });

  it("starts queues at the level's quantity, 0 between known levels and infinite past the deepest", () => {
    const trade = (t: number, price: number, qty: number, side: "buy" | "sell"): TapeEvent => ({ t, kind: "trade", price, qty, side });
    const sim = new Sim([
      ...book,
      trade(3000, 760, 2.1, "sell"),
      trade(4000, 750.5, 0.2, "sell"),
      trade(5000, 700, 5, "sell"),
      trade(6000, 1201, 0.3, "buy"),
      trade(7000, 1500, 5, "buy"),
    ]);
    sim.play(2);
    // Bid 760 shows 2: a sell of 2.1 there fills 0.1.
    sim.submit({ clientId: "b760", side: BUY, type: "limit", price: 760, qty: 1 });
    expect(fills(sim.play(3))).toEqual([[760, 0.1, "maker", 0.9]]);
    // 750.5 has no level but is inside the known bids: queue 0, a sell of 0.2 there fills 0.2.
    sim.cancel("b760");
    sim.submit({ clientId: "b750.5", side: BUY, type: "limit", price: 750.5, qty: 1 });
    expect(fills(sim.play(4))).toEqual([[750.5, 0.2, "maker", 0.8]]);
    // 700 is past the worst bid 701: unknown queue, no fill at the price.
    sim.cancel("b750.5");
    sim.submit({ clientId: "b700", side: BUY, type: "limit", price: 700, qty: 1 });
    expect(sim.play(5)).toEqual([]);
    // The asks alike: 1201 (removed, inside the known asks) fills, 1500 (past the worst ask 1300) does not.
    sim.submit({ clientId: "s1201", side: SELL, type: "limit", price: 1201, qty: 1 });
    expect(fills(sim.play(6))).toEqual([[1201, 0.3, "maker", 0.7]]);
    sim.cancel("s1201");
    sim.submit({ clientId: "s1500", side: SELL, type: "limit", price: 1500, qty: 1 });
    expect(sim.play()).toEqual([]);
  });
});

describe("onMarket without orders", () => {
  it("keeps the book of each symbol apart", () => {
    const sim = new Sim([
      { t: 0, kind: "quote", symbol: "BTCUSDT", bid: 100, bidQty: 1, ask: 101, askQty: 1 },
      { t: 1, kind: "quote", symbol: "ETHUSDT", bid: 10, bidQty: 1, ask: 10.5, askQty: 1 },
      { t: 2, kind: "trade", symbol: "ETHUSDT", price: 10.5, qty: 1, side: "buy" },
    ]);
    expect(sim.play()).toEqual([]);
    expect([sim.exchange.mid(0), sim.exchange.mid(1)]).toEqual([100.5, 10.25]);
    expect([sim.exchange.lastTradePrice(0), sim.exchange.lastTradePrice(1)]).toEqual([undefined, 10.5]);
    expect(sim.exchange.now).toBe(2);
  });
});

describe("the L2 book in step with the venue's (BookSync from the reader)", () => {
  const BOOK: TapeEvent = {
    t: 10,
    kind: "snapshot",
    id: 10,
    bids: [[100, 5]],
    asks: [
      [101, 1],
      [102, 2],
      [103, 3],
      [104, 4],
    ],
  };

  it("a snapshot re-applies, in order, the updates received before it that are newer than it, not the older ones", () => {
    const sim = new Sim([
      // u 8 ≤ 10: the snapshot holds it already.
      { t: 0, kind: "depth", id: 8, firstId: 7, asks: [[101, 9]] },
      { t: 1, kind: "depth", id: 12, firstId: 9, asks: [[102, 7]] },
      {
        t: 2,
        kind: "depth",
        id: 14,
        firstId: 13,
        asks: [
          [102, 6],
          [103, 0],
        ],
      },
      BOOK,
    ]);
    sim.play();
    // 102: 7 then 6 (order kept); 103 removed.
    expect(fills(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 20 }))).toEqual([
      [101, 1, "taker", 19],
      [102, 6, "taker", 13],
      [104, 4, "taker", 9],
    ]);
  });

  it("stops re-applying at the update that started the run after a gap", () => {
    const sim = new Sim([
      // Before the gap (the reader marked the next update broken): not part of the run the snapshot aligns with.
      { t: 0, kind: "depth", id: 30, firstId: 26, asks: [[105, 1]] },
      { t: 1, kind: "depth", id: 20, firstId: 15, asks: [[102, 8]], broken: true },
      { t: 2, kind: "depth", id: 25, firstId: 21, asks: [[103, 6]] },
      { ...BOOK, id: 18, asks: BOOK.asks?.slice(0, 3) },
    ]);
    sim.play();
    expect(fills(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 20 })).map(([price, qty]) => [price, qty])).toEqual([
      [101, 1],
      [102, 8],
      [103, 6],
    ]);
  });

  it("a broken update drops the levels behind the quote until the next snapshot; a broken update older than the snapshot does not", () => {
    const older = new Sim([QUOTE, BOOK, { t: 11, kind: "depth", id: 9, firstId: 9, asks: [[102, 0]], broken: true }]);
    older.play();
    expect(fills(older.submit({ clientId: "a", side: BUY, type: "market", qty: 3 })).map(([price]) => price)).toEqual([101, 102]);
    const sim = new Sim([
      QUOTE,
      BOOK,
      { t: 11, kind: "depth", id: 15, firstId: 13, asks: [[102, 9]], broken: true },
      { t: 12, kind: "depth", id: 16, firstId: 16, asks: [[103, 9]] },
      { ...BOOK, t: 13, id: 20, asks: [[102, 2.5]] },
    ]);
    sim.play(3);
    // Only the quoted 1.5 at 101: the L2 levels are unknown, neither the snapshot's nor the updates'.
    expect(fills(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 3 }))).toEqual([[101, 1.5, "taker", 1.5]]);
    sim.play();
    expect(fills(sim.submit({ clientId: "c", side: BUY, type: "market", qty: 3 }, 2000))).toEqual([[102, 2.5, "taker", 0.5]]);
  });

  it("a snapshot no update bridges is not used, and drops the book it would have replaced", () => {
    const sim = new Sim([BOOK, { ...BOOK, t: 11, id: 40, asks: [[101, 50]], broken: true }]);
    sim.play(0);
    expect(fills(sim.submit({ clientId: "a", side: BUY, type: "market", qty: 1 }))).toEqual([[101, 1, "taker", 0]]);
    sim.play();
    expect(fills(sim.submit({ clientId: "b", side: BUY, type: "market", qty: 1 }, 2000))).toEqual([]);
  });
});
