/**
 * Alerting as code: the pipeline document's always-on monitoring ("order latency every tick, memory every second,
 * error rate continuously, connection heartbeat", critical and warning thresholds) as a Prometheus rules file
 * generated from `[monitor.thresholds]`, the one source of truth post-deploy monitoring judges by too.
 *
 * The series are the engine metrics contract (docs/engine-metrics.md): the order latency histogram
 * {@link LATENCY_HISTOGRAM} (its 0.99 quantile per host, from the buckets' rates), `shriven_process_resident_memory_bytes`,
 * `shriven_errors_total` and `shriven_events_total`, `shriven_risk_limit_utilization_ratio`,
 * `shriven_heartbeat_timestamp_seconds`, `shriven_connected`, `shriven_panics_total`, and Prometheus's own `up` for
 * the scrape job {@link ENGINE_JOB}. Every rule keeps the `instance` label, so an alert names its host.
 */
import type { MonitorThresholds } from "../monitor/policy.js";

/** One alerting rule, in Prometheus's rule-file shape. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: "critical" | "warning" };
  readonly annotations: { readonly summary: string; readonly description: string };
}

/** A rules file: one group. */
export interface RulesFile {
  readonly groups: readonly [{ readonly name: string; readonly interval: string; readonly rules: readonly AlertRule[] }];
}

/** How long a condition must hold before it fires, and the windows rates are taken over. */
export interface AlertTiming {
  /** Latency and risk conditions (a single slow scrape is not an incident). */
  readonly sustained: string;
  /** Window of the latency histogram's bucket rates the p99 is taken over. */
  readonly latencyWindow: string;
  /** Error-rate window and hold. */
  readonly errorWindow: string;
  /** Memory growth is measured against the lowest resident memory over this window. */
  readonly memoryWindow: string;
  /** Connection lost / scrape down hold. */
  readonly connection: string;
  /** The heartbeat is stale (critical) when the last market event is more than this many seconds old. */
  readonly heartbeatStaleSeconds: number;
}

/** The defaults: every tick is scraped at 15 s, so these are 4–20 scrapes. */
export const DEFAULT_ALERT_TIMING: AlertTiming = {
  sustained: "1m",
  latencyWindow: "1m",
  errorWindow: "5m",
  memoryWindow: "1h",
  connection: "30s",
  heartbeatStaleSeconds: 30,
};

/** The scrape job of the engines (`job_name` in Prometheus's scrape config). */
export const ENGINE_JOB = "shriven-engine";

/** The group name the rules are in. */
export const RULE_GROUP = "shriven-trading";

/** A number as PromQL writes it: no exponent for the µs-scale seconds (2e-4 reads worse than 0.0002). */
export function promNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  const text = value.toFixed(12).replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text;
}

/** The engine's order latency histogram (seconds); its series are `_bucket{le=…}`, `_sum` and `_count`. */
export const LATENCY_HISTOGRAM = "shriven_order_latency_distribution_seconds";

