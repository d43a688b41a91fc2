import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureCommandMemory } from "../../src/perf/memory-command.js";
import { analyzeMemoryGrowth, type RssSample, sampleRss } from "../../src/perf/memory-growth.js";

/** `n` samples one second apart; `rss(i)` gives the level of sample i. */
function series(n: number, rss: (i: number) => number): RssSample[] {
  return Array.from({ length: n }, (_, i) => ({ atMs: i * 1_000, rssKiB: rss(i) }));
}

/** Deterministic noise in [-1, 1]. */
function noise(i: number): number {
  return Math.sin(i * 12.9898) * 0.999;
}

const steady = (i: number): number => Math.round(50_000 * (1 + 0.01 * noise(i)));

describe("analyzeMemoryGrowth", () => {
  it("passes a steady series with ±1% noise", () => {
    const result = analyzeMemoryGrowth(series(60, steady));
    expect(result.verdict).toBe("ok");
    expect(Math.abs(result.growthPercent)).toBeLessThan(2);
    expect(result.samples).toBe(48);
    expect(result.reason).toMatch(/within the warning threshold of 10%/);
  });

  it("warns on +15%", () => {
    const result = analyzeMemoryGrowth(series(60, (i) => (i < 36 ? 50_000 : 57_500)));
    expect(result).toMatchObject({ verdict: "warn", baselineKiB: 50_000, finalKiB: 57_500 });
    expect(result.growthPercent).toBeCloseTo(15, 9);
    expect(result.reason).toMatch(/grew 15\.0% .*above the warning threshold of 10%/);
  });

  it("fails a steady +40% leak and reports its slope", () => {
    // 150 KiB per one-second sample.
    const result = analyzeMemoryGrowth(series(60, (i) => 10_000 + 150 * i + 20 * noise(i)));
    expect(result.verdict).toBe("fail");
    expect(result.growthPercent).toBeGreaterThan(40);
    expect(result.slopeKiBPerMinute).toBeCloseTo(9_000, -2);
    expect(result.reason).toMatch(/above the failure threshold of 20%: likely a memory leak/);
  });

  it("honours custom thresholds", () => {
    const samples = series(60, (i) => (i < 36 ? 50_000 : 57_500));
    expect(analyzeMemoryGrowth(samples, { warnPercent: 5, failPercent: 10 }).verdict).toBe("fail");
    expect(analyzeMemoryGrowth(samples, { warnPercent: 20, failPercent: 30 }).verdict).toBe("ok");
  });

  it("excludes the warm-up, where start-up allocations ramp RSS up", () => {
    // RSS climbs from 5 MiB to ~50 MiB in the first 10 of 60 s, then stays flat.
    const samples = series(60, (i) => (i < 10 ? 5_000 + 4_500 * i : steady(i)));
    const result = analyzeMemoryGrowth(samples);
    expect(result.verdict).toBe("ok");
    expect(result.baselineKiB).toBeGreaterThan(49_000);
    // Without the cut-off the ramp would read as a leak.
    expect(analyzeMemoryGrowth(samples, { warmupFraction: 0 }).verdict).toBe("fail");
  });

  it("is not failed by a single late spike (medians)", () => {
    const samples = series(60, (i) => (i === 55 ? 150_000 : steady(i)));
    const result = analyzeMemoryGrowth(samples);
    expect(result.verdict).toBe("ok");
    expect(result.finalKiB).toBeLessThan(51_000);
  });

  it("reports insufficient data below 8 post-warm-up samples", () => {
    // 9 samples over 8 s: the warm-up (first 1.6 s) drops two, 7 remain.
    const result = analyzeMemoryGrowth(series(9, steady));
    expect(result).toMatchObject({ verdict: "insufficient", samples: 7 });
    expect(result.reason).toMatch(/only 7 sample\(s\) after the warm-up, at least 8 are needed/);
    expect(analyzeMemoryGrowth(series(10, steady)).verdict).toBe("ok");
    expect(analyzeMemoryGrowth([])).toMatchObject({ verdict: "insufficient", samples: 0, baselineKiB: 0, growthPercent: 0 });
  });

  it("rejects invalid samples and options with a clear error", () => {
    const good = series(20, steady);
    const withSample = (i: number, sample: RssSample): RssSample[] => good.map((s, j) => (j === i ? sample : s));
    expect(() => analyzeMemoryGrowth(withSample(3, { atMs: 3_000, rssKiB: Number.NaN }))).toThrow(
      /sample 3: rssKiB must be a finite number ≥ 0, got NaN/,
    );
    expect(() => analyzeMemoryGrowth(withSample(4, { atMs: 4_000, rssKiB: -1 }))).toThrow(/sample 4: rssKiB must be .* got -1/);
    expect(() => analyzeMemoryGrowth(withSample(5, { atMs: Number.POSITIVE_INFINITY, rssKiB: 1 }))).toThrow(/sample 5: atMs must be/);
    expect(() => analyzeMemoryGrowth(withSample(6, { atMs: 500, rssKiB: 1 }))).toThrow(
      /samples must be sorted by atMs: sample 6 \(500 ms\) comes before sample 5 \(5000 ms\)/,
    );
    expect(() => analyzeMemoryGrowth(good, { warmupFraction: 1 })).toThrow(/warmupFraction must be a number in \[0, 1\)/);
    expect(() => analyzeMemoryGrowth(good, { warnPercent: 30, failPercent: 20 })).toThrow(/failPercent must be .* ≥ warnPercent/);
  });
});

