/**
 * Positions, P&L and limits from the harness's own fills, with the expected
 * figures worked out in the comments.
 */
import { describe, expect, it } from "vitest";
import { Side } from "../../src/market/types.js";
import { Exchange } from "../../src/paper/exchange.js";
import type { ExchangeReport, FillReport, OrderRequest } from "../../src/paper/orders.js";
import { RiskMonitor } from "../../src/paper/risk-monitor.js";
import { tape } from "../helpers/tape.js";

const BUY = Side.Buy;
const SELL = Side.Sell;

function fill(side: Side, price: number, qty: number, fee = 0, t = 0, symbol = 0): FillReport {
  return { type: "fill", clientId: "x", t, symbol, side, price, qty, fee, liquidity: "taker", leaves: 0 };
}

function order(clientId: string, side: Side, qty: number, price = 100): OrderRequest {
  return { clientId, symbol: 0, side, type: "limit", price, qty };
}

/** An exchange with a quote 99 / 101 (plenty of size), the monitor's check as its pre-trade check. */
function setup(limits: { maxPosition: number; maxDailyLoss: number }) {
  const risk = new RiskMonitor(1, limits);
  const exchange = new Exchange(
    tape([{ t: 0, kind: "quote", bid: 99, bidQty: 1000, ask: 101, askQty: 1000 }]),
    { makerFeeBps: 0, takerFeeBps: 0 },
    risk.check,
  );
  exchange.onMarket(0, []);
  const submit = (o: OrderRequest, t = 10): ExchangeReport[] => {
    const out: ExchangeReport[] = [];
    exchange.submit(o, t, out);
    for (const r of out) if (r.type === "fill") risk.onFill(r);
    return out;
  };
  return { risk, exchange, submit };
}

describe("RiskMonitor P&L", () => {
  it("books average cost, realised P&L on reductions and a position flip", () => {
    const risk = new RiskMonitor(1, { maxPosition: 1000, maxDailyLoss: 100_000 });
    risk.onFill(fill(BUY, 100, 2, 0.1));
    risk.onFill(fill(BUY, 110, 2, 0.1));
    // 4 at (100 × 2 + 110 × 2) / 4 = 105.
    expect(risk.position(0)).toBe(4);
    expect(risk.averageCost(0)).toBe(105);
    risk.mark(0, 120);
    // (120 − 105) × 4 = 60.
    expect(risk.unrealised(0)).toBe(60);
    risk.onFill(fill(SELL, 115, 3, 0.1));
    // Closes 3: (115 − 105) × 3 = 30 realised; 1 left at 105.
    expect([risk.position(0), risk.realised(0), risk.averageCost(0)]).toEqual([1, 30, 105]);
    risk.onFill(fill(SELL, 100, 3, 0.1));
    // Closes 1: (100 − 105) × 1 = −5 → 25; the other 2 open a short at 100.
    expect([risk.position(0), risk.realised(0), risk.averageCost(0)]).toEqual([-2, 25, 100]);
    risk.mark(0, 90);
    // Short 2 from 100 marked at 90: (90 − 100) × −2 = 20.
    expect(risk.unrealised(0)).toBe(20);
    expect(risk.fees()).toBeCloseTo(0.4, 12);
    // 25 + 20 − 0.4 = 44.6.
    expect(risk.equity()).toBeCloseTo(44.6, 12);
    risk.onFill(fill(BUY, 95, 2));
    // Covers 2 from 100 at 95: +10 → 35; flat, nothing unrealised.
    expect([risk.position(0), risk.realised(0), risk.unrealised(0), risk.averageCost(0)]).toEqual([0, 35, 0, 0]);
  });

  it("keeps symbols apart and values a position at its last fill until marked", () => {
    const risk = new RiskMonitor(2, { maxPosition: 1000, maxDailyLoss: 100_000 });
    risk.onFill(fill(BUY, 100, 1, 0.5, 0, 0));
    risk.onFill(fill(SELL, 10, 3, 0.25, 0, 1));
    expect([risk.markPrice(0), risk.markPrice(1), risk.unrealised(0)]).toEqual([100, 10, 0]);
    risk.mark(1, 9);
    // Short 3 from 10 at 9: +3; equity 3 − 0.75.
    expect(risk.unrealised(1)).toBe(3);
    expect([risk.fees(0), risk.fees(1), risk.fees()]).toEqual([0.5, 0.25, 0.75]);
    expect(risk.equity()).toBe(2.25);
  });
});

