import { describe, expect, it } from "vitest";
import { readCallgrindInstructions } from "../../src/perf/callgrind.js";
import { bootstrapChange, decideChange, formatChange, instructionChange } from "../../src/perf/regression.js";
import { configError } from "../helpers/config-error.js";

/** Deterministic noisy samples: `n` values around `center` with relative spread `cv`. */
function samples(n: number, center: number, cv: number, seed: number): number[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const gaussian = Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
    return center * (1 + cv * gaussian);
  });
}

describe("bootstrap change of the mean", () => {
  it("puts the true change inside the interval and is reproducible with its seed", () => {
    const base = samples(20, 1000, 0.03, 1);
    const slower = samples(20, 1100, 0.03, 2);
    const change = bootstrapChange(base, slower);
    expect(change.lowerPercent).toBeLessThan(10);
    expect(change.upperPercent).toBeGreaterThan(7);
    expect(change.lowerPercent).toBeLessThan(change.changePercent);
    expect(change.upperPercent).toBeGreaterThan(change.changePercent);
    expect(bootstrapChange(base, slower)).toEqual(change);
  });

  it("A/A: the same distribution compared with itself 200 times never regresses at 5 %", () => {
    const verdicts = Array.from({ length: 200 }, (_, i) =>
      decideChange(bootstrapChange(samples(10, 500, 0.04, 2 * i + 1), samples(10, 500, 0.04, 2 * i + 2), { seed: i }), 5),
    );
    expect(verdicts.filter((v) => v !== "unchanged")).toEqual([]);
  });

  it("catches a 10 % slowdown at 5 % in at least 95 % of trials, and never calls a 2 % change a regression", () => {
    const trials = 200;
    const caught = Array.from({ length: trials }, (_, i) =>
      decideChange(bootstrapChange(samples(10, 500, 0.02, 4 * i + 1), samples(10, 550, 0.02, 4 * i + 2), { seed: i }), 5),
    );
    expect(caught.filter((v) => v === "regressed").length / trials).toBeGreaterThanOrEqual(0.95);
    const small = Array.from({ length: trials }, (_, i) =>
      decideChange(bootstrapChange(samples(10, 500, 0.02, 4 * i + 3), samples(10, 510, 0.02, 4 * i + 4), { seed: i }), 5),
    );
    expect(small.filter((v) => v === "regressed")).toEqual([]);
  });

  it("compares the fastest runs when asked: whole runs slowed by other work do not move it", () => {
    const base = [100, 101, 140, 100.5, 141];
    const now = [100.2, 139, 142, 100.4, 138];
    expect(bootstrapChange(base, now, { statistic: "min" }).changePercent).toBeCloseTo(0.2, 5);
    expect(decideChange(bootstrapChange(base, now, { statistic: "min" }), 5)).toBe("unchanged");
    expect(decideChange(bootstrapChange(base, [110, 110.5, 150, 111, 152], { statistic: "min" }), 5)).toBe("regressed");
  });

  it("reports an improvement only when the whole interval is faster", () => {
    expect(decideChange(bootstrapChange(samples(10, 500, 0.02, 7), samples(10, 400, 0.02, 8)), 5)).toBe("improved");
  });

  it.each([
    [[1], [1, 2], "baseline: at least 2 samples"],
    [[1, 2], [], "current: at least 2 samples"],
    [[1, Number.NaN], [1, 2], "finite and > 0"],
    [[1, -2], [1, 2], "finite and > 0"],
    [[1, 2], [0, 2], "finite and > 0"],
  ])("refuses samples %j vs %j", (base, current, message) => {
    expect(() => bootstrapChange(base, current)).toThrow(message);
  });
});

/** `runs` runs of `perRun` samples each: every run's centre drifts from `center` by `between` (relative), samples by `within` around it. */
function drifting(runs: number, perRun: number, center: number, between: number, within: number, seed: number): number[] {
  const noise = samples(runs * (perRun + 1), 1, 1, seed).map((v) => v - 1);
  const out: number[] = [];
  for (let r = 0; r < runs; r++) {
    const runCenter = center * (1 + between * (noise[r * (perRun + 1)] as number));
    for (let i = 1; i <= perRun; i++) out.push(runCenter * (1 + within * (noise[r * (perRun + 1) + i] as number)));
  }
  return out;
}

