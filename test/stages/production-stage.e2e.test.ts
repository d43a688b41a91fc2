/**
 * The production stage end to end on a git copy of the example: real cargo,
 * a saved performance baseline, the real advisory database, approval files
 * signed with approvers' keys, two real sshd production hosts running
 * `shriven-quant serve`, post-deploy monitoring of their metrics, and a
 * loopback GitHub. The clock is injected: the 30-minute wait timer and the
 * 30-minute monitoring run in seconds.
 *
 * Order matters: every refusal runs first, while no host has been touched.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey, type SigningKey } from "../../src/adapters/minisign.js";
import { approvalFileName, writeSignedApproval } from "../../src/approval/signed-files.js";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import type { Clock } from "../../src/core/clock.js";
import { isMarketOpen } from "../../src/deploy-window/market-calendar.js";
import { deployWindowFrom } from "../../src/deploy-window/policy.js";
import type { RunReport } from "../../src/report/report.js";
import { runCli } from "../helpers/cli.js";
import { advisoryDbArgs, copyExample, withoutTables } from "../helpers/example.js";
import { FakeGitHub, OWNER, REPO, TOKEN } from "../helpers/fake-github.js";
import { exchangeKeys } from "../helpers/github-secrets.js";
import { promoteHead } from "../helpers/promotion.js";
import { hostsToml, prepareServingRoot, SERVE_COMMANDS, servedMetrics, stopServing } from "../helpers/serving-hosts.js";
import { freePort, startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../helpers/sshd.js";
import { needs } from "../helpers/tools.js";

const SCRIPT = join(import.meta.dirname, "../../scripts/deploy/local-deploy.sh");
const MINUTE = 60_000;
/** Saturday 28 November 2026, 10:00 in Mumbai: the NSE is closed. */
const SATURDAY = Date.parse("2026-11-28T10:00:00+05:30");
/** Monday 30 November 2026, 11:00 in Mumbai: the NSE is open (09:15–15:30). */
const MONDAY_OPEN = Date.parse("2026-11-30T11:00:00+05:30");

/** A clock that starts at `start` and jumps ahead on every sleep, pausing a 250th of it for real (the engines keep running). */
function fakeClock(start: number): Clock & { readonly sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
      await new Promise((resolve) => setTimeout(resolve, Math.min(ms / 250, 200)));
    },
  };
}