const LEAKER = `
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  for (int i = 0; i < 75; i++) {          /* ~1.5 s */
    char *block = malloc(200 * 1024);     /* never freed */
    if (!block) return 1;
    memset(block, i + 1, 200 * 1024);     /* touch it so it is resident */
    usleep(20000);
  }
  return 0;
}
`;

const STEADY = `
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  size_t size = 8 * 1024 * 1024;
  volatile char *block = malloc(size);    /* allocated once */
  if (!block) return 1;
  memset((char *)block, 1, size);
  for (int i = 0; i < 75; i++) {          /* ~1.5 s */
    block[(size_t)i * 4096 % size] += 1;
    usleep(20000);
  }
  return 0;
}
`;

describe("measuring real processes", () => {
  let dir: string;
  const programs: Record<string, string> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "shriven-memgrowth-"));
    for (const [name, source] of Object.entries({ leaker: LEAKER, steady: STEADY })) {
      writeFileSync(join(dir, `${name}.c`), source);
      execFileSync("cc", ["-O1", "-o", join(dir, name), join(dir, `${name}.c`)]);
      programs[name] = join(dir, name);
    }
  });

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("fails a leaking process and passes a steady one", async () => {
    const options = { intervalMs: 50, timeoutMs: 15_000 };
    const started = performance.now();
    const [leaker, steadyRun] = await Promise.all([
      measureCommandMemory([programs.leaker ?? ""], options),
      measureCommandMemory([programs.steady ?? ""], options),
    ]);
    expect(performance.now() - started).toBeLessThan(10_000);
    for (const run of [leaker, steadyRun]) {
      expect(run.exitCode).toBe(0);
      expect(run.samples.length).toBeGreaterThanOrEqual(15);
      expect(run.samples[0]?.atMs).toBe(0);
    }
    const leak = analyzeMemoryGrowth(leaker.samples);
    expect(leak.verdict, leak.reason).toBe("fail");
    expect(leak.slopeKiBPerMinute).toBeGreaterThan(100_000);
    const flat = analyzeMemoryGrowth(steadyRun.samples);
    expect(flat.verdict, flat.reason).toBe("ok");
    expect(flat.baselineKiB).toBeGreaterThan(8_000);
  }, 30_000);

  it("kills a command that outlives its timeout", async () => {
    const started = performance.now();
    const run = await measureCommandMemory(["sleep", "30"], { intervalMs: 50, timeoutMs: 400 });
    expect(run.exitCode).toBeNull();
    expect(run.samples.length).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 10_000);

  it("names a command that cannot be started", async () => {
    await expect(measureCommandMemory([join(dir, "missing")], { intervalMs: 50, timeoutMs: 1_000 })).rejects.toThrow(
      /cannot start .*missing/,
    );
    await expect(measureCommandMemory([], { intervalMs: 50, timeoutMs: 1_000 })).rejects.toThrow(/argv must name a command/);
  });

  it("sampleRss stops on abort and returns at once for a process that is gone", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const own = await sampleRss(process.pid, { intervalMs: 20, signal: controller.signal });
    expect(own.length).toBeGreaterThanOrEqual(3);
    expect(own.every((s, i) => s.rssKiB > 0 && s.atMs >= (own[i - 1]?.atMs ?? 0))).toBe(true);

    let gone = 4_000_000;
    while (existsSync(`/proc/${gone}`)) gone++;
    expect(await sampleRss(gone, { intervalMs: 20, signal: new AbortController().signal })).toEqual([]);
    await expect(sampleRss(process.pid, { intervalMs: 0, signal: controller.signal })).rejects.toThrow(
      /intervalMs must be a positive number/,
    );
  });
});
