/** The thresholds of staging's post-deploy check on one test host. */
import type { MonitorPolicy, MonitorThresholds } from "./policy.js";

/**
 * The monitor's thresholds with staging's rollback triggers: the error rate above `[monitor.staging]`'s, and,
 * when the host had a release serving before the deploy (`referenceUs`, its latency p99 in µs), a latency
 * degradation against it.
 */
export function stagingThresholds(
  policy: Pick<MonitorPolicy, "thresholds" | "staging">,
  referenceUs: number | undefined,
): MonitorThresholds {
  const check = policy.staging;
  return {
    ...policy.thresholds,
    errorRateCriticalPercent: check.errorRateCriticalPercent,
    ...(referenceUs === undefined
      ? {}
      : { latencyDegradation: { referenceUs, percent: check.degradationPercent, floorUs: check.degradationFloorUs } }),
  };
}
