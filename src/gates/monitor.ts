/**
 * Post-deploy monitoring: after a production deploy every host's metrics
 * (Prometheus text format, as `shriven-quant serve` exposes them) are polled
 * for a configured time, and each poll is judged against the pipeline
 * document's thresholds.
 *
 * - critical, the caller rolls back: order latency p99 > 200 µs, memory
 *   growth > 20 %, any crash or panic, connection lost;
 * - warning, reported and notified: order latency p99 > 150 µs, memory
 *   growth > 10 %, error rate > 0.1 %, risk limit 80 % used.
 *
 * `[monitor]` in shriven-pipeline.toml (every key optional):
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
 */

import { z } from "zod";
import { closedObject, describeIssues } from "../config/zod-issues.js";
import { ConfigError } from "../core/errors.js";
import { type Clock, SYSTEM_CLOCK } from "../core/step.js";

// ---------------------------------------------------------------------------
// Prometheus text format

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** May be `NaN` or ±`Infinity` (`NaN`, `+Inf`, `-Inf` in the text). */
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries a timestamp. */
  readonly timestampMs?: number;
}

/** A line of a metrics exposition is malformed. */
export class MetricsParseError extends Error {
  override readonly name = "MetricsParseError";

  /**
   * @param source Where the text came from (a URL, a host and command).
   * @param line 1-based line number.
   * @param problem What is wrong with the line.
   */
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${source} line ${line}: ${problem}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const METRIC_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)inf(inity)?$/i;
const TIMESTAMP = /^-?\d+$/;

/**
 * Parses the Prometheus text exposition format (version 0.0.4): `# HELP` and
 * `# TYPE` lines (checked), other comments (skipped), samples with optional
 * labels (escapes `\\`, `\"` and `\n` in values), values including `NaN`,
 * `+Inf` and `-Inf`, and optional timestamps.
 * @param source Named in errors, e.g. the URL the text came from.
 * @throws MetricsParseError naming the first malformed line.
 */
export function parsePrometheusText(text: string, source: string): MetricSample[] {
  const samples: MetricSample[] = [];
  const typed = new Set<string>();
  const sampled = new Set<string>();
  const series = new Set<string>();
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const fail = (problem: string): never => {
      throw new MetricsParseError(source, index + 1, problem);
    };
    const line = (lines[index] ?? "").replace(/\r$/, "").replace(/^[ \t]+/, "");
    if (line === "") continue;
    if (line.startsWith("#")) {
      checkComment(line, typed, sampled, fail);
      continue;
    }
    const sample = parseSample(line, fail);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (series.has(key)) fail(`duplicate series ${key}`);
    series.add(key);
    sampled.add(sample.name);
    samples.push(sample);
  }
  return samples;
}

function checkComment(line: string, typed: Set<string>, sampled: ReadonlySet<string>, fail: (problem: string) => never): void {
  const tokens = line
    .slice(1)
    .trim()
    .split(/[ \t]+/);
  const keyword = tokens[0];
  if (keyword !== "HELP" && keyword !== "TYPE") return;
  const name = tokens[1] ?? "";
  if (name === "" || METRIC_NAME.exec(name)?.[0] !== name) fail(`# ${keyword} needs a valid metric name, got ${quote(name)}`);
  if (keyword === "HELP") return;
  const kind = tokens[2] ?? "";
  if (tokens.length !== 3 || !METRIC_TYPES.has(kind))
    fail(`# TYPE ${name} needs one of counter, gauge, histogram, summary, untyped, got ${quote(tokens.slice(2).join(" "))}`);
  if (typed.has(name)) fail(`second # TYPE line for ${name}`);
  const members = [name, `${name}_sum`, `${name}_count`, `${name}_bucket`];
  if (members.some((m) => sampled.has(m))) fail(`# TYPE ${name} after samples of ${name}`);
  typed.add(name);
}

