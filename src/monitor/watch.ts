/**
 * Post-deploy monitoring: after a deploy every host's metrics (Prometheus
 * text format, as `shriven-quant serve` exposes them, or samples read from
 * Prometheus) are polled for the configured time, and each poll is judged by
 * {@link evaluate}.
 */

import { type Clock, SYSTEM_CLOCK } from "../core/clock.js";
import { type Evaluation, evaluate, type PollHistory } from "./evaluate.js";
import { hostName, type MonitorHost } from "./host.js";
import type { MonitorPolicy, MonitorThresholds } from "./policy.js";
import { type MetricSample, parsePrometheusText } from "./prometheus.js";

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

/** A warning line of a host seen for the first time in this monitoring window. */
export interface FirstWarning {
  readonly host: string;
  /** What was judged (see {@link findingCheck}). */
  readonly check: string;
  /** The finding as the poll worded it, `warning: …`. */
  readonly finding: string;
  readonly poll: number;
  readonly at: number;
}

/**
 * The check a finding line is about, for telling new warnings from repeated ones: the line without its
 * severity and with its measured numbers replaced by `#` (`order latency p99 # µs > # µs`); every failed poll
 * of a host is one check, `poll failed`.
 */
export function findingCheck(line: string): string {
  const text = line.replace(/^(warning|critical): /, "");
  if (text.startsWith("poll failed")) return "poll failed";
  return text.replace(/[-+]?\d+(\.\d+)?([eE][-+]?\d+)?/g, "#");
}

/** Options of {@link monitorHosts}. */
export interface MonitorOptions<H extends MonitorHost> {
  readonly hosts: readonly H[];
  readonly policy: Pick<MonitorPolicy, "durationMs" | "pollMs" | "thresholds">;
  /** One host's metrics text or samples (see {@link metricsFetcher}); a rejection is a failed poll. */
  readonly fetchMetrics: (host: H) => Promise<string | readonly MetricSample[]>;
  readonly clock?: MonitorClock;
  /** Told every warning and critical poll as it happens (for notifications). */
  readonly onFinding?: (finding: HostFinding) => void;
  /** Told each warning line the first time its host and check appear, in the poll that saw it (to notify at once). */
  readonly onFirstWarning?: (warning: FirstWarning) => void;
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
  const { hosts, policy, fetchMetrics, onFinding, onFirstWarning } = options;
  const clock = options.clock ?? SYSTEM_CLOCK;
  if (hosts.length === 0) throw new Error("monitorHosts: no hosts to monitor");
  if (!(policy.pollMs > 0) || !(policy.durationMs > 0)) throw new Error("monitorHosts: pollMs and durationMs must be above 0");
  const thresholds = policy.thresholds;
  const states = new Map<H, HostState>(hosts.map((host) => [host, { history: undefined, failures: 0 }]));
  const warnings: HostFinding[] = [];
  /** `host` NUL `check` of every warning line told to onFirstWarning. */
  const seen = new Set<string>();
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
      const metrics = await fetchMetrics(host);
      const samples = typeof metrics === "string" ? parsePrometheusText(metrics, `metrics of ${name}`) : metrics;
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
    for (const line of finding.findings.filter((f) => f.startsWith("warning:"))) {
      const check = findingCheck(line);
      const key = `${name}\0${check}`;
      if (seen.has(key)) continue;
      seen.add(key);
      onFirstWarning?.({ host: name, check, finding: line, poll, at: finding.at });
    }
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
