/**
 * Monitoring warnings reach Slack when they first appear, not at the end of the window: each host and check is
 * posted once, through the stage's notifier, to a loopback webhook, while the monitor is still polling.
 */
import { describe, expect, it } from "vitest";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import type { HostCapabilities } from "../../src/engine/step.js";
import { monitorPolicyFrom } from "../../src/monitor/policy.js";
import type { MetricSample } from "../../src/monitor/prometheus.js";
import { monitorHosts } from "../../src/monitor/watch.js";
import { warningNotices } from "../../src/steps/shared/deploy.js";
import { slackHook } from "../helpers/slack-hook.js";

/** The engine's samples with `events` and `errors` counters and `risk` used. */
function reading(events: number, errors: number, risk = 0.3): MetricSample[] {
  const sample = (name: string, value: number, labels: Record<string, string> = {}): MetricSample => ({ name, labels, value });
  return [
    sample("shriven_order_latency_seconds", 0.000005, { quantile: "0.99" }),
    sample("shriven_process_resident_memory_bytes", 2_000_000),
    sample("shriven_events_total", events),
    sample("shriven_errors_total", errors),
    sample("shriven_risk_limit_utilization_ratio", risk),
    sample("shriven_connected", 1),
    sample("shriven_panics_total", 0),
  ];
}

function hostWith(webhookUrl: string | undefined, clock: HostCapabilities["clock"]): HostCapabilities {
  return {
    workspace: "/nonexistent",
    environment: resolveEnvironment({ environment: "production", processEnv: {} }),
    secret: (name) => (name === "SLACK_WEBHOOK_URL" ? webhookUrl : undefined),
    who: "asha",
    state: { deploys: {} },
    clock,
    inputs: {},
    ci: {},
  };
}

/** A clock that moves on at once but lets real I/O (the Slack posts) run for `realMs` in each sleep. */
function yieldingClock(realMs: number): HostCapabilities["clock"] {
  let now = 5_000_000;
  return {
    now: () => now,
    sleep: async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, realMs));
      now += ms;
    },
  };
}

describe("warning notices during monitoring", () => {
  it("posts each host's new warning in the poll that saw it, once, while monitoring goes on", async () => {
    const hook = await slackHook();
    const clock = yieldingClock(250);
    const host = hostWith(hook.url, clock);
    const start = clock.now();
    const notices = warningNotices(host, "production", "1.1.0", start);
    const seenAtPoll: number[] = [];
    const polls = new Map<string, number>();
    const outcome = await monitorHosts({
      hosts: ["prod-1", "prod-2"],
      policy: monitorPolicyFrom({ duration_minutes: 1, poll_seconds: 10 }),
      clock,
      onFirstWarning: notices.onFirstWarning,
      fetchMetrics: async (name) => {
        const poll = (polls.get(name) ?? 0) + 1;
        polls.set(name, poll);
        if (name === "prod-1") seenAtPoll.push(hook.bodies.length);
        // prod-1: an error rate of 1 % from poll 2 on, 85 % of its risk limit from poll 5; prod-2 healthy.
        return name === "prod-1" ? reading(1000 * poll, 10 * (poll - 1), poll >= 5 ? 0.85 : 0.3) : reading(1000 * poll, 0);
      },
    });
    expect(outcome.verdict).toBe("warning");
    expect(await notices.undelivered()).toEqual([]);
    // Polls 1-6 of prod-1 saw this many notices already posted: the error rate's from poll 3, the risk's from poll 6.
    expect(seenAtPoll).toEqual([0, 0, 1, 1, 1, 2]);
    expect(hook.bodies.map((b) => b.text)).toEqual([
      "Monitoring warnings on production after deploying 1.1.0: 1 finding",
      "Monitoring warnings on production after deploying 1.1.0: 1 finding",
    ]);
    const details = hook.bodies.map((b) => JSON.stringify(b));
    expect(details[0]).toContain("prod-1 at poll 2 (10 s after the deploy): warning: error rate 1 % (10 errors in 1000 events)");
    expect(details[1]).toContain("prod-1 at poll 5 (40 s after the deploy): warning: risk limit 85 % used");
  });

  it("reports a notice Slack did not take as one line, without the webhook URL", async () => {
    const clock = yieldingClock(0);
    const webhook = "http://127.0.0.1:9/services/T1/B1/s3cret-hook";
    const notices = warningNotices(hostWith(webhook, clock), "production", "1.1.0", clock.now());
    for (const check of ["error rate", "risk"])
      notices.onFirstWarning({ host: "prod-1", check, finding: `warning: ${check}`, poll: 1, at: clock.now() });
    const undelivered = await notices.undelivered();
    expect(undelivered).toHaveLength(1);
    expect(undelivered[0]).toMatch(/^Slack notification not delivered after \d+ attempt\(s\): /);
    expect(undelivered[0]).not.toContain("s3cret-hook");
  }, 30_000);

  it("posts nothing without a webhook", async () => {
    const clock = yieldingClock(0);
    const notices = warningNotices(hostWith(undefined, clock), "production", "1.1.0", clock.now());
    notices.onFirstWarning({ host: "prod-1", check: "risk", finding: "warning: risk", poll: 1, at: clock.now() });
    expect(await notices.undelivered()).toEqual([]);
  });
});
