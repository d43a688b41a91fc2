/**
 * The steps only the staging stage has: a signed release build for the test
 * hosts, risk-system validation, paper trading, the deploy to the test hosts
 * and the smoke tests that roll it back when they fail. The ones that reach
 * other machines need the host capabilities (the CLI run).
 */
import { join } from "node:path";
import type { HostCapabilities, Step, StepContext } from "../core/step.js";
import { runInDeployRoot } from "../deploy/deploy.js";
import type { DeployHost, Inventory } from "../deploy/inventory.js";
import type { SshSession } from "../deploy/ssh.js";
import { latencyP99Seconds, monitorHosts, parsePrometheusText } from "../gates/monitor.js";
import { runPaperJob } from "../paper/run-paper.js";
import { cargo, rawFailure, TEST_TARGET } from "./cargo.js";
import { deployBuiltRelease, deployedTo, findingLine, hostMetrics, rollBack } from "./deploy-steps.js";
import { guarded, inventoryOf, needHost, serviceEnvOf, withSession } from "./host-steps.js";
import { perfStep } from "./perf-check.js";
import { signedReleaseStep } from "./signed-release.js";
import { testStep } from "./test.js";

const REFERENCES = "staging.references";

/** Each test host's latency p99 (µs) before the deploy, from the release it serves; none where nothing answers. */
async function latencyReferences(
  context: StepContext,
  host: HostCapabilities,
  inventory: Inventory,
  session: SshSession,
): Promise<Map<string, number>> {
  const fetch = hostMetrics(context, host, session);
  const references = new Map<string, number>();
  for (const target of inventory.hosts) {
    try {
      const p99 = latencyP99Seconds(parsePrometheusText(await fetch(target), `metrics of ${target.name}`));
      if (p99 !== undefined && Number.isFinite(p99) && p99 > 0) references.set(target.name, p99 * 1e6);
    } catch {
      // Nothing serving there yet (a first deploy): no reference, so no degradation check for this host.
    }
  }
  return references;
}

/** The release build of staging: optimized like production, signed, versioned `0.0.0-staging.<commit>` for the test hosts. */
export const stagingReleaseStep: Step = signedReleaseStep(
  "optimized release build of the workspace's binaries, signed for the test hosts",
  (_host, commit) => ({ version: `0.0.0-staging.${commit.slice(0, 7)}`, ref: "refs/heads/staging" }),
);

/** The workspace's tests again, on the release candidate's commit. */
export const integrationTestsStep: Step = {
  ...testStep,
  id: "integration-tests",
  title: "Integration tests",
  description: "cargo test --workspace (unit, integration and doc tests) on the release candidate",
};

/** Benchmarks within 10 % of the baseline, latency limits held. */
export const benchmarksStep: Step = perfStep("staging", {
  id: "benchmarks",
  title: "Benchmarks",
  description: "benchmarks against the baseline: fail past 10 %, p99 over its limit, or no baseline",
});

/** The risk system's own tests in the release profile. */
export const riskValidationStep: Step = {
  id: "risk-validation",
  title: "Risk validation",
  description: "cargo test --release --package risk: the risk limits hold",
  defaultTimeoutSeconds: 600,
  async run(context) {
    const result = await context.exec({
      ...cargo(["test", "--release", "--package", "risk", ...context.options.extraArgs], TEST_TARGET),
      mergeOutput: true,
    });
    if (result.exitCode === 0) {
      const passed = [...result.output.matchAll(/test result: ok\. (\d+) passed/g)].reduce((n, m) => n + Number(m[1]), 0);
      return { status: "passed", summary: `${passed} risk tests passed` };
    }
    return { status: "failed", ...rawFailure("cargo test --package risk", result.exitCode, result.output) };
  },
};

/** Paper trading on historical data, with its gates. */
export const paperTradingStep: Step = {
  id: "paper-trading",
  title: "Paper trading",
  description: "replay market data through the engine against the simulated exchange: profit, zero errors, latency, memory",
  defaultTimeoutSeconds: 3600,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "paper trading");
      const { report, files } = await runPaperJob({
        source: host.workspace,
        policy: context.policies.paper,
        environment: host.environment,
        outDir: join(host.workspace, "target/shriven-pipeline/paper"),
        signal: context.signal,
      });
      return {
        status: report.verdict === "failed" ? "failed" : report.verdict === "warned" ? "warned" : "passed",
        summary: report.summary,
        details: report.gates.map((g) => `${g.id}: ${g.status} — ${g.detail}`),
        artifacts: [
          { name: "paper-report.json", path: files.json },
          { name: "paper-report.md", path: files.markdown },
        ],
      };
    }),
};

