import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBaseline, saveBaseline } from "../../src/perf/baseline.js";
import { comparePerf, describeMeasure } from "../../src/perf/compare.js";
import { perfPolicyFrom, perfPolicySchema } from "../../src/perf/policy.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";

const base = {
  benchmarks: {
    order_handling: { samples: [40, 41, 39, 40, 40], p99: 70 },
    risk_check: { samples: [6.5, 6.4, 6.6, 6.5, 6.5], p99: 11 },
  },
  instructions: 1_000_000,
};
const options = {
  thresholdPercent: 5,
  gate: "instructions" as const,
  latencyLimitsNs: { order_handling: 100_000, risk_check: 50_000 },
  statistic: "mean" as const,
};

describe("comparing with a baseline", () => {
  it("finds nothing when nothing changed, and the instruction count gates by default", () => {
    const result = comparePerf(base, base, options);
    expect(result.measures.map((m) => [m.id, m.verdict, m.gates])).toEqual([
      ["order_handling", "unchanged", false],
      ["risk_check", "unchanged", false],
      ["instructions", "unchanged", true],
    ]);
    expect(result.latencyBreaches).toEqual([]);
  });

  it("reports a 10 % slowdown in both measures, naming baseline, new value and interval", () => {
    const slower = {
      benchmarks: { order_handling: { samples: [44, 45, 43, 44, 44], p99: 77 }, risk_check: base.benchmarks.risk_check },
      instructions: 1_100_000,
    };
    const result = comparePerf(base, slower, options);
    const byId = Object.fromEntries(result.measures.map((m) => [m.id, m]));
    expect(byId.order_handling?.verdict).toBe("regressed");
    expect(byId.instructions?.verdict).toBe("regressed");
    expect(describeMeasure(byId.instructions as never)).toBe("instructions: 1000000 → 1100000 Ir, +10.0%, regressed (gates)");
    expect(describeMeasure(byId.order_handling as never)).toMatch(
      /^order_handling: 40\.0 → 44\.0 ns, \+10\.0% \[\+\d+\.\d%, \+\d+\.\d%\], regressed \(informs\)$/,
    );
  });

  it("does not call a 2 % change a regression at 5 %", () => {
    const result = comparePerf(base, { ...base, instructions: 1_020_000 }, options);
    expect(result.measures.find((m) => m.id === "instructions")?.verdict).toBe("unchanged");
  });

  it("reports p99 over its limit, and benchmarks added or gone", () => {
    const result = comparePerf(
      base,
      { benchmarks: { order_handling: { samples: [40, 40], p99: 120_000 }, fresh: { samples: [1, 1] } } },
      options,
    );
    expect(result.latencyBreaches).toEqual(["order_handling p99 120000 ns > 100000 ns"]);
    expect(result.unmatched).toEqual(["fresh: new, no baseline", "risk_check: in the baseline, not measured now"]);
    expect(result.uncheckedLimits).toEqual([]);
  });

  it("says which latency limits it could not check: criterion results have no p99", () => {
    const criterion = { samples: [40, 41, 39, 40, 40, 41], runs: [3, 3] };
    const result = comparePerf(base, { benchmarks: { order_handling: criterion, risk_check: base.benchmarks.risk_check } }, options);
    expect(result.latencyBreaches).toEqual([]);
    expect(result.uncheckedLimits).toEqual([
      "order_handling: p99 limit 100000 ns not checked (measured without a p99; criterion records means of batches of iterations)",
    ]);
  });

  it("resamples criterion samples run by run: two slow runs of three are no proof of a regression", () => {
    const run = (center: number) => [center, center + 0.2, center + 0.4, center + 0.1];
    const before = { benchmarks: { parse: { samples: [...run(100), ...run(100), ...run(100)], runs: [4, 4, 4] } } };
    const now = { benchmarks: { parse: { samples: [...run(100), ...run(118), ...run(125)], runs: [4, 4, 4] } } };
    const mean = { ...options, gate: "wall-time" as const, latencyLimitsNs: {} };
    expect(comparePerf(before, now, mean).measures[0]?.verdict).toBe("unchanged");
    const ungrouped = { benchmarks: { parse: { samples: now.benchmarks.parse.samples } } };
    expect(comparePerf({ benchmarks: { parse: { samples: before.benchmarks.parse.samples } } }, ungrouped, mean).measures[0]?.verdict).toBe(
      "regressed",
    );
  });
});

