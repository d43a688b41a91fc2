/**
 * Post-deploy monitoring: the Prometheus text parser, the `[monitor]` policy,
 * the thresholds of evaluate() at and around each boundary, monitorHosts()
 * over 30 simulated minutes on a fake clock, and end to end against the real
 * example binary (`shriven-quant serve`, built with real cargo).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { SYSTEM_CLOCK } from "../../src/core/clock.js";
import { ConfigError } from "../../src/core/errors.js";
import { evaluate } from "../../src/monitor/evaluate.js";
import { metricsFetcher, metricsSourceFor } from "../../src/monitor/fetch.js";
import {
  DEFAULT_MONITOR_THRESHOLDS,
  type MonitorPolicy,
  type MonitorThresholds,
  monitorPolicyFrom,
  parseMonitorPolicy,
} from "../../src/monitor/policy.js";
import { type MetricSample, MetricsParseError, parsePrometheusText } from "../../src/monitor/prometheus.js";
import { type HostFinding, type MonitorClock, monitorHosts } from "../../src/monitor/watch.js";
import { buildExampleEngine, copyExample } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

const T = DEFAULT_MONITOR_THRESHOLDS;

/** What a poll of `shriven-quant serve` reports; every field optional. */
interface Reading {
  readonly p99Seconds?: string;
  readonly rss?: number;
  readonly events?: number;
  readonly errors?: number;
  readonly risk?: string;
  readonly connected?: number;
  readonly panics?: number;
  /** Metric names to leave out. */
  readonly omit?: readonly string[];
}

/** An exposition as `shriven-quant serve` writes it. */
function exposition(r: Reading = {}): string {
  const families: [string, string, string[]][] = [
    [
      "shriven_order_latency_seconds",
      "summary",
      [
        'shriven_order_latency_seconds{quantile="0.5"} 0.000002',
        `shriven_order_latency_seconds{quantile="0.99"} ${r.p99Seconds ?? "0.000005"}`,
        "shriven_order_latency_seconds_sum 0.25",
        "shriven_order_latency_seconds_count 100000",
      ],
    ],
    ["shriven_process_resident_memory_bytes", "gauge", [`shriven_process_resident_memory_bytes ${r.rss ?? 100_000_000}`]],
    ["shriven_events_total", "counter", [`shriven_events_total ${r.events ?? 0}`]],
    ["shriven_errors_total", "counter", [`shriven_errors_total ${r.errors ?? 0}`]],
    ["shriven_orders_total", "counter", ["shriven_orders_total 10"]],
    ["shriven_risk_limit_utilization_ratio", "gauge", [`shriven_risk_limit_utilization_ratio ${r.risk ?? "0.3"}`]],
    ["shriven_connected", "gauge", [`shriven_connected ${r.connected ?? 1}`]],
    ["shriven_panics_total", "counter", [`shriven_panics_total ${r.panics ?? 0}`]],
  ];
  return families
    .filter(([name]) => !(r.omit ?? []).includes(name))
    .flatMap(([name, kind, lines]) => [`# HELP ${name} help text`, `# TYPE ${name} ${kind}`, ...lines])
    .join("\n")
    .concat("\n");
}

function samples(r: Reading = {}): MetricSample[] {
  return parsePrometheusText(exposition(r), "test");
}

