/** Equity curve sampling, drawdown, Sharpe and percentiles, on figures worked out by hand. */
import { describe, expect, it } from "vitest";
import { Side } from "../../src/market/types.js";
import { Exchange } from "../../src/paper/exchange.js";
import { type EquityPoint, EquityRecorder, MINUTE_NS, maxDrawdown, percentiles, sharpe } from "../../src/paper/metrics.js";
import type { ExchangeReport } from "../../src/paper/orders.js";
import { RiskMonitor } from "../../src/paper/risk-monitor.js";
import { tape } from "../helpers/tape.js";

const S = 1e9;
const curveOf = (values: number[]): EquityPoint[] => values.map((equity, i) => ({ t: i * MINUTE_NS, equity }));

describe("EquityRecorder", () => {
  it("keeps the first sample, the last value of each minute (repeating it over empty minutes) and the final sample", () => {
    const recorder = new EquityRecorder();
    expect(recorder.points()).toEqual([]);
    recorder.record(0, 0);
    expect(recorder.points()).toEqual([{ t: 0, equity: 0 }]);
    recorder.record(10 * S, 5);
    recorder.record(50 * S, -3); // last of minute 0
    recorder.record(70 * S, 4); // only one in minute 1
    // Minute 2 has no sample: 4 carries on, at 120 s.
    recorder.record(200 * S, 10);
    recorder.record(230 * S, 8); // minute 3, the final sample
    expect(recorder.points()).toEqual([
      { t: 0, equity: 0 },
      { t: 50 * S, equity: -3 },
      { t: 70 * S, equity: 4 },
      { t: 120 * S, equity: 4 },
      { t: 230 * S, equity: 8 },
    ]);
  });
});

describe("maxDrawdown", () => {
  it("finds the largest fall from a running peak, with its times", () => {
    // Falls: 10 → 4 = 6, then 12 → 5 = 7 (the largest).
    const curve = curveOf([0, 10, 4, 12, 5, 9]);
    expect(maxDrawdown(curve)).toEqual({ amount: 7, peak: curve[3], trough: curve[4] });
    expect(maxDrawdown(curveOf([1, 2, 3]))).toEqual({ amount: 0 });
    expect(maxDrawdown([])).toEqual({ amount: 0 });
  });
});

describe("sharpe", () => {
  it("is the mean over the sample stdev of the per-minute changes, annualised by √525600", () => {
    // Changes 10, −6, 8, −7, 4: mean 9 / 5 = 1.8; deviations 8.2, −7.8, 6.2, −8.8, 2.2;
    // squares 67.24 + 60.84 + 38.44 + 77.44 + 4.84 = 248.8; / (5 − 1) = 62.2; stdev √62.2.
    const result = sharpe(curveOf([0, 10, 4, 12, 5, 9]));
    expect(result?.count).toBe(5);
    expect(result?.mean).toBeCloseTo(1.8, 12);
    expect(result?.stdev).toBeCloseTo(Math.sqrt(62.2), 12);
    expect(result?.perMinute).toBeCloseTo(1.8 / Math.sqrt(62.2), 12);
    // 1.8 / 7.88670 × 724.983 ≈ 165.46.
    expect(result?.annualised).toBeCloseTo((1.8 / Math.sqrt(62.2)) * Math.sqrt(525_600), 9);
    expect(result?.annualised).toBeCloseTo(165.46, 2);
  });

  it("is undefined with fewer than two changes or no variation", () => {
    expect(sharpe(curveOf([0, 5]))).toBeUndefined();
    expect(sharpe(curveOf([0, 1, 2, 3]))).toBeUndefined();
    expect(sharpe([])).toBeUndefined();
  });
});

describe("percentiles", () => {
  it("uses the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(values, [50, 99, 100])).toEqual([50, 99, 100]);
    // n = 5: p30 → rank ⌈1.5⌉ = 2, p50 → ⌈2.5⌉ = 3, p0 → the minimum.
    expect(percentiles(new Float64Array([40, 15, 50, 35, 20]), [30, 50, 100, 0])).toEqual([20, 35, 50, 15]);
    // 7 % of 100 is rank 7 exactly (not 8 from 0.07 × 100 = 7.000000000000001).
    expect(percentiles(values, [7])).toEqual([7]);
    expect(percentiles([], [50])).toBeUndefined();
    expect(() => percentiles([1], [101])).toThrow(RangeError);
  });
});

describe("a known price path through the exchange, risk monitor and recorder", () => {
  it("gives the P&L, drawdown and Sharpe worked out by hand", () => {
    const quote = (t: number, bid: number, ask: number) => ({ t, kind: "quote" as const, bid, bidQty: 5, ask, askQty: 5 });
    const data = tape([quote(0, 99, 101), quote(60 * S, 104, 106), quote(120 * S, 97, 99), quote(180 * S, 102, 104)]);
    const risk = new RiskMonitor(1, { maxPosition: 10, maxDailyLoss: 1000 });
    const exchange = new Exchange(data, { makerFeeBps: 0, takerFeeBps: 0 }, risk.check);
    const recorder = new EquityRecorder();
    const out: ExchangeReport[] = [];
    const settle = () => {
      for (const r of out.splice(0)) if (r.type === "fill") risk.onFill(r);
    };
    const market = (i: number) => {
      exchange.onMarket(i, out);
      settle();
      risk.mark(0, exchange.mid(0) as number, data.t[i]);
      recorder.record(data.t[i] as number, risk.equity());
    };
    market(0); // mid 100, flat: 0
    exchange.submit({ clientId: "b", symbol: 0, side: Side.Buy, type: "market", qty: 1 }, 1 * S, out);
    settle(); // long 1 from the ask 101
    risk.mark(0, exchange.mid(0) as number, 1 * S);
    recorder.record(1 * S, risk.equity()); // mid 100: 100 − 101 = −1
    market(1); // mid 105: +4
    market(2); // mid 98: −3
    market(3); // mid 103: +2
    exchange.submit({ clientId: "s", symbol: 0, side: Side.Sell, type: "market", qty: 1 }, 181 * S, out);
    settle(); // sold at the bid 102: realised 102 − 101 = 1
    recorder.record(181 * S, risk.equity());
    expect([risk.position(0), risk.realised(0), risk.unrealised(0), risk.equity()]).toEqual([0, 1, 0, 1]);

    const curve = recorder.points();
    expect(curve.map((p) => [p.t / S, p.equity])).toEqual([
      [0, 0],
      [1, -1],
      [60, 4],
      [120, -3],
      [181, 1],
    ]);
    // Peak 4 at 60 s → trough −3 at 120 s: 7.
    expect(maxDrawdown(curve)).toEqual({ amount: 7, peak: { t: 60 * S, equity: 4 }, trough: { t: 120 * S, equity: -3 } });
    // Changes −1, 5, −7, 4: mean 1 / 4 = 0.25; deviations −1.25, 4.75, −7.25, 3.75;
    // squares 1.5625 + 22.5625 + 52.5625 + 14.0625 = 90.75; / 3 = 30.25; stdev 5.5; Sharpe 0.25 / 5.5.
    const result = sharpe(curve);
    expect(result?.mean).toBeCloseTo(0.25, 12);
    expect(result?.stdev).toBeCloseTo(5.5, 12);
    expect(result?.perMinute).toBeCloseTo(0.25 / 5.5, 12);
  });
});