function parseSample(line: string, fail: (problem: string) => never): MetricSample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined) fail(`expected a metric name, got ${quote(line)}`);
  let rest = line.slice(name.length).replace(/^[ \t]+/, "");
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = parseLabels(rest.slice(1), name, labels, fail);
    if (rest !== "" && !/^[ \t]/.test(rest)) fail(`expected a space after the labels of ${name}`);
  }
  const tokens = rest.trim() === "" ? [] : rest.trim().split(/[ \t]+/);
  if (tokens.length === 0) fail(`${name} has no value`);
  if (tokens.length > 2) fail(`${name}: unexpected ${quote(tokens.slice(2).join(" "))} after the value and timestamp`);
  const value = parseValue(tokens[0] ?? "");
  if (value === undefined) fail(`${name}: invalid value ${quote(tokens[0] ?? "")}`);
  const sample: MetricSample = { name, labels, value };
  const timestamp = tokens[1];
  if (timestamp === undefined) return sample;
  if (!TIMESTAMP.test(timestamp) || !Number.isSafeInteger(Number(timestamp)))
    fail(`${name}: invalid timestamp ${quote(timestamp)} (expected integer milliseconds)`);
  return { ...sample, timestampMs: Number(timestamp) };
}

/** Parses `name="value",…}` into `labels`; returns what follows the `}`. */
function parseLabels(text: string, metric: string, labels: Record<string, string>, fail: (problem: string) => never): string {
  let rest = text;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, "");
    if (rest.startsWith("}")) return rest.slice(1);
    const label = LABEL_NAME.exec(rest)?.[0];
    if (label === undefined) fail(`${metric}: expected a label name or }, got ${quote(rest)}`);
    if (Object.hasOwn(labels, label)) fail(`${metric}: label ${label} given twice`);
    rest = rest.slice(label.length).replace(/^[ \t]+/, "");
    if (!rest.startsWith("=")) fail(`${metric}: expected = after label ${label}`);
    rest = rest.slice(1).replace(/^[ \t]+/, "");
    if (!rest.startsWith('"')) fail(`${metric}: the value of label ${label} must be in double quotes`);
    let value = "";
    let i = 1;
    for (;;) {
      const c = rest[i];
      if (c === undefined) fail(`${metric}: the value of label ${label} is not closed with "`);
      if (c === '"') break;
      if (c === "\\") {
        const escaped = rest[i + 1];
        if (escaped === "\\" || escaped === '"') value += escaped;
        else if (escaped === "n") value += "\n";
        else fail(`${metric}: invalid escape \\${escaped ?? ""} in the value of label ${label} (only \\\\, \\" and \\n)`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[label] = value;
    rest = rest.slice(i + 1).replace(/^[ \t]+/, "");
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (!rest.startsWith("}")) fail(`${metric}: expected , or } after label ${label}`);
  }
}

function parseValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  const infinity = INFINITY.exec(token);
  if (infinity !== null) return infinity[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(token)) return Number.NaN;
  return undefined;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

// ---------------------------------------------------------------------------
// [monitor] policy

const argv = z
  .array(
    z.string({ error: "expected a string" }).refine((s) => !s.includes("\0"), { error: "contains a NUL byte" }),
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
const oneSource = (s: { metrics_url?: string | undefined; metrics_command?: readonly string[] | undefined }) =>
  s.metrics_url === undefined || s.metrics_command === undefined;

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
  .refine((t) => (t.latency_warning_us ?? 150) < (t.latency_critical_us ?? 200), {
    path: ["latency_critical_us"],
    error: "expected more than latency_warning_us",
  })
  .refine((t) => (t.memory_growth_warning_percent ?? 10) < (t.memory_growth_critical_percent ?? 20), {
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
      closedObject(sourceFields)
        .refine(oneSource, { error: "expected metrics_url or metrics_command, not both" })
        .refine((s) => s.metrics_url !== undefined || s.metrics_command !== undefined, {
          error: "expected metrics_url or metrics_command",
        }),
      { error: "expected a table of hosts" },
    )
    .optional(),
})
  .refine(oneSource, { path: ["metrics_command"], error: "expected metrics_url or metrics_command, not both" })
  .refine((m) => (m.poll_seconds ?? 10) <= (m.duration_minutes ?? 30) * 60, {
    path: ["poll_seconds"],
    error: "expected at most duration_minutes (in seconds)",
  });

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
  readonly thresholds: MonitorThresholds;
  readonly staging: StagingCheckPolicy;
}

/** The default metrics endpoint of `shriven-quant serve`. */
export const DEFAULT_METRICS_URL = "http://{host}:9100/metrics";

function sourceFrom(raw: { metrics_url?: string | undefined; metrics_command?: readonly string[] | undefined }): MetricsSource {
  if (raw.metrics_command !== undefined) return { kind: "command", argv: raw.metrics_command };
  return { kind: "url", url: raw.metrics_url ?? DEFAULT_METRICS_URL };
}

