/** The thresholds of staging's post-deploy check (src/monitor/staging-thresholds.ts). */
import { describe, expect, it } from "vitest";
import { DEFAULT_MONITOR_THRESHOLDS } from "../../src/monitor/policy.js";
import { stagingThresholds } from "../../src/monitor/staging-thresholds.js";

const policy = {
  thresholds: DEFAULT_MONITOR_THRESHOLDS,
  staging: { durationMs: 60_000, pollMs: 1000, errorRateCriticalPercent: 1, degradationPercent: 20, degradationFloorUs: 10 },
};

describe("staging thresholds", () => {
  it("adds staging's error-rate rollback, and a latency degradation only against a reference", () => {
    expect(stagingThresholds(policy, undefined)).toEqual({ ...DEFAULT_MONITOR_THRESHOLDS, errorRateCriticalPercent: 1 });
    expect(stagingThresholds(policy, 42)).toEqual({
      ...DEFAULT_MONITOR_THRESHOLDS,
      errorRateCriticalPercent: 1,
      latencyDegradation: { referenceUs: 42, percent: 20, floorUs: 10 },
    });
  });
});
