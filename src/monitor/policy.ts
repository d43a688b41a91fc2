/**
 * The `[monitor]` table of shriven-pipeline.toml: how long and how often the
 * hosts are polled after a deploy, where their metrics come from, and the
 * thresholds each poll is judged against (every key optional):
 *
 * ```toml
 * [monitor]
 * duration_minutes = 30                        # how long after the deploy
 * poll_seconds = 10                            # between polls of each host
 * timeout_seconds = 5                          # of one fetch
 * metrics_url = "http://{host}:9100/metrics"   # or:
 * # metrics_command = ["curl", "-fsS", "http://127.0.0.1:9100/metrics"]   # run on the host
 *
 * [monitor.thresholds]
 * latency_warning_us = 150
 * latency_critical_us = 200
 * memory_growth_warning_percent = 10
 * memory_growth_critical_percent = 20
 * error_rate_warning_percent = 0.1
 * risk_utilization_warning_percent = 80
 * failed_polls_critical = 3                    # polls failing in a row = connection lost
 *
 * [monitor.hosts.prod-2]                       # a host whose metrics live elsewhere
 * metrics_url = "http://10.0.0.9:9200/metrics"
 * ```
 *
 * With `source = "prometheus"` the hosts are not scraped: their series are read
 * from Prometheus (`prometheus_url`, see prometheus-api.ts), each host named by
 * the `prometheus_label` (default `instance`) whose value is the `address:port`
 * of its metrics URL or its `[monitor.hosts.<name>] instance`.
 */

import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";
import type { PrometheusSettings } from "./prometheus-api.js";
import { prometheusFields, prometheusSettingsFrom, refinePrometheus } from "./prometheus-policy.js";

/** Where a host's metrics come from. */
export type MetricsSource =
  /** Fetched over HTTP; `{host}` is replaced by the host's address. */
  | { readonly kind: "url"; readonly url: string }
  /** Printed on stdout by a command run on the host (through the deploy transport). */
  | { readonly kind: "command"; readonly argv: readonly string[] };

/** Limits each poll is judged against. */
export interface MonitorThresholds {
  /** Order latency p99: warning above, critical above (µs). */
  readonly latencyWarningUs: number;
  readonly latencyCriticalUs: number;
  /** Resident memory growth over the first poll: warning above, critical above (%). */
  readonly memoryGrowthWarningPercent: number;
  readonly memoryGrowthCriticalPercent: number;
  /** Errors per event between two polls: warning above (%). */
  readonly errorRateWarningPercent: number;
  /** Position over the maximum position: warning at or above (%). */
  readonly riskUtilizationWarningPercent: number;
  /** This many failed polls of a host in a row mean its connection is lost (critical). */
  readonly failedPollsCritical: number;
  /** Errors per event between two polls: critical above (%); no such rule when absent (production warns only). */
  readonly errorRateCriticalPercent?: number;
  /**
   * Latency p99 against the release before (staging): critical when it is more than `percent` % above
   * `referenceUs` and more than `floorUs` above it (a few µs either way are scheduling noise, not a regression).
   */
  readonly latencyDegradation?: { readonly referenceUs: number; readonly percent: number; readonly floorUs: number };
}

/** The staging check after a deploy to the test hosts (the pipeline document's staging rollback triggers). */
export interface StagingCheckPolicy {
  /** 0: no check. */
  readonly durationMs: number;
  readonly pollMs: number;
  /** Error rate above which the test hosts roll back (%). */
  readonly errorRateCriticalPercent: number;
  /** Latency p99 degradation against the previous release above which they roll back (%). */
  readonly degradationPercent: number;
  /** …and by at least this many µs, so µs-level noise on a fast engine is not a regression. */
  readonly degradationFloorUs: number;
}

/** The pipeline document's thresholds. */
export const DEFAULT_MONITOR_THRESHOLDS: MonitorThresholds = {
  latencyWarningUs: 150,
  latencyCriticalUs: 200,
  memoryGrowthWarningPercent: 10,
  memoryGrowthCriticalPercent: 20,
  errorRateWarningPercent: 0.1,
  riskUtilizationWarningPercent: 80,
  failedPollsCritical: 3,
};

