/**
 * Getting a host's metrics for a poll: an HTTP GET of the policy's URL
 * (`{host}` replaced by the host's address), a command run on the host
 * through the deploy transport, or (`source = "prometheus"`) the host's
 * series read from Prometheus.
 */

import { hostName, type MonitorHost } from "./host.js";
import type { MetricsSource, MonitorPolicy } from "./policy.js";
import type { MetricSample } from "./prometheus.js";
import { prometheusReader } from "./prometheus-api.js";

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
 * The value of the Prometheus label that names `host`: its `[monitor.hosts.<name>] instance`, else the
 * `address:port` of its metrics URL (`url` when given, e.g. a local target's own port; the policy's otherwise,
 * `{host}` replaced by its address; port 80 or 443 when the URL has none).
 * @throws Error when the host's metrics come from a command and it has no instance.
 */
export function instanceFor(policy: Pick<MonitorPolicy, "source" | "hostSources" | "instances">, host: MonitorHost, url?: string): string {
  const name = hostName(host);
  const given = policy.instances?.[name];
  if (given !== undefined) return given;
  const source = metricsSourceFor(policy, host);
  const metricsUrl = url ?? (source.kind === "url" ? source.url.replaceAll("{host}", hostAddress(host)) : undefined);
  if (metricsUrl === undefined) throw new Error(`${name}: no instance for Prometheus: set [monitor.hosts.${name}] instance`);
  const parsed = new URL(metricsUrl);
  return `${parsed.hostname}:${parsed.port === "" ? (parsed.protocol === "https:" ? "443" : "80") : parsed.port}`;
}

/**
 * Builds the `fetchMetrics` of {@link monitorHosts} from the policy's sources:
 * an HTTP GET (200 only, bounded in time and size), a command run on the
 * host through `runCommand` (so the deploy transport can run it over SSH), or
 * with `policy.prometheus` the host's samples read from Prometheus (see
 * {@link instanceFor}). `metricsUrlOf` gives a host's own metrics URL that
 * overrides the policy's (a local target's port).
 */
export function metricsFetcher<H extends MonitorHost>(
  policy: Pick<MonitorPolicy, "source" | "hostSources" | "timeoutMs" | "prometheus" | "instances">,
  io: {
    readonly runCommand?: (host: H, argv: readonly string[], options: { readonly timeoutMs: number }) => Promise<MonitorCommandResult>;
    readonly fetch?: typeof fetch;
    readonly metricsUrlOf?: (host: H) => string | undefined;
    /** Wall-clock time of Prometheus queries (ms since the epoch). */
    readonly now?: () => number;
  } = {},
): (host: H) => Promise<string | MetricSample[]> {
  const settings = policy.prometheus;
  if (settings !== undefined) {
    const read = prometheusReader(settings, {
      timeoutMs: policy.timeoutMs,
      ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
      ...(io.now === undefined ? {} : { now: io.now }),
    });
    return async (host) => read(hostName(host), instanceFor(policy, host, io.metricsUrlOf?.(host)));
  }
  return async (host) => {
    const own = io.metricsUrlOf?.(host);
    const source: MetricsSource = own === undefined ? metricsSourceFor(policy, host) : { kind: "url", url: own };
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
