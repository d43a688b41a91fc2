/**
 * The steps only the staging stage has: a signed release build for the test
 * hosts, risk-system validation, paper trading, the deploy to the test hosts
 * and the smoke tests that roll it back when they fail. The ones that reach
 * other machines need the host capabilities (the CLI run).
 */
import { join } from "node:path";
import { appendAuditEntry } from "../audit/audit-log.js";
import { readTextFile } from "../config/read-text-file.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../core/step.js";
import { type DeployOutcome, DeployRefused, deployAuditEntry, deployRelease, rollbackRelease, runInDeployRoot } from "../deploy/deploy.js";
import type { Inventory } from "../deploy/inventory.js";
import { SshError, SshSession } from "../deploy/ssh.js";
import { MarketDataError } from "../market/types.js";
import { PaperSetupError, runPaperJob } from "../paper/run-paper.js";
import { loadSigningKey } from "../release/minisign.js";
import { packageRelease } from "../release/package-release.js";
import { buildRelease, ReleaseBuildError } from "../release/release-build.js";
import { DEFAULT_ARTIFACTS_DIR } from "../release/retention.js";
import { cargo, rawFailure, TEST_TARGET } from "./cargo.js";
import { perfStep } from "./perf-check.js";
import { testStep } from "./test.js";

/** Where the audit log of deploys lives in a workspace. */
export const AUDIT_LOG_PATH = ".shriven-pipeline/audit/audit.jsonl";

/** The release the build step made, for the deploy step. */
interface StagedRelease {
  readonly dir: string;
  readonly version: string;
}

const RELEASE = "staging.release";
const DEPLOY = "staging.deploy";

function needHost(context: StepContext, what: string): HostCapabilities {
  const host = context.services.host;
  if (host === undefined)
    throw new HostOnly(`${what} runs in the pipeline's own process on the host: use \`shriven-pipeline run staging\``);
  return host;
}

class HostOnly extends Error {}

/** Runs `body`, turning the errors a step expects into a failed outcome. */
async function guarded(body: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await body();
  } catch (error) {
    const expected = [HostOnly, ReleaseBuildError, DeployRefused, SshError, PaperSetupError, MarketDataError];
    if (expected.some((type) => error instanceof type)) return { status: "failed", summary: (error as Error).message };
    throw error;
  }
}

/** The release build of staging: optimized like production, signed with the test key, for the test hosts. */
export const stagingReleaseStep: Step = {
  id: "release-build",
  title: "Release build",
  description: "optimized release build of the workspace's binaries, signed for the test hosts",
  defaultTimeoutSeconds: 1800,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "the signed release build");
      const keyText = host.secret("RELEASE_SIGNING_KEY");
      if (keyText === undefined)
        return { status: "failed", summary: "the RELEASE_SIGNING_KEY secret is missing: staging signs what it deploys" };
      const head = await context.exec({ argv: ["git", "rev-parse", "HEAD"] });
      const commit = head.stdout.trim();
      if (head.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(commit))
        return { status: "failed", summary: "the workspace is not a git checkout with a commit; a release records its commit" };
      const version = `0.0.0-staging.${commit.slice(0, 7)}`;
      const started = new Date();
      const build = await buildRelease((command) => context.exec(command), context.policies.release.profile, { version, commit });
      const dir = join(host.workspace, DEFAULT_ARTIFACTS_DIR, `${version}-${commit.slice(0, 7)}`);
      const packaged = packageRelease({
        build,
        binaryPath: (path) => join(host.workspace, path),
        key: loadSigningKey(keyText, "RELEASE_SIGNING_KEY"),
        dir,
        origin: {
          repository: `file://${host.workspace}`,
          ref: "refs/heads/staging",
          toolchainImage: { ref: "pkg:generic/rustc", sha256: "0".repeat(64) },
          builderId: "https://github.com/shrivenquant/shriven-pipeline/staging",
          invocationId: `urn:shriven:staging:${started.getTime()}`,
          startedOn: started,
          reports: [],
        },
      });
      host.shared.set(RELEASE, { dir, version } satisfies StagedRelease);
      return {
        status: "passed",
        summary: `${version}: ${build.artifacts.map((a) => a.name).join(", ")} signed by key ${packaged.keyId}`,
        details: build.artifacts.map((a) => `${a.sha256}  ${a.name}`),
      };
    }),
};

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

