/**
 * `[monitor] source = "prometheus"` against a loopback server speaking Prometheus's query API in its recorded
 * shapes: a success vector becomes the samples evaluate() judges; every answer Prometheus cannot vouch for
 * (errors, warnings, no data, NaN/Inf, up 0, stale data, other result types, malformed or hostile JSON) is an
 * error naming the host and the query, and in the watch loop a failed poll, never a healthy one. Credentials
 * come from an environment variable or a file and never appear in an error.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../../src/monitor/evaluate.js";
import { metricsFetcher } from "../../src/monitor/fetch.js";
import { DEFAULT_MONITOR_THRESHOLDS, monitorPolicyFrom } from "../../src/monitor/policy.js";
import { hostSeriesQuery, type PrometheusSettings, prometheusReader } from "../../src/monitor/prometheus-api.js";
import { type FirstWarning, findingCheck, type MonitorClock, monitorHosts } from "../../src/monitor/watch.js";
import {
  BAD_DATA,
  EXECUTION_ERROR,
  fakePrometheus,
  type PrometheusAnswer,
  type PrometheusRequest,
  type VectorEntry,
  vectorAnswer,
} from "../helpers/fake-prometheus.js";
import { freePort } from "../helpers/sshd.js";
import { tempFiles } from "../helpers/temp.js";

const INSTANCE = "10.0.0.5:9100";
/** Milliseconds; the API's timestamps are this / 1000 (recorded from Prometheus 2.42). */
const NOW = 1_796_232_704_380;

/** The engine's series for `instance` as Prometheus returns them after scraping it (job and instance added). */
function engineVector(over: Record<string, string> = {}, at = NOW / 1000, instance = INSTANCE): VectorEntry[] {
  const series: [Record<string, string>, string][] = [
    [{ __name__: "up" }, over.up ?? "1"],
    [{ __name__: "shriven_order_latency_seconds", quantile: "0.5" }, "0.000002"],
    [{ __name__: "shriven_order_latency_seconds", quantile: "0.99" }, over.p99 ?? "0.000005"],
    [{ __name__: "shriven_process_resident_memory_bytes" }, over.rss ?? "2482176"],
    [{ __name__: "shriven_events_total" }, over.events ?? "1000"],
    [{ __name__: "shriven_errors_total" }, over.errors ?? "0"],
    [{ __name__: "shriven_risk_limit_utilization_ratio" }, over.risk ?? "0.3"],
    [{ __name__: "shriven_connected" }, "1"],
    [{ __name__: "shriven_panics_total" }, "0"],
  ];
  return series.map(([metric, value]) => ({ metric: { ...metric, instance, job: "shriven-engine" }, value: [at, value] }));
}

/** Recorded shape of `timestamp(up{instance=…})`: the last scrape's time as the value. */
function lastScrape(scrapedAt = NOW / 1000 - 1): PrometheusAnswer {
  return vectorAnswer([{ metric: { instance: INSTANCE, job: "shriven-engine" }, value: [NOW / 1000, String(scrapedAt)] }]);
}

/** Answers the series query with `series` and the last-scrape query with `scrape`. */
function answering(series: PrometheusAnswer, scrape: PrometheusAnswer = lastScrape()): (request: PrometheusRequest) => PrometheusAnswer {
  return (request) => (request.query?.startsWith("timestamp(") === true ? scrape : series);
}

function settingsOf(url: string, extra: Partial<PrometheusSettings> = {}): PrometheusSettings {
  return { url, label: "instance", maxAgeMs: 30_000, ...extra };
}

async function readFrom(answer: (request: PrometheusRequest) => PrometheusAnswer, extra: Partial<PrometheusSettings> = {}) {
  const server = await fakePrometheus(answer);
  const read = prometheusReader(settingsOf(server.url, extra), { timeoutMs: 2000, now: () => NOW });
  return { server, read: () => read("prod-1", INSTANCE) };
}

afterEach(() => {
  delete process.env.PROM_TEST_TOKEN;
  delete process.env.PROM_TEST_BASIC;
});

