/**
 * The generated rules on a real Prometheus (Debian's) on 127.0.0.1, scraping the example engine's `/metrics`
 * (`shriven-quant serve`, built with real cargo): an engine made slow fires the latency alert (from its latency
 * histogram), a healthy one does not, no running engine's heartbeat is stale, and stopping an engine fires
 * connection lost. The engine's `/metrics` passes `promtool check metrics` (text-format validity and its lint). The rules are the generated ones with short holds
 * (seconds instead of minutes) so the test ends in bounded time; everything else is as rendered.
 */
import type { ChildProcess } from "node:child_process";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { alertRules, ENGINE_JOB, LATENCY_HISTOGRAM } from "../../src/alerts/rules.js";
import { DEFAULT_MONITOR_THRESHOLDS } from "../../src/monitor/policy.js";
import { buildExampleEngine, copyExample } from "../helpers/example.js";
import { serveEngine, startPrometheus, stopProcess } from "../helpers/prometheus.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

interface FiringAlert {
  labels: Record<string, string>;
  state: string;
}

describe("the generated rules on a real Prometheus scraping the example engine", needs("prometheus"), () => {
  let prometheus: string;
  let engines: { healthy: { child: ChildProcess; address: string }; slow: { child: ChildProcess; address: string } };

  beforeAll(async () => {
    const binary = await buildExampleEngine(copyExample(tempDir("shriven-prometheus-")));
    engines = { healthy: await serveEngine(binary), slow: await serveEngine(binary, ["--inject-latency-us", "300"]) };
    const rules = alertRules(DEFAULT_MONITOR_THRESHOLDS, {
      sustained: "2s",
      latencyWindow: "5s",
      errorWindow: "30s",
      memoryWindow: "1h",
      connection: "2s",
      heartbeatStaleSeconds: 30,
    });
    prometheus = await startPrometheus([engines.healthy.address, engines.slow.address], rules);
  }, 420_000);

  /** The firing alerts named `name`, polled every 500 ms until `until` holds them (at most 60 s). */
  async function firing(name: string, until: (alerts: FiringAlert[]) => boolean): Promise<FiringAlert[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const body = (await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as {
        data: { alerts: (FiringAlert & { labels: { alertname: string } })[] };
      };
      const alerts = body.data.alerts.filter((a) => a.labels.alertname === name && a.state === "firing");
      if (until(alerts) || Date.now() > deadline) return alerts;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  it("serves /metrics that promtool check metrics accepts, with every series of the contract", async () => {
    const response = await fetch(`http://${engines.slow.address}/metrics`);
    expect(response.status).toBe(200);
    const body = await response.text();
    const check = await execa("promtool", ["check", "metrics"], { input: body, reject: false, all: true, timeout: 30_000 });
    expect(check.all).toBe("");
    expect(check.exitCode).toBe(0);
    for (const family of [
      "shriven_order_latency_seconds summary",
      `${LATENCY_HISTOGRAM} histogram`,
      "shriven_process_resident_memory_bytes gauge",
      "shriven_events_total counter",
      "shriven_errors_total counter",
      "shriven_orders_total counter",
      "shriven_risk_limit_utilization_ratio gauge",
      "shriven_pnl_realized_quote gauge",
      "shriven_pnl_unrealized_quote gauge",
      "shriven_heartbeat_timestamp_seconds gauge",
      "shriven_connected gauge",
      "shriven_panics_total counter",
      "shriven_trading_mode gauge",
    ])
      expect(body).toContain(`\n# TYPE ${family}\n`);
    const heartbeat = Number(/^shriven_heartbeat_timestamp_seconds (\S+)$/m.exec(body)?.[1]);
    expect(Math.abs(heartbeat - Date.now() / 1000)).toBeLessThan(30);
    // The same checker refuses what is not the text format, so the pass above means something.
    const broken = await execa("promtool", ["check", "metrics"], { input: `${body}shriven_x{le=1} 2\n`, reject: false, all: true });
    expect(broken.exitCode).not.toBe(0);
  }, 60_000);

  it("fires the latency alert for the engine made slow (300 µs per event), not for the healthy one", async () => {
    const critical = await firing("ShrivenOrderLatencyCritical", (a) => a.length > 0);
    expect(critical.map((a) => a.labels.instance)).toEqual([engines.slow.address]);
    expect(critical[0]?.labels).toEqual({
      alertname: "ShrivenOrderLatencyCritical",
      severity: "critical",
      job: ENGINE_JOB,
      instance: engines.slow.address,
    });
    const warning = await firing("ShrivenOrderLatencyWarning", (a) => a.length > 0);
    expect(warning.map((a) => a.labels.instance)).toEqual([engines.slow.address]);
    expect(await firing("ShrivenHeartbeatStale", () => true)).toEqual([]);
  }, 90_000);

  it("fires connection lost for an engine that stopped, and only for it", async () => {
    expect(await firing("ShrivenConnectionLost", () => true)).toEqual([]);
    await stopProcess(engines.healthy.child);
    const lost = await firing("ShrivenConnectionLost", (a) => a.length > 0);
    expect(lost.map((a) => a.labels.instance)).toEqual([engines.healthy.address]);
    expect(lost[0]?.labels).toMatchObject({ severity: "critical", job: ENGINE_JOB });
  }, 90_000);
});