describe("bootstrap change of samples grouped in runs (criterion: many samples per run)", () => {
  it("resamples run by run: one slow run among three is no proof, though its samples alone would be", () => {
    const run = (center: number) => Array.from({ length: 20 }, (_, i) => center + (i % 5) * 0.1);
    const base = [...run(100), ...run(100), ...run(100)];
    const now = [...run(100), ...run(112), ...run(118)];
    const bySample = bootstrapChange(base, now);
    expect(bySample.changePercent).toBeCloseTo(10, 0);
    expect(decideChange(bySample, 5)).toBe("regressed");
    const byRun = bootstrapChange(base, now, { baselineRuns: [20, 20, 20], currentRuns: [20, 20, 20] });
    expect(byRun.changePercent).toBe(bySample.changePercent);
    expect(byRun.lowerPercent).toBeLessThan(5);
    expect(decideChange(byRun, 5)).toBe("unchanged");
  });

  it("with one run per side it is the plain bootstrap of that run's samples: same point, an interval as narrow", () => {
    const base = samples(50, 100, 0.02, 11);
    const now = samples(50, 120, 0.02, 12);
    const plain = bootstrapChange(base, now);
    const oneRun = bootstrapChange(base, now, { baselineRuns: [50], currentRuns: [50] });
    expect(oneRun.changePercent).toBe(plain.changePercent);
    expect(oneRun.upperPercent - oneRun.lowerPercent).toBeCloseTo(plain.upperPercent - plain.lowerPercent, 0);
  });

  it("A/A with a 4 % drift between runs: 3 runs resampled run by run stay quiet at 5 %, sample by sample or one run against one they cry wolf; +20 % is caught", () => {
    const trials = 200;
    const runs = [20, 20, 20];
    let byRun = 0;
    let bySample = 0;
    let oneRun = 0;
    let caught = 0;
    for (let i = 0; i < trials; i++) {
      const a = drifting(3, 20, 100, 0.04, 0.02, 3 * i + 1);
      const b = drifting(3, 20, 100, 0.04, 0.02, 3 * i + 2);
      const slower = drifting(3, 20, 120, 0.04, 0.02, 3 * i + 3);
      const grouped = { seed: i, statistic: "min" as const, baselineRuns: runs, currentRuns: runs };
      if (decideChange(bootstrapChange(a, b, grouped), 5) !== "unchanged") byRun++;
      if (decideChange(bootstrapChange(a, b, { seed: i, statistic: "min" }), 5) !== "unchanged") bySample++;
      if (decideChange(bootstrapChange(a, slower, grouped), 5) === "regressed") caught++;
      const first = { seed: i, statistic: "min" as const, baselineRuns: [20], currentRuns: [20] };
      if (decideChange(bootstrapChange(a.slice(0, 20), b.slice(0, 20), first), 5) !== "unchanged") oneRun++;
    }
    // The interval is 95 %: a true A/A lands past its lower end in at most 2.5 % of trials.
    expect(byRun / trials).toBeLessThanOrEqual(0.025);
    expect(bySample / trials).toBeGreaterThanOrEqual(0.1);
    expect(oneRun / trials).toBeGreaterThanOrEqual(0.2);
    expect(caught / trials).toBeGreaterThanOrEqual(0.95);
  });

  it.each([
    [[2], "baseline: runs must be whole numbers >= 1 adding up to the 3 samples, got [2]"],
    [[1, 0, 2], "got [1, 0, 2]"],
    [[], "got []"],
  ])("refuses runs %j that do not cover the samples", (runs, message) => {
    expect(() => bootstrapChange([1, 2, 3], [1, 2, 3], { baselineRuns: runs })).toThrow(message);
  });
});

describe("instruction counts", () => {
  it("compare exactly", () => {
    const change = instructionChange(1_000_000, 1_100_000);
    expect(change.changePercent).toBeCloseTo(10, 10);
    expect(decideChange(change, 5)).toBe("regressed");
    expect(decideChange(instructionChange(1_000_000, 1_020_000), 5)).toBe("unchanged");
    expect(formatChange(change)).toBe("+10.0%");
    expect(formatChange({ baseline: 1, current: 1, changePercent: 3.04, lowerPercent: -1, upperPercent: 7.26 })).toBe(
      "+3.0% [-1.0%, +7.3%]",
    );
  });

  it("reads Ir from callgrind output and refuses what is not", () => {
    expect(readCallgrindInstructions("version: 1\nevents: Ir\nsummary: 126637\ntotals: 126637\n", "cg.out")).toBe(126637);
    expect(readCallgrindInstructions("events: Dr Ir\nsummary: 5 999\n", "cg.out")).toBe(999);
    for (const [text, message] of [
      ["", "no 'events:' line"],
      ["events: Dr\nsummary: 5\n", "expected Ir"],
      ["events: Ir\n", "the run did not finish"],
      ["events: Ir\nsummary: -3\n", "expected a positive whole number"],
      ["events: Ir\nsummary: abc\n", "expected a positive whole number"],
    ]) {
      expect(configError(() => readCallgrindInstructions(text as string, "cg.out")).message).toContain(message);
    }
  });
});
