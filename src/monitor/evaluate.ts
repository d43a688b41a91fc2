/**
 * Judges one poll of one host against the thresholds; the pipeline document's
 * defaults ({@link DEFAULT_MONITOR_THRESHOLDS} in policy.ts):
 *
 * - critical, the caller rolls back: order latency p99 > 200 µs, memory
 *   growth > 20 %, any crash or panic, connection lost;
 * - warning, reported and notified: order latency p99 > 150 µs, memory
 *   growth > 10 %, error rate > 0.1 %, risk limit 80 % used.
 */

import type { MonitorThresholds } from "./policy.js";
import type { MetricSample } from "./prometheus.js";

/** Severity of a poll. */
export type MonitorLevel = "ok" | "warning" | "critical";

/** The judgement of one poll of one host. */
export interface Evaluation {
  readonly level: MonitorLevel;
  /** One line per finding, each starting with `critical:` or `warning:`. */
  readonly findings: readonly string[];
}

/** What earlier polls of the host saw. */
export interface PollHistory {
  /** The first successful poll after the deploy: the memory baseline. */
  readonly baseline: readonly MetricSample[];
  /** The latest successful poll before this one: counters are compared with it. */
  readonly previous: readonly MetricSample[];
}

/** Metric names `shriven-quant serve` exposes. */
export const METRICS = {
  latency: "shriven_order_latency_seconds",
  rss: "shriven_process_resident_memory_bytes",
  events: "shriven_events_total",
  errors: "shriven_errors_total",
  orders: "shriven_orders_total",
  risk: "shriven_risk_limit_utilization_ratio",
  connected: "shriven_connected",
  panics: "shriven_panics_total",
} as const;

function values(samples: readonly MetricSample[], name: string, filter: (sample: MetricSample) => boolean = () => true): number[] {
  return samples.filter((sample) => sample.name === name && filter(sample)).map((sample) => sample.value);
}

/** Sum of a metric's series (counters, memory), or undefined when it has none. */
function total(samples: readonly MetricSample[], name: string): number | undefined {
  const found = values(samples, name);
  return found.length === 0 ? undefined : found.reduce((sum, value) => sum + value, 0);
}

/** The 0.99 quantile of the order latency in seconds (the highest of its series), or undefined when absent. */
export function latencyP99Seconds(samples: readonly MetricSample[]): number | undefined {
  const found = values(
    samples,
    METRICS.latency,
    (sample) => sample.labels.quantile !== undefined && Number(sample.labels.quantile) === 0.99,
  );
  return found.length === 0 ? undefined : Math.max(...found);
}

function round(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}

function mib(bytes: number): string {
  return `${round(bytes / (1024 * 1024), 1)} MiB`;
}

/**
 * Judges one poll of one host.
 *
 * - latency: the 0.99 quantile of `shriven_order_latency_seconds` (the
 *   highest of its series); `NaN` (no events measured yet) is not judged;
 * - memory growth: `shriven_process_resident_memory_bytes` against the
 *   baseline's; the metric vanishing after it was reported means the process
 *   is gone (critical);
 * - error rate: Δ`shriven_errors_total` / Δ`shriven_events_total` since the
 *   previous poll;
 * - risk: `shriven_risk_limit_utilization_ratio`;
 * - crash or panic: `shriven_panics_total` above the previous poll's (above
 *   0 on the first poll), or `shriven_events_total` falling (the process was
 *   restarted);
 * - connection lost: `shriven_connected` 0 (failed polls are counted by
 *   {@link monitorHosts}).
 *
 * Boundaries: latency and memory growth are judged strictly above their
 * limits, error rate strictly above, risk utilization at or above. A metric
 * that is missing (and was never reported) is a warning: it cannot be judged.
 * @param previous `undefined` on the first poll (which becomes the baseline).
 */
