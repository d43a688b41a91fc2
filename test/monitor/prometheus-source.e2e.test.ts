/**
 * `[monitor] source = "prometheus"` against a real Prometheus (Debian's) on 127.0.0.1 scraping the example
 * engine (`shriven-quant serve`, built with real cargo): the monitor reads the same series the alerting rules
 * judge and finds a healthy engine passing, an engine made slow (300 µs per event) critical, and an engine
 * that stopped critical (connection lost), each named by its host.
 */
import type { ChildProcess } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_CLOCK } from "../../src/core/clock.js";
import { metricsFetcher } from "../../src/monitor/fetch.js";
import { parseMonitorPolicy } from "../../src/monitor/policy.js";
import { monitorHosts } from "../../src/monitor/watch.js";
import { buildExampleEngine, copyExample } from "../helpers/example.js";
import { serveEngine, startPrometheus, stopProcess } from "../helpers/prometheus.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

type Engine = { child: ChildProcess; address: string };

describe("post-deploy monitoring from a real Prometheus scraping the example engine", needs("prometheus"), () => {
  let prometheus: string;
  let healthy: Engine;
  let slow: Engine;

  beforeAll(async () => {
    const binary = await buildExampleEngine(copyExample(tempDir("shriven-prometheus-source-")));
    healthy = await serveEngine(binary);
    slow = await serveEngine(binary, ["--inject-latency-us", "300"]);
    prometheus = await startPrometheus([healthy.address, slow.address]);
    // Bounded: until Prometheus has scraped both engines (at most 30 s).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const body = (await (await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent("up == 1")}`)).json()) as {
        data: { result: unknown[] };
      };
      if (body.data.result.length === 2 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 420_000);

  /** Watches `host` for 6 s, polling every second, its series read from Prometheus. */
  function watch(host: string) {
    const policy = parseMonitorPolicy(
      {
        source: "prometheus",
        prometheus_url: prometheus,
        prometheus_max_age_seconds: 10,
        duration_minutes: 0.1,
        poll_seconds: 1,
        // A tiny engine warming up on a loaded machine: memory and risk use are not what this test judges.
        thresholds: { memory_growth_warning_percent: 500, memory_growth_critical_percent: 1000, risk_utilization_warning_percent: 100 },
        hosts: {
          healthy: { metrics_url: `http://${healthy.address}/metrics` },
          slow: { instance: slow.address },
        },
      },
      "shriven-pipeline.toml",
    );
    return monitorHosts({ hosts: [host], policy, fetchMetrics: metricsFetcher<string>(policy), clock: SYSTEM_CLOCK });
  }

  it("passes the healthy engine", async () => {
    const outcome = await watch("healthy");
    expect(outcome).toMatchObject({ verdict: "ok", warnings: [] });
  }, 60_000);

  it("finds the engine made slow critical at its first poll: order latency p99 above 200 µs", async () => {
    const outcome = await watch("slow");
    expect(outcome.verdict).toBe("critical");
    if (outcome.verdict !== "critical") return;
    expect(outcome).toMatchObject({ host: "slow", poll: 1 });
    expect(outcome.findings[0]).toMatch(/^critical: order latency p99 [\d.]+ µs > 200 µs$/);
  }, 60_000);

  it("finds an engine that stopped critical: connection lost, naming the host and the query", async () => {
    await stopProcess(healthy.child);
    const outcome = await watch("healthy");
    expect(outcome.verdict).toBe("critical");
    if (outcome.verdict !== "critical") return;
    expect(outcome.host).toBe("healthy");
    expect(outcome.findings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^critical: connection lost: 3 polls in a row failed; last: healthy: (Prometheus's last scrape of instance="${healthy.address}" failed \\(up = 0; query .*\\)|no data for host healthy .*)`,
        ),
      ),
    ]);
  }, 60_000);
});