/** A clock whose sleep advances time at once. */
function fakeClock(): MonitorClock & { readonly sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

const POLICY: MonitorPolicy = monitorPolicyFrom(undefined);
const MINUTE = 60_000;

describe("parsePrometheusText", () => {
  it("parses HELP, TYPE and comments, labels with escapes, special values and timestamps", () => {
    const text = [
      "# A free comment",
      "# HELP http_requests_total The total number of HTTP requests.",
      "# TYPE http_requests_total counter",
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{ method = "post" , code="400", } 3 1395066363000',
      "",
      '  msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      "metric_without_timestamp_and_labels 12.47",
      'something_weird{problem="division by zero"} +Inf -3982045',
      "negative -Inf",
      "not_a_number NaN",
      "also_inf Inf",
      "tabs\t\t42\t",
      "empty_labels{} 1",
      'label_with_braces{v="a}{,b=\\"c\\""} -1.5e-3',
      "colon:name 7\r",
      "# TYPE rpc_duration_seconds summary",
      'rpc_duration_seconds{quantile="0.99"} 76656',
      "rpc_duration_seconds_sum 1.7560473e+07",
      "rpc_duration_seconds_count 2693",
    ].join("\n");
    const parsed = parsePrometheusText(text, "example");
    expect(parsed[0]).toEqual({
      name: "http_requests_total",
      labels: { method: "post", code: "200" },
      value: 1027,
      timestampMs: 1395066363000,
    });
    expect(parsed[1]).toEqual({
      name: "http_requests_total",
      labels: { method: "post", code: "400" },
      value: 3,
      timestampMs: 1395066363000,
    });
    expect(parsed[2]?.labels).toEqual({ path: "C:\\DIR\\FILE.TXT", error: 'Cannot find file:\n"FILE.TXT"' });
    expect(parsed[2]?.value).toBe(1458255915);
    expect(parsed[3]).toEqual({ name: "metric_without_timestamp_and_labels", labels: {}, value: 12.47 });
    expect(parsed[4]).toEqual({
      name: "something_weird",
      labels: { problem: "division by zero" },
      value: Number.POSITIVE_INFINITY,
      timestampMs: -3982045,
    });
    expect(parsed[5]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(parsed[6]?.value).toBeNaN();
    expect(parsed[7]?.value).toBe(Number.POSITIVE_INFINITY);
    expect(parsed[8]).toEqual({ name: "tabs", labels: {}, value: 42 });
    expect(parsed[9]).toEqual({ name: "empty_labels", labels: {}, value: 1 });
    expect(parsed[10]).toEqual({ name: "label_with_braces", labels: { v: 'a}{,b="c"' }, value: -0.0015 });
    expect(parsed[11]).toEqual({ name: "colon:name", labels: {}, value: 7 });
    expect(parsed.slice(12).map((s) => [s.name, s.value])).toEqual([
      ["rpc_duration_seconds", 76656],
      ["rpc_duration_seconds_sum", 17560473],
      ["rpc_duration_seconds_count", 2693],
    ]);
    expect(parsed).toHaveLength(15);
  });

  it("parses what shriven-quant serve writes; empty text has no samples", () => {
    const parsed = samples({ p99Seconds: "0.000301", rss: 2502656 });
    expect(parsed.find((s) => s.labels.quantile === "0.99")?.value).toBe(0.000301);
    expect(parsed.map((s) => s.name)).toContain("shriven_panics_total");
    expect(parsePrometheusText("", "empty")).toEqual([]);
    expect(parsePrometheusText("\n# only a comment\n\n", "empty")).toEqual([]);
  });

  const malformed: [string, string, number, RegExp][] = [
    ["a sample without a value", "ok 1\nno_value\n", 2, /no_value has no value/],
    ["a value that is not a number", "x 1.2.3", 1, /invalid value "1\.2\.3"/],
    ["a hexadecimal value", "x 0x10", 1, /invalid value "0x10"/],
    ["a name starting with a digit", "ok 1\nok2 2\n1abc 3", 3, /expected a metric name/],
    ["an unclosed label value", 'x{a="b} 1', 1, /label a is not closed/],
    ["a label value without quotes", "x{a=b} 1", 1, /label a must be in double quotes/],
    ["an invalid escape in a label value", 'x{a="\\t"} 1', 1, /invalid escape \\t/],
    ["a label given twice", 'x{a="1",a="2"} 1', 1, /label a given twice/],
    ["a label without =", "x{a} 1", 1, /expected = after label a/],
    ["labels not separated by commas", 'x{a="1" b="2"} 1', 1, /expected , or } after label a/],
    ["an unclosed label set", 'x{a="1" 1', 1, /expected , or } after label a/],
    ["no space between labels and value", 'x{a="1"}1', 1, /expected a space after the labels/],
    ["a bad label name", 'x{1a="1"} 1', 1, /expected a label name or }/],
    ["tokens after the timestamp", "x 1 2 3", 1, /unexpected "3"/],
    ["a fractional timestamp", "x 1 1.5", 1, /invalid timestamp "1\.5"/],
    ["an unknown TYPE", "# TYPE x histogramm", 1, /# TYPE x needs one of counter/],
    ["a TYPE without a name", "# TYPE", 1, /# TYPE needs a valid metric name/],
    ["a HELP with an invalid name", "# HELP 9x text", 1, /# HELP needs a valid metric name, got "9x"/],
    ["a second TYPE", "# TYPE x gauge\nx 1\n# TYPE x gauge", 3, /second # TYPE line for x/],
    ["a TYPE after the samples", "x_count 1\n# TYPE x summary", 2, /# TYPE x after samples of x/],
    ["the same series twice", 'x{a="1",b="2"} 1\nx{b="2",a="1"} 2', 2, /duplicate series x\{a="1",b="2"\}/],
  ];

  it.each(malformed)("refuses %s, naming the line", (_what, text, line, problem) => {
    let caught: unknown;
    try {
      parsePrometheusText(text, "http://prod-1:9100/metrics");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MetricsParseError);
    const error = caught as MetricsParseError;
    expect(error.line).toBe(line);
    expect(error.message).toMatch(new RegExp(`^http://prod-1:9100/metrics line ${line}: `));
    expect(error.message).toMatch(problem);
  });
});

describe("[monitor] policy", () => {
  it("defaults to the pipeline document: 30 minutes, 10 s polls, port 9100, its thresholds", () => {
    expect(monitorPolicyFrom(undefined)).toEqual({
      durationMs: 30 * MINUTE,
      pollMs: 10_000,
      timeoutMs: 5000,
      source: { kind: "url", url: "http://{host}:9100/metrics" },
      hostSources: {},
      thresholds: {
        latencyWarningUs: 150,
        latencyCriticalUs: 200,
        memoryGrowthWarningPercent: 10,
        memoryGrowthCriticalPercent: 20,
        errorRateWarningPercent: 0.1,
        riskUtilizationWarningPercent: 80,
        failedPollsCritical: 3,
      },
      // Staging's rollback triggers: error rate > 1 %, performance degraded > 20 %, checked for 5 minutes.
      staging: { durationMs: 5 * MINUTE, pollMs: 10_000, errorRateCriticalPercent: 1, degradationPercent: 20, degradationFloorUs: 10 },
    });
    expect(parseMonitorPolicy(undefined, "shriven-pipeline.toml")).toEqual(monitorPolicyFrom(undefined));
  });

  it("takes overrides: thresholds, a command source and per-host sources", () => {
    const policy = parseMonitorPolicy(
      {
        duration_minutes: 5,
        poll_seconds: 2,
        metrics_command: ["curl", "-fsS", "http://127.0.0.1:9100/metrics"],
        thresholds: { latency_warning_us: 80, latency_critical_us: 100, failed_polls_critical: 5 },
        hosts: { "prod-2": { metrics_url: "https://10.0.0.9:9200/metrics" } },
      },
      "shriven-pipeline.toml",
    );
    expect(policy.durationMs).toBe(5 * MINUTE);
    expect(policy.pollMs).toBe(2000);
    expect(policy.thresholds).toEqual({ ...T, latencyWarningUs: 80, latencyCriticalUs: 100, failedPollsCritical: 5 });
    expect(metricsSourceFor(policy, "prod-1")).toEqual({ kind: "command", argv: ["curl", "-fsS", "http://127.0.0.1:9100/metrics"] });
    expect(metricsSourceFor(policy, { name: "prod-2", address: "10.0.0.9" })).toEqual({
      kind: "url",
      url: "https://10.0.0.9:9200/metrics",
    });
  });

  it.each([
    [
      { metrics_url: "http://{host}/m", metrics_command: ["curl"] },
      /monitor\.metrics_command: expected metrics_url or metrics_command, not both/,
    ],
    [{ metrics_url: "ftp://{host}/metrics" }, /monitor\.metrics_url: expected an http\(s\) URL/],
    [{ metrics_command: [] }, /monitor\.metrics_command: expected a command/],
    [{ thresholds: { latency_warning_us: 250 } }, /monitor\.thresholds\.latency_critical_us: expected more than latency_warning_us/],
    [{ thresholds: { memory_growth_critical_percent: 5 } }, /monitor\.thresholds\.memory_growth_critical_percent: expected more than/],
    [
      { thresholds: { risk_utilization_warning_percent: 120 } },
      /monitor\.thresholds\.risk_utilization_warning_percent: expected at most 100/,
    ],
    [{ thresholds: { latency_p99_us: 1 } }, /monitor\.thresholds\.latency_p99_us: unknown key; expected one of: latency_warning_us/],
    [{ poll_seconds: 120, duration_minutes: 1 }, /monitor\.poll_seconds: expected at most duration_minutes/],
    [{ duration_minutes: 0 }, /monitor\.duration_minutes: expected minutes above 0/],
    [{ hosts: { "prod-1": {} } }, /monitor\.hosts\.prod-1: expected metrics_url, metrics_command or instance/],
  ])("refuses %j", (raw, problem) => {
    expect(() => parseMonitorPolicy(raw, "shriven-pipeline.toml")).toThrow(ConfigError);
    expect(() => parseMonitorPolicy(raw, "shriven-pipeline.toml")).toThrow(problem);
  });
});

describe("metricsFetcher", () => {
  it("runs metrics_command on the host through the injected runCommand", async () => {
    const policy = parseMonitorPolicy({ metrics_command: ["curl", "-fsS", "http://127.0.0.1:9100/metrics"] }, "config");
    const calls: unknown[] = [];
    const fetchMetrics = metricsFetcher<{ name: string; address: string }>(policy, {
      runCommand: async (host, argv, options) => {
        calls.push([host.name, argv, options.timeoutMs]);
        return host.name === "prod-1"
          ? { exitCode: 0, stdout: exposition() }
          : { exitCode: 7, stdout: "", stderr: "curl: (7) Failed to connect\n" };
      },
    });
    expect(await fetchMetrics({ name: "prod-1", address: "10.0.0.5" })).toBe(exposition());
    await expect(fetchMetrics({ name: "prod-2", address: "10.0.0.6" })).rejects.toThrow(
      "prod-2: metrics command curl -fsS http://127.0.0.1:9100/metrics exited with code 7: curl: (7) Failed to connect",
    );
    expect(calls).toEqual([
      ["prod-1", ["curl", "-fsS", "http://127.0.0.1:9100/metrics"], 5000],
      ["prod-2", ["curl", "-fsS", "http://127.0.0.1:9100/metrics"], 5000],
    ]);
    await expect(metricsFetcher(policy)("prod-1")).rejects.toThrow(/prod-1: metrics_command is configured but no way to run commands/);
  });

  it("fetches metrics_url with {host} replaced by the address, accepting only 200", async () => {
    const urls: string[] = [];
    const fetchMetrics = metricsFetcher<{ name: string; address: string }>(POLICY, {
      fetch: async (input) => {
        urls.push(String(input));
        return String(input).includes("10.0.0.5") ? new Response(exposition(), { status: 200 }) : new Response("oops", { status: 503 });
      },
    });
    expect(await fetchMetrics({ name: "prod-1", address: "10.0.0.5" })).toBe(exposition());
    await expect(fetchMetrics({ name: "prod-2", address: "10.0.0.6" })).rejects.toThrow(
      "prod-2: GET http://10.0.0.6:9100/metrics answered HTTP 503",
    );
    expect(urls).toEqual(["http://10.0.0.5:9100/metrics", "http://10.0.0.6:9100/metrics"]);
    const refusing = metricsFetcher(POLICY, {
      fetch: async () => {
        throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 10.0.0.7:9100") });
      },
    });
    await expect(refusing("10.0.0.7")).rejects.toThrow(
      "10.0.0.7: GET http://10.0.0.7:9100/metrics failed: fetch failed: connect ECONNREFUSED",
    );
  });
});

describe("evaluate", () => {
  /** Judges `current` after a first poll of `first` (the baseline and previous poll). */
  const judgeAfter = (first: Reading, current: Reading, thresholds: MonitorThresholds = T) =>
    evaluate(samples(current), { baseline: samples(first), previous: samples(first) }, thresholds);

  it("a healthy first poll is ok: it becomes the baseline", () => {
    expect(evaluate(samples(), undefined, T)).toEqual({ level: "ok", findings: [] });
  });

  it.each([
    ["0.000149", "ok"],
    ["0.00015", "ok"],
    ["0.0001501", "warning"],
    ["0.000199", "warning"],
    ["0.0002", "warning"],
    ["0.0002001", "critical"],
    ["0.0003", "critical"],
    ["NaN", "ok"],
  ])("order latency p99 %s s is %s (warning above 150 µs, critical above 200 µs)", (p99, level) => {
    const result = evaluate(samples({ p99Seconds: p99 }), undefined, T);
    expect(result.level).toBe(level);
    if (level === "warning") expect(result.findings).toEqual([expect.stringMatching(/^warning: order latency p99 [\d.]+ µs > 150 µs$/)]);
    if (level === "critical") expect(result.findings).toEqual([expect.stringMatching(/^critical: order latency p99 [\d.]+ µs > 200 µs$/)]);
  });

  it.each([
    [105_000_000, "ok"],
    [110_000_000, "ok"],
    [110_000_001, "warning"],
    [120_000_000, "warning"],
    [120_000_001, "critical"],
    [150_000_000, "critical"],
    [90_000_000, "ok"],
  ])("resident memory %d bytes after a 100 MB baseline is %s (warning above 10 %, critical above 20 %)", (rss, level) => {
    // Memory is judged against the first poll even when the previous poll was higher.
    const result = evaluate(samples({ rss }), { baseline: samples({ rss: 100_000_000 }), previous: samples({ rss: 130_000_000 }) }, T);
    expect(result.level).toBe(level);
    if (level !== "ok")
      expect(result.findings[0]).toMatch(
        new RegExp(`^${level}: memory growth [\\d.]+ % \\(95\\.4 MiB → [\\d.]+ MiB\\) > ${level === "warning" ? 10 : 20} %$`),
      );
  });

  it.each([
    [10, "ok"],
    [11, "warning"],
    [50, "warning"],
  ])("%d errors in 10000 events is %s (warning above 0.1 %)", (errors, level) => {
    const result = judgeAfter({ events: 5000, errors: 2 }, { events: 15_000, errors: 2 + errors });
    expect(result.level).toBe(level);
    if (level === "warning")
      expect(result.findings).toEqual([`warning: error rate ${errors / 100} % (${errors} errors in 10000 events) > 0.1 %`]);
  });

  it.each([
    [100, "warning"],
    [101, "critical"],
  ])("with staging's trigger, %d errors in 10000 events is %s (critical above 1 %)", (errors, level) => {
    const result = evaluate(
      samples({ events: 15_000, errors: 2 + errors }),
      { baseline: samples(), previous: samples({ events: 5000, errors: 2 }) },
      { ...T, errorRateCriticalPercent: 1 },
    );
    expect(result.level).toBe(level);
    expect(result.findings).toEqual([
      `${level}: error rate ${errors / 100} % (${errors} errors in 10000 events) > ${level === "critical" ? 1 : 0.1} %`,
    ]);
  });

  it.each([
    ["0.00006", "ok"],
    ["0.0000601", "critical"],
    ["0.00016", "critical"],
  ])(
    "with staging's trigger, p99 %s s against the previous release's 50 µs is %s (critical above +20 % and +10 µs)",
    (p99Seconds, level) => {
      const thresholds = { ...T, latencyDegradation: { referenceUs: 50, percent: 20, floorUs: 10 } };
      const result = evaluate(samples({ p99Seconds }), undefined, thresholds);
      expect(result.level).toBe(level);
      if (level === "critical")
        expect(result.findings[0]).toMatch(
          /^critical: order latency p99 [\d.]+ µs is [\d.]+ % above the previous release's 50 µs \(> 20 % and > 10 µs\)$/,
        );
      // Over the absolute limit, the absolute finding is the one reported.
      expect(evaluate(samples({ p99Seconds: "0.00025" }), undefined, thresholds).findings).toEqual([
        "critical: order latency p99 250 µs > 200 µs",
      ]);
    },
  );

  it("a few µs over a fast release's p99 are noise, not a regression: +30 % from 3.3 µs is ok; +10 µs more is critical", () => {
    const thresholds = { ...T, latencyDegradation: { referenceUs: 3.3, percent: 20, floorUs: 10 } };
    // Seen on a loaded CI machine between two polls of the same healthy build.
    expect(evaluate(samples({ p99Seconds: "0.0000043" }), undefined, thresholds).level).toBe("ok");
    expect(evaluate(samples({ p99Seconds: "0.0000133" }), undefined, thresholds).level).toBe("ok");
    expect(evaluate(samples({ p99Seconds: "0.0000134" }), undefined, thresholds).findings).toEqual([
      "critical: order latency p99 13.4 µs is 306.1 % above the previous release's 3.3 µs (> 20 % and > 10 µs)",
    ]);
  });

  it("refuses a bad [monitor.staging] table, naming the key", () => {
    expect(() => parseMonitorPolicy({ staging: { duration_minutes: -1 } }, "shriven-pipeline.toml")).toThrow(
      /monitor\.staging\.duration_minutes: expected 0 \(no check\) or more minutes/,
    );
    expect(() => parseMonitorPolicy({ staging: { error_rate_percent: 101 } }, "shriven-pipeline.toml")).toThrow(
      /monitor\.staging\.error_rate_percent: expected at most 100/,
    );
    expect(() => parseMonitorPolicy({ staging: { degradation_floor_us: 0 } }, "shriven-pipeline.toml")).toThrow(
      /monitor\.staging\.degradation_floor_us: expected µs above 0/,
    );
    expect(() => parseMonitorPolicy({ staging: { degradation: 20 } }, "shriven-pipeline.toml")).toThrow(
      /monitor\.staging\.degradation: unknown key/,
    );
    expect(parseMonitorPolicy({ staging: { duration_minutes: 0, degradation_percent: 50 } }, "f").staging).toMatchObject({
      durationMs: 0,
      degradationPercent: 50,
    });
  });

  it("the error rate is measured between polls, not since the start", () => {
    // 1 % of errors overall, but none since the previous poll.
    const result = evaluate(
      samples({ events: 20_000, errors: 100 }),
      { baseline: samples(), previous: samples({ events: 10_000, errors: 100 }) },
      T,
    );
    expect(result.level).toBe("ok");
    expect(judgeAfter({ events: 100, errors: 0 }, { events: 100, errors: 1 }).findings).toEqual([
      "warning: error rate: 1 errors and no events since the last poll",
    ]);
  });

  it.each([
    ["0.79", "ok"],
    ["0.7999", "ok"],
    ["0.8", "warning"],
    ["0.95", "warning"],
    ["1", "warning"],
  ])("risk limit utilization %s is %s (warning at 80 % used, never critical)", (risk, level) => {
    const result = evaluate(samples({ risk }), undefined, T);
    expect(result.level).toBe(level);
    if (level === "warning") expect(result.findings).toEqual([expect.stringMatching(/^warning: risk limit [\d.]+ % used \(≥ 80 %\)$/)]);
  });

  it("any panic is critical: a rising panic counter, or panics already on the first poll", () => {
    expect(judgeAfter({ panics: 0 }, { panics: 1 })).toEqual({
      level: "critical",
      findings: ["critical: panic: shriven_panics_total rose from 0 to 1"],
    });
    expect(judgeAfter({ panics: 1 }, { panics: 1 }).level).toBe("ok");
    expect(evaluate(samples({ panics: 2 }), undefined, T).findings).toEqual(["critical: panic: shriven_panics_total rose from 0 to 2"]);
  });

  it("a crash is critical: the memory metric vanishing, or the event counter falling (a restart)", () => {
    const vanished = judgeAfter({}, { omit: ["shriven_process_resident_memory_bytes"] });
    expect(vanished).toEqual({
      level: "critical",
      findings: ["critical: crash: shriven_process_resident_memory_bytes vanished from the metrics (the process is gone)"],
    });
    const restarted = judgeAfter({ events: 50_000, errors: 30 }, { events: 120, errors: 0 });
    expect(restarted).toEqual({
      level: "critical",
      findings: ["critical: crash: shriven_events_total fell from 50000 to 120 (the process restarted)"],
    });
  });

  it("shriven_connected 0 is critical: connection lost", () => {
    expect(judgeAfter({}, { connected: 0 })).toEqual({
      level: "critical",
      findings: ["critical: connection lost: shriven_connected is 0"],
    });
  });

  it("a metric never reported is a warning (it cannot be judged), not a crash", () => {
    const result = evaluate(samples({ omit: ["shriven_process_resident_memory_bytes", "shriven_order_latency_seconds"] }), undefined, T);
    expect(result).toEqual({
      level: "warning",
      findings: [
        'warning: shriven_order_latency_seconds{quantile="0.99"} missing from the metrics; cannot judge it',
        "warning: shriven_process_resident_memory_bytes missing from the metrics; cannot judge it",
      ],
    });
  });

  it("lists critical findings before warnings; the level is the worst", () => {
    const result = judgeAfter({ events: 0 }, { p99Seconds: "0.0005", risk: "0.9", events: 1000, errors: 5 });
    expect(result.level).toBe("critical");
    expect(result.findings.map((f) => f.split(":")[0])).toEqual(["critical", "warning", "warning"]);
  });

  it("uses overridden thresholds", () => {
    const strict: MonitorThresholds = { ...T, latencyWarningUs: 50, latencyCriticalUs: 100, riskUtilizationWarningPercent: 50 };
    expect(evaluate(samples({ p99Seconds: "0.00012" }), undefined, strict).findings).toEqual([
      "critical: order latency p99 120 µs > 100 µs",
    ]);
    expect(evaluate(samples({ risk: "0.5" }), undefined, strict).level).toBe("warning");
  });
});

/** A host whose metrics come from `readings(poll)`, counting polls. */
function scriptedFetch(script: Record<string, (poll: number) => Reading | Error>) {
  const polls: Record<string, number> = {};
  const times: Record<string, number[]> = {};
  return {
    polls,
    times,
    fetch: (clock: MonitorClock) => async (host: string) => {
      polls[host] = (polls[host] ?? 0) + 1;
      times[host] = [...(times[host] ?? []), clock.now()];
      const script1 = script[host];
      if (script1 === undefined) throw new Error(`no script for ${host}`);
      const reading = script1(polls[host]);
      if (reading instanceof Error) throw reading;
      // Counters grow like a live engine's: 10 000 events per poll.
      return exposition({ events: polls[host] * 10_000, ...reading });
    },
  };
}

describe("monitorHosts over 30 simulated minutes", () => {
  it("a healthy host is ok after exactly duration / poll polls, polled on schedule", async () => {
    const clock = fakeClock();
    const start = clock.now();
    const host = scriptedFetch({ "prod-1": () => ({}) });
    const outcome = await monitorHosts({ hosts: ["prod-1"], policy: POLICY, fetchMetrics: host.fetch(clock), clock });
    expect(outcome).toEqual({ verdict: "ok", warnings: [], polls: 180, at: start + 30 * MINUTE });
    expect(host.polls["prod-1"]).toBe(180);
    expect(host.times["prod-1"]).toEqual(Array.from({ length: 180 }, (_, i) => start + i * 10_000));
  });

  it("a host crossing critical at poll 7 is returned at poll 7, not later", async () => {
    const clock = fakeClock();
    const start = clock.now();
    const found: HostFinding[] = [];
    const host = scriptedFetch({
      "prod-1": () => ({}),
      "prod-2": (poll) => (poll >= 7 ? { p99Seconds: "0.00025" } : {}),
    });
    const outcome = await monitorHosts({
      hosts: ["prod-1", "prod-2"],
      policy: POLICY,
      fetchMetrics: host.fetch(clock),
      clock,
      onFinding: (f) => found.push(f),
    });
    expect(outcome).toEqual({
      verdict: "critical",
      host: "prod-2",
      findings: ["critical: order latency p99 250 µs > 200 µs"],
      at: start + 6 * 10_000,
      poll: 7,
      warnings: [],
    });
    expect(host.polls).toEqual({ "prod-1": 7, "prod-2": 7 });
    expect(clock.now()).toBe(start + 60_000);
    expect(found).toEqual([
      { host: "prod-2", level: "critical", findings: outcome.verdict === "critical" ? outcome.findings : [], poll: 7, at: start + 60_000 },
    ]);
  });

  it("resolves on a critical host without waiting for a host that does not answer", async () => {
    const clock = fakeClock();
    const outcome = await monitorHosts({
      hosts: ["hung", "crashed"],
      policy: POLICY,
      fetchMetrics: (host) => (host === "hung" ? new Promise<string>(() => {}) : Promise.resolve(exposition({ panics: 1 }))),
      clock,
    });
    expect(outcome).toMatchObject({
      verdict: "critical",
      host: "crashed",
      poll: 1,
      findings: ["critical: panic: shriven_panics_total rose from 0 to 1"],
    });
  });

  it("a warning is reported (and notified), not critical; monitoring runs to the end", async () => {
    const clock = fakeClock();
    const start = clock.now();
    const found: HostFinding[] = [];
    const host = scriptedFetch({ "prod-1": (poll) => (poll >= 3 && poll <= 5 ? { p99Seconds: "0.00017" } : {}) });
    const outcome = await monitorHosts({
      hosts: ["prod-1"],
      policy: POLICY,
      fetchMetrics: host.fetch(clock),
      clock,
      onFinding: (f) => found.push(f),
    });
    expect(outcome.verdict).toBe("warning");
    if (outcome.verdict === "critical") throw new Error("unexpected critical");
    expect(outcome.polls).toBe(180);
    expect(outcome.at).toBe(start + 30 * MINUTE);
    expect(outcome.warnings.map((w) => [w.poll, w.level, w.findings])).toEqual(
      [3, 4, 5].map((poll) => [poll, "warning", ["warning: order latency p99 170 µs > 150 µs"]]),
    );
    expect(found).toEqual(outcome.warnings);
  });

  it("3 failed polls in a row are critical: connection lost", async () => {
    const clock = fakeClock();
    const start = clock.now();
    const refused = new Error("prod-1: GET http://10.0.0.5:9100/metrics failed: connect ECONNREFUSED");
    const host = scriptedFetch({ "prod-1": (poll) => (poll >= 10 ? refused : {}) });
    const outcome = await monitorHosts({ hosts: ["prod-1"], policy: POLICY, fetchMetrics: host.fetch(clock), clock });
    expect(outcome).toEqual({
      verdict: "critical",
      host: "prod-1",
      findings: [`critical: connection lost: 3 polls in a row failed; last: ${refused.message}`],
      at: start + 11 * 10_000,
      poll: 12,
      warnings: [10, 11].map((poll, i) => ({
        host: "prod-1",
        level: "warning",
        findings: [`warning: poll failed (${i + 1} of 3 in a row before connection lost): ${refused.message}`],
        poll,
        at: start + (poll - 1) * 10_000,
      })),
    });
  });

  it("failures that do not come 3 in a row, and malformed metrics, are warnings", async () => {
    const clock = fakeClock();
    let calls = 0;
    const outcome = await monitorHosts({
      hosts: ["prod-1"],
      policy: POLICY,
      clock,
      fetchMetrics: async () => {
        calls++;
        if (calls % 3 === 1 && calls < 30) throw new Error("timed out after 5 s");
        if (calls % 3 === 2 && calls < 30) return "<html>not metrics</html>";
        return exposition({ events: calls * 100 });
      },
    });
    expect(outcome.verdict).toBe("warning");
    expect(outcome.warnings).toHaveLength(20);
    expect(outcome.warnings[1]?.findings[0]).toMatch(
      /^warning: poll failed \(2 of 3 in a row before connection lost\): metrics of prod-1 line 1: /,
    );
  });

  it("a slow memory leak turns critical at the poll where growth passes 20 %", async () => {
    const clock = fakeClock();
    // +1 % per poll over the first poll's 100 MB.
    const host = scriptedFetch({ "prod-1": (poll) => ({ rss: 100_000_000 + (poll - 1) * 1_000_000 }) });
    const found: HostFinding[] = [];
    const outcome = await monitorHosts({
      hosts: ["prod-1"],
      policy: POLICY,
      fetchMetrics: host.fetch(clock),
      clock,
      onFinding: (f) => found.push(f),
    });
    expect(outcome).toMatchObject({
      verdict: "critical",
      poll: 22,
      findings: [expect.stringMatching(/^critical: memory growth 21 % .* > 20 %$/)],
    });
    expect(found.map((f) => f.poll)).toEqual([...Array.from({ length: 10 }, (_, i) => 12 + i), 22]);
  });

  it("a duration that is not a multiple of the poll interval rounds the polls up", async () => {
    const clock = fakeClock();
    const host = scriptedFetch({ a: () => ({}) });
    const outcome = await monitorHosts({ hosts: ["a"], policy: { ...POLICY, durationMs: 25_000 }, fetchMetrics: host.fetch(clock), clock });
    expect(outcome).toMatchObject({ verdict: "ok", polls: 3 });
    expect(clock.sleeps).toEqual([10_000, 10_000, 5000]);
    await expect(monitorHosts({ hosts: [], policy: POLICY, fetchMetrics: host.fetch(clock), clock })).rejects.toThrow(
      "monitorHosts: no hosts to monitor",
    );
  });
});

/** A running `shriven-quant serve` and the address it printed. */
interface Served {
  readonly child: ChildProcess;
  readonly address: string;
}

async function startServe(binary: string, extra: readonly string[]): Promise<Served> {
  const env = { ...process.env };
  for (const key of ["MAX_POSITION_SIZE", "MAX_DAILY_LOSS", "MAX_ORDER_QTY"]) delete env[key];
  // Port 0: the kernel picks a free port, which serve prints; --max-seconds bounds a leaked process.
  const child = spawn(binary, ["serve", "--listen", "127.0.0.1:0", "--max-seconds", "120", ...extra], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = createInterface({ input: child.stdout });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("shriven-quant serve printed no address within 20 s")), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      const match = /^shriven-quant serve: listening on http:\/\/(127\.0\.0\.1:\d+)$/.exec(line);
      if (match?.[1] === undefined) reject(new Error(`unexpected first line of serve: ${line}`));
      else resolve(match[1]);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`shriven-quant serve exited with ${code} before listening`));
    });
  });
  return { child, address };
}

