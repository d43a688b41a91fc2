/**
 * Staging's latency references: each test host's latency p99 before the
 * deploy, from the release it serves, kept for the post-deploy check.
 */

import type { RemoteTransport } from "../../deploy/context.js";
import type { Inventory } from "../../deploy/policy.js";
import type { HostCapabilities, StepContext } from "../../engine/step.js";
import { latencyP99Seconds } from "../../monitor/evaluate.js";
import { parsePrometheusText } from "../../monitor/prometheus.js";
import { hostMetrics } from "../shared/deploy.js";

/** Each test host's latency p99 (µs) before the deploy, from the release it serves; none where nothing answers. */
export async function latencyReferences(
  context: StepContext,
  host: HostCapabilities,
  inventory: Inventory,
  session: RemoteTransport,
): Promise<Map<string, number>> {
  const fetch = hostMetrics(context, host, session);
  const references = new Map<string, number>();
  for (const target of inventory.hosts) {
    try {
      const metrics = await fetch(target);
      const p99 = latencyP99Seconds(typeof metrics === "string" ? parsePrometheusText(metrics, `metrics of ${target.name}`) : metrics);
      if (p99 !== undefined && Number.isFinite(p99) && p99 > 0) references.set(target.name, p99 * 1e6);
    } catch {
      // Nothing serving there yet (a first deploy): no reference, so no degradation check for this host.
    }
  }
  return references;
}

/** Keeps the references for the post-deploy check of this run. */
export function recordLatencyReferences(host: HostCapabilities, references: Map<string, number>): void {
  host.state.latencyReferences = references;
}

/** The references recorded in this run; none when the deploy recorded none. */
export function recordedLatencyReferences(host: HostCapabilities): ReadonlyMap<string, number> {
  return host.state.latencyReferences ?? new Map<string, number>();
}
