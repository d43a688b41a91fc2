/**
 * What the deploy steps of staging and production share: deploying the
 * release the run built to `[deploy.<environment>]`, reading the hosts'
 * metrics through the deploy transport, the lines that describe findings and
 * outcomes, and rolling each host back to the release it served before the
 * deploy.
 */
import { join } from "node:path";
import { checkAuditLogAppendable } from "../../audit-log/append.js";
import { AuditLogError } from "../../audit-log/audit-log-error.js";
import { readTextFile } from "../../core/read-text-file.js";
import type { RemoteTransport } from "../../deploy/context.js";
import { DeployRefused } from "../../deploy/deploy-refused.js";
import { deployRelease } from "../../deploy/deploy-release.js";
import { exchangeKeysFile } from "../../deploy/exchange-keys.js";
import type { DeployOutcome } from "../../deploy/outcome.js";
import type { DeployHost, Inventory } from "../../deploy/policy.js";
import { restorePreviousReleases } from "../../deploy/rollback.js";
import { runInDeployRoot } from "../../deploy/service.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { metricsFetcher } from "../../monitor/fetch.js";
import type { MetricSample } from "../../monitor/prometheus.js";
import type { FirstWarning, HostFinding } from "../../monitor/watch.js";
import { deployEvent } from "../../notify/slack.js";
import { auditLogOf, inventoryOf, needHost, notify, pinnedKey, recordBrokenLock, recordDeploy, serviceEnvOf, withSession } from "./host.js";
import { builtRelease } from "./signed-release.js";

type Environment = "test" | "production";

/** The run's deploy to `environment`, when it deployed (every host serves the release). */
export function deployedTo(host: HostCapabilities, environment: Environment): DeployOutcome | undefined {
  const outcome = host.state.deploys[environment];
  return outcome?.status === "deployed" ? outcome : undefined;
}

/** One line per host of a deploy or rollback outcome. */
function hostLines(outcome: DeployOutcome): string[] {
  return outcome.hosts.map((h) => `${h.host}: ${h.result} — ${h.detail}`);
}

const optionalLine = (line: string | undefined): string[] => (line === undefined ? [] : [line]);

/**
 * Deploys the release this run built to `[deploy.<environment>]` (service commands with the profile's
 * TRADING_MODE; the environment's exchange keys written to each host unless `exchange_keys = false`), records it in the audit log, announces it and hands it to the later steps. `beforeDeploy`
 * runs over the same transport first (staging reads each host's latency there). A deploy to local targets
 * says so in its summary: it reached this machine, not servers.
 */
export async function deployBuiltRelease(
  context: StepContext,
  environment: Environment,
  beforeDeploy?: (host: HostCapabilities, inventory: Inventory, session: RemoteTransport) => Promise<void>,
): Promise<StepOutcome> {
  const host = needHost(context, "the deploy");
  const release = builtRelease(host);
  if (release === undefined) return { status: "failed", summary: "no release was built in this run (release-build did not pass)" };
  const inventory = inventoryOf(context, environment);
  const publicKeyText = pinnedKey(host, inventory);
  // Nothing is done on a host that the audit log could not record.
  try {
    checkAuditLogAppendable(auditLogOf(host));
  } catch (error) {
    if (error instanceof AuditLogError)
      throw new DeployRefused(`the audit log cannot be appended to, so no host was touched: ${error.message}`);
    throw error;
  }
  // The engine's exchange keys, from the environment's secrets: refused here, naming a missing one, before any host.
  const exchangeKeys = inventory.exchangeKeys ? exchangeKeysFile(environment, (name) => host.secret(name)) : undefined;
  const brokenLocks: string[] = [];
  // Production deploys only the binary staging validated: the promotion record's SHA-256 for it.
  const expectedSha256 =
    environment === "production" ? host.state.promotion?.artifacts.find((a) => a.binary === inventory.binary)?.sha256 : undefined;
  if (environment === "production" && expectedSha256 === undefined)
    return {
      status: "failed",
      summary: `no promotion record of ${release.commit} names ${inventory.binary}: production deploys only what staging validated`,
    };
  const outcome = await withSession(host, inventory, async (session) => {
    await beforeDeploy?.(host, inventory, session);
    return deployRelease({
      inventory,
      session,
      publicKeyText,
      who: host.who,
      releaseDir: release.dir,
      ...(expectedSha256 === undefined ? {} : { expectedSha256 }),
      ...(exchangeKeys === undefined ? {} : { exchangeKeys }),
      signal: context.signal,
      serviceEnv: serviceEnvOf(host),
      // A lock older than lock_stale_seconds was left by a run that died: broken, audit-logged; a live one refuses.
      breakLock: true,
      onLockBroken: (lock) => brokenLocks.push(recordBrokenLock(host, inventory, lock)),
    });
  });
  recordDeploy(host, outcome);
  host.state.deploys[environment] = outcome;
  const undelivered = await notify(host, deployEvent(outcome));
  const local = inventory.hosts.every((h) => h.local !== undefined);
  return {
    status: outcome.status === "deployed" ? "passed" : "failed",
    summary: local ? `${outcome.summary} (local targets on this machine, not ${environment} servers)` : outcome.summary,
    details: [
      ...brokenLocks,
      ...hostLines(outcome),
      ...(local ? inventory.hosts.map((h) => `${h.name}: ${h.path}, service at ${h.local?.healthUrl.replace(/\/[^/]*$/, "")}`) : []),
      ...optionalLine(undelivered),
    ],
  };
}

