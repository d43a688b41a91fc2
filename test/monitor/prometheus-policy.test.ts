/**
 * The `[monitor]` keys of `source = "prometheus"`: defaults, the instance each host is known by in
 * Prometheus, and every bad value refused with a ConfigError naming the field.
 */
import { describe, expect, it } from "vitest";
import { instanceFor, metricsFetcher } from "../../src/monitor/fetch.js";
import { monitorPolicyFrom, parseMonitorPolicy } from "../../src/monitor/policy.js";
import { configError } from "../helpers/config-error.js";
import { fakePrometheus, vectorAnswer } from "../helpers/fake-prometheus.js";

const URL = "http://127.0.0.1:9090";

describe("[monitor] source", () => {
  it('stays "scrape" by default: no Prometheus settings', () => {
    expect(parseMonitorPolicy(undefined, "shriven-pipeline.toml").prometheus).toBeUndefined();
    expect(parseMonitorPolicy({ source: "scrape" }, "shriven-pipeline.toml")).toEqual(monitorPolicyFrom(undefined));
  });

  it('reads Prometheus with source = "prometheus": label instance, stale after twice a 15 s scrape interval', () => {
    const policy = parseMonitorPolicy(
      { source: "prometheus", prometheus_url: URL, hosts: { "prod-2": { instance: "prod-2.internal:9100" } } },
      "shriven-pipeline.toml",
    );
    expect(policy.prometheus).toEqual({ url: URL, label: "instance", maxAgeMs: 30_000 });
    expect(policy.instances).toEqual({ "prod-2": "prod-2.internal:9100" });
    expect(policy.hostSources).toEqual({});
  });

  it("takes the label, the scrape interval or the maximum age, and where credentials are read from", () => {
    const parse = (extra: Record<string, unknown>) =>
      parseMonitorPolicy({ source: "prometheus", prometheus_url: URL, ...extra }, "f.toml").prometheus;
    expect(parse({ prometheus_label: "host", prometheus_scrape_interval_seconds: 5 })).toEqual({
      url: URL,
      label: "host",
      maxAgeMs: 10_000,
    });
    expect(parse({ prometheus_max_age_seconds: 45 })?.maxAgeMs).toBe(45_000);
    expect(parse({ prometheus_bearer_token_env: "PROMETHEUS_TOKEN" })?.auth).toEqual({
      kind: "bearer",
      from: "env",
      name: "PROMETHEUS_TOKEN",
    });
    expect(parse({ prometheus_bearer_token_file: "/run/secrets/prometheus" })?.auth).toEqual({
      kind: "bearer",
      from: "file",
      path: "/run/secrets/prometheus",
    });
    expect(parse({ prometheus_basic_auth_env: "PROM_BASIC" })?.auth).toEqual({ kind: "basic", from: "env", name: "PROM_BASIC" });
    expect(parse({ prometheus_basic_auth_file: "/etc/prom-auth" })?.auth).toEqual({ kind: "basic", from: "file", path: "/etc/prom-auth" });
  });

  const prom = { source: "prometheus", prometheus_url: URL };
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["an unknown source", { source: "graphite" }, /monitor\.source: expected "scrape" \(fetch each host's metrics\) or "prometheus"/],
    ["a source that is no string", { source: 1 }, /monitor\.source: expected "scrape"/],
    [
      "prometheus without its URL",
      { source: "prometheus" },
      /monitor\.prometheus_url: expected Prometheus's URL with source = "prometheus"/,
    ],
    ["a non-http URL", { ...prom, prometheus_url: "ftp://127.0.0.1:9090" }, /monitor\.prometheus_url: expected an http\(s\) URL/],
    ["a URL without a host", { ...prom, prometheus_url: "http://" }, /monitor\.prometheus_url: expected an http\(s\) URL/],
    [
      "a URL with a query",
      { ...prom, prometheus_url: "http://p:9090/?x=1" },
      /monitor\.prometheus_url: expected an http\(s\) URL without query/,
    ],
    [
      "a URL with credentials",
      { ...prom, prometheus_url: "http://monitor:s3cret@p:9090" },
      /monitor\.prometheus_url: expected no credentials in the URL/,
    ],
    ["a URL that is no string", { ...prom, prometheus_url: ["http://p"] }, /monitor\.prometheus_url: expected an http\(s\) URL/],
    ["a reserved label", { ...prom, prometheus_label: "__name__" }, /monitor\.prometheus_label: expected a Prometheus label name/],
    ["a label with a dash", { ...prom, prometheus_label: "host-name" }, /monitor\.prometheus_label: expected a Prometheus label name/],
    [
      "a label starting with a digit",
      { ...prom, prometheus_label: "1host" },
      /monitor\.prometheus_label: expected a Prometheus label name/,
    ],
    ["an empty label", { ...prom, prometheus_label: "" }, /monitor\.prometheus_label: expected a Prometheus label name/],
    [
      "a zero scrape interval",
      { ...prom, prometheus_scrape_interval_seconds: 0 },
      /monitor\.prometheus_scrape_interval_seconds: expected seconds above 0/,
    ],
    ["a maximum age in words", { ...prom, prometheus_max_age_seconds: "30" }, /monitor\.prometheus_max_age_seconds: expected seconds/],
    [
      "a maximum age and a scrape interval",
      { ...prom, prometheus_max_age_seconds: 30, prometheus_scrape_interval_seconds: 15 },
      /monitor\.prometheus_max_age_seconds: expected prometheus_max_age_seconds or prometheus_scrape_interval_seconds, not both/,
    ],
    ["a Prometheus URL with source scrape", { prometheus_url: URL }, /monitor\.prometheus_url: only with source = "prometheus"/],
    ["a label without source", { prometheus_label: "host" }, /monitor\.prometheus_label: only with source = "prometheus"/],
    [
      "an instance with source scrape",
      { hosts: { "prod-1": { instance: "a:1" } } },
      /monitor\.hosts\.prod-1\.instance: only with source = "prometheus"/,
    ],
    [
      "a metrics command for every host",
      { ...prom, metrics_command: ["curl", "x"] },
      /monitor\.metrics_command: expected metrics_url with source = "prometheus"/,
    ],
    [
      "a host's metrics command without an instance",
      { ...prom, hosts: { "prod-1": { metrics_command: ["curl", "x"] } } },
      /monitor\.hosts\.prod-1\.instance: expected the host's instance with source = "prometheus"/,
    ],
    [
      "an instance with a quote",
      { ...prom, hosts: { "prod-1": { instance: 'a"b' } } },
      /monitor\.hosts\.prod-1\.instance: expected 1 to 256 characters/,
    ],
    [
      "an empty instance",
      { ...prom, hosts: { "prod-1": { instance: "" } } },
      /monitor\.hosts\.prod-1\.instance: expected 1 to 256 characters/,
    ],
    [
      "an instance that is no string",
      { ...prom, hosts: { "prod-1": { instance: 9100 } } },
      /monitor\.hosts\.prod-1\.instance: expected the host's value/,
    ],
    [
      "two ways to authenticate",
      { ...prom, prometheus_bearer_token_env: "A", prometheus_basic_auth_env: "B" },
      /monitor\.prometheus_basic_auth_env: expected one way to authenticate to Prometheus, not prometheus_bearer_token_env and prometheus_basic_auth_env/,
    ],
    [
      "a token variable that is no name",
      { ...prom, prometheus_bearer_token_env: "MY-TOKEN" },
      /monitor\.prometheus_bearer_token_env: expected the name of an environment variable/,
    ],
    ["a token given inline", { ...prom, prometheus_bearer_token: "abc" }, /monitor\.prometheus_bearer_token: unknown key/],
    [
      "a relative token file",
      { ...prom, prometheus_bearer_token_file: "secrets/token" },
      /monitor\.prometheus_bearer_token_file: expected the absolute path of a file/,
    ],
  ])("refuses %s, naming the field", (_, raw, problem) => {
    const error = configError(() => parseMonitorPolicy(raw, "shriven-pipeline.toml"));
    expect(error.message).toMatch(problem);
    expect(error.message).toContain("shriven-pipeline.toml");
    expect(error.message).not.toContain("s3cret");
  });
});

