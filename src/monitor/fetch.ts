/**
 * Getting a host's metrics text for a poll: an HTTP GET of the policy's URL
 * (`{host}` replaced by the host's address), or a command run on the host
 * through the deploy transport.
 */

import { hostName, type MonitorHost } from "./host.js";
import type { MetricsSource, MonitorPolicy } from "./policy.js";

/** What a command run on a host returned. */
export interface MonitorCommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr?: string;
  readonly timedOut?: boolean;
}

/** Longest metrics exposition accepted, in bytes. */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;

/** The source that applies to `host`. */
export function metricsSourceFor(policy: Pick<MonitorPolicy, "source" | "hostSources">, host: MonitorHost): MetricsSource {
  return policy.hostSources[hostName(host)] ?? policy.source;
}

/**
 * Builds the `fetchMetrics` of {@link monitorHosts} from the policy's sources:
 * an HTTP GET (200 only, bounded in time and size) or a command run on the
 * host through `runCommand` (so the deploy transport can run it over SSH).
 */
export function metricsFetcher<H extends MonitorHost>(
  policy: Pick<MonitorPolicy, "source" | "hostSources" | "timeoutMs">,
  io: {
    readonly runCommand?: (host: H, argv: readonly string[], options: { readonly timeoutMs: number }) => Promise<MonitorCommandResult>;
    readonly fetch?: typeof fetch;
  } = {},
): (host: H) => Promise<string> {
  return async (host) => {
    const source = metricsSourceFor(policy, host);
    const name = hostName(host);
    if (source.kind === "command") {
      if (io.runCommand === undefined)
        throw new Error(`${name}: metrics_command is configured but no way to run commands on hosts was given`);
      const shown = source.argv.join(" ");
      const result = await io.runCommand(host, source.argv, { timeoutMs: policy.timeoutMs });
      if (result.timedOut === true) throw new Error(`${name}: metrics command ${shown} timed out after ${policy.timeoutMs / 1000} s`);
      if (result.exitCode !== 0) {
        const last = (result.stderr ?? "").trim().split("\n").at(-1) ?? "";
        throw new Error(`${name}: metrics command ${shown} exited with code ${result.exitCode}${last === "" ? "" : `: ${last}`}`);
      }
      if (result.stdout.length > MAX_METRICS_BYTES)
        throw new Error(`${name}: metrics command ${shown} printed more than ${MAX_METRICS_BYTES} bytes`);
      return result.stdout;
    }
    const url = source.url.replaceAll("{host}", hostAddress(host));
    let response: Response;
    try {
      response = await (io.fetch ?? fetch)(url, { signal: AbortSignal.timeout(policy.timeoutMs), redirect: "error" });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === "TimeoutError" ? `timed out after ${policy.timeoutMs / 1000} s` : errorText(error);
      throw new Error(`${name}: GET ${url} failed: ${reason}`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${name}: GET ${url} answered HTTP ${response.status}`);
    }
    const length = Number(response.headers.get("content-length") ?? "0");
    if (length > MAX_METRICS_BYTES) {
      await response.body?.cancel();
      throw new Error(`${name}: GET ${url} answered ${length} bytes, more than ${MAX_METRICS_BYTES}`);
    }
    const body = await response.text();
    if (body.length > MAX_METRICS_BYTES) throw new Error(`${name}: GET ${url} answered more than ${MAX_METRICS_BYTES} bytes`);
    return body;
  };
}

function hostAddress(host: MonitorHost): string {
  return typeof host === "string" ? host : (host.address ?? host.name);
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
