/**
 * The staging stage end to end on a git copy of the example: real cargo, a
 * saved performance baseline, real paper trading on the bundled Binance
 * capture, and two real sshd test hosts. A planted failing integration test
 * stops it before anything is deployed; a smoke failure after a deploy rolls
 * the test hosts back to the previous release.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey } from "../../src/adapters/minisign.js";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import type { RunReport } from "../../src/report/report.js";
import { runCli } from "../helpers/cli.js";
import { copyExample, injectDefect, withoutTables } from "../helpers/example.js";
import { exchangeKeys } from "../helpers/github-secrets.js";
import { MARKET_CAPTURE_DIR, MARKET_CAPTURE_FILES } from "../helpers/market-data.js";
import { hostsToml, prepareServingRoot, SERVE_COMMANDS, servedMetrics, stopServing } from "../helpers/serving-hosts.js";
import { freePort, startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../helpers/sshd.js";
import { needs } from "../helpers/tools.js";

const SEED = randomBytes(32).toString("hex");

describe("staging stage end to end (real cargo, paper trading, sshd test hosts)", needs("sshd"), () => {
  stopSshdsAfter("all");
  const parent = mkdtempSync(join(tmpdir(), "shriven-staging-"));
  afterAll(async () => {
    for (const h of hosts ?? []) await stopServing(root(h));
    rmSync(parent, { recursive: true, force: true });
  });
  let source: string;
  let hosts: TestHost[];
  let ports: number[];
  let env: Record<string, string>;
  const root = (h: TestHost) => join(h.dir, "deploy");
  /** The deploy and rollback entries of the audit log (each run also records its tests, benchmarks and verdict). */
  const deploysAndRollbacks = () =>
    readAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl")).filter(
      (l) => l.entry?.kind === "deploy" || l.entry?.kind === "rollback",
    ).length;

  const git = (...args: string[]) => execa("git", ["-c", "user.name=t", "-c", "user.email=t@e", ...args], { cwd: source });
  const stage = async () => {
    const reportDir = mkdtempSync(join(parent, "report-"));
    const run = await runCli(["run", "staging", "--source", source, "--report-dir", reportDir], { env });
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
    return { run, report, status: (id: string) => report.steps.find((s) => s.id === id)?.status };
  };

  beforeAll(async () => {
    hosts = await Promise.all([startSshd({ name: "test-1" }), startSshd({ name: "test-2" })]);
    ports = await Promise.all(hosts.map(() => freePort()));
    for (const [i, h] of hosts.entries()) prepareServingRoot(root(h), ports[i] as number);
    const { privateKey } = await testClientKey();
    env = { CI: "true", SSH_DEPLOY_KEY: privateKey, RELEASE_SIGNING_KEY: SEED, GITHUB_ACTOR: "asha", ...exchangeKeys("test") };
    source = copyExample(parent);
    writeFileSync(join(source, "minisign.pub"), formatPublicKey(loadSigningKey(SEED, "seed")));
    // The example's own [paper], [deploy.*] (local targets) and [monitor.staging] give way to this test's.
    const config = withoutTables(readFileSync(join(source, "shriven-pipeline.toml"), "utf8"), ["paper", "deploy", "monitor.staging"]);
    writeFileSync(
      join(source, "shriven-pipeline.toml"),
      `${config}
[paper]
data = [${MARKET_CAPTURE_FILES.map((f) => `"${join(MARKET_CAPTURE_DIR, f)}"`).join(", ")}]
# As in the example: the capture covers about 11 minutes, not the document's hour.
min_market_seconds = 600
# The example's market maker loses money after Binance's 10 bps fees on this capture; the gate is shown failing in test/paper.
require_profit = false
# Round trips seen by the harness depend on the load of a shared 2-core CI machine, not on the code under test.
observed_p99_limit_us = 1000000

[deploy.test]
public_key = "minisign.pub"
binary = "shriven-quant"
${SERVE_COMMANDS}
smoke = ["sh", "-c", "[ ! -e fail-smoke ] && ./current/shriven-quant demo --events 2000 >/dev/null"]
${hostsToml("test", hosts, root)}
[monitor.staging]
duration_minutes = 0.05
poll_seconds = 0.5
# A loaded 2-core CI machine moves a healthy engine's p99 by far more than the default 10 µs floor; the
# planted 2 ms per event is far above this one.
degradation_floor_us = 500

# The staging triggers under test are the error rate and the degradation against the previous release; the
# absolute latency and risk levels are set out of reach of the simulated market and of a loaded 2-core CI
# machine, where preemption alone can add milliseconds to a p99.
[monitor.thresholds]
latency_warning_us = 1000000
latency_critical_us = 2000000
# (The example engine's 2.5 MiB grow by about 7 % while it warms up after a start.)
memory_growth_warning_percent = 50
memory_growth_critical_percent = 100
risk_utilization_warning_percent = 100

[monitor.hosts.test-1]
metrics_url = "http://127.0.0.1:${ports[0]}/metrics"

[monitor.hosts.test-2]
metrics_url = "http://127.0.0.1:${ports[1]}/metrics"
`,
    );
    await git("init", "-q");
    await git("add", "-A");
    await git("commit", "-qm", "first");
    const saved = await runCli(["perf", "--source", source, "--save-baseline", "main", "--reason", "staging test baseline"], { env });
    expect(saved.code).toBe(0);
  }, 900_000);

  it("runs every step in order and deploys the signed release to both test hosts", async () => {
    // Retention, a step of each release build: a build 40 days old goes, a released one of the same age stays.
    const artifacts = join(source, "target/shriven-pipeline/artifacts");
    const old = new Date(Date.now() - 40 * 24 * 3600 * 1000).toISOString();
    for (const [version, commit, released] of [
      ["0.0.0-staging.aaaaaaa", "aaaaaaa", false],
      ["0.9.0", "bbbbbbb", true],
    ] as const) {
      const folder = join(artifacts, `${version}-${commit}`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "build.json"), JSON.stringify({ version, commit, builtAt: old }));
      if (released)
        writeFileSync(
          join(folder, "released.json"),
          JSON.stringify({ tag: "v0.9.0", releasedAt: old, url: "https://github.com/OWNER/REPO/releases/tag/v0.9.0" }),
        );
    }
    const { run, report } = await stage();
    expect(report.steps.find((s) => s.id === "release-build")?.details).toContain(
      "retention: 1 build older than 30 days removed (0.0.0-staging.aaaaaaa-aaaaaaa); released builds are kept",
    );
    expect(existsSync(join(artifacts, "0.0.0-staging.aaaaaaa-aaaaaaa"))).toBe(false);
    expect(existsSync(join(artifacts, "0.9.0-bbbbbbb", "released.json"))).toBe(true);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ["secrets-preflight", "passed"],
      ["release-build", "passed"],
      ["integration-tests", "passed"],
      ["risk-validation", "passed"],
      ["benchmarks", "passed"],
      // require_profit = false: the relaxed gate is shown as a warning.
      ["paper-trading", "warned"],
      ["deploy-test", "passed"],
      ["smoke-tests", "passed"],
      ["promotion", "passed"],
    ]);
    expect(run.code).toBe(0);
    expect(report.steps.find((s) => s.id === "paper-trading")?.summary).toMatch(/; profit gate not assessed \(require_profit = false\)$/);
    const commit = (await git("rev-parse", "HEAD")).stdout.trim();
    for (const h of hosts) expect(readlinkSync(join(root(h), "current"))).toBe(`releases/0.0.0-staging.${commit.slice(0, 7)}`);
    // The promotion record of the commit: the SHA-256 of the binary both test hosts run, the test hosts, signed.
    const record = JSON.parse((await git("cat-file", "blob", `refs/shriven-pipeline/promotions/${commit}:promotion.json`)).stdout) as {
      commit: string;
      artifacts: { binary: string; sha256: string }[];
      testHosts: string[];
      reports: { step: string }[];
    };
    expect(record.commit).toBe(commit);
    expect(record.testHosts).toEqual(["test-1", "test-2"]);
    expect(record.reports.map((r) => r.step)).toEqual(
      expect.arrayContaining(["integration-tests", "benchmarks", "paper-trading", "smoke-tests"]),
    );
    for (const h of hosts)
      expect(readFileSync(join(root(h), "current", "SHA256SUMS"), "utf8")).toContain(
        record.artifacts.find((a) => a.binary === "shriven-quant")?.sha256 as string,
      );
    // A first deploy: nothing served before it, so only the error rate and the absolute limits are watched.
    expect(report.steps.find((s) => s.id === "smoke-tests")?.summary).toMatch(
      /^smoke tests passed on test-1, test-2; \d+ poll\(s\) over 3 s: no findings \(no previous release serving to compare latency with\)$/,
    );
    for (const port of ports) expect(await servedMetrics(port)).toContain('shriven_trading_mode{mode="paper"} 1');
    const audit = verifyAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl"));
    expect(audit.ok).toBe(true);
    expect(deploysAndRollbacks()).toBe(1);
    // Every run records its test and benchmark results and its verdict.
    const kinds = readAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl")).map((l) => l.entry?.kind);
    expect(kinds).toEqual(expect.arrayContaining(["test", "benchmark", "stage"]));
    expect(kinds.at(-1)).toBe("stage");
  }, 900_000);

  it("a failing smoke test after the next deploy rolls both hosts back to the previous release", async () => {
    const previous = readlinkSync(join(root(hosts[0] as TestHost), "current"));
    await git("commit", "--allow-empty", "-qm", "second");
    writeFileSync(join(root(hosts[1] as TestHost), "fail-smoke"), "");
    const { run, report, status } = await stage();
    expect(status("deploy-test")).toBe("passed");
    expect(status("smoke-tests")).toBe("failed");
    expect(report.steps.find((s) => s.id === "smoke-tests")?.summary).toBe(
      `smoke tests failed on 1 host(s); rolled back to ${previous.replace("releases/", "")}`,
    );
    expect(run.code).toBe(1);
    for (const h of hosts) expect(readlinkSync(join(root(h), "current"))).toBe(previous);
    // A commit whose smoke tests failed is not promoted.
    expect(status("promotion")).toBe("skipped");
    const head = (await git("rev-parse", "HEAD")).stdout.trim();
    await expect(git("rev-parse", "--verify", "-q", `refs/shriven-pipeline/promotions/${head}`)).rejects.toThrow();
    rmSync(join(root(hosts[1] as TestHost), "fail-smoke"));
    const audit = verifyAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl"));
    expect(audit.ok).toBe(true);
    expect(deploysAndRollbacks()).toBe(3);
  }, 900_000);

  it("latency degraded past 20 % of the previous release after the deploy rolls the test hosts back", async () => {
    const previous = readlinkSync(join(root(hosts[0] as TestHost), "current"));
    await git("commit", "--allow-empty", "-qm", "slower");
    writeFileSync(join(root(hosts[0] as TestHost), "serve-flags"), "--inject-latency-us 2000");
    const { run, report, status } = await stage();
    rmSync(join(root(hosts[0] as TestHost), "serve-flags"));
    expect(status("deploy-test")).toBe("passed");
    expect(status("smoke-tests")).toBe("failed");
    expect(report.steps.find((s) => s.id === "smoke-tests")?.summary).toMatch(
      new RegExp(
        `^critical on test-1 at poll \\d+ \\(\\d+ s after the deploy\\): critical: order latency p99 [\\d.]+ µs is [\\d.]+ % above the previous release's [\\d.]+ µs \\(> 20 % and > 500 µs\\).*; rolled back to ${previous.replace("releases/", "").replaceAll(".", "\\.")}$`,
      ),
    );
    expect(run.code).toBe(1);
    for (const h of hosts) expect(readlinkSync(join(root(h), "current"))).toBe(previous);
    const audit = verifyAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl"));
    expect(audit.ok).toBe(true);
    expect(deploysAndRollbacks()).toBe(5);
  }, 900_000);

  it("a planted failing integration test stops the stage before anything is deployed", async () => {
    const before = hosts.map((h) => readlinkSync(join(root(h), "current")));
    injectDefect(source, "failing-test");
    await git("commit", "-qam", "broken");
    const { run, status } = await stage();
    expect(status("integration-tests")).toBe("failed");
    for (const id of ["benchmarks", "paper-trading", "deploy-test", "smoke-tests", "promotion"]) expect(status(id)).toBe("skipped");
    expect(run.code).toBe(1);
    expect(hosts.map((h) => readlinkSync(join(root(h), "current")))).toEqual(before);
    expect(existsSync(join(root(hosts[0] as TestHost), ".deploy-lock"))).toBe(false);
  }, 900_000);
});