/** A loopback Slack webhook that keeps the text fallback of every message it is sent. */
async function slackServer(): Promise<{ url: string; texts: string[]; server: Server }> {
  const texts: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      texts.push(String((JSON.parse(body) as { text?: unknown }).text));
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T1/B1/production-hook`, texts, server };
}

describe("production stage end to end (real cargo, signed approvals, sshd hosts, monitoring)", needs("sshd"), () => {
  stopSshdsAfter("all");
  const parent = mkdtempSync(join(tmpdir(), "shriven-production-"));
  const seed = randomBytes(32).toString("hex");
  const approvers = Object.fromEntries(
    ["ravi", "meera", "asha", "kiran"].map((name) => [name, loadSigningKey(randomBytes(32).toString("hex"), name)]),
  ) as Record<"ravi" | "meera" | "asha" | "kiran", SigningKey>;
  let source: string;
  let hosts: TestHost[];
  let ports: number[];
  let env: Record<string, string>;
  let github: FakeGitHub;
  let dbArgs: string[];
  let slack: { url: string; texts: string[]; server: Server };
  let ashaSsh: string;
  let ashaSshPub: string;
  const root = (h: TestHost) => join(h.dir, "deploy");
  /** The same sshd hosts serve as staging's test hosts, from a deploy root of their own. */
  const testRoot = (h: TestHost) => join(h.dir, "deploy-test");
  const current = () => hosts.map((h) => readlinkSync(join(root(h), "current")));
  const approvalsDir = () => join(source, ".shriven-pipeline/approvals");
  const auditFile = () => join(source, ".shriven-pipeline/audit/audit.jsonl");
  const entries = () => readAuditLog(auditFile()).flatMap((l) => (l.entry === undefined ? [] : [l.entry]));

  const git = (args: string[], extraEnv: Record<string, string> = {}) =>
    execa("git", ["-c", "user.name=asha", "-c", "user.email=asha@shriven.example", ...args], {
      cwd: source,
      env: extraEnv,
    });
  /** When each tag was made: the approval wait starts there (`--wait-starts-at`, as a promotion record would give it). */
  const taggedAt = new Map<string, number>();
  /** An annotated tag by asha, signed with her SSH key (her verified identity as its author), dated `at`. */
  const tag = async (name: string, at: number) => {
    const date = new Date(at).toISOString();
    taggedAt.set(name, at);
    await git(["-c", "gpg.format=ssh", "-c", `user.signingkey=${ashaSsh}`, "tag", "-s", name, "-m", `release ${name}`], {
      GIT_COMMITTER_DATE: date,
    });
  };
  const commit = async () => (await git(["rev-parse", "HEAD"])).stdout.trim();
  /** A new commit, merged to main as the protected branch wants it (origin/main moves to it). */
  const commitOnMain = async (message: string) => {
    await git(["commit", "--allow-empty", "-qm", message]);
    await git(["update-ref", "refs/remotes/origin/main", "HEAD"]);
  };
  /** Signed approval files of `names` for `name`, replacing any earlier ones. */
  const approve = async (name: string, names: (keyof typeof approvers)[], signer?: keyof typeof approvers) => {
    rmSync(approvalsDir(), { recursive: true, force: true });
    mkdirSync(approvalsDir(), { recursive: true });
    for (const [i, approver] of names.entries()) {
      await writeSignedApproval(
        approvalsDir(),
        { tag: name, commit: await commit(), approver, at: new Date(SATURDAY + (5 + i) * MINUTE) },
        approvers[signer ?? approver],
      );
    }
  };
  const production = async (name: string, clock: Clock, extra: string[] = [], testSelection?: string[]) => {
    const reportDir = mkdtempSync(join(parent, "report-"));
    let stdout = "";
    const { main } = await import("../../src/cli/main.js");
    const wait = ["--wait-starts-at", new Date(taggedAt.get(name) ?? 0).toISOString()];
    const code = await main(
      ["run", "production", "--tag", name, "--source", source, "--report-dir", reportDir, ...dbArgs, ...wait, ...extra],
      {
        stdout: { write: (t: string) => (stdout += t), isTTY: false },
        stderr: { write: (t: string) => (stdout += t) },
        env,
        cwd: source,
        handleSignals: false,
        clock,
        ...(testSelection === undefined ? {} : { testSelection }),
      },
    );
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
    const step = (id: string) => report.steps.find((s) => s.id === id);
    return { code, stdout, report, step, status: (id: string) => step(id)?.status };
  };
  const metrics = (i: number) => servedMetrics(ports[i] as number);
  /**
   * A new commit tagged `name` at `taggedAt`, approved by ravi and meera, run an hour later with `fault.flags`
   * given to the engine that one host starts (and only for this run).
   */
  const nextRelease = async (name: string, taggedAt: number, fault: { host: number; flags: string }) => {
    await commitOnMain(`release ${name}`);
    await promoteHead(source, seed, new Date(taggedAt - 60 * MINUTE));
    await tag(name, taggedAt);
    await approve(name, ["ravi", "meera"]);
    const flags = join(root(hosts[fault.host] as TestHost), "serve-flags");
    writeFileSync(flags, fault.flags);
    try {
      return await production(name, fakeClock(taggedAt + 60 * MINUTE));
    } finally {
      rmSync(flags);
    }
  };

  beforeAll(async () => {
    hosts = await Promise.all([startSshd({ name: "prod-1" }), startSshd({ name: "prod-2" })]);
    ports = await Promise.all(hosts.map(() => freePort()));
    for (const [i, h] of hosts.entries()) prepareServingRoot(root(h), ports[i] as number);
    for (const [i, h] of hosts.entries()) prepareServingRoot(testRoot(h), ports[i] as number);
    github = await new FakeGitHub("dotcom").start();
    slack = await slackServer();
    const { privateKey } = await testClientKey();
    env = {
      CI: "true",
      SSH_DEPLOY_KEY: privateKey,
      RELEASE_SIGNING_KEY: seed,
      GITHUB_TOKEN: TOKEN,
      GITHUB_ACTOR: "release-bot",
      SLACK_WEBHOOK_URL: slack.url,
      ...exchangeKeys("production"),
    };
    source = copyExample(parent);
    ashaSsh = join(parent, "asha-ssh");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "asha", "-f", ashaSsh]);
    ashaSshPub = readFileSync(`${ashaSsh}.pub`, "utf8").trim();
    writeFileSync(join(source, "minisign.pub"), formatPublicKey(loadSigningKey(seed, "seed")));
    const keyLine = (key: SigningKey) => formatPublicKey(key).trim().split("\n").at(-1);
    // The example's [deploy.production] (a local target for the rehearsal) gives way to these sshd hosts.
    const config = withoutTables(readFileSync(join(source, "shriven-pipeline.toml"), "utf8"), ["deploy"]);
    writeFileSync(
      join(source, "shriven-pipeline.toml"),
      `${config}
[release]
github_repository = "${OWNER}/${REPO}"
github_api_url = "${github.baseUrl}"

[approval]
approvers = [
${Object.entries(approvers)
  .map(([name, key]) => `  { name = "${name}", public_key = "${keyLine(key)}"${name === "asha" ? `, ssh_key = "${ashaSshPub}"` : ""} },`)
  .join("\n")}
]

[deploy.production]
public_key = "minisign.pub"
binary = "shriven-quant"
${SERVE_COMMANDS}
${hostsToml("production", hosts, root)}
[deploy.test]
public_key = "minisign.pub"
binary = "shriven-quant"
${SERVE_COMMANDS}
${hostsToml("test", hosts, testRoot)}
# The team's limits for these tests: on a loaded 2-core CI machine preemption alone can add milliseconds to a
# p99, the simulated market can run into the risk limit, and the example engine's 2.5 MiB grow by about 7 %
# while it warms up after a start, so a healthy engine would warn by chance.
[monitor.thresholds]
latency_warning_us = 20000
latency_critical_us = 40000
memory_growth_warning_percent = 50
memory_growth_critical_percent = 100
risk_utilization_warning_percent = 100

[monitor.hosts.prod-1]
metrics_url = "http://127.0.0.1:${ports[0]}/metrics"

[monitor.hosts.prod-2]
metrics_url = "http://127.0.0.1:${ports[1]}/metrics"
`,
    );
    dbArgs = advisoryDbArgs();
    await git(["init", "-q", "-b", "main"]);
    await git(["add", "-A"]);
    await git(["commit", "-qm", "first"]);
    // The default branch as a fetch leaves it: the approval policy is read from there.
    await git(["update-ref", "refs/remotes/origin/main", "HEAD"]);
    const saved = await runCli(["perf", "--source", source, "--save-baseline", "main", "--reason", "production test baseline"], { env });
    expect(saved.code, saved.stdout + saved.stderr).toBe(0);
    await tag("v1.0.0", SATURDAY);
  }, 900_000);

  afterAll(async () => {
    for (const h of hosts ?? []) for (const r of [root(h), testRoot(h)]) await stopServing(r);
    await github?.stop();
    slack?.server.closeAllConnections();
    await new Promise((resolve) => slack?.server.close(resolve));
    rmSync(parent, { recursive: true, force: true });
  });

  const untouched = () => {
    for (const h of hosts) expect(readdirSync(root(h)).sort()).toEqual(["port"]);
  };
  const refusals: [string, () => Promise<void>, number, string, RegExp][] = [
    [
      "fewer than two approvals",
      () => approve("v1.0.0", ["ravi"]),
      SATURDAY + 31 * MINUTE,
      "approval",
      /^not approved: 1 of 2 approvals \(ravi\)$/,
    ],
    [
      "the tag author approving",
      () => approve("v1.0.0", ["ravi", "asha"]),
      SATURDAY + 31 * MINUTE,
      "approval",
      /^not approved: 1 of 2 approvals \(ravi\); ignored: asha: the tag author cannot approve their own release$/,
    ],
    [
      "a forged approval signature",
      () => approve("v1.0.0", ["ravi"]).then(() => forge("meera")),
      SATURDAY + 31 * MINUTE,
      "approval",
      /^not approved: 1 of 2 approvals \(ravi\); ignored: meera: forged or corrupt signature: not made by meera's key/,
    ],
    [
      "a wait timer not yet elapsed",
      () => approve("v1.0.0", ["ravi", "meera"]),
      SATURDAY + 10 * MINUTE,
      "approval",
      /^not approved: wait timer: 20 minutes left \(until 2026-11-28T05:00:00Z\)$/,
    ],
    [
      "a run inside market hours",
      () => approve("v1.0.0", ["ravi", "meera"]),
      MONDAY_OPEN,
      "deploy-window",
      /^market open \(NSE 09:15–15:30 Asia\/Kolkata, Monday\); the next deploy window opens at 2026-11-30T15:30:00\+05:30 \(2026-11-30T10:00:00Z\) \(emergency: --override-window "REASON"\)$/,
    ],
  ];
  /** Adds an approval file in `approver`'s name signed with a key no approver has. */
  async function forge(approver: keyof typeof approvers) {
    const outsider = loadSigningKey(randomBytes(32).toString("hex"), "outsider");
    await writeSignedApproval(
      approvalsDir(),
      { tag: "v1.0.0", commit: await commit(), approver, at: new Date(SATURDAY + 5 * MINUTE) },
      outsider,
    );
  }

  it.each(refusals)(
    "refuses %s before any host is touched, with the reason",
    async (_, setUp, now, gate, reason) => {
      await setUp();
      // Production refuses `--only`: the gates under test are selected through the CLI's test hook.
      const only = ["pre-validation", "approval", "deploy-window", "deploy-production", "monitoring"];
      const run = await production("v1.0.0", fakeClock(now), [], only);
      expect(run.status("pre-validation")).toBe("passed");
      expect(run.status(gate)).toBe("failed");
      expect(run.step(gate)?.summary).toMatch(reason);
      expect(run.status("deploy-production")).toBe("skipped");
      expect(run.status("monitoring")).toBe("skipped");
      expect(run.code).toBe(1);
      untouched();
    },
    300_000,
  );

  it("refuses a commit staging never promoted, naming it, before any build or host", async () => {
    await approve("v1.0.0", ["ravi", "meera"]);
    const run = await production("v1.0.0", fakeClock(SATURDAY + 31 * MINUTE));
    expect(run.status("pre-validation")).toBe("passed");
    expect(run.status("promotion")).toBe("failed");
    expect(run.step("promotion")?.summary).toBe(
      `no promotion record of ${await commit()} (refs/shriven-pipeline/promotions/${await commit()}): staging has not passed on this commit; production deploys only what staging validated`,
    );
    for (const id of ["release-build", "approval", "deploy-production"]) expect(run.status(id)).toBe("skipped");
    expect(run.code).toBe(1);
    untouched();
  }, 300_000);

  it("refuses a promotion record not signed by the pinned release key", async () => {
    await promoteHead(source, randomBytes(32).toString("hex"), new Date(SATURDAY - 60 * MINUTE));
    const run = await production("v1.0.0", fakeClock(SATURDAY + 31 * MINUTE));
    expect(run.status("promotion")).toBe("failed");
    expect(run.step("promotion")?.summary).toMatch(
      new RegExp(`^the promotion record of ${await commit()} is refused: its signature does not verify with the pinned release key`),
    );
    expect(run.status("deploy-production")).toBe("skipped");
    expect(run.code).toBe(1);
    untouched();
  }, 300_000);

  it("with two approvals outside market hours: every step, both hosts on v1.0.0 trading live, the GitHub release", async () => {
    // Test first, for real: the staging stage on the same sshd hosts (their test deploy roots) promotes the commit.
    // The staging job holds the test environment's exchange keys, never production's (the preflight refuses those).
    const stagingEnv = {
      ...Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("PROD_"))),
      ...exchangeKeys("test"),
    };
    const staged = await runCli(["run", "staging", "--source", source, "--report-dir", mkdtempSync(join(parent, "staging-")), ...dbArgs], {
      env: stagingEnv,
    });
    expect(staged.code, staged.stdout + staged.stderr).toBe(0);
    expect(staged.stdout).toMatch(/✅ Promotion record: [0-9a-f]{12} promoted at /);
    const staging = hosts.map((h) => JSON.parse(readFileSync(join(testRoot(h), "current", "manifest.json"), "utf8")).sha256 as string);
    for (const h of hosts) await stopServing(testRoot(h));
    slack.texts.length = 0;
    await approve("v1.0.0", ["ravi", "meera"]);
    const clock = fakeClock(SATURDAY + 31 * MINUTE);
    const run = await production("v1.0.0", clock);
    const why = JSON.stringify(run.report.steps.filter((s) => s.status !== "passed").map((s) => [s.id, s.summary, s.details]));
    expect(
      run.report.steps.map((s) => [s.id, s.status === "warned" && s.id === "audit" ? "passed" : s.status]),
      why,
    ).toEqual([
      ["secrets-preflight", "passed"],
      ["pre-validation", "passed"],
      ["audit", "passed"],
      ["licenses", "passed"],
      ["promotion", "passed"],
      ["release-build", "passed"],
      ["performance", "passed"],
      ["hot-path", "passed"],
      ["approval", "passed"],
      ["deploy-window", "passed"],
      ["deploy-production", "passed"],
      ["monitoring", "passed"],
      ["github-release", "passed"],
    ]);
    expect(run.code).toBe(0);
    expect(run.step("approval")?.summary).toMatch(/^approved by ravi, meera \(2 of 2 required\)/);
    expect(run.step("hot-path")?.summary).toMatch(/^0\.0000 allocations per iteration; memory/);
    // 30 minutes of polls every 10 s, on the injected clock.
    expect(run.step("monitoring")?.summary).toBe("180 poll(s) of 2 host(s) over 30 min: no findings");
    expect(clock.now() - (SATURDAY + 31 * MINUTE)).toBeGreaterThanOrEqual(30 * MINUTE);
    expect(current()).toEqual(["releases/1.0.0", "releases/1.0.0"]);
    // Both hosts run the very binary staging validated: the SHA-256 of the promotion record.
    const record = JSON.parse(
      (await git(["cat-file", "blob", `refs/shriven-pipeline/promotions/${await commit()}:promotion.json`])).stdout,
    ) as { artifacts: { binary: string; sha256: string }[] };
    const promoted = record.artifacts.find((a) => a.binary === "shriven-quant")?.sha256 as string;
    expect(promoted).toMatch(/^[0-9a-f]{64}$/);
    for (const h of hosts)
      expect(JSON.parse(readFileSync(join(root(h), "current", "manifest.json"), "utf8"))).toMatchObject({ sha256: promoted });
    // …which is the binary the staging run deployed to the test hosts and tested there.
    expect(staging).toEqual([promoted, promoted]);
    for (const i of [0, 1]) expect(await metrics(i)).toContain('shriven_trading_mode{mode="live"} 1');
    const release = github.releases.get("v1.0.0");
    expect(release?.assets.map((a) => a.name)).toEqual(expect.arrayContaining(["SHA256SUMS", "SHA256SUMS.minisig"]));
    expect(run.stdout).not.toContain(TOKEN);
    expect(slack.texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Stage production started: v1\.0\.0/),
        "Deployed 1.0.0 to production (2 hosts)",
        expect.stringMatching(/^Stage production passed: v1\.0\.0/),
      ]),
    );
    slack.texts.length = 0;
  }, 900_000);

  it("a warning after the deploy is reported, not rolled back", async () => {
    const run = await nextRelease("v1.1.0", SATURDAY + 60 * MINUTE, { host: 1, flags: "--error-every 100" });
    expect(run.status("deploy-production"), run.stdout).toBe("passed");
    expect(run.status("monitoring")).toBe("warned");
    expect(run.step("monitoring")?.summary).toMatch(/^180 poll\(s\) of 2 host\(s\) over 30 min: \d+ warning\(s\), no rollback$/);
    expect(run.step("monitoring")?.details).toContainEqual(
      expect.stringMatching(/^warning: prod-2 at poll \d+ \(\d+ s after the deploy\): .*error rate/),
    );
    expect(run.status("github-release")).toBe("passed");
    expect(run.code).toBe(0);
    expect(current()).toEqual(["releases/1.1.0", "releases/1.1.0"]);
    expect(slack.texts).toContainEqual(expect.stringMatching(/^Monitoring warnings on production after deploying 1\.1\.0: \d+ findings?$/));
    expect(slack.texts.some((t) => t.startsWith("Rolled back"))).toBe(false);
    slack.texts.length = 0;
  }, 900_000);

  it("a host crossing a critical threshold is rolled back within one poll", async () => {
    const run = await nextRelease("v1.2.0", SATURDAY + 180 * MINUTE, { host: 0, flags: "--inject-latency-us 60000" });
    expect(run.status("deploy-production")).toBe("passed");
    expect(run.status("monitoring")).toBe("failed");
    const summary = run.step("monitoring")?.summary ?? "";
    const poll =
      /^critical on prod-1 at poll (\d+) \(\d+ s after the deploy\): critical: order latency p99 [\d.]+ µs > 40000 µs.*; rolled back to 1\.1\.0 at poll (\d+)$/.exec(
        summary,
      );
    expect(poll, summary).not.toBeNull();
    expect(poll?.[1]).toBe(poll?.[2]);
    expect(run.status("github-release")).toBe("skipped");
    expect(github.releases.has("v1.2.0")).toBe(false);
    expect(run.code).toBe(1);
    expect(current()).toEqual(["releases/1.1.0", "releases/1.1.0"]);
    expect(slack.texts).toContainEqual(
      expect.stringMatching(/^Rolled back production from 1\.2\.0 to 1\.1\.0: critical on prod-1 at poll \d+/),
    );
    expect(slack.texts).toContainEqual(expect.stringMatching(/^Stage production failed: v1\.2\.0/));
    slack.texts.length = 0;
  }, 900_000);

  it("local-deploy.sh prod rehearses production on the local hosts with TRADING_MODE forced to paper", async () => {
    await commitOnMain("fourth");
    await promoteHead(source, seed, new Date(Date.now() - 90 * MINUTE));
    await tag("v1.3.0", Date.now() - 60 * MINUTE);
    await approve("v1.3.0", ["ravi", "meera"]);
    // Real time here: monitoring for 6 s; the deploy window is whatever the real NSE calendar says, so override it.
    const config = readFileSync(join(source, "shriven-pipeline.toml"), "utf8");
    writeFileSync(join(source, "shriven-pipeline.toml"), `${config}\n[monitor]\nduration_minutes = 0.1\npoll_seconds = 2\n`);
    const marketOpen = isMarketOpen(new Date(), deployWindowFrom(undefined));
    const run = await execa(
      "bash",
      [
        SCRIPT,
        "prod",
        "--tag",
        "v1.3.0",
        "--source",
        source,
        ...dbArgs,
        "--wait-starts-at",
        new Date(taggedAt.get("v1.3.0") ?? 0).toISOString(),
        "--override-window",
        "rehearsal on local hosts, no real market",
      ],
      { reject: false, env: { ...env, TRADING_MODE: "live" } },
    );
    expect(run.stdout).toContain("LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING");
    expect(run.stdout).toMatch(/TRADING_MODE paper \(local rehearsal\)/);
    expect(run.exitCode, run.stdout).toBe(0);
    expect(current()).toEqual(["releases/1.3.0", "releases/1.3.0"]);
    for (const i of [0, 1]) expect(await metrics(i)).toContain('shriven_trading_mode{mode="paper"} 1');
    expect(run.stdout).toMatch(/GitHub release: v1\.3\.0: local rehearsal: not published/);
    expect(github.releases.has("v1.3.0")).toBe(false);
    const overrides = entries().filter((e) => e.kind === "override");
    expect(overrides.length).toBe(marketOpen ? 1 : 0);
  }, 900_000);

  it("the audit log verifies and holds every approval, deploy, rollback and override", () => {
    const audit = verifyAuditLog(auditFile());
    expect(audit.ok, JSON.stringify(audit.problems)).toBe(true);
    const lines = entries();
    const deploys = lines.filter((e) => e.kind === "deploy" && e.data.environment === "production").map((e) => e.data.version);
    expect(deploys).toEqual(["1.0.0", "1.1.0", "1.2.0", "1.3.0"]);
    expect(lines.filter((e) => e.kind === "rollback").map((e) => e.data.version)).toEqual(["1.1.0"]);
    // The counted approvals of every run that read them (refusals included), each by name and tag.
    const approvals = lines.filter((e) => e.kind === "approval").map((e) => `${e.data.approver}@${e.data.tag}`);
    for (const v of ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"])
      expect(approvals).toEqual(expect.arrayContaining([`ravi@${v}`, `meera@${v}`]));
    expect(approvals.some((a) => a.startsWith("asha@"))).toBe(false);
    expect(existsSync(join(approvalsDir(), approvalFileName("ravi", "v1.3.0")))).toBe(true);
  });
});