/** The signed release to the test hosts; first, each host's latency from the release it serves (staging's reference). */
export const deployTestStep: Step = {
  id: "deploy-test",
  title: "Deploy to test servers",
  description: "the signed release to the pinned test hosts: lock, upload, checksum, switch, health check",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    guarded(() =>
      deployBuiltRelease(context, "test", async (host, inventory, session) => {
        if (context.policies.monitor.staging.durationMs > 0)
          host.shared.set(REFERENCES, await latencyReferences(context, host, inventory, session));
      }),
    ),
};

/** Smoke tests on every test host; a failure rolls every host back to its previous release. */
export const smokeTestsStep: Step = {
  id: "smoke-tests",
  title: "Smoke tests",
  description:
    "[deploy.test] smoke on every test host, then [monitor.staging] (error rate > 1 %, p99 +20 % over the previous release); on failure, automatic rollback",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "the smoke tests");
      const deployed = deployedTo(host, "test");
      if (deployed === undefined) return { status: "failed", summary: "nothing was deployed in this run" };
      const inventory = inventoryOf(context, "test");
      const smoke = inventory.smoke;
      const failures = await withSession(host, inventory, async (session) => {
        if (smoke === undefined) return [];
        const failed: string[] = [];
        for (const target of inventory.hosts) {
          const result = await runInDeployRoot(session, target, smoke, 300_000, serviceEnvOf(host));
          if (result.exitCode !== 0)
            failed.push(`${target.name}: exit ${result.exitCode}: ${(result.stdout + result.stderr).trim().split("\n").at(-1) ?? ""}`);
        }
        return failed;
      });
      const passed =
        smoke === undefined
          ? "no smoke command in [deploy.test]"
          : `smoke tests passed on ${inventory.hosts.map((h) => h.name).join(", ")}`;
      if (failures.length > 0) return rollBack(host, inventory, deployed, `smoke tests failed on ${failures.length} host(s)`, failures);
      const check = context.policies.monitor.staging;
      if (check.durationMs === 0)
        return {
          status: smoke === undefined ? "warned" : "passed",
          summary: `${passed}; no post-deploy check ([monitor.staging] duration_minutes = 0)`,
        };
      const watched = await postDeployCheck(context, host, inventory);
      if (watched.critical !== undefined) return rollBack(host, inventory, deployed, watched.critical, watched.findings);
      return {
        status: watched.findings.length > 0 || smoke === undefined ? "warned" : "passed",
        summary: `${passed}; ${watched.summary}`,
        details: watched.findings,
      };
    }),
};

/** The staging triggers after the smoke tests: error rate > 1 %, latency p99 degraded > 20 % against the release before. */
async function postDeployCheck(
  context: StepContext,
  host: HostCapabilities,
  inventory: Inventory,
): Promise<{ critical?: string; findings: string[]; summary: string }> {
  const policy = context.policies.monitor;
  const check = policy.staging;
  const references = (host.shared.get(REFERENCES) as Map<string, number> | undefined) ?? new Map<string, number>();
  const findings: string[] = [];
  const start = host.clock.now();
  const outcome = await withSession(host, inventory, (session) =>
    monitorHosts<DeployHost>({
      hosts: inventory.hosts,
      policy: { durationMs: check.durationMs, pollMs: check.pollMs, thresholds: policy.thresholds },
      thresholdsFor: (target) => {
        const referenceUs = references.get(target.name);
        return {
          ...policy.thresholds,
          errorRateCriticalPercent: check.errorRateCriticalPercent,
          ...(referenceUs === undefined
            ? {}
            : { latencyDegradation: { referenceUs, percent: check.degradationPercent, floorUs: check.degradationFloorUs } }),
        };
      },
      fetchMetrics: hostMetrics(context, host, session),
      clock: host.clock,
      onFinding: (f) => findings.push(`${f.level}: ${findingLine(f, start)}`),
    }),
  );
  const compared =
    references.size > 0
      ? `latency against the previous release on ${[...references.keys()].join(", ")}`
      : "no previous release serving to compare latency with";
  if (outcome.verdict === "critical") return { critical: `critical on ${findingLine(outcome, start)}`, findings, summary: "" };
  return {
    findings,
    summary: `${outcome.polls} poll(s) over ${Math.round(check.durationMs / 1000)} s: ${outcome.verdict === "warning" ? `${outcome.warnings.length} warning(s)` : "no findings"} (${compared})`,
  };
}
