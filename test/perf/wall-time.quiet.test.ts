/**
 * The wall-time gate on the real example: an injected 10 % slowdown of the
 * engine's event handling (tick_to_trade) is caught at 5 %, a 2 % one is not,
 * and the same build compared with itself shows no regression.
 *
 * Wall time on a shared machine drifts between a fast and a slow mode (on the
 * 2-core CI machine whole runs land 30 % apart). So this file runs last and
 * alone (vitest project "quiet"), and the builds are measured in alternating
 * rounds, so a slow spell hits all of them alike, as an A/B benchmark on one
 * machine is done. Each round is one run of the pipeline's own measurement
 * (`measure`, repeats 1); the comparison is the gate's own (`comparePerf`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import type { StepContext } from "../../src/engine/step.js";
import type { PerfMeasurement } from "../../src/perf/baseline.js";
import { comparePerf, describeMeasure } from "../../src/perf/compare.js";
import { measure } from "../../src/perf/measure.js";
import { perfPolicyFrom } from "../../src/perf/policy.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { copyExample } from "../helpers/example.js";

const LIB = "crates/engine/src/lib.rs";
const HOOK = "        self.stats.events += 1;\n";
const ROUNDS = 16;
const PROBE_SPINS = 400;
const POLICY = { ...perfPolicyFrom(undefined), repeats: 1 };

const parent = mkdtempSync(join(tmpdir(), "shriven-wall-"));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

/** A copy of the example whose event handling spins `extra` more times per event. */
function copyWithSpins(name: string, extra: number): string {
  const copy = copyExample(mkdtempSync(join(parent, `${name}-`)));
  const lib = readFileSync(join(copy, LIB), "utf8");
  if (!lib.includes(HOOK)) throw new Error(`${LIB} changed: the slowdown hook is gone`);
  if (extra > 0)
    writeFileSync(
      join(copy, LIB),
      lib.replace(
        HOOK,
        `${HOOK}        for i in 0..std::hint::black_box(${extra}u32) {\n            std::hint::black_box(i);\n        }\n`,
      ),
    );
  return copy;
}

/** One run of the pipeline's benchmark measurement in `workspace`, on the host. */
async function measureOnce(workspace: string): Promise<PerfMeasurement> {
  const runner = new HostRunner({ workspace });
  const context: StepContext = {
    exec: (command) => runner.exec(command),
    options: { extraArgs: [] },
    profileEnv: {},
    workspaceDir: workspace,
    signal: new AbortController().signal,
    policies: defaultPipelineConfig([]).policies,
    services: {
      advisoryDatabase: () => Promise.reject(new Error("not needed")),
      today: () => "2026-11-27",
    },
  };
  return (await measure(context, POLICY)).measurement;
}

/**
 * Measures the copies in `rounds` rounds, each copy once per round in a shuffled
 * order (slow spells last seconds; a fixed order could line up with them); one
 * measurement per copy with one sample per round.
 */
async function interleaved(copies: readonly string[], rounds: number): Promise<PerfMeasurement[]> {
  const merged = copies.map(() => ({ benchmarks: {} as Record<string, { samples: number[] }> }));
  let seed = 7;
  for (let round = 0; round < rounds; round++) {
    const order = copies.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const i of order) {
      const copy = copies[i] as string;
      const once = await measureOnce(copy);
      const into = merged[i] as (typeof merged)[number];
      for (const [id, b] of Object.entries(once.benchmarks)) {
        const entry = into.benchmarks[id] ?? { samples: [] };
        entry.samples.push(...b.samples);
        into.benchmarks[id] = entry;
      }
    }
  }
  return merged;
}

const fastest = (m: PerfMeasurement) => Math.min(...(m.benchmarks.tick_to_trade?.samples ?? [Number.NaN]));

const tickToTrade = (baseline: PerfMeasurement, current: PerfMeasurement) => {
  const comparison = comparePerf(baseline, current, { thresholdPercent: 5, gate: "wall-time", latencyLimitsNs: {} });
  const measure = comparison.measures.find((m) => m.id === "tick_to_trade");
  if (measure === undefined) throw new Error("tick_to_trade was not compared");
  return { measure, regressed: comparison.measures.filter((m) => m.verdict === "regressed").map((m) => m.id) };
};

