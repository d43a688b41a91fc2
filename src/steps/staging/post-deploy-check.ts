/**
 * Staging's post-deploy check after the smoke tests: the test hosts' metrics
 * watched for `[monitor.staging]`, critical on an error rate over its limit or
 * a latency p99 degraded against the release before. Each warning is posted
 * to Slack when it first appears.
 */

import type { DeployHost, Inventory } from "../../deploy/policy.js";
import type { HostCapabilities, StepContext } from "../../engine/step.js";
import { stagingThresholds } from "../../monitor/staging-thresholds.js";
import { monitorHosts } from "../../monitor/watch.js";
import { deployedTo, findingLine, hostMetrics, warningNotices } from "../shared/deploy.js";
import { withSession } from "../shared/host.js";
import { recordedLatencyReferences } from "./latency-references.js";

/** The staging triggers after the smoke tests: error rate > 1 %, latency p99 degraded > 20 % against the release before. */
export async function postDeployCheck(
  context: StepContext,
  host: HostCapabilities,
  inventory: Inventory,
): Promise<{ critical?: string; findings: string[]; summary: string }> {
  const policy = context.policies.monitor;
  const check = policy.staging;
  const references = recordedLatencyReferences(host);
  const findings: string[] = [];
  const start = host.clock.now();
  const notices = warningNotices(host, inventory.environment, deployedTo(host, "test")?.version ?? "the deployed release", start);
  const outcome = await withSession(host, inventory, (session) =>
    monitorHosts<DeployHost>({
      hosts: inventory.hosts,
      policy: { durationMs: check.durationMs, pollMs: check.pollMs, thresholds: policy.thresholds },
      thresholdsFor: (target) => stagingThresholds(policy, references.get(target.name)),
      fetchMetrics: hostMetrics(context, host, session),
      clock: host.clock,
      onFinding: (f) => findings.push(`${f.level}: ${findingLine(f, start)}`),
      onFirstWarning: notices.onFirstWarning,
    }),
  );
  findings.push(...(await notices.undelivered()));
  const compared =
    references.size > 0
      ? `latency against the previous release on ${[...references.keys()].join(", ")}`
      : "no previous release serving to compare latency with";
  if (outcome.verdict === "critical") return { critical: `critical on ${findingLine(outcome, start)}`, findings, summary: "" };
  return {
    findings,
    summary: `${outcome.polls} poll(s) over ${Math.round(check.durationMs / 1000)} s: ${outcome.verdict === "warning" ? `${outcome.warnings.length} warning(s)` : "no findings"} (${compared})`,
  };
}
