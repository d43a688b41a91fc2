/**
 * `scripts/deploy/local-deploy.sh`: the local entry of the pipeline document,
 * on the built CLI. End to end on a fresh git copy of the example with no
 * data from outside the repository, no SSH hosts and no secrets: `test` runs every staging step and
 * deploys to a local target, a failing smoke test takes it back to the
 * previous run's release, and `prod --tag` rehearses production on a local
 * target with TRADING_MODE=paper; no service process outlives a run.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPublicKey, keyIdHex, loadSigningKey } from "../../src/adapters/minisign.js";
import { writeSignedApproval } from "../../src/approval/signed-files.js";
import type { RunReport } from "../../src/report/report.js";
import { advisoryDbArgs, copyExample } from "../helpers/example.js";
import { liveProcessesIn } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const SCRIPT = join(import.meta.dirname, "../../scripts/deploy/local-deploy.sh");
const CLI = join(import.meta.dirname, "../../bin/shriven-pipeline.js");
const MINUTE = 60_000;

/** What a machine with a toolchain and nothing else gives the run: no deploy, signing, GitHub or Slack secret. */
function bareEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LANG", "TMPDIR"].flatMap((name) => {
    const value = process.env[name];
    return value === undefined ? [] : [[name, value] as const];
  });
  return { ...Object.fromEntries(keep), CI: "true", ...extra };
}

describe("scripts/deploy/local-deploy.sh", () => {
  it("runs the dev stage for dev, passing options through", async () => {
    const source = copyExample(tempDir());
    const run = await execa("bash", [SCRIPT, "dev", "--source", source, "--only", "fmt"], { reject: false, env: { CI: "true" } });
    expect(run.stdout).toContain("✅ Formatting");
    expect(run.stdout).toMatch(/dev stage passed/);
    expect(run.exitCode).toBe(0);
  }, 120_000);

  it("prod is a local rehearsal of production: it needs the tag; unknown targets are refused", async () => {
    const source = copyExample(tempDir());
    const prod = await execa("bash", [SCRIPT, "prod", "--source", source], { reject: false, env: { CI: "true", TRADING_MODE: "live" } });
    expect(prod.exitCode).toBe(2);
    expect(prod.stderr).toContain("run production needs --tag vX.Y.Z (the release tag)");
    // Without a git tag the stage stops at pre-production validation, under the banner, trading paper whatever the environment says.
    const untagged = await execa("bash", [SCRIPT, "prod", "--source", source, "--tag", "v1.0.0", ...advisoryDbArgs()], {
      reject: false,
      env: { CI: "true", TRADING_MODE: "live" },
    });
    expect(untagged.stdout).toContain("LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING");
    expect(untagged.stdout).toContain("the workspace is not a git checkout: the release tag cannot be checked");
    expect(untagged.exitCode).toBe(1);
    // Even a rehearsal runs every gate: --only is refused in production.
    const only = await execa("bash", [SCRIPT, "prod", "--source", source, "--tag", "v1.0.0", "--only", "pre-validation"], {
      reject: false,
    });
    expect(only.exitCode).toBe(2);
    expect(only.stderr).toContain(
      "production's gates cannot be switched off: --only pre-validation leaves out the gates secrets-preflight, audit",
    );
    for (const args of [[], ["qa"]]) {
      const bad = await execa("bash", [SCRIPT, ...args], { reject: false });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toContain("usage:");
    }
  }, 120_000);

  it("a production run that is not the --local rehearsal refuses local targets before any step, naming the setting", async () => {
    const source = copyExample(tempDir());
    const run = await execa("node", [CLI, "run", "production", "--tag", "v1.0.0", "--source", source], {
      reject: false,
      extendEnv: false,
      env: bareEnv(),
    });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(
      "[deploy.production] has no hosts, only local targets ([deploy.production.local]): a production run deploys to pinned [[deploy.production.hosts]]; local targets are for the rehearsal (run production --local, scripts/deploy/local-deploy.sh prod), which trades paper only",
    );
    expect(run.stdout).not.toContain("Pre-production validation");
    expect(existsSync(join(source, ".shriven-pipeline/local-targets"))).toBe(false);
  }, 120_000);

  it("a staging run that is not local never signs with a key of its own", async () => {
    const source = copyExample(tempDir());
    const run = await execa("node", [CLI, "run", "staging", "--source", source, "--only", "release-build"], {
      reject: false,
      extendEnv: false,
      env: bareEnv(),
    });
    expect(run.stdout).toContain("the RELEASE_SIGNING_KEY secret is missing");
    expect(run.stdout).not.toMatch(/ephemeral/i);
    expect(run.exitCode).toBe(1);
  }, 120_000);
});

