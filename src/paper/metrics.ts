/**
 * Performance figures of a paper-trading run: the equity curve sampled once per
 * simulated minute, its maximum drawdown and Sharpe ratio, and nearest-rank
 * percentiles (for latencies).
 */

export interface EquityPoint {
  /** Simulated time, ns (the tape's `t`). */
  readonly t: number;
  /** Quote currency. */
  readonly equity: number;
}

/** One simulated minute in ns: the step of the equity curve. */
export const MINUTE_NS = 60e9;
/** Minutes in a 365-day year: the per-minute Sharpe ratio is annualised by its square root. */
export const MINUTES_PER_YEAR = 525_600;

/**
 * Samples equity into one point per simulated minute (minutes counted from
 * t = 0): the curve is the first sample, then the last value of each minute,
 * the last point being the final sample. A minute without samples repeats the
 * previous value (equity did not move), at the minute's start.
 */
export class EquityRecorder {
  private readonly curve: EquityPoint[] = [];
  private minute = 0;
  /** The latest sample: the last value of the current minute so far. */
  private lastT = 0;
  private lastEquity = 0;
  /** Whether the latest sample is the opening point, already in {@link curve}. */
  private latestIsOpening = true;

  /** Records the equity at simulated time `t` (ns, not decreasing). */
  record(t: number, equity: number): void {
    const minute = Math.floor(t / MINUTE_NS);
    if (this.curve.length === 0) {
      this.curve.push({ t, equity });
      this.minute = minute;
    } else {
      if (minute > this.minute) {
        if (!this.latestIsOpening) this.curve.push({ t: this.lastT, equity: this.lastEquity });
        for (let m = this.minute + 1; m < minute; m++) this.curve.push({ t: m * MINUTE_NS, equity: this.lastEquity });
        this.minute = minute;
      }
      this.latestIsOpening = false;
    }
    this.lastT = t;
    this.lastEquity = equity;
  }

  /** The curve so far, ending with the latest sample. */
  points(): EquityPoint[] {
    if (this.latestIsOpening) return [...this.curve];
    return [...this.curve, { t: this.lastT, equity: this.lastEquity }];
  }
}

/** The largest fall of the equity curve. */
export interface Drawdown {
  /** Largest peak-to-trough fall, quote currency (0 if equity never fell). */
  readonly amount: number;
  /** The peak and trough of that fall; undefined when there was none. */
  readonly peak?: EquityPoint;
  readonly trough?: EquityPoint;
}

/** The largest fall of equity from a running peak to a later point. */
export function maxDrawdown(curve: readonly EquityPoint[]): Drawdown {
  let best: Drawdown = { amount: 0 };
  let peak = curve[0];
  for (const point of curve) {
    if (peak === undefined || point.equity > peak.equity) peak = point;
    const fall = peak.equity - point.equity;
    if (fall > best.amount) best = { amount: fall, peak, trough: point };
  }
  return best;
}

/** The Sharpe ratio of the per-minute equity changes. */
export interface Sharpe {
  /** Number of per-minute equity changes. */
  readonly count: number;
  readonly mean: number;
  /** Sample standard deviation (n − 1). */
  readonly stdev: number;
  /** mean / stdev. */
  readonly perMinute: number;
  /** perMinute × √525600. */
  readonly annualised: number;
}

/** Sharpe ratio of the per-minute equity changes of `curve`; undefined with fewer than 2 changes or no variation. */
export function sharpe(curve: readonly EquityPoint[]): Sharpe | undefined {
  const count = curve.length - 1;
  if (count < 2) return undefined;
  let sum = 0;
  for (let i = 1; i <= count; i++) sum += (curve[i] as EquityPoint).equity - (curve[i - 1] as EquityPoint).equity;
  const mean = sum / count;
  let squares = 0;
  for (let i = 1; i <= count; i++) {
    const d = (curve[i] as EquityPoint).equity - (curve[i - 1] as EquityPoint).equity - mean;
    squares += d * d;
  }
  const stdev = Math.sqrt(squares / (count - 1));
  if (!(stdev > 0)) return undefined;
  const perMinute = mean / stdev;
  return { count, mean, stdev, perMinute, annualised: perMinute * Math.sqrt(MINUTES_PER_YEAR) };
}

/**
 * Nearest-rank percentiles: for p in [0, 100], the smallest value with at
 * least p % of the values at or below it (p = 0: the minimum). Undefined for no
 * values.
 */
export function percentiles(values: ArrayLike<number>, ps: readonly number[]): number[] | undefined {
  const n = values.length;
  if (n === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return ps.map((p) => {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is outside 0–100`);
    const rank = Math.max(1, Math.ceil((p * n) / 100));
    return sorted[rank - 1] as number;
  });
}
