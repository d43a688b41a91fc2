/**
 * Alerting as code: the rules generated from `[monitor.thresholds]`, proven with the real tools from Debian —
 * `promtool check rules` and `amtool check-config` on the rendered files, and a `promtool test rules` suite in
 * which every threshold of the pipeline document has a case that fires above it, one that stays silent below
 * it, and the rule's `for` hold.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { DEFAULT_WEBHOOK_FILE } from "../../src/alerts/alertmanager.js";
import { RULES_FILE, renderAlerts, writeAlerts } from "../../src/alerts/render.js";
import { alertRules, DEFAULT_ALERT_TIMING, LATENCY_HISTOGRAM, promNumber } from "../../src/alerts/rules.js";
import { DEFAULT_MONITOR_THRESHOLDS } from "../../src/monitor/policy.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

const rules = alertRules(DEFAULT_MONITOR_THRESHOLDS).groups[0].rules;
const ruleOf = (name: string) => {
  const rule = rules.find((r) => r.alert === name);
  if (rule === undefined) throw new Error(`no rule ${name}`);
  return rule;
};

describe("the rules carry the document's thresholds", () => {
  it.each([
    [
      "ShrivenOrderLatencyCritical",
      "histogram_quantile(0.99, sum by (instance, job, le) (rate(shriven_order_latency_distribution_seconds_bucket[1m]))) > 0.0002",
      "critical",
      "1m",
    ],
    [
      "ShrivenOrderLatencyWarning",
      "histogram_quantile(0.99, sum by (instance, job, le) (rate(shriven_order_latency_distribution_seconds_bucket[1m]))) > 0.00015",
      "warning",
      "1m",
    ],
    ["ShrivenHeartbeatStale", "time() - shriven_heartbeat_timestamp_seconds > 30", "critical", "0s"],
    [
      "ShrivenMemoryGrowthCritical",
      "shriven_process_resident_memory_bytes / min_over_time(shriven_process_resident_memory_bytes[1h]) > 1.2",
      "critical",
      "1m",
    ],
    [
      "ShrivenMemoryGrowthWarning",
      "shriven_process_resident_memory_bytes / min_over_time(shriven_process_resident_memory_bytes[1h]) > 1.1",
      "warning",
      "1m",
    ],
    ["ShrivenErrorRateWarning", "rate(shriven_errors_total[5m]) / rate(shriven_events_total[5m]) > 0.001", "warning", "5m"],
    ["ShrivenRiskLimitWarning", "shriven_risk_limit_utilization_ratio >= 0.8", "warning", "1m"],
    ["ShrivenPanic", "increase(shriven_panics_total[5m]) > 0", "critical", "0s"],
    ["ShrivenCrashed", "resets(shriven_events_total[5m]) > 0", "critical", "0s"],
    [
      "ShrivenConnectionLost",
      'max by (instance, job) (shriven_connected == 0) or max by (instance, job) (up{job="shriven-engine"} == 0)',
      "critical",
      "30s",
    ],
  ])("%s: %s (%s, for %s)", (name, expr, severity, hold) => {
    expect(ruleOf(name)).toMatchObject({ expr, for: hold, labels: { severity } });
  });

  it("follows a workspace's own thresholds, and adds the critical error rate only where one is set", () => {
    const own = alertRules({ ...DEFAULT_MONITOR_THRESHOLDS, latencyCriticalUs: 350, errorRateCriticalPercent: 1 }).groups[0].rules;
    expect(own.find((r) => r.alert === "ShrivenOrderLatencyCritical")?.expr).toMatch(/ > 0\.00035$/);
    expect(own.find((r) => r.alert === "ShrivenErrorRateCritical")?.expr).toMatch(/ > 0\.01$/);
    expect(rules.some((r) => r.alert === "ShrivenErrorRateCritical")).toBe(false);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    const severities = own.map((r) => r.labels.severity);
    expect(severities.lastIndexOf("critical")).toBeLessThan(severities.indexOf("warning"));
  });

  it("takes the heartbeat limit and the latency window from the timing it is given", () => {
    const own = alertRules(DEFAULT_MONITOR_THRESHOLDS, { ...DEFAULT_ALERT_TIMING, latencyWindow: "5m", heartbeatStaleSeconds: 90 })
      .groups[0].rules;
    expect(own.find((r) => r.alert === "ShrivenHeartbeatStale")?.expr).toBe("time() - shriven_heartbeat_timestamp_seconds > 90");
    expect(own.find((r) => r.alert === "ShrivenOrderLatencyWarning")?.expr).toContain(`rate(${LATENCY_HISTOGRAM}_bucket[5m])`);
  });

  it("writes numbers PromQL reads, without exponents", () => {
    expect([0.0002, 0.00015, 1.2, 0.001, 0, 25, 1e-7].map(promNumber)).toEqual([
      "0.0002",
      "0.00015",
      "1.2",
      "0.001",
      "0",
      "25",
      "0.0000001",
    ]);
    expect(() => promNumber(Number.NaN)).toThrow("not a finite number");
  });

  it("the Alertmanager config names a file for the Slack webhook, never a URL", () => {
    const rendered = renderAlerts(DEFAULT_MONITOR_THRESHOLDS);
    const config = parse(rendered.alertmanager) as { receivers: { slack_configs: Record<string, unknown>[] }[] };
    expect(config.receivers[0]?.slack_configs[0]).toMatchObject({ api_url_file: DEFAULT_WEBHOOK_FILE, send_resolved: true });
    expect(rendered.alertmanager).not.toMatch(/hooks\.slack\.com|api_url:/);
    expect(() => renderAlerts(DEFAULT_MONITOR_THRESHOLDS, "relative/url")).toThrow("must be an absolute path");
    expect(() => renderAlerts(DEFAULT_MONITOR_THRESHOLDS, "/etc/x\nreceivers: []")).toThrow("must be an absolute path");
  });
});

describe("promtool and amtool accept what is rendered", needs("prometheus", "amtool"), () => {
  it("alerts check runs both on a workspace's thresholds", async () => {
    const source = tempDir();
    writeFileSync(join(source, "shriven-pipeline.toml"), "[monitor.thresholds]\nlatency_warning_us = 300\nlatency_critical_us = 400\n");
    const checked = await runCli(["alerts", "check", "--source", source]);
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/^✅ Checking .*shriven-rules\.yml\n +SUCCESS: 10 rules found\n/m);
    expect(checked.stdout).toMatch(/^✅ Checking '.*alertmanager\.yml' {2}SUCCESS/m);
    const rendered = await runCli(["alerts", "render", "--source", source]);
    expect(rendered.code).toBe(0);
    expect(readFileSync(join(source, "target/shriven-pipeline/alerts", RULES_FILE), "utf8")).toContain("> 0.0004");
  });

  it("alerts check fails naming the tool and the file on rules promtool refuses", async () => {
    const source = tempDir();
    // A bad threshold cannot get past the config's schema, so the refusal is provoked on the written file.
    const dir = tempDir();
    const paths = writeAlerts(dir, {
      rules: "groups:\n- name: x\n  rules:\n  - alert: X\n    expr: 'rate(('\n",
      alertmanager: "route: {}\n",
    });
    const promtool = await execa("promtool", ["check", "rules", paths.rules], { reject: false });
    expect(promtool.exitCode).not.toBe(0);
    const bad = await runCli(["alerts", "check", "--source", source, "--webhook-file", "not/absolute"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--webhook-file: expected the absolute path of the file holding the Slack webhook URL on the Alertmanager host, got "not/absolute"',
    );
    expect((await runCli(["alerts", "publish"])).code).toBe(2);
  });
});

/** One alert as `promtool test rules` expects it: labels and annotations, with the value already humanized. */
function expected(
  name: string,
  labels: Record<string, string>,
  value = "",
): { exp_labels: Record<string, string>; exp_annotations: Record<string, string> } {
  const rule = ruleOf(name);
  const fill = (template: string) =>
    template
      .replaceAll("{{ $labels.instance }}", labels.instance ?? "")
      .replaceAll("{{ $value | humanizeDuration }}", value)
      .replaceAll("{{ $value | humanizePercentage }}", value);
  return {
    exp_labels: { severity: rule.labels.severity, job: "shriven-engine", ...labels },
    exp_annotations: { summary: fill(rule.annotations.summary), description: fill(rule.annotations.description) },
  };
}