describe("wall-time gate on the example (real cargo bench, alternating rounds)", () => {
  let base: PerfMeasurement;
  let tenPercent: PerfMeasurement;
  let twoPercent: PerfMeasurement;

  beforeAll(async () => {
    const clean = copyWithSpins("clean", 0);
    // A first guess from a probe build's cost per spin, then corrected on measured wall time (the spin's
    // cost is not linear: out-of-order execution hides part of it), on rounds apart from the ones tested.
    const probe = copyWithSpins("probe", PROBE_SPINS);
    const [probeBase, probed] = (await interleaved([clean, probe], 4)) as [PerfMeasurement, PerfMeasurement];
    const perSpinNs = (fastest(probed) - fastest(probeBase)) / PROBE_SPINS;
    expect(perSpinNs).toBeGreaterThan(0);
    // The cost of a spin is far from linear in their number, and even steps with code layout (52 spins measured
    // +7.4 %, 53 spins +14.7 % in one run): bisect, and when no count lands within the tolerance, take the
    // closest one inside the accepted range.
    const sized = async (percent: number, tolerance: number, accepted: readonly [number, number]): Promise<string> => {
      let spins = Math.max(1, Math.round(((percent / 100) * fastest(probeBase)) / perSpinNs));
      let [tooFew, tooMany] = [0, Number.POSITIVE_INFINITY];
      const tried: { spins: number; actual: number; copy: string }[] = [];
      const attempt = async (count: number) => {
        const copy = copyWithSpins(`slow${percent}`, count);
        const [a, b] = (await interleaved([clean, copy], 4)) as [PerfMeasurement, PerfMeasurement];
        const tryout = { spins: count, actual: (fastest(b) / fastest(a) - 1) * 100, copy };
        tried.push(tryout);
        return tryout;
      };
      const guess = spins;
      for (let round = 0; round < 7; round++) {
        const { actual, copy } = await attempt(spins);
        if (Math.abs(actual - percent) <= tolerance) return copy;
        if (actual < percent) tooFew = spins;
        else tooMany = spins;
        spins = Number.isFinite(tooMany) ? Math.round((tooFew + tooMany) / 2) : spins * 2;
        if (spins === tooFew || spins === tooMany) break;
      }
      // Bisection assumes the cost grows with the count; code layout breaks that (CI measured 5 spins −0.3 %,
      // 6 spins +27.7 %, 8 spins +4.2 %). Then try the counts around the first guess not yet tried, a bounded few.
      const untried = Array.from({ length: 2 * guess + 4 }, (_, i) => i + 1)
        .filter((count) => !tried.some((t) => t.spins === count))
        .sort((x, y) => Math.abs(x - guess) - Math.abs(y - guess));
      for (const count of untried.slice(0, Math.max(0, 12 - tried.length))) {
        const { actual, copy } = await attempt(count);
        if (Math.abs(actual - percent) <= tolerance) return copy;
      }
      const closest = tried
        .filter((t) => t.actual >= accepted[0] && t.actual <= accepted[1])
        .sort((x, y) => Math.abs(x.actual - percent) - Math.abs(y.actual - percent))[0];
      if (closest !== undefined) return closest.copy;
      throw new Error(
        `could not size a ${percent} % slowdown: ${tried.map((t) => `${t.spins} spins: ${t.actual.toFixed(1)} %`).join("; ")}`,
      );
    };
    const slow10 = await sized(10, 1.5, [7, 14]);
    const slow2 = await sized(2, 0.7, [0.5, 3.5]);
    [base, tenPercent, twoPercent] = (await interleaved([clean, slow10, slow2], ROUNDS)) as [
      PerfMeasurement,
      PerfMeasurement,
      PerfMeasurement,
    ];
  }, 900_000);

  it("catches the 10 % slowdown: the whole interval of the change is past 5 %", () => {
    const { measure, regressed } = tickToTrade(base, tenPercent);
    console.log(`10 %: ${describeMeasure(measure)}`);
    expect(measure.verdict).toBe("regressed");
    expect(measure.gates).toBe(true);
    expect(measure.change.lowerPercent).toBeGreaterThan(5);
    expect(measure.change.changePercent).toBeGreaterThan(7);
    expect(measure.change.changePercent).toBeLessThan(14);
    expect(regressed).toContain("tick_to_trade");
  });

  it("does not report the 2 % change as a regression at 5 %", () => {
    const { measure, regressed } = tickToTrade(base, twoPercent);
    console.log(`2 %: ${describeMeasure(measure)}`);
    expect(measure.verdict).not.toBe("regressed");
    // Spins this few are partly hidden by out-of-order execution, so the copy sized at 2 % measures 0–2.5 %
    // in these rounds; what matters is that nothing below the threshold is reported.
    expect(measure.change.changePercent).toBeLessThan(4);
    expect(regressed).toEqual([]);
  });

  // Each half takes one round of every two consecutive ones (which one at random), so both halves see the same
  // spells of the machine, as the alternating rounds of the A/B tests above do. Unbalanced random halves are
  // the bench's business (bench/perf-gates.ts): when a slow spell covers a stretch of rounds, a half can hold no
  // round in the fast mode at all, and the fastest runs then differ by 30 % — the false alarm a stored
  // baseline risks on this machine, and why instruction counts gate by default.
  it("A/A, 20 times: time-balanced random halves of the same build's rounds show no regression in any benchmark", () => {
    let seed = 11;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    const balancedHalves = (n: number): [number[], number[]] => {
      const first: number[] = [];
      const second: number[] = [];
      for (let pair = 0; pair + 1 < n; pair += 2) {
        // (The low bits of this generator repeat with a short period; bit 16 does not.)
        const swap = ((random() >> 16) & 1) === 1;
        first.push(swap ? pair + 1 : pair);
        second.push(swap ? pair : pair + 1);
      }
      return [first, second];
    };
    const rounds = base.benchmarks.tick_to_trade?.samples.length ?? 0;
    expect(rounds).toBe(ROUNDS);
    const seen = new Set<string>();
    for (let trial = 0; trial < 20; trial++) {
      const [first, second] = balancedHalves(rounds);
      seen.add(first.join(","));
      const half = (part: number[]): PerfMeasurement => ({
        benchmarks: Object.fromEntries(
          Object.entries(base.benchmarks).map(([id, b]) => [id, { samples: part.map((i) => b.samples[i] as number) }]),
        ),
      });
      const comparison = comparePerf(half(first), half(second), {
        thresholdPercent: 5,
        gate: "wall-time",
        latencyLimitsNs: {},
      });
      expect(comparison.measures.filter((m) => m.verdict === "regressed").map((m) => `trial ${trial}: ${describeMeasure(m)}`)).toEqual([]);
    }
    // 20 different splits, not one repeated.
    expect(seen.size).toBeGreaterThan(15);
  });
});