/** Waits (bounded) until the engine has processed events, as a deploy's health check would before monitoring starts. */
async function waitForEvents(address: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2000) });
      const events = parsePrometheusText(await response.text(), address).find((s) => s.name === "shriven_events_total");
      if ((events?.value ?? 0) >= 100) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`shriven-quant serve at ${address} processed no events within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5000));
  if ((await Promise.race([exited, timer])) === "timeout") {
    child.kill("SIGKILL");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
}

describe("end to end against the example's shriven-quant serve", () => {
  it("a healthy engine is ok; one with 300 µs injected latency turns critical naming the latency", async () => {
    const binary = await buildExampleEngine(copyExample(tempDir("shriven-monitor-")));
    const started: ChildProcess[] = [];
    try {
      const healthy = await startServe(binary, []);
      started.push(healthy.child);
      const slow = await startServe(binary, ["--inject-latency-us", "300"]);
      started.push(slow.child);
      await Promise.all([waitForEvents(healthy.address), waitForEvents(slow.address)]);

      // 10 real polls, 200 ms apart; {host} is the address with its port.
      const policy = parseMonitorPolicy(
        { duration_minutes: 2 / 60, poll_seconds: 0.2, timeout_seconds: 2, metrics_url: "http://{host}/metrics" },
        "test",
      );
      const fetchMetrics = metricsFetcher<{ name: string; address: string }>(policy);
      const monitor = (name: string, address: string) =>
        monitorHosts({ hosts: [{ name, address }], policy, fetchMetrics, clock: SYSTEM_CLOCK });
      const began = Date.now();
      const [ok, critical] = await Promise.all([monitor("healthy", healthy.address), monitor("slow", slow.address)]);

      expect(ok).toMatchObject({ verdict: "ok", warnings: [], polls: 10 });
      expect(Date.now() - began).toBeGreaterThanOrEqual(1900);
      expect(Date.now() - began).toBeLessThan(20_000);
      expect(critical.verdict).toBe("critical");
      if (critical.verdict !== "critical") return;
      expect(critical.host).toBe("slow");
      expect(critical.poll).toBe(1);
      expect(critical.findings).toEqual([expect.stringMatching(/^critical: order latency p99 \d+(\.\d)? µs > 200 µs$/)]);
    } finally {
      await Promise.all(started.map(stop));
    }
  }, 300_000);
});