describe("RiskMonitor limits", () => {
  it("rejects an order whose worst-case position breaches the limit, counting open orders, and lists it", () => {
    const { risk, exchange, submit } = setup({ maxPosition: 10, maxDailyLoss: 100_000 });
    // Buy 4 at the ask: position 4.
    expect(submit({ clientId: "m", symbol: 0, side: BUY, type: "market", qty: 4 }).map((r) => r.type)).toEqual(["ack", "fill"]);
    // Resting buy 2 at 98: worst case 4 + 2 = 6 ≤ 10.
    expect(submit(order("b1", BUY, 2, 98)).map((r) => r.type)).toEqual(["ack"]);
    // Buy 4.5 more: 4 + 2 + 4.5 = 10.5 > 10.
    expect(submit(order("b2", BUY, 4.5, 98), 20)).toEqual([
      { type: "reject", clientId: "b2", t: 20, reason: "position limit: |10.5| > 10" },
    ]);
    // Buy 4 is exactly 10: allowed.
    expect(submit(order("b3", BUY, 4, 98))[0]?.type).toBe("ack");
    // Sells count only open sells: 4 − 14 = −10 is allowed, 4 − 14.5 = −10.5 is not.
    expect(submit(order("s1", SELL, 14.5, 102), 30)[0]).toMatchObject({ type: "reject", reason: "position limit: |-10.5| > 10" });
    expect(submit(order("s2", SELL, 14, 102))[0]?.type).toBe("ack");
    expect(exchange.openOrders(0)).toEqual({ buy: 6, sell: 14 });
    expect(risk.breaches).toEqual([
      { t: 20, clientId: "b2", reason: "position limit: |10.5| > 10" },
      { t: 30, clientId: "s1", reason: "position limit: |-10.5| > 10" },
    ]);
  });

  it("after the daily loss limit, rejects exposure-increasing orders but allows reducing ones", () => {
    const { risk, submit } = setup({ maxPosition: 1000, maxDailyLoss: 100 });
    submit({ clientId: "m", symbol: 0, side: BUY, type: "market", qty: 10 });
    // Long 10 from 101; marked at 91: (91 − 101) × 10 = −100 → equity −100 ≤ −100.
    risk.mark(0, 91);
    expect(risk.equity()).toBe(-100);
    const more = submit(order("more", BUY, 1, 90), 40);
    expect(more).toEqual([{ type: "reject", clientId: "more", t: 40, reason: "daily loss limit: loss 100 ≥ 100" }]);
    // Selling 25 would leave short 15 (|−15| > 10): more exposure, refused.
    expect(submit(order("flip", SELL, 25, 200))[0]).toMatchObject({ type: "reject", reason: "daily loss limit: loss 100 ≥ 100" });
    // Selling 4 reduces: allowed (and rests at 200).
    expect(submit(order("less", SELL, 4, 200))[0]?.type).toBe("ack");
    // Another 6 with the 4 open: worst case 10 − 10 = 0, still reducing.
    expect(submit(order("flat", SELL, 6, 200))[0]?.type).toBe("ack");
    expect(risk.breaches.map((b) => b.clientId)).toEqual(["more", "flip"]);
  });

  it("warns once when a limit is 80 % used, with the time and value", () => {
    const risk = new RiskMonitor(1, { maxPosition: 10, maxDailyLoss: 100 });
    risk.onFill(fill(BUY, 100, 7.9, 0, 1));
    expect(risk.warnings).toEqual([]);
    // 7.9 + 0.1 = 8 = 80 % of 10.
    risk.onFill(fill(BUY, 100, 0.1, 0, 2));
    risk.onFill(fill(BUY, 100, 1, 0, 3));
    expect(risk.warnings).toEqual([
      { kind: "position", t: 2, symbol: 0, value: 8, limit: 10, message: "position 8 ≥ 80 % of max position 10" },
    ]);
    // Long 9 from 100: at 91.3 the loss is 8.7 × 9 = 78.3 < 80.
    risk.mark(0, 91.3, 4);
    expect(risk.warnings).toHaveLength(1);
    // At 91: 9 × 9 = 81 ≥ 80.
    risk.mark(0, 91, 5);
    risk.mark(0, 80, 6);
    expect(risk.warnings[1]).toEqual({
      kind: "loss",
      t: 5,
      symbol: 0,
      value: 81,
      limit: 100,
      message: "loss 81 ≥ 80 % of max daily loss 100",
    });
    expect(risk.warnings).toHaveLength(2);
  });
});
