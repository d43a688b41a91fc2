/**
 * Post-deploy monitoring of the production hosts: a critical finding rolls every host back; each warning is
 * posted to Slack when it first appears, and all of them in a summary at the end of the window.
 */

import type { DeployHost } from "../../deploy/policy.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { monitorHosts } from "../../monitor/watch.js";
import { deployedTo, findingLine, hostMetrics, rollBack, warningNotices } from "../shared/deploy.js";
import { inventoryOf, needHost, notify, withSession } from "../shared/host.js";
import { failed } from "./failed.js";

async function monitor(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const deployed = deployedTo(host, "production");
  if (deployed === undefined) return failed("nothing was deployed in this run");
  const inventory = inventoryOf(context, "production");
  const policy = context.policies.monitor;
  const start = host.clock.now();
  const findings: string[] = [];
  const notices = warningNotices(host, "production", deployed.version, start);
  const outcome = await withSession(host, inventory, (session) =>
    monitorHosts<DeployHost>({
      hosts: inventory.hosts,
      policy,
      clock: host.clock,
      fetchMetrics: hostMetrics(context, host, session),
      onFinding: (finding) => findings.push(`${finding.level}: ${findingLine(finding, start)}`),
      onFirstWarning: notices.onFirstWarning,
    }),
  );
  const undeliveredWarnings = await notices.undelivered();
  if (outcome.verdict === "critical")
    return rollBack(
      host,
      inventory,
      deployed,
      `critical on ${findingLine(outcome, start)}`,
      [...findings, ...undeliveredWarnings],
      ` at poll ${outcome.poll}`,
    );
  const minutes = (policy.durationMs / 60_000).toFixed(policy.durationMs % 60_000 === 0 ? 0 : 1);
  const warned = outcome.verdict === "warning";
  const undelivered = warned
    ? await notify(host, { kind: "monitor-warning", environment: "production", version: deployed.version, findings })
    : undefined;
  return {
    status: warned ? "warned" : "passed",
    summary: `${outcome.polls} poll(s) of ${inventory.hosts.length} host(s) over ${minutes} min: ${warned ? `${outcome.warnings.length} warning(s), no rollback` : "no findings"}`,
    details: [...findings, ...undeliveredWarnings, ...(undelivered === undefined ? [] : [undelivered])],
  };
}

/** Polls every host's metrics after the deploy; a critical finding rolls every host back. */
export const monitoringStep: Step = {
  id: "monitoring",
  title: "Post-deploy monitoring",
  description: "every host's metrics for [monitor] duration_minutes: critical rolls back at once, warnings are reported",
  defaultTimeoutSeconds: 24 * 3600,
  run: (context) => monitor(context, needHost(context, "post-deploy monitoring")),
};