describe("prometheusReader", () => {
  it("turns a success vector into the samples evaluate() judges, at the poll's time", async () => {
    const { server, read } = await readFrom(answering(vectorAnswer(engineVector())));
    const samples = await read();
    expect(samples.map((s) => s.name)).not.toContain("up");
    expect(samples).toHaveLength(8);
    expect(samples[1]).toEqual({
      name: "shriven_order_latency_seconds",
      labels: { quantile: "0.99", instance: INSTANCE, job: "shriven-engine" },
      value: 0.000005,
    });
    expect(evaluate(samples, undefined, DEFAULT_MONITOR_THRESHOLDS)).toEqual({ level: "ok", findings: [] });
    expect(server.requests.map((r) => [r.path, r.query, r.time])).toEqual([
      ["/api/v1/query", '{__name__=~"shriven_.+|up", instance="10.0.0.5:9100"}', "1796232704.380"],
      ["/api/v1/query", 'timestamp(up{instance="10.0.0.5:9100"})', "1796232704.380"],
    ]);
    expect(server.requests[0]?.authorization).toBeUndefined();
  });

  it("quotes a label value with quotes or backslashes as a PromQL string", () => {
    expect(hostSeriesQuery("host", 'a"b\\c')).toBe('{__name__=~"shriven_.+|up", host="a\\"b\\\\c"}');
  });

  const stale = engineVector({}, NOW / 1000 - 120);
  const hostile = (body: unknown, status = 200): PrometheusAnswer => ({ status, body });
  it.each<[string, PrometheusAnswer, RegExp, PrometheusAnswer?]>([
    ["a 400 bad_data error", BAD_DATA, /answered HTTP 400, error bad_data: invalid parameter "query": 1:38: parse error/],
    ["a 422 execution error", EXECUTION_ERROR, /answered HTTP 422, error execution: vector cannot contain metrics with the same labelset/],
    [
      "a 503 in plain text",
      { status: 503, body: "Service Unavailable", contentType: "text/plain" },
      /HTTP 503 with malformed JSON: Service Unavailable/,
    ],
    ["a 500 with JSON but no error fields", hostile({ oops: true }, 500), /answered HTTP 500, error no errorType: \{"oops":true\}/],
    [
      "an error status on HTTP 200",
      hostile({ status: "error", errorType: "timeout", error: "query timed out" }),
      /HTTP 200, error timeout: query timed out/,
    ],
    [
      "warnings with data",
      hostile({ status: "success", warnings: ["remote read partial"], data: { resultType: "vector", result: engineVector() } }),
      /answered with warnings \(the data may be partial\): remote read partial/,
    ],
    [
      "an empty vector",
      vectorAnswer([]),
      /no data for host prod-1 \(instance="10\.0\.0\.5:9100"\) in Prometheus: query .* returned an empty vector/,
    ],
    ["only up", vectorAnswer(engineVector().slice(0, 1)), /no data for host prod-1 .*returned no shriven_ series, only up/],
    [
      "NaN latency",
      vectorAnswer(engineVector({ p99: "NaN" })),
      /shriven_order_latency_seconds\{quantile="0\.99",instance="10\.0\.0\.5:9100",job="shriven-engine"\} is NaN in Prometheus/,
    ],
    [
      "+Inf memory",
      vectorAnswer(engineVector({ rss: "+Inf" })),
      /shriven_process_resident_memory_bytes\{.*\} is \+Inf in Prometheus .*not a finite number/,
    ],
    ["a value that is no number", vectorAnswer(engineVector({ events: "lots" })), /shriven_events_total\{.*\} is lots/],
    [
      "a failed scrape (up 0)",
      vectorAnswer(engineVector({ up: "0" })),
      /last scrape of instance="10\.0\.0\.5:9100" failed \(up = 0; query .*\): the engine is down/,
    ],
    ["samples 120 s old", vectorAnswer(stale), /stale data in Prometheus: the newest sample is 120 s old \(at 2026-.*Z\), more than 30 s/],
    ["a matrix", hostile({ status: "success", data: { resultType: "matrix", result: [] } }), /returned a matrix result, not a vector/],
    [
      "a scalar",
      hostile({ status: "success", data: { resultType: "scalar", result: [NOW / 1000, "NaN"] } }),
      /returned a scalar result, not a vector/,
    ],
    [
      "truncated JSON",
      { body: '{"status":"success","data":{"resultType":"vec' },
      /HTTP 200 with malformed JSON: \{"status":"success","data":\{"resultType":"vec/,
    ],
    ["JSON null", hostile(null), /answered status null, not "success"/],
    ["a JSON array", hostile([1, 2]), /answered status null, not "success"/],
    ["success without data", hostile({ status: "success" }), /answered without data/],
    [
      "a result that is no list",
      hostile({ status: "success", data: { resultType: "vector", result: {} } }),
      /returned a vector without a result list/,
    ],
    [
      "a value of wrong types",
      vectorAnswer([{ metric: { __name__: "up" }, value: ["1", 1] as unknown as [number, string] }]),
      /malformed sample 1: expected value \[unix seconds, "number"\]/,
    ],
    [
      "a label that is no string",
      vectorAnswer([{ metric: { __name__: "up", job: 7 as unknown as string }, value: [NOW / 1000, "1"] }]),
      /malformed sample 1: label job is not a string/,
    ],
    [
      "a series without a name",
      vectorAnswer([{ metric: { instance: INSTANCE }, value: [NOW / 1000, "1"] }]),
      /returned a series without __name__/,
    ],
    [
      "a stale last scrape",
      vectorAnswer(engineVector()),
      /stale data in Prometheus: the newest sample is 90 s old .*\(query timestamp\(up\{instance="10\.0\.0\.5:9100"\}\)\)/,
      lastScrape(NOW / 1000 - 90),
    ],
    [
      "no last scrape",
      vectorAnswer(engineVector()),
      /no data for host prod-1 .*query timestamp\(up\{.*\}\) returned an empty vector/,
      vectorAnswer([]),
    ],
    [
      "a last scrape that is no time",
      vectorAnswer(engineVector()),
      /query timestamp\(up\{.*\}\) returned NaN, not a time/,
      lastScrape(Number.NaN),
    ],
    [
      "an answer over 4 MiB",
      { body: `{"status":"success","pad":"${"x".repeat(4 * 1024 * 1024)}"}` },
      /answered (\d+ bytes, )?more than 4194304/,
    ],
  ])("refuses %s, naming the host and the query", async (_, answer, problem, scrape) => {
    const { read } = await readFrom(answering(answer, scrape));
    const error = await read().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toMatch(problem);
    expect(error?.message).toMatch(/^prod-1: /);
    expect(error?.message).toMatch(
      /\{__name__=~"shriven_\.\+\|up", instance="10\.0\.0\.5:9100"\}|timestamp\(up\{instance="10\.0\.0\.5:9100"\}\)/,
    );
  });

  it("names the host and query when Prometheus refuses the connection or does not answer in time", async () => {
    const port = await freePort();
    const refused = prometheusReader(settingsOf(`http://127.0.0.1:${port}`), { timeoutMs: 2000, now: () => NOW });
    await expect(refused("prod-1", INSTANCE)).rejects.toThrow(
      /^prod-1: Prometheus query \{__name__=~"shriven_\.\+\|up", instance="10\.0\.0\.5:9100"\} at http:\/\/127\.0\.0\.1:\d+ failed: fetch failed: .*ECONNREFUSED/,
    );
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const hung = prometheusReader(settingsOf(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`), { timeoutMs: 200 });
      await expect(hung("prod-1", INSTANCE)).rejects.toThrow(/^prod-1: Prometheus query .* failed: timed out after 0\.2 s$/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe("Prometheus credentials", () => {
  const TOKEN = "s3cret-prometheus-token";

  it("sends a bearer token from an environment variable and never shows it in an error", async () => {
    process.env.PROM_TEST_TOKEN = `${TOKEN}\n`;
    const { server, read } = await readFrom(answering(BAD_DATA), { auth: { kind: "bearer", from: "env", name: "PROM_TEST_TOKEN" } });
    const error = (await read().catch((e: Error) => e)) as Error;
    expect(server.requests[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(error.message).toMatch(/bad_data/);
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
  });

  it("sends basic credentials from a file", async () => {
    const dir = tempFiles({ "prometheus-auth": "monitor:pa55word\n" });
    const { server, read } = await readFrom(answering(vectorAnswer(engineVector())), {
      auth: { kind: "basic", from: "file", path: `${dir}/prometheus-auth` },
    });
    await read();
    expect(server.requests.map((r) => r.authorization)).toEqual([
      `Basic ${Buffer.from("monitor:pa55word").toString("base64")}`,
      `Basic ${Buffer.from("monitor:pa55word").toString("base64")}`,
    ]);
  });

  it.each<[string, PrometheusSettings["auth"], RegExp]>([
    ["an unset variable", { kind: "bearer", from: "env", name: "PROM_TEST_TOKEN" }, /environment variable PROM_TEST_TOKEN is not set/],
    [
      "a missing file",
      { kind: "bearer", from: "file", path: "/nonexistent/prometheus-token" },
      /cannot read \/nonexistent\/prometheus-token \(ENOENT\)/,
    ],
    [
      "basic credentials without a colon",
      { kind: "basic", from: "env", name: "PROM_TEST_BASIC" },
      /from PROM_TEST_BASIC: expected user:password$/,
    ],
  ])("refuses %s without sending a request or showing a value", async (_, auth, problem) => {
    process.env.PROM_TEST_BASIC = TOKEN;
    const { server, read } = await readFrom(answering(vectorAnswer(engineVector())), { auth });
    const error = (await read().catch((e: Error) => e)) as Error;
    expect(error.message).toMatch(problem);
    expect(error.message).not.toContain(TOKEN);
    expect(server.requests).toEqual([]);
  });
});

/** A clock whose sleep advances time at once. */
function fakeClock(): MonitorClock {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

describe("monitoring from Prometheus", () => {
  const policyFor = (url: string) =>
    monitorPolicyFrom({ source: "prometheus", prometheus_url: url, duration_minutes: 1, poll_seconds: 10 });

  it("judges a healthy host from Prometheus as ok over every poll", async () => {
    const server = await fakePrometheus(answering(vectorAnswer(engineVector())));
    const policy = policyFor(server.url);
    const fetchMetrics = metricsFetcher<{ name: string; address: string }>(policy, { now: () => NOW });
    const outcome = await monitorHosts({ hosts: [{ name: "prod-1", address: "10.0.0.5" }], policy, fetchMetrics, clock: fakeClock() });
    expect(outcome).toMatchObject({ verdict: "ok", warnings: [], polls: 6 });
    expect(server.requests).toHaveLength(12);
  });

  it("takes no data for a host as failed polls, then connection lost, naming the host and the query", async () => {
    const server = await fakePrometheus(answering(vectorAnswer([])));
    const policy = policyFor(server.url);
    const fetchMetrics = metricsFetcher<{ name: string; address: string }>(policy, { now: () => NOW });
    const outcome = await monitorHosts({ hosts: [{ name: "prod-1", address: "10.0.0.5" }], policy, fetchMetrics, clock: fakeClock() });
    expect(outcome.verdict).toBe("critical");
    if (outcome.verdict !== "critical") return;
    expect(outcome.poll).toBe(3);
    expect(outcome.warnings).toHaveLength(2);
    expect(outcome.findings).toEqual([
      'critical: connection lost: 3 polls in a row failed; last: prod-1: no data for host prod-1 (instance="10.0.0.5:9100") in Prometheus: query {__name__=~"shriven_.+|up", instance="10.0.0.5:9100"} returned an empty vector',
    ]);
  });
});

describe("warnings as they first appear", () => {
  it("tells each host's check once, in the poll that first saw it, however often it repeats", async () => {
    let poll = 0;
    const server = await fakePrometheus((request) => {
      if (request.query?.startsWith("timestamp(") === true) return lastScrape();
      const instance = /instance="([^"]+)"/.exec(request.query ?? "")?.[1] ?? "";
      if (instance === INSTANCE) poll++;
      // Errors grow faster than 0.1 % of events on prod-1 from its 2nd poll; its risk use reaches 85 % at its 4th.
      const over = {
        events: String(1000 * poll),
        errors: instance === INSTANCE ? String(5 * poll * poll) : "0",
        risk: poll >= 4 && instance === INSTANCE ? "0.85" : "0.3",
      };
      return vectorAnswer(engineVector(over, NOW / 1000, instance));
    });
    const policy = monitorPolicyFrom({ source: "prometheus", prometheus_url: server.url, duration_minutes: 1, poll_seconds: 10 });
    const fetchMetrics = metricsFetcher<{ name: string; address: string }>(policy, { now: () => NOW });
    const first: FirstWarning[] = [];
    const outcome = await monitorHosts({
      hosts: [
        { name: "prod-1", address: "10.0.0.5" },
        { name: "prod-2", address: "10.0.0.6" },
      ],
      policy,
      fetchMetrics,
      clock: fakeClock(),
      onFirstWarning: (warning) => first.push(warning),
    });
    expect(outcome.verdict).toBe("warning");
    expect(outcome.warnings.length).toBe(5);
    expect(first.map((w) => [w.host, w.poll, w.check])).toEqual([
      ["prod-1", 2, "error rate # % (# errors in # events) > # %"],
      ["prod-1", 4, "risk limit # % used (≥ # %)"],
    ]);
    expect(first[0]?.finding).toBe("warning: error rate 1.5 % (15 errors in 1000 events) > 0.1 %");
  });

  it("keys a finding by what it judges, not by the values it measured", () => {
    expect(findingCheck("warning: order latency p99 160.5 µs > 150 µs")).toBe(findingCheck("warning: order latency p99 190 µs > 150 µs"));
    expect(findingCheck("warning: poll failed (1 of 3 in a row before connection lost): prod-1: timed out")).toBe("poll failed");
    expect(findingCheck("warning: shriven_connected missing from the metrics; cannot judge it")).not.toBe(
      findingCheck("warning: shriven_panics_total missing from the metrics; cannot judge it"),
    );
  });
});