/** A deploy step of `environment`. */
export function deployStep(environment: Environment, identity: { id: string; title: string; description: string }): Step {
  return {
    ...identity,
    defaultTimeoutSeconds: 900,
    run: (context: StepContext) => deployBuiltRelease(context, environment),
  };
}

/**
 * Each host's metrics, fetched by URL or by a command run on the host in its deploy root over `session`, or
 * read from Prometheus (`[monitor] source = "prometheus"`); a local target's from its own port (or, from
 * Prometheus, as the instance of that port), whatever `[monitor]` says.
 */
export function hostMetrics(
  context: StepContext,
  host: HostCapabilities,
  session: RemoteTransport,
): (target: DeployHost) => Promise<string | MetricSample[]> {
  return metricsFetcher<DeployHost>(context.policies.monitor, {
    runCommand: async (target, argv, { timeoutMs }) => {
      const result = await runInDeployRoot(session, target, argv, timeoutMs, serviceEnvOf(host));
      return { ...result, exitCode: result.exitCode ?? -1 };
    },
    metricsUrlOf: (target) => target.local?.metricsUrl,
  });
}

/**
 * Slack notices of warnings as they first appear: each warning line of a host and check (`findingCheck` of
 * monitor/watch.ts) is posted once, in the poll that saw it, as a monitor-warning notice of one finding.
 * `undelivered()` waits for the posts and gives one line per distinct delivery failure.
 */
export function warningNotices(
  host: HostCapabilities,
  environment: string,
  version: string,
  start: number,
): { onFirstWarning: (warning: FirstWarning) => void; undelivered: () => Promise<string[]> } {
  const posts: Promise<string | undefined>[] = [];
  return {
    onFirstWarning: (warning) => {
      const findings = [findingLine({ ...warning, findings: [warning.finding] }, start)];
      posts.push(notify(host, { kind: "monitor-warning", environment, version, findings }));
    },
    undelivered: async () => [...new Set((await Promise.all(posts)).filter((line) => line !== undefined))],
  };
}

/** `prod-1 at poll 3 (20 s after the deploy): …`, `start` being the clock when monitoring began. */
export function findingLine(finding: Pick<HostFinding, "host" | "poll" | "at" | "findings">, start: number): string {
  return `${finding.host} at poll ${finding.poll} (${Math.round((finding.at - start) / 1000)} s after the deploy): ${finding.findings.join("; ")}`;
}

/**
 * Puts each host of `inventory` back on the release it served before `deployed` (hosts with different
 * histories each on their own; one that had none stopped), records and announces it, and fails the step
 * with `why` and the outcome (`when` is appended to "rolled back to X").
 */
export async function rollBack(
  host: HostCapabilities,
  inventory: Inventory,
  deployed: DeployOutcome,
  why: string,
  details: readonly string[],
  when = "",
): Promise<StepOutcome> {
  const back = await withSession(host, inventory, (session) =>
    restorePreviousReleases({
      inventory,
      session,
      publicKeyText: pinnedKey(host, inventory),
      formerKeys: (inventory.formerKeys ?? []).map((path) => readTextFile(join(host.workspace, path))),
      who: host.who,
      deployed,
      serviceEnv: serviceEnvOf(host),
    }),
  );
  recordDeploy(host, back);
  const undelivered = await notify(host, deployEvent(back, why));
  return {
    status: "failed",
    summary: `${why}; ${back.status === "deployed" ? `rolled back to ${back.version}${when}` : `rollback to ${back.version} failed: ${back.summary}`}`,
    details: [...details, ...hostLines(back), ...optionalLine(undelivered)],
  };
}