const series = (metric: string, instance: string, values: string, extra = "") => ({
  series: `${metric}{instance="${instance}",job="shriven-engine"${extra}}`,
  values,
});
/** The engine's latency bucket bounds (`le`), as `shriven-quant serve` writes them. */
const LE = ["0.000025", "0.00005", "0.0001", "0.00015", "0.0002", "0.0005", "0.001", "0.005", "+Inf"];

/**
 * A latency histogram whose buckets grow, every 15 s, by `perScrape` observations: a map from the `le` of the
 * bucket they fall in to their number (the series written cumulatively, as the engine does).
 */
function histogram(instance: string, perScrape: Record<string, number>, extra = "") {
  let cumulative = 0;
  return LE.map((le) => {
    cumulative += perScrape[le] ?? 0;
    return series(`${LATENCY_HISTOGRAM}_bucket`, instance, `0+${cumulative}x12`, `,le="${le}"${extra}`);
  });
}

describe("promtool test rules: every threshold fires above, stays silent below, and holds for its duration", needs("prometheus"), () => {
  it("passes the unit tests", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, RULES_FILE), renderAlerts(DEFAULT_MONITOR_THRESHOLDS).rules);
    const tests = {
      rule_files: [RULES_FILE],
      evaluation_interval: "15s",
      tests: [
        {
          // 98 of every 100 events within 100 µs, the slowest 2 % in one bucket: the p99 lies halfway into it.
          name: "order latency p99 from the histogram: 350 µs critical and warning, 175 µs warning only, 125 µs and a host's sum nothing; held 1m",
          interval: "15s",
          input_series: [
            ...histogram("prod-1", { "0.000025": 90, "0.0001": 8, "0.0005": 2 }),
            ...histogram("prod-2", { "0.000025": 98, "0.0002": 2 }),
            ...histogram("prod-3", { "0.0001": 98, "0.00015": 2 }),
            // Two series of one host (say, two engine processes) are summed before the quantile: 1 slow event
            // in 1000 is no p99 alert, though the quantile of the small series alone (1 in 10) would be 470 µs.
            ...histogram("prod-4", { "0.000025": 990 }, ',process="a"'),
            ...histogram("prod-4", { "0.000025": 9, "0.0005": 1 }, ',process="b"'),
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "ShrivenOrderLatencyCritical", exp_alerts: [] },
            { eval_time: "30s", alertname: "ShrivenOrderLatencyWarning", exp_alerts: [] },
            {
              eval_time: "2m",
              alertname: "ShrivenOrderLatencyCritical",
              exp_alerts: [expected("ShrivenOrderLatencyCritical", { instance: "prod-1" }, "350us")],
            },
            {
              eval_time: "2m",
              alertname: "ShrivenOrderLatencyWarning",
              exp_alerts: [
                expected("ShrivenOrderLatencyWarning", { instance: "prod-1" }, "350us"),
                expected("ShrivenOrderLatencyWarning", { instance: "prod-2" }, "175us"),
              ],
            },
          ],
        },
        {
          name: "heartbeat: more than 30 s old fires at once (exactly 30 s does not); a beating engine and one 20 s behind do not",
          interval: "15s",
          input_series: [
            // The value is the Unix time of the last event; promtool's clock starts at 0. prod-1 stops at 60 s.
            series("shriven_heartbeat_timestamp_seconds", "prod-1", "0+15x4 60x12"),
            series("shriven_heartbeat_timestamp_seconds", "prod-2", "0+15x16"),
            series("shriven_heartbeat_timestamp_seconds", "prod-3", "-20+15x16"),
          ],
          alert_rule_test: [
            { eval_time: "90s", alertname: "ShrivenHeartbeatStale", exp_alerts: [] },
            {
              eval_time: "2m",
              alertname: "ShrivenHeartbeatStale",
              exp_alerts: [expected("ShrivenHeartbeatStale", { instance: "prod-1" }, "1m 0s")],
            },
          ],
        },
        {
          name: "memory growth over the hour's lowest: +25 % critical and warning, +15 % warning only, +5 % nothing",
          interval: "15s",
          input_series: [
            series("shriven_process_resident_memory_bytes", "prod-1", "100x4 125x12"),
            series("shriven_process_resident_memory_bytes", "prod-2", "100x4 115x12"),
            series("shriven_process_resident_memory_bytes", "prod-3", "100x4 105x12"),
          ],
          alert_rule_test: [
            { eval_time: "90s", alertname: "ShrivenMemoryGrowthCritical", exp_alerts: [] },
            {
              eval_time: "3m",
              alertname: "ShrivenMemoryGrowthCritical",
              exp_alerts: [expected("ShrivenMemoryGrowthCritical", { instance: "prod-1" }, "125%")],
            },
            {
              eval_time: "3m",
              alertname: "ShrivenMemoryGrowthWarning",
              exp_alerts: [
                expected("ShrivenMemoryGrowthWarning", { instance: "prod-1" }, "125%"),
                expected("ShrivenMemoryGrowthWarning", { instance: "prod-2" }, "115%"),
              ],
            },
          ],
        },
        {
          name: "error rate: 0.2 % of events warns after 5m; 0.05 % does not",
          interval: "15s",
          input_series: [
            series("shriven_errors_total", "prod-1", "0+2x60"),
            series("shriven_events_total", "prod-1", "0+1000x60"),
            series("shriven_errors_total", "prod-2", "0+0.5x60"),
            series("shriven_events_total", "prod-2", "0+1000x60"),
          ],
          alert_rule_test: [
            { eval_time: "4m", alertname: "ShrivenErrorRateWarning", exp_alerts: [] },
            {
              eval_time: "12m",
              alertname: "ShrivenErrorRateWarning",
              exp_alerts: [expected("ShrivenErrorRateWarning", { instance: "prod-1" }, "0.2%")],
            },
          ],
        },
        {
          name: "risk limit: 85 % and exactly 80 % warn, 79 % does not",
          interval: "15s",
          input_series: [
            series("shriven_risk_limit_utilization_ratio", "prod-1", "0.85x12"),
            series("shriven_risk_limit_utilization_ratio", "prod-2", "0.79x12"),
            series("shriven_risk_limit_utilization_ratio", "prod-3", "0.8x12"),
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "ShrivenRiskLimitWarning", exp_alerts: [] },
            {
              eval_time: "2m",
              alertname: "ShrivenRiskLimitWarning",
              exp_alerts: [
                expected("ShrivenRiskLimitWarning", { instance: "prod-1" }, "85%"),
                expected("ShrivenRiskLimitWarning", { instance: "prod-3" }, "80%"),
              ],
            },
          ],
        },
        {
          name: "a panic and a crash fire at once; a quiet engine does not",
          interval: "15s",
          input_series: [
            series("shriven_panics_total", "prod-1", "0 0 0 1 1 1 1 1"),
            series("shriven_panics_total", "prod-2", "0x8"),
            series("shriven_events_total", "prod-1", "100 200 300 0 100 200 300 400"),
            series("shriven_events_total", "prod-2", "0+100x8"),
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "ShrivenPanic", exp_alerts: [] },
            { eval_time: "1m", alertname: "ShrivenPanic", exp_alerts: [expected("ShrivenPanic", { instance: "prod-1" })] },
            { eval_time: "1m", alertname: "ShrivenCrashed", exp_alerts: [expected("ShrivenCrashed", { instance: "prod-1" })] },
          ],
        },
        {
          name: "connection lost fires after 30s, whether the engine reports it or cannot be scraped; a connected, scraped engine does not",
          interval: "15s",
          input_series: [
            series("shriven_connected", "prod-1", "1 1 0x8"),
            series("shriven_connected", "prod-2", "1x10"),
            series("up", "prod-2", "1x10"),
            series("up", "prod-3", "1 0x8"),
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "ShrivenConnectionLost", exp_alerts: [] },
            {
              eval_time: "90s",
              alertname: "ShrivenConnectionLost",
              exp_alerts: [
                expected("ShrivenConnectionLost", { instance: "prod-1" }),
                expected("ShrivenConnectionLost", { instance: "prod-3" }),
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "tests.yml"), stringify(tests, { lineWidth: 0 }));
    const run = await execa("promtool", ["test", "rules", "tests.yml"], { cwd: dir, reject: false, all: true });
    expect(run.all).toContain("SUCCESS");
    expect(run.exitCode, run.all).toBe(0);
    // The suite would fail on rules that did not fire: the same tests against rules with the thresholds raised.
    writeFileSync(
      join(dir, RULES_FILE),
      renderAlerts({ ...DEFAULT_MONITOR_THRESHOLDS, latencyCriticalUs: 1000, riskUtilizationWarningPercent: 90 }).rules,
    );
    const raised = await execa("promtool", ["test", "rules", "tests.yml"], { cwd: dir, reject: false, all: true });
    expect(raised.exitCode).toBe(1);
    expect(raised.all).toContain("alertname: ShrivenOrderLatencyCritical, time: 2m");
    expect(raised.all).toContain("alertname: ShrivenRiskLimitWarning, time: 2m");
    writeFileSync(
      join(dir, RULES_FILE),
      stringify(alertRules(DEFAULT_MONITOR_THRESHOLDS, { ...DEFAULT_ALERT_TIMING, heartbeatStaleSeconds: 90 })),
    );
    const lenient = await execa("promtool", ["test", "rules", "tests.yml"], { cwd: dir, reject: false, all: true });
    expect(lenient.exitCode).toBe(1);
    expect(lenient.all).toContain("alertname: ShrivenHeartbeatStale, time: 2m");
  });
});