/** The rules for `thresholds`, critical first. */
export function alertRules(thresholds: MonitorThresholds, timing: AlertTiming = DEFAULT_ALERT_TIMING): RulesFile {
  const growth = `shriven_process_resident_memory_bytes / min_over_time(shriven_process_resident_memory_bytes[${timing.memoryWindow}])`;
  const errorRate = `rate(shriven_errors_total[${timing.errorWindow}]) / rate(shriven_events_total[${timing.errorWindow}])`;
  // Buckets summed per host before the quantile: correct however many series (threads, restarts) a host reports.
  const p99 = `histogram_quantile(0.99, sum by (instance, job, le) (rate(${LATENCY_HISTOGRAM}_bucket[${timing.latencyWindow}])))`;
  const rule = (
    alert: string,
    severity: "critical" | "warning",
    expr: string,
    hold: string,
    summary: string,
    description: string,
  ): AlertRule => ({ alert, expr, for: hold, labels: { severity }, annotations: { summary, description } });
  const rules: AlertRule[] = [
    rule(
      "ShrivenOrderLatencyCritical",
      "critical",
      `${p99} > ${promNumber(thresholds.latencyCriticalUs / 1e6)}`,
      timing.sustained,
      `Order latency p99 above ${thresholds.latencyCriticalUs} µs on {{ $labels.instance }}`,
      `p99 {{ $value | humanizeDuration }} for ${timing.sustained}: roll back (critical threshold ${thresholds.latencyCriticalUs} µs).`,
    ),
    rule(
      "ShrivenMemoryGrowthCritical",
      "critical",
      `${growth} > ${promNumber(1 + thresholds.memoryGrowthCriticalPercent / 100)}`,
      timing.sustained,
      `Resident memory grew more than ${thresholds.memoryGrowthCriticalPercent} % on {{ $labels.instance }}`,
      `Resident memory is {{ $value | humanizePercentage }} of its lowest over ${timing.memoryWindow} (critical above ${thresholds.memoryGrowthCriticalPercent} % growth).`,
    ),
    rule(
      "ShrivenPanic",
      "critical",
      `increase(shriven_panics_total[${timing.errorWindow}]) > 0`,
      "0s",
      "The engine panicked on {{ $labels.instance }}",
      `shriven_panics_total rose in the last ${timing.errorWindow}.`,
    ),
    rule(
      "ShrivenCrashed",
      "critical",
      `resets(shriven_events_total[${timing.errorWindow}]) > 0`,
      "0s",
      "The engine restarted on {{ $labels.instance }}",
      `shriven_events_total went back to zero in the last ${timing.errorWindow}: the process crashed or was restarted.`,
    ),
    rule(
      "ShrivenConnectionLost",
      "critical",
      `max by (instance, job) (shriven_connected == 0) or max by (instance, job) (up{job="${ENGINE_JOB}"} == 0)`,
      timing.connection,
      "Connection lost on {{ $labels.instance }}",
      `For ${timing.connection} the engine has reported no exchange connection (shriven_connected 0), or Prometheus has not reached it (stopped, crashed or unreachable).`,
    ),
    rule(
      "ShrivenHeartbeatStale",
      "critical",
      `time() - shriven_heartbeat_timestamp_seconds > ${timing.heartbeatStaleSeconds}`,
      "0s",
      "No heartbeat from {{ $labels.instance }}",
      `The engine's last market event is {{ $value | humanizeDuration }} old (critical above ${timing.heartbeatStaleSeconds} s): its market data or its engine thread stopped.`,
    ),
    rule(
      "ShrivenOrderLatencyWarning",
      "warning",
      `${p99} > ${promNumber(thresholds.latencyWarningUs / 1e6)}`,
      timing.sustained,
      `Order latency p99 above ${thresholds.latencyWarningUs} µs on {{ $labels.instance }}`,
      `p99 {{ $value | humanizeDuration }} for ${timing.sustained} (warning threshold ${thresholds.latencyWarningUs} µs).`,
    ),
    rule(
      "ShrivenMemoryGrowthWarning",
      "warning",
      `${growth} > ${promNumber(1 + thresholds.memoryGrowthWarningPercent / 100)}`,
      timing.sustained,
      `Resident memory grew more than ${thresholds.memoryGrowthWarningPercent} % on {{ $labels.instance }}`,
      `Resident memory is {{ $value | humanizePercentage }} of its lowest over ${timing.memoryWindow} (warning above ${thresholds.memoryGrowthWarningPercent} % growth).`,
    ),
    rule(
      "ShrivenErrorRateWarning",
      "warning",
      `${errorRate} > ${promNumber(thresholds.errorRateWarningPercent / 100)}`,
      timing.errorWindow,
      `Error rate above ${thresholds.errorRateWarningPercent} % on {{ $labels.instance }}`,
      `{{ $value | humanizePercentage }} of events errored over ${timing.errorWindow}.`,
    ),
    rule(
      "ShrivenRiskLimitWarning",
      "warning",
      `shriven_risk_limit_utilization_ratio >= ${promNumber(thresholds.riskUtilizationWarningPercent / 100)}`,
      timing.sustained,
      `Risk limit ${thresholds.riskUtilizationWarningPercent} % used on {{ $labels.instance }}`,
      `The position is {{ $value | humanizePercentage }} of the maximum.`,
    ),
  ];
  if (thresholds.errorRateCriticalPercent !== undefined)
    rules.splice(
      rules.findIndex((r) => r.labels.severity === "warning"),
      0,
      rule(
        "ShrivenErrorRateCritical",
        "critical",
        `${errorRate} > ${promNumber(thresholds.errorRateCriticalPercent / 100)}`,
        timing.errorWindow,
        `Error rate above ${thresholds.errorRateCriticalPercent} % on {{ $labels.instance }}`,
        `{{ $value | humanizePercentage }} of events errored over ${timing.errorWindow}.`,
      ),
    );
  return { groups: [{ name: RULE_GROUP, interval: "15s", rules }] };
}
