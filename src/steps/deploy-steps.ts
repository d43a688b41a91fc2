/**
 * What the deploy steps of staging and production share: deploying the
 * release the run built to `[deploy.<environment>]`, reading the hosts'
 * metrics through the deploy transport, the lines that describe findings and
 * outcomes, and rolling every host back to the release before the deploy.
 */
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../core/step.js";
import { type DeployOutcome, deployRelease, rollbackRelease, runInDeployRoot } from "../deploy/deploy.js";
import type { DeployHost, Inventory } from "../deploy/inventory.js";
import type { SshSession } from "../deploy/ssh.js";
import { type HostFinding, metricsFetcher } from "../gates/monitor.js";
import { deployEvent } from "../notify/slack.js";
import { guarded, inventoryOf, needHost, notify, pinnedKey, recordDeploy, serviceEnvOf, withSession } from "./host-steps.js";
import { builtRelease } from "./signed-release.js";

type Environment = "test" | "production";

const deployKey = (environment: Environment) => `deploy.${environment}`;

/** The run's deploy to `environment`, when it deployed (every host serves the release). */
export function deployedTo(host: HostCapabilities, environment: Environment): DeployOutcome | undefined {
  const outcome = host.shared.get(deployKey(environment)) as DeployOutcome | undefined;
  return outcome?.status === "deployed" ? outcome : undefined;
}

/** One line per host of a deploy or rollback outcome. */
function hostLines(outcome: DeployOutcome): string[] {
  return outcome.hosts.map((h) => `${h.host}: ${h.result} — ${h.detail}`);
}

const optionalLine = (line: string | undefined): string[] => (line === undefined ? [] : [line]);

/**
 * Deploys the release this run built to `[deploy.<environment>]` (service commands with the profile's
 * TRADING_MODE), records it in the audit log, announces it and hands it to the later steps. `beforeDeploy`
 * runs in the same SSH session first (staging reads each host's latency there).
 */
export async function deployBuiltRelease(
  context: StepContext,
  environment: Environment,
  beforeDeploy?: (host: HostCapabilities, inventory: Inventory, session: SshSession) => Promise<void>,
): Promise<StepOutcome> {
  const host = needHost(context, "the deploy");
  const release = builtRelease(host);
  if (release === undefined) return { status: "failed", summary: "no release was built in this run (release-build did not pass)" };
  const inventory = inventoryOf(context, environment);
  const publicKeyText = pinnedKey(host, inventory);
  const outcome = await withSession(host, inventory, async (session) => {
    await beforeDeploy?.(host, inventory, session);
    return deployRelease({
      inventory,
      session,
      publicKeyText,
      who: host.who,
      releaseDir: release.dir,
      signal: context.signal,
      serviceEnv: serviceEnvOf(host),
    });
  });
  recordDeploy(host, outcome);
  host.shared.set(deployKey(environment), outcome);
  const undelivered = await notify(host, deployEvent(outcome));
  return {
    status: outcome.status === "deployed" ? "passed" : "failed",
    summary: outcome.summary,
    details: [...hostLines(outcome), ...optionalLine(undelivered)],
  };
}

/** A deploy step of `environment`. */
export function deployStep(environment: Environment, identity: { id: string; title: string; description: string }): Step {
  return {
    ...identity,
    defaultTimeoutSeconds: 900,
    run: (context: StepContext) => guarded(() => deployBuiltRelease(context, environment)),
  };
}

/** Each host's metrics, fetched by URL or by a command run on the host in its deploy root over `session`. */
export function hostMetrics(context: StepContext, host: HostCapabilities, session: SshSession): (target: DeployHost) => Promise<string> {
  return metricsFetcher<DeployHost>(context.policies.monitor, {
    runCommand: async (target, argv, { timeoutMs }) => {
      const result = await runInDeployRoot(session, target, argv, timeoutMs, serviceEnvOf(host));
      return { ...result, exitCode: result.exitCode ?? -1 };
    },
  });
}

/** `prod-1 at poll 3 (20 s after the deploy): …`, `start` being the clock when monitoring began. */
export function findingLine(finding: Pick<HostFinding, "host" | "poll" | "at" | "findings">, start: number): string {
  return `${finding.host} at poll ${finding.poll} (${Math.round((finding.at - start) / 1000)} s after the deploy): ${finding.findings.join("; ")}`;
}

/**
 * Rolls every host of `inventory` back to the release they served before `deployed`, records and announces
 * it, and fails the step with `why` and the outcome (`when` is appended to "rolled back to X").
 */
export async function rollBack(
  host: HostCapabilities,
  inventory: Inventory,
  deployed: DeployOutcome,
  why: string,
  details: readonly string[],
  when = "",
): Promise<StepOutcome> {
  const previous = deployed.hosts[0]?.previous?.replace(/^releases\//, "");
  if (previous === undefined) return { status: "failed", summary: `${why}; no previous release to roll back to`, details };
  const back = await withSession(host, inventory, (session) =>
    rollbackRelease({
      inventory,
      session,
      publicKeyText: pinnedKey(host, inventory),
      who: host.who,
      to: previous,
      serviceEnv: serviceEnvOf(host),
    }),
  );
  recordDeploy(host, back);
  const undelivered = await notify(host, deployEvent(back, why));
  return {
    status: "failed",
    summary: `${why}; ${back.status === "deployed" ? `rolled back to ${previous}${when}` : `rollback to ${previous} failed: ${back.summary}`}`,
    details: [...details, ...hostLines(back), ...optionalLine(undelivered)],
  };
}