function testInventory(context: StepContext): Inventory {
  const inventory = context.policies.deploy.test;
  if (inventory === undefined) throw new DeployRefused("no [deploy.test] inventory in shriven-pipeline.toml");
  return inventory;
}

async function withSession<T>(host: HostCapabilities, inventory: Inventory, body: (session: SshSession) => Promise<T>): Promise<T> {
  const key = host.secret("SSH_DEPLOY_KEY");
  if (key === undefined) throw new DeployRefused("the SSH_DEPLOY_KEY secret is missing");
  const session = await SshSession.open(inventory.hosts, key);
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

function record(host: HostCapabilities, outcome: DeployOutcome): void {
  appendAuditEntry(join(host.workspace, AUDIT_LOG_PATH), deployAuditEntry(outcome, host.who));
}

/** The signed release to the test hosts. */
export const deployTestStep: Step = {
  id: "deploy-test",
  title: "Deploy to test servers",
  description: "the signed release to the pinned test hosts: lock, upload, checksum, switch, health check",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "the deploy");
      const release = host.shared.get(RELEASE) as StagedRelease | undefined;
      if (release === undefined) return { status: "failed", summary: "no release was built in this run (release-build did not pass)" };
      const inventory = testInventory(context);
      const publicKeyText = readTextFile(join(host.workspace, inventory.publicKey));
      const outcome = await withSession(host, inventory, (session) =>
        deployRelease({ inventory, session, publicKeyText, who: host.who, releaseDir: release.dir, signal: context.signal }),
      );
      record(host, outcome);
      host.shared.set(DEPLOY, outcome);
      return {
        status: outcome.status === "deployed" ? "passed" : "failed",
        summary: outcome.summary,
        details: outcome.hosts.map((h) => `${h.host}: ${h.result} — ${h.detail}`),
      };
    }),
};

/** Smoke tests on every test host; a failure rolls every host back to its previous release. */
export const smokeTestsStep: Step = {
  id: "smoke-tests",
  title: "Smoke tests",
  description: "[deploy.test] smoke on every test host; on failure, automatic rollback to the previous release",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "the smoke tests");
      const deployed = host.shared.get(DEPLOY) as DeployOutcome | undefined;
      if (deployed === undefined || deployed.status !== "deployed")
        return { status: "failed", summary: "nothing was deployed in this run" };
      const inventory = testInventory(context);
      if (inventory.smoke === undefined)
        return { status: "warned", summary: "no smoke command in [deploy.test]; only the health check ran" };
      const smoke = inventory.smoke;
      const failures = await withSession(host, inventory, async (session) => {
        const failed: string[] = [];
        for (const target of inventory.hosts) {
          const result = await runInDeployRoot(session, target, smoke, 300_000);
          if (result.exitCode !== 0)
            failed.push(`${target.name}: exit ${result.exitCode}: ${(result.stdout + result.stderr).trim().split("\n").at(-1) ?? ""}`);
        }
        return failed;
      });
      if (failures.length === 0)
        return { status: "passed", summary: `smoke tests passed on ${inventory.hosts.map((h) => h.name).join(", ")}` };
      const previous = deployed.hosts[0]?.previous?.replace(/^releases\//, "");
      if (previous === undefined)
        return {
          status: "failed",
          summary: `smoke tests failed (${failures.join("; ")}); no previous release to roll back to`,
          details: failures,
        };
      const publicKeyText = readTextFile(join(host.workspace, inventory.publicKey));
      const back = await withSession(host, inventory, (session) =>
        rollbackRelease({ inventory, session, publicKeyText, who: host.who, to: previous }),
      );
      record(host, back);
      return {
        status: "failed",
        summary: `smoke tests failed on ${failures.length} host(s); ${back.status === "deployed" ? `rolled back to ${previous}` : `rollback to ${previous} failed: ${back.summary}`}`,
        details: [...failures, ...back.hosts.map((h) => `${h.host}: ${h.result} — ${h.detail}`)],
      };
    }),
};