describe("local runs on a fresh copy of the example (real cargo, a local target, no hosts, no secrets)", () => {
  const parent = mkdtempSync(join(tmpdir(), "shriven-local-run-"));
  const source = join(parent, "trading-engine");
  const targets = join(source, ".shriven-pipeline/local-targets");
  const git = (args: string[], env: Record<string, string> = {}) =>
    execa("git", ["-c", "user.name=asha", "-c", "user.email=asha@shriven.example", ...args], { cwd: source, env });
  const head = async () => (await git(["rev-parse", "HEAD"])).stdout.trim();
  /** Runs the script; the report of the run is read from its own folder. */
  const local = async (args: string[], env: Record<string, string> = {}, onStdout?: (text: string) => void) => {
    const reportDir = mkdtempSync(join(parent, "report-"));
    const child = execa("bash", [SCRIPT, ...args, "--source", source, "--report-dir", reportDir], {
      reject: false,
      extendEnv: false,
      env: bareEnv(env),
    });
    if (onStdout !== undefined) child.stdout?.on("data", (chunk: Buffer) => onStdout(chunk.toString()));
    const run = await child;
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
    const step = (id: string) => report.steps.find((s) => s.id === id);
    return { run, report, step };
  };

  beforeAll(async () => {
    // The example as a fresh clone has it: its files under git, nothing built, no baseline, no targets.
    copyExample(parent);
    await git(["init", "-q", "-b", "main"]);
    await git(["add", "-A"]);
    await git(["commit", "-qm", "first"]);
  }, 120_000);
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it("test: every staging step runs and passes, the local target serves the new release, and its process is stopped at the end", async () => {
    const commit = await head();
    const { run, report, step } = await local(["test"]);
    const why = JSON.stringify(report.steps.map((s) => [s.id, s.status, s.summary]));
    expect(run.exitCode, why).toBe(0);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      // A local run holds no deploy or exchange keys: the preflight names them and warns.
      ["secrets-preflight", "warned"],
      ["release-build", "passed"],
      ["integration-tests", "passed"],
      ["risk-validation", "passed"],
      ["benchmarks", "passed"],
      // The example's config relaxes the profit gate, and says so: the step warns.
      ["paper-trading", "warned"],
      ["deploy-test", "passed"],
      ["smoke-tests", "passed"],
      ["promotion", "passed"],
    ]);
    const version = `0.0.0-staging.${commit.slice(0, 7)}`;
    for (const line of [
      new RegExp(
        `^✅ Release build: ${version}: shriven-quant-.* signed by key [0-9A-F]{16} \\(an ephemeral key generated for this local run, pinned for its local targets only: not a release key\\)`,
      ),
      /^✅ Integration tests: \d+\/\d+ passed/,
      /^✅ Risk validation: \d+ risk tests passed/,
      /^✅ Benchmarks: No regressions against "main"/,
      /^⚠️ Paper trading: net P&L -?[\d.]+ after fees, \d+ fills, 0 errors, 99574 events; profit gate not assessed \(require_profit = false\)/,
      new RegExp(`^✅ Deploy to test servers: ${version} serving on local-1 \\(local targets on this machine, not test servers\\)`),
      /^✅ Smoke tests: smoke tests passed on local-1; \d+ poll\(s\) over 30 s: no findings/,
      new RegExp(`^✅ Promotion record: ${commit.slice(0, 12)} promoted at .*: refs/shriven-pipeline/promotions/${commit}, signed by key`),
    ])
      expect(
        run.stdout.split("\n").some((l) => line.test(l)),
        `${line} in\n${run.stdout}`,
      ).toBe(true);
    // Said before the stage: the machine had no baseline, the release is signed by a key made for this run.
    expect(run.stdout).toMatch(/No performance baseline "main" on this machine .*: recording it from this commit first/);
    expect(run.stdout).toMatch(/RELEASE_SIGNING_KEY is not set: this local run signs its release with an EPHEMERAL key generated for it/);
    expect(run.stdout).toContain(`local-1 at ${join(targets, "test/local-1")}, service on http://127.0.0.1:`);
    // The local target: a host's deploy root with the new release current, its service stopped.
    const target = join(targets, "test/local-1");
    expect(readlinkSync(join(target, "current"))).toBe(`releases/${version}`);
    expect(readdirSync(join(target, "releases", version)).sort()).toEqual([
      "SHA256SUMS",
      "manifest.json",
      "shriven-quant",
      "shriven-quant.minisig",
    ]);
    expect(readFileSync(join(target, "service.log"), "utf8")).toMatch(/^shriven-quant serve: listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(existsSync(join(target, "service.pid"))).toBe(false);
    expect(existsSync(join(target, ".deploy-lock"))).toBe(false);
    expect(liveProcessesIn(targets)).toEqual([]);
    expect(step("deploy-test")?.details).toContainEqual(expect.stringMatching(/^local-1: deployed — current → releases\//));
  }, 1_200_000);

  it("test again with a failing smoke test: the local target goes back to the previous run's release, signed by that run's own key", async () => {
    const previous = readlinkSync(join(targets, "test/local-1/current"));
    const config = readFileSync(join(source, "shriven-pipeline.toml"), "utf8");
    const smoke = 'smoke = ["sh", "-c", "./current/shriven-quant demo --events 2000 >/dev/null"]';
    expect(config).toContain(smoke);
    writeFileSync(
      join(source, "shriven-pipeline.toml"),
      config.replace(smoke, 'smoke = ["sh", "-c", "[ ! -e fail-smoke ] && ./current/shriven-quant demo --events 2000 >/dev/null"]'),
    );
    await git(["commit", "-qam", "second"]);
    writeFileSync(join(targets, "test/local-1/fail-smoke"), "");
    try {
      const { run, step } = await local(["test"]);
      expect(step("deploy-test")?.status).toBe("passed");
      expect(step("smoke-tests")?.status).toBe("failed");
      expect(step("smoke-tests")?.summary).toBe(`smoke tests failed on 1 host(s); rolled back to ${previous.replace("releases/", "")}`);
      expect(step("promotion")?.status).toBe("skipped");
      expect(run.exitCode).toBe(1);
    } finally {
      rmSync(join(targets, "test/local-1/fail-smoke"));
    }
    expect(readlinkSync(join(targets, "test/local-1/current"))).toBe(previous);
    // Two local runs, two keys, each pinned for the local targets only.
    expect(readdirSync(join(targets, "test/keys")).length).toBe(2);
    expect(liveProcessesIn(targets)).toEqual([]);
  }, 1_200_000);

  it("test with RELEASE_SIGNING_KEY: the given key signs, no key is generated", async () => {
    const seed = randomBytes(32).toString("hex");
    const keyId = keyIdHex(loadSigningKey(seed, "seed").keyId);
    const { run, step } = await local(["test", "--only", "release-build"], { RELEASE_SIGNING_KEY: seed });
    expect(step("release-build")?.summary).toMatch(new RegExp(`signed by key ${keyId}$`));
    expect(run.stdout).not.toMatch(/ephemeral/i);
    expect(run.stdout).not.toContain(seed);
    expect(run.exitCode).toBe(0);
  }, 1_200_000);

  it("prod --tag: rehearses production on a local target with TRADING_MODE=paper under the banner, and stops it", async () => {
    const approvers = {
      ravi: loadSigningKey(randomBytes(32).toString("hex"), "ravi"),
      meera: loadSigningKey(randomBytes(32).toString("hex"), "meera"),
      asha: loadSigningKey(randomBytes(32).toString("hex"), "asha"),
    };
    // asha tags: a local run knows the tag's author by the approver's SSH key that signed it.
    const ashaSsh = join(tempDir("shriven-ssh-"), "asha");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "asha", "-f", ashaSsh]);
    const ashaSshPub = readFileSync(`${ashaSsh}.pub`, "utf8").trim();
    const keyLine = (name: keyof typeof approvers) => formatPublicKey(approvers[name]).trim().split("\n").at(-1);
    const config = readFileSync(join(source, "shriven-pipeline.toml"), "utf8");
    writeFileSync(
      join(source, "shriven-pipeline.toml"),
      `${config}
[approval]
approvers = [
  { name = "ravi", public_key = "${keyLine("ravi")}" },
  { name = "meera", public_key = "${keyLine("meera")}" },
  { name = "asha", public_key = "${keyLine("asha")}", ssh_key = "${ashaSshPub}" },
]

# Six seconds of monitoring instead of thirty minutes; thresholds out of reach of a loaded 2-core CI machine,
# where preemption alone can add milliseconds to a p99 (the rehearsal, not the thresholds, is under test).
[monitor]
duration_minutes = 0.1
poll_seconds = 2

[monitor.thresholds]
latency_warning_us = 20000
latency_critical_us = 40000
memory_growth_warning_percent = 50
memory_growth_critical_percent = 100
risk_utilization_warning_percent = 100
`,
    );
    await git(["commit", "-qam", "release 1.0.0"]);
    // The default branch as a fetch leaves it: the approval policy is read from there.
    await git(["update-ref", "refs/remotes/origin/main", "HEAD"]);
    // Signed by asha an hour ago (the recorded start of the wait), approved by two people who are not her.
    const taggedAt = new Date(Date.now() - 60 * MINUTE).toISOString();
    await git(["-c", "gpg.format=ssh", "-c", `user.signingkey=${ashaSsh}`, "tag", "-s", "v1.0.0", "-m", "release v1.0.0"], {
      GIT_COMMITTER_DATE: taggedAt,
    });
    const approvals = join(source, ".shriven-pipeline/approvals");
    mkdirSync(approvals, { recursive: true });
    for (const [i, name] of (["ravi", "meera"] as const).entries())
      await writeSignedApproval(
        approvals,
        { tag: "v1.0.0", commit: await head(), approver: name, at: new Date(Date.now() - (50 - i) * MINUTE) },
        approvers[name],
      );
    const released = await head();
    const rehearse = [
      "prod",
      "--tag",
      "v1.0.0",
      ...advisoryDbArgs(),
      "--wait-starts-at",
      taggedAt,
      "--override-window",
      "rehearsal on a local target, no real market",
    ];
    // Staging never ran on this commit: production stops at the promotion record, naming the commit, before any build.
    const refused = await local(rehearse);
    expect(refused.step("promotion")?.summary).toBe(
      `no promotion record of ${released} (refs/shriven-pipeline/promotions/${released}): staging has not passed on this commit; production deploys only what staging validated`,
    );
    for (const id of ["release-build", "deploy-production"]) expect(refused.step(id)?.status).toBe("skipped");
    expect(refused.run.exitCode).toBe(1);
    expect(existsSync(join(targets, "production/local-1/current"))).toBe(false);
    // Staging passes on it and writes the record the rehearsal finds.
    const staged = await local(["test"]);
    expect(staged.step("promotion")?.status, JSON.stringify(staged.report.steps.map((s) => [s.id, s.status, s.summary]))).toBe("passed");
    const record = JSON.parse((await git(["cat-file", "blob", `refs/shriven-pipeline/promotions/${released}:promotion.json`])).stdout) as {
      artifacts: { binary: string; sha256: string }[];
    };
    const validated = record.artifacts.find((a) => a.binary === "shriven-quant")?.sha256 as string;
    let seen = "";
    let tradingMode: string | undefined;
    let finished = false;
    const polls: Promise<void>[] = [];
    const { run, report, step } = await local(rehearse, { TRADING_MODE: "live" }, (text) => {
      seen += text;
      const url = /local-1 at .*, service on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen)?.[1];
      if (url !== undefined && polls.length === 0)
        polls.push(
          watchMode(
            url,
            () => finished,
            (mode) => (tradingMode ??= mode),
          ),
        );
    });
    finished = true;
    await Promise.all(polls);
    const why = JSON.stringify(report.steps.map((s) => [s.id, s.status, s.summary]));
    expect(run.exitCode, why).toBe(0);
    expect(run.stdout.split("LOCAL REHEARSAL OF THE PRODUCTION STAGE — NOT FOR REAL TRADING").length).toBe(3);
    expect(report.environment.variables.TRADING_MODE).toBe("paper");
    expect(step("pre-validation")?.summary).toMatch(/TRADING_MODE paper \(local rehearsal\)$/);
    expect(
      report.steps.every((s) => s.status === "passed" || s.status === "warned"),
      why,
    ).toBe(true);
    expect(step("deploy-production")?.summary).toBe("1.0.0 serving on local-1 (local targets on this machine, not production servers)");
    expect(step("monitoring")?.summary).toMatch(/^\d+ poll\(s\) of 1 host\(s\) over 0\.1 min: no findings$/);
    expect(step("github-release")?.summary).toMatch(/^v1\.0\.0: local rehearsal: not published/);
    // The engine on the local target traded paper, though the environment said live.
    expect(tradingMode).toBe("paper");
    expect(readlinkSync(join(targets, "production/local-1/current"))).toBe("releases/1.0.0");
    // The rehearsal deployed the very binary staging validated.
    expect(step("promotion")?.summary).toMatch(new RegExp(`^v1\\.0\\.0 \\(${released.slice(0, 12)}\\) is on main and passed staging at `));
    expect(JSON.parse(readFileSync(join(targets, "production/local-1/current/manifest.json"), "utf8"))).toMatchObject({
      sha256: validated,
    });
    expect(liveProcessesIn(targets)).toEqual([]);
  }, 2_400_000);
});

/** Polls the engine's metrics at `url` until it reports its trading mode (telling `found`) or the run is `over`. */
async function watchMode(url: string, over: () => boolean, found: (mode: string) => void): Promise<void> {
  while (!over()) {
    try {
      const mode = /shriven_trading_mode\{mode="(\w+)"\} 1/.exec(await (await fetch(`${url}/metrics`)).text())?.[1];
      if (mode !== undefined) return found(mode);
    } catch {
      // Not serving yet: the deploy comes after the build and the gates.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