/** Post-deploy monitoring settings, defaults applied. */
export interface MonitorPolicy {
  readonly durationMs: number;
  readonly pollMs: number;
  /** Of one fetch of one host's metrics. */
  readonly timeoutMs: number;
  /** Every host's source unless `hostSources` names the host. */
  readonly source: MetricsSource;
  readonly hostSources: Readonly<Record<string, MetricsSource>>;
  /** `source = "prometheus"`: series are read from Prometheus instead of the hosts; absent for `"scrape"`. */
  readonly prometheus?: PrometheusSettings;
  /** The value of the Prometheus label of hosts that name it (`[monitor.hosts.<name>] instance`). */
  readonly instances?: Readonly<Record<string, string>>;
  readonly thresholds: MonitorThresholds;
  readonly staging: StagingCheckPolicy;
}

/** The default metrics endpoint of `shriven-quant serve`. */
export const DEFAULT_METRICS_URL = "http://{host}:9100/metrics";

const argv = z
  .array(
    z.string({ error: "expected a string" }).refine((arg) => !arg.includes("\0"), { error: "contains a NUL byte" }),
    { error: "expected a command as an array of strings" },
  )
  .min(1, { error: "expected a command" });

const metricsUrl = z.string({ error: "expected an http(s) URL" }).refine(
  (url) => {
    if (!/^https?:\/\//.test(url)) return false;
    try {
      new URL(url.replaceAll("{host}", "host.invalid"));
      return true;
    } catch {
      return false;
    }
  },
  { error: 'expected an http(s) URL; {host} stands for the host\'s address, e.g. "http://{host}:9100/metrics"' },
);

const percent = z
  .number({ error: "expected a percentage" })
  .positive({ error: "expected a percentage above 0" })
  .max(1000, { error: "expected at most 1000" });

const micros = z
  .number({ error: "expected µs" })
  .positive({ error: "expected µs above 0" })
  .max(60_000_000, { error: "expected at most a minute" });

const sourceFields = { metrics_url: metricsUrl.optional(), metrics_command: argv.optional() };
const instance = z
  .string({ error: 'expected the host\'s value of the Prometheus label, e.g. "10.0.0.5:9100"' })
  .regex(/^[^\0\n\r"\\]{1,256}$/, { error: "expected 1 to 256 characters without quotes, backslashes or line breaks" });
const oneSource = (source: { metrics_url?: string | undefined; metrics_command?: readonly string[] | undefined }) =>
  source.metrics_url === undefined || source.metrics_command === undefined;

const thresholdsSchema = closedObject({
  latency_warning_us: micros.optional(),
  latency_critical_us: micros.optional(),
  memory_growth_warning_percent: percent.optional(),
  memory_growth_critical_percent: percent.optional(),
  error_rate_warning_percent: percent.max(100, { error: "expected at most 100" }).optional(),
  risk_utilization_warning_percent: percent.max(100, { error: "expected at most 100" }).optional(),
  failed_polls_critical: z
    .int({ error: "expected a whole number" })
    .min(1, { error: "expected at least 1" })
    .max(100, { error: "expected at most 100" })
    .optional(),
})
  .refine((table) => (table.latency_warning_us ?? 150) < (table.latency_critical_us ?? 200), {
    path: ["latency_critical_us"],
    error: "expected more than latency_warning_us",
  })
  .refine((table) => (table.memory_growth_warning_percent ?? 10) < (table.memory_growth_critical_percent ?? 20), {
    path: ["memory_growth_critical_percent"],
    error: "expected more than memory_growth_warning_percent",
  });

const pollSeconds = z
  .number({ error: "expected seconds" })
  .min(0.1, { error: "expected at least 0.1" })
  .max(3600, { error: "expected at most 3600" });

const upToADay = z.number({ error: "expected minutes" }).max(24 * 60, { error: "expected at most 1440 (a day)" });

/** Schema of `[monitor]`. */
export const monitorPolicySchema = closedObject({
  duration_minutes: upToADay.positive({ error: "expected minutes above 0" }).optional(),
  poll_seconds: pollSeconds.optional(),
  timeout_seconds: z
    .number({ error: "expected seconds" })
    .positive({ error: "expected seconds above 0" })
    .max(600, { error: "expected at most 600" })
    .optional(),
  ...sourceFields,
  ...prometheusFields,
  thresholds: thresholdsSchema.optional(),
  staging: closedObject({
    duration_minutes: upToADay.min(0, { error: "expected 0 (no check) or more minutes" }).optional(),
    poll_seconds: pollSeconds.optional(),
    error_rate_percent: percent.max(100, { error: "expected at most 100" }).optional(),
    degradation_percent: percent.optional(),
    degradation_floor_us: micros.optional(),
  }).optional(),
  hosts: z
    .record(
      z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "expected a host name of letters, digits, . _ -" }),
      closedObject({ ...sourceFields, instance: instance.optional() })
        .refine(oneSource, { error: "expected metrics_url or metrics_command, not both" })
        .refine((source) => source.metrics_url !== undefined || source.metrics_command !== undefined || source.instance !== undefined, {
          error: "expected metrics_url, metrics_command or instance",
        }),
      { error: "expected a table of hosts" },
    )
    .optional(),
})
  .refine(oneSource, { path: ["metrics_command"], error: "expected metrics_url or metrics_command, not both" })
  .refine((table) => (table.poll_seconds ?? 10) <= (table.duration_minutes ?? 30) * 60, {
    path: ["poll_seconds"],
    error: "expected at most duration_minutes (in seconds)",
  })
  .superRefine(refinePrometheus);

function sourceFrom(raw: { metrics_url?: string | undefined; metrics_command?: readonly string[] | undefined }): MetricsSource {
  if (raw.metrics_command !== undefined) return { kind: "command", argv: raw.metrics_command };
  return { kind: "url", url: raw.metrics_url ?? DEFAULT_METRICS_URL };
}

/** Applies the defaults to `[monitor]`. */
export function monitorPolicyFrom(raw: z.output<typeof monitorPolicySchema> | undefined): MonitorPolicy {
  const given = raw?.thresholds;
  const defaults = DEFAULT_MONITOR_THRESHOLDS;
  return {
    durationMs: (raw?.duration_minutes ?? 30) * 60_000,
    pollMs: (raw?.poll_seconds ?? 10) * 1000,
    timeoutMs: (raw?.timeout_seconds ?? 5) * 1000,
    source: sourceFrom(raw ?? {}),
    hostSources: Object.fromEntries(
      Object.entries(raw?.hosts ?? {})
        .filter(([, source]) => source.metrics_url !== undefined || source.metrics_command !== undefined)
        .map(([host, source]) => [host, sourceFrom(source)]),
    ),
    ...prometheusSettingsFrom(raw),
    thresholds: {
      latencyWarningUs: given?.latency_warning_us ?? defaults.latencyWarningUs,
      latencyCriticalUs: given?.latency_critical_us ?? defaults.latencyCriticalUs,
      memoryGrowthWarningPercent: given?.memory_growth_warning_percent ?? defaults.memoryGrowthWarningPercent,
      memoryGrowthCriticalPercent: given?.memory_growth_critical_percent ?? defaults.memoryGrowthCriticalPercent,
      errorRateWarningPercent: given?.error_rate_warning_percent ?? defaults.errorRateWarningPercent,
      riskUtilizationWarningPercent: given?.risk_utilization_warning_percent ?? defaults.riskUtilizationWarningPercent,
      failedPollsCritical: given?.failed_polls_critical ?? defaults.failedPollsCritical,
    },
    staging: {
      durationMs: (raw?.staging?.duration_minutes ?? 5) * 60_000,
      pollMs: (raw?.staging?.poll_seconds ?? 10) * 1000,
      errorRateCriticalPercent: raw?.staging?.error_rate_percent ?? 1,
      degradationPercent: raw?.staging?.degradation_percent ?? 20,
      degradationFloorUs: raw?.staging?.degradation_floor_us ?? 10,
    },
  };
}

/**
 * Validates a `[monitor]` table (already parsed from TOML) and applies the defaults.
 * @param source The file the table came from, named in errors.
 * @throws ConfigError listing every problem as `monitor.key: message`.
 */
export function parseMonitorPolicy(raw: unknown, source: string): MonitorPolicy {
  const parsed = monitorPolicySchema.optional().safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      source,
      describeIssues(parsed.error.issues).map((problem) => `monitor.${problem}`),
    );
  return monitorPolicyFrom(parsed.data);
}