export function evaluate(samples: readonly MetricSample[], previous: PollHistory | undefined, thresholds: MonitorThresholds): Evaluation {
  const critical: string[] = [];
  const warning: string[] = [];
  const missing = (name: string) => warning.push(`warning: ${name} missing from the metrics; cannot judge it`);

  const latency = latencyP99Seconds(samples);
  if (latency === undefined) missing(`${METRICS.latency}{quantile="0.99"}`);
  else if (!Number.isNaN(latency)) {
    const shown = `order latency p99 ${round(latency * 1e6, 1)} µs`;
    const degradation = thresholds.latencyDegradation;
    const latencyUs = latency * 1e6;
    const degraded = degradation === undefined ? 0 : (latencyUs / degradation.referenceUs - 1) * 100;
    if (latency > thresholds.latencyCriticalUs / 1e6) critical.push(`critical: ${shown} > ${thresholds.latencyCriticalUs} µs`);
    else if (degradation !== undefined && degraded > degradation.percent && latencyUs - degradation.referenceUs > degradation.floorUs)
      critical.push(
        `critical: ${shown} is ${round(degraded, 1)} % above the previous release's ${round(degradation.referenceUs, 1)} µs (> ${degradation.percent} % and > ${degradation.floorUs} µs)`,
      );
    else if (latency > thresholds.latencyWarningUs / 1e6) warning.push(`warning: ${shown} > ${thresholds.latencyWarningUs} µs`);
  }

  const rss = total(samples, METRICS.rss);
  const baseRss = previous === undefined ? undefined : total(previous.baseline, METRICS.rss);
  if (rss === undefined) {
    const seen = previous !== undefined && (baseRss !== undefined || total(previous.previous, METRICS.rss) !== undefined);
    if (seen) critical.push(`critical: crash: ${METRICS.rss} vanished from the metrics (the process is gone)`);
    else missing(METRICS.rss);
  } else if (baseRss !== undefined && baseRss > 0) {
    const grown = rss - baseRss;
    const shown = `memory growth ${round((grown / baseRss) * 100, 1)} % (${mib(baseRss)} → ${mib(rss)})`;
    if (grown * 100 > baseRss * thresholds.memoryGrowthCriticalPercent)
      critical.push(`critical: ${shown} > ${thresholds.memoryGrowthCriticalPercent} %`);
    else if (grown * 100 > baseRss * thresholds.memoryGrowthWarningPercent)
      warning.push(`warning: ${shown} > ${thresholds.memoryGrowthWarningPercent} %`);
  }

  const panics = total(samples, METRICS.panics);
  const lastPanics = previous === undefined ? 0 : (total(previous.previous, METRICS.panics) ?? 0);
  if (panics === undefined) missing(METRICS.panics);
  else if (panics > lastPanics) critical.push(`critical: panic: ${METRICS.panics} rose from ${lastPanics} to ${panics}`);

  const events = total(samples, METRICS.events);
  const lastEvents = previous === undefined ? undefined : total(previous.previous, METRICS.events);
  const restarted = events !== undefined && lastEvents !== undefined && events < lastEvents;
  if (events === undefined) missing(METRICS.events);
  else if (restarted) critical.push(`critical: crash: ${METRICS.events} fell from ${lastEvents} to ${events} (the process restarted)`);

  const connected = values(samples, METRICS.connected);
  if (connected.length === 0) missing(METRICS.connected);
  else if (connected.some((value) => value === 0)) critical.push(`critical: connection lost: ${METRICS.connected} is 0`);

  const errors = total(samples, METRICS.errors);
  const lastErrors = previous === undefined ? undefined : total(previous.previous, METRICS.errors);
  if (errors === undefined) missing(METRICS.errors);
  else if (events !== undefined && lastEvents !== undefined && lastErrors !== undefined && !restarted) {
    const newErrors = errors - lastErrors;
    const newEvents = events - lastEvents;
    const limit = thresholds.errorRateWarningPercent;
    const criticalLimit = thresholds.errorRateCriticalPercent;
    const rate = `error rate ${round((newErrors / Math.max(newEvents, 1)) * 100, 3)} % (${newErrors} errors in ${newEvents} events)`;
    if (newEvents > 0 && criticalLimit !== undefined && newErrors * 100 > newEvents * criticalLimit)
      critical.push(`critical: ${rate} > ${criticalLimit} %`);
    else if (newEvents > 0 && newErrors * 100 > newEvents * limit) warning.push(`warning: ${rate} > ${limit} %`);
    else if (newEvents === 0 && newErrors > 0) warning.push(`warning: error rate: ${newErrors} errors and no events since the last poll`);
  }

  const risk = values(samples, METRICS.risk);
  if (risk.length === 0) missing(METRICS.risk);
  else {
    const used = Math.max(...risk);
    const limit = thresholds.riskUtilizationWarningPercent;
    if (used >= limit / 100) warning.push(`warning: risk limit ${round(used * 100, 1)} % used (≥ ${limit} %)`);
  }

  const level: MonitorLevel = critical.length > 0 ? "critical" : warning.length > 0 ? "warning" : "ok";
  return { level, findings: [...critical, ...warning] };
}