describe("the instance a host is known by in Prometheus", () => {
  const policy = parseMonitorPolicy(
    {
      source: "prometheus",
      prometheus_url: URL,
      hosts: {
        "prod-2": { metrics_url: "http://10.0.0.9:9200/metrics" },
        "prod-3": { instance: "prod-3.internal:9100" },
        "prod-4": { metrics_command: ["curl", "-fsS", "http://127.0.0.1:9100/metrics"], instance: "10.0.0.4:9100" },
      },
    },
    "f.toml",
  );

  it("is the address:port of its metrics URL, or its instance", () => {
    expect(instanceFor(policy, { name: "prod-1", address: "10.0.0.5" })).toBe("10.0.0.5:9100");
    expect(instanceFor(policy, "prod-1")).toBe("prod-1:9100");
    expect(instanceFor(policy, { name: "prod-2", address: "10.0.0.6" })).toBe("10.0.0.9:9200");
    expect(instanceFor(policy, { name: "prod-3", address: "10.0.0.7" })).toBe("prod-3.internal:9100");
    expect(instanceFor(policy, "prod-4")).toBe("10.0.0.4:9100");
    expect(instanceFor(policy, "local-1", "http://127.0.0.1:41234/metrics")).toBe("127.0.0.1:41234");
    expect(instanceFor(policy, "web", "https://metrics.example/metrics")).toBe("metrics.example:443");
  });

  it("cannot be guessed for a host whose metrics come from a command", () => {
    const scrape = monitorPolicyFrom({ metrics_command: ["curl", "x"] });
    expect(() => instanceFor(scrape, "prod-1")).toThrow("prod-1: no instance for Prometheus: set [monitor.hosts.prod-1] instance");
  });

  it("of a local target is its own port's, asked of Prometheus", async () => {
    const server = await fakePrometheus(() => vectorAnswer([]));
    const local = monitorPolicyFrom({ source: "prometheus", prometheus_url: `${server.url}/prefix/` });
    const fetchMetrics = metricsFetcher<string>(local, { metricsUrlOf: () => "http://127.0.0.1:41234/metrics" });
    await expect(fetchMetrics("local-1")).rejects.toThrow(/no data for host local-1 \(instance="127\.0\.0\.1:41234"\)/);
    expect(server.requests.map((r) => r.path)).toEqual(["/prefix/api/v1/query"]);
  });
});