/** Applies the defaults to `[monitor]`. */
export function monitorPolicyFrom(raw: z.output<typeof monitorPolicySchema> | undefined): MonitorPolicy {
  const t = raw?.thresholds;
  const d = DEFAULT_MONITOR_THRESHOLDS;
  return {
    durationMs: (raw?.duration_minutes ?? 30) * 60_000,
    pollMs: (raw?.poll_seconds ?? 10) * 1000,
    timeoutMs: (raw?.timeout_seconds ?? 5) * 1000,
    source: sourceFrom(raw ?? {}),
    hostSources: Object.fromEntries(Object.entries(raw?.hosts ?? {}).map(([host, s]) => [host, sourceFrom(s)])),
    thresholds: {
      latencyWarningUs: t?.latency_warning_us ?? d.latencyWarningUs,
      latencyCriticalUs: t?.latency_critical_us ?? d.latencyCriticalUs,
      memoryGrowthWarningPercent: t?.memory_growth_warning_percent ?? d.memoryGrowthWarningPercent,
      memoryGrowthCriticalPercent: t?.memory_growth_critical_percent ?? d.memoryGrowthCriticalPercent,
      errorRateWarningPercent: t?.error_rate_warning_percent ?? d.errorRateWarningPercent,
      riskUtilizationWarningPercent: t?.risk_utilization_warning_percent ?? d.riskUtilizationWarningPercent,
      failedPollsCritical: t?.failed_polls_critical ?? d.failedPollsCritical,
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
      describeIssues(parsed.error.issues).map((p) => `monitor.${p}`),
    );
  return monitorPolicyFrom(parsed.data);
}

// ---------------------------------------------------------------------------
// Fetching a host's metrics

/** A monitored host: its name, or a name and the address `{host}` stands for. */
export type MonitorHost = string | { readonly name: string; readonly address?: string };

function hostName(host: MonitorHost): string {
  return typeof host === "string" ? host : host.name;
}

function hostAddress(host: MonitorHost): string {
  return typeof host === "string" ? host : (host.address ?? host.name);
}

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

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

// ---------------------------------------------------------------------------
// Judging one poll

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

function values(samples: readonly MetricSample[], name: string, filter: (s: MetricSample) => boolean = () => true): number[] {
  return samples.filter((s) => s.name === name && filter(s)).map((s) => s.value);
}

/** Sum of a metric's series (counters, memory), or undefined when it has none. */
function total(samples: readonly MetricSample[], name: string): number | undefined {
  const found = values(samples, name);
  return found.length === 0 ? undefined : found.reduce((a, b) => a + b, 0);
}

/** The 0.99 quantile of the order latency in seconds (the highest of its series), or undefined when absent. */
export function latencyP99Seconds(samples: readonly MetricSample[]): number | undefined {
  const found = values(samples, METRICS.latency, (s) => s.labels.quantile !== undefined && Number(s.labels.quantile) === 0.99);
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
  else if (connected.some((c) => c === 0)) critical.push(`critical: connection lost: ${METRICS.connected} is 0`);

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

// ---------------------------------------------------------------------------
// Monitoring hosts

/** Time as the monitor sees it; injectable so tests run 30 minutes in milliseconds. */
export type MonitorClock = Clock;

/** A poll of a host that was not ok. */
export interface HostFinding {
  readonly host: string;
  readonly level: "warning" | "critical";
  readonly findings: readonly string[];
  /** 1-based poll number. */
  readonly poll: number;
  /** `clock.now()` when it was judged. */
  readonly at: number;
}

/** How monitoring ended. */
export type MonitorOutcome =
  /** A host turned critical: roll back. Resolved in the poll that saw it. */
  | {
      readonly verdict: "critical";
      readonly host: string;
      readonly findings: readonly string[];
      readonly at: number;
      readonly poll: number;
      /** Warnings of earlier polls (and of other hosts). */
      readonly warnings: readonly HostFinding[];
    }
  /** The monitoring time passed without a critical finding. */
  | {
      readonly verdict: "ok" | "warning";
      readonly warnings: readonly HostFinding[];
      /** Polls of each host. */
      readonly polls: number;
      readonly at: number;
    };

/** Options of {@link monitorHosts}. */
export interface MonitorOptions<H extends MonitorHost> {
  readonly hosts: readonly H[];
  readonly policy: Pick<MonitorPolicy, "durationMs" | "pollMs" | "thresholds">;
  /** One host's metrics text (see {@link metricsFetcher}); a rejection is a failed poll. */
  readonly fetchMetrics: (host: H) => Promise<string>;
  readonly clock?: MonitorClock;
  /** Told every warning and critical poll as it happens (for notifications). */
  readonly onFinding?: (finding: HostFinding) => void;
  /** Thresholds of one host, when they differ per host (staging's reference latency); `policy.thresholds` otherwise. */
  readonly thresholdsFor?: (host: H) => MonitorThresholds;
}

interface HostState {
  history: PollHistory | undefined;
  failures: number;
}

/**
 * Polls every host every `pollMs` for `durationMs` after a deploy: polls at
 * 0, pollMs, 2·pollMs, … before the end, i.e. ⌈durationMs / pollMs⌉ polls
 * of each host, then resolves when the duration has passed. Resolves as soon
 * as a host turns critical (without waiting for slower hosts of that poll),
 * so the caller can roll back within one poll.
 *
 * A failed poll (fetch rejected, text malformed) is a warning; `failedPollsCritical`
 * of them in a row mean the connection to the host is lost (critical).
 */
export async function monitorHosts<H extends MonitorHost>(options: MonitorOptions<H>): Promise<MonitorOutcome> {
  const { hosts, policy, fetchMetrics, onFinding } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  if (hosts.length === 0) throw new Error("monitorHosts: no hosts to monitor");
  if (!(policy.pollMs > 0) || !(policy.durationMs > 0)) throw new Error("monitorHosts: pollMs and durationMs must be above 0");
  const thresholds = policy.thresholds;
  const states = new Map<H, HostState>(hosts.map((h) => [h, { history: undefined, failures: 0 }]));
  const warnings: HostFinding[] = [];
  /** Set once the outcome is decided: slower hosts' results no longer count. */
  let finished = false;
  const start = clock.now();
  const end = start + policy.durationMs;
  const polls = Math.ceil(policy.durationMs / policy.pollMs);

  const pollHost = async (host: H, poll: number): Promise<HostFinding | undefined> => {
    const state = states.get(host) as HostState;
    const name = hostName(host);
    let evaluation: Evaluation;
    try {
      const samples = parsePrometheusText(await fetchMetrics(host), `metrics of ${name}`);
      evaluation = evaluate(samples, state.history, options.thresholdsFor?.(host) ?? thresholds);
      state.history = { baseline: state.history?.baseline ?? samples, previous: samples };
      state.failures = 0;
    } catch (error) {
      state.failures++;
      const reason = error instanceof Error ? error.message : String(error);
      const limit = thresholds.failedPollsCritical;
      evaluation =
        state.failures >= limit
          ? { level: "critical", findings: [`critical: connection lost: ${state.failures} polls in a row failed; last: ${reason}`] }
          : {
              level: "warning",
              findings: [`warning: poll failed (${state.failures} of ${limit} in a row before connection lost): ${reason}`],
            };
    }
    if (evaluation.level === "ok" || finished) return undefined;
    const finding: HostFinding = { host: name, level: evaluation.level, findings: evaluation.findings, poll, at: clock.now() };
    onFinding?.(finding);
    if (finding.level === "warning") warnings.push(finding);
    return finding;
  };

  /** Polls every host at once; the first critical finding, as soon as it is known. */
  const pollAll = (poll: number) =>
    new Promise<HostFinding | undefined>((resolve, reject) => {
      let pending = hosts.length;
      for (const host of hosts) {
        pollHost(host, poll).then((finding) => {
          if (finding?.level === "critical") resolve(finding);
          else if (--pending === 0) resolve(undefined);
        }, reject);
      }
    });

  let done = 0;
  for (let poll = 1; poll <= polls; poll++) {
    const due = start + (poll - 1) * policy.pollMs;
    const now = clock.now();
    if (due > now) await clock.sleep(due - now);
    if (poll > 1 && clock.now() >= end) break;
    const critical = await pollAll(poll);
    done = poll;
    if (critical !== undefined) {
      finished = true;
      return { verdict: "critical", host: critical.host, findings: critical.findings, at: critical.at, poll, warnings: [...warnings] };
    }
  }
  const left = end - clock.now();
  if (left > 0) await clock.sleep(left);
  return { verdict: warnings.length > 0 ? "warning" : "ok", warnings: [...warnings], polls: done, at: clock.now() };
}
