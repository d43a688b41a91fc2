/** A host's health check after a switch: its command in the deploy root, or its URL, retried at an interval. */
import type { DeployContext } from "./context.js";
import type { DeployHost, HealthCheck } from "./policy.js";
import { runInDeployRoot } from "./service.js";

/** Runs the health check until it passes or the retries run out; the last failure, or undefined when healthy. */
export async function healthCheck(context: DeployContext, host: DeployHost, health: HealthCheck): Promise<string | undefined> {
  const sleep = context.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let last = "";
  const url = host.local?.healthUrl ?? health.url?.replaceAll("{host}", host.address);
  for (let attempt = 1; attempt <= health.retries; attempt++) {
    if (context.signal?.aborted) return "cancelled";
    if (health.command !== undefined) {
      const result = await runInDeployRoot(context.session, host, health.command, health.timeoutMs, context.serviceEnv);
      if (result.exitCode === 0) return undefined;
      last = result.timedOut
        ? `timed out after ${health.timeoutMs / 1000} s`
        : `exit ${result.exitCode}: ${result.stdout.trim().split("\n").at(-1) ?? ""}`;
    } else if (url !== undefined) {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(health.timeoutMs) });
        if (response.ok) return undefined;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
    }
    if (attempt < health.retries) await sleep(health.intervalMs);
  }
  return `health check failed ${health.retries} time(s): ${last}`;
}