describe("baselines", () => {
  it("keep how many criterion samples each run gave", () => {
    const dir = tempDir();
    const criterion = { benchmarks: { "group/parse/64": { samples: [10, 11, 10.5, 12], runs: [2, 2] } } };
    const file = saveBaseline(dir, "main", criterion, { by: "Asha", reason: "criterion" }, new Date("2026-11-27T06:00:00Z"));
    expect(parseBaseline(readFileSync(file, "utf8"), file).benchmarks).toEqual(criterion.benchmarks);
  });

  it("save whole with an audit record of who, when and why, and read back", () => {
    const dir = tempDir();
    const file = saveBaseline(dir, "main", base, { by: "Asha", reason: "new order book" }, new Date("2026-11-27T06:00:00Z"));
    expect(parseBaseline(readFileSync(file, "utf8"), file)).toEqual({
      schemaVersion: 1,
      name: "main",
      savedAt: "2026-11-27T06:00:00.000Z",
      ...base,
    });
    const record = JSON.parse(readFileSync(join(dir, "audit.jsonl"), "utf8"));
    expect(record).toEqual({
      name: "main",
      savedAt: "2026-11-27T06:00:00.000Z",
      by: "Asha",
      reason: "new order book",
      instructions: 1_000_000,
      benchmarks: { order_handling: 40, risk_check: 6.5 },
    });
    expect(() => saveBaseline(dir, "main", base, { by: "Asha", reason: " " }, new Date())).toThrow("needs a reason");
  });

  it.each([
    ["not JSON", "{", "not valid JSON"],
    ["NaN", '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{"a":{"samples":[NaN,1]}}}', "not valid JSON"],
    [
      "a wrong schema version",
      '{"schemaVersion":2,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{}}',
      "schemaVersion: expected schemaVersion 1",
    ],
    [
      "a negative sample",
      '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{"a":{"samples":[-1,1]}}}',
      "benchmarks.a.samples.0: expected times above 0",
    ],
    [
      "one sample",
      '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{"a":{"samples":[1]}}}',
      "expected at least 2 samples",
    ],
    ["a bad date", '{"schemaVersion":1,"name":"m","savedAt":"yesterday","benchmarks":{}}', "savedAt: expected an ISO date-time"],
    [
      "runs that do not add up to the samples",
      '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{"a":{"samples":[1,2,3],"runs":[2]}}}',
      "benchmarks.a.runs: expected sample counts adding up to the number of samples",
    ],
    [
      "a run of no samples",
      '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{"a":{"samples":[1,2],"runs":[2,0]}}}',
      "benchmarks.a.runs.1: expected counts above 0",
    ],
    [
      "fractional instructions",
      '{"schemaVersion":1,"name":"m","savedAt":"2026-01-01T00:00:00Z","benchmarks":{},"instructions":1.5}',
      "instructions",
    ],
  ])("refuses a baseline with %s", (_, text, message) => {
    expect(configError(() => parseBaseline(text, "b/main.json")).message).toContain(message);
  });
});

describe("[perf] policy", () => {
  it("has the pipeline document's defaults", () => {
    expect(perfPolicyFrom(undefined)).toMatchObject({
      benchCommand: ["cargo", "bench", "--package", "engine"],
      repeats: undefined,
      gate: "wall-time",
      thresholds: { dev: 5, staging: 10, production: 5 },
      latencyLimitsNs: { order_handling: 100_000, risk_check: 50_000 },
    });
    expect(perfPolicyFrom({ instructions_command: ["x"] }).gate).toBe("instructions");
  });

  it.each([
    [{ repeats: 1 }, "expected at least 2"],
    [{ gate: "speed" }, "expected instructions or wall-time"],
    [{ wall_time_statistic: "median" }, "expected min or mean"],
    [{ thresholds: { dev: -1 } }, "expected a percentage above 0"],
    [{ bench_command: [] }, "expected a command"],
    [{ baseline: "../x" }, "expected a name of letters"],
    [{ latency_limits_ns: { order_handling: "fast" } }, "expected nanoseconds"],
    [{ unknown: 1 }, "unknown: unknown key"],
  ])("refuses %j", async (raw, message) => {
    const { describeIssues } = await import("../../src/core/zod-issues.js");
    const parsed = perfPolicySchema.safeParse(raw);
    expect(parsed.success).toBe(false);
    expect(describeIssues(parsed.error?.issues ?? []).join("\n")).toContain(message);
  });
});
