/**
 * Deploys and rollbacks against two real OpenSSH servers on 127.0.0.1, each
 * with its own host key: v1 then v2 to both hosts, rollback to v1, and the
 * faults — each leaving the previous release serving and the lock released.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse } from "smol-toml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey, parsePublicKey } from "../../src/adapters/minisign.js";
import { SshSession } from "../../src/adapters/ssh/session.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import type { DeployContext } from "../../src/deploy/context.js";
import { DeployRefused } from "../../src/deploy/deploy-refused.js";
import { deployRelease } from "../../src/deploy/deploy-release.js";
import { type ExchangeKeysFile, exchangeKeysFile } from "../../src/deploy/exchange-keys.js";
import type { HeldLock } from "../../src/deploy/locks.js";
import { deployPolicyFrom, deploySchema, type Inventory } from "../../src/deploy/policy.js";
import { rollbackRelease } from "../../src/deploy/rollback.js";
import { packageRelease } from "../../src/release/package-release.js";
import { runCli } from "../helpers/cli.js";
import { EXCHANGE_KEY_VARIABLES } from "../helpers/serving-hosts.js";
import { slackHook } from "../helpers/slack-hook.js";
import { startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../helpers/sshd.js";
import { needs } from "../helpers/tools.js";

const TRIPLE = "x86_64-unknown-linux-gnu";
const SEED = randomBytes(32).toString("hex");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
/** The service: `start` records the version it serves, `health` checks it (and a per-version "unhealthy" marker). */
function service(version: string, healthy = true): string {
  return `#!/bin/sh
root="$(dirname "$SHRIVEN_CURRENT")"
case "$1" in
  start) echo "${version}" > "$root/serving" ;;
  stop) rm -f "$root/serving" ;;
  health) ${healthy ? "" : "exit 1;"} [ "$(cat "$root/serving" 2>/dev/null)" = "${version}" ] && [ ! -f "$root/unhealthy-${version}" ] ;;
  *) exit 2 ;;
esac
`;
}

describe("deploy and rollback on two real sshd hosts", needs("sshd"), () => {
  stopSshdsAfter("all");
  let alpha: TestHost;
  let beta: TestHost;
  let privateKey: string;
  let workspace: string;
  const releases = new Map<string, string>();
  const key = loadSigningKey(SEED, "test seed");

  /** Made for the whole file: tempDir() folders go after each test. */
  const suite = mkdtempSync(join(tmpdir(), "shriven-deploy-suite-"));
  afterAll(() => rmSync(suite, { recursive: true, force: true }));

  function release(version: string, options: { healthy?: boolean; size?: number } = {}): string {
    const dir = mkdtempSync(join(suite, "release-"));
    const bin = join(dir, "app");
    let body = service(version, options.healthy ?? true);
    if (options.size !== undefined) body += `# ${"x".repeat(options.size)}\n`;
    writeFileSync(bin, body);
    chmodSync(bin, 0o755);
    const out = join(dir, "release");
    packageRelease({
      build: {
        version,
        commit: COMMIT,
        triple: TRIPLE,
        folder: "x",
        buildLog: "",
        profile: {},
        artifacts: [
          {
            binary: "app",
            name: `app-${version}-${TRIPLE}`,
            path: "app",
            sha256: createHash("sha256").update(readFileSync(bin)).digest("hex"),
          },
        ],
      },
      binaryPath: () => bin,
      key,
      dir: out,
      origin: {
        repository: "https://github.com/o/r",
        ref: `refs/tags/v${version}`,
        toolchainImage: { ref: "docker://rust:1.95.0", sha256: "a".repeat(64) },
        builderId: "https://example.com/builder",
        invocationId: "urn:uuid:1",
        startedOn: new Date(),
        reports: [],
      },
    });
    return out;
  }

  const root = (host: TestHost) => join(host.dir, "deploy");
  const current = (host: TestHost) => readlinkSync(join(root(host), "current"));
  const serving = (host: TestHost) => readFileSync(join(root(host), "serving"), "utf8").trim();
  const locked = (host: TestHost) => existsSync(join(root(host), ".deploy-lock"));

  function config(hosts: { host: TestHost; pinWith?: TestHost }[]): string {
    return `[deploy.production]
public_key = "minisign.pub"
binary = "app"
retain = 3
start = ["./current/app", "start"]
stop = ["sh", "-c", "[ -e current ] && ./current/app stop || true"]
health = { command = ["./current/app", "health"], retries = 2, interval_seconds = 0.01, timeout_seconds = 10 }
${hosts
  .map(
    ({ host, pinWith }) => `
[[deploy.production.hosts]]
name = "${host.host.name}"
address = "127.0.0.1"
port = ${host.host.port}
user = "${host.host.user}"
host_key = "${(pinWith ?? host).host.hostKey}"
path = "${root(host)}"
`,
  )
  .join("")}`;
  }

  function inventory(hosts: { host: TestHost; pinWith?: TestHost }[]): Inventory {
    const parsed = deploySchema.parse((parse(config(hosts)) as { deploy: unknown }).deploy);
    return deployPolicyFrom(parsed).production as Inventory;
  }

  async function withSession<T>(
    inv: Inventory,
    body: (context: DeployContext & { exchangeKeys: ExchangeKeysFile }) => Promise<T>,
  ): Promise<T> {
    const session = await SshSession.open(inv.hosts, privateKey);
    try {
      return await body({
        inventory: inv,
        session,
        publicKeyText: formatPublicKey(key),
        who: "asha",
        sleep: async () => {},
        exchangeKeys: exchangeKeysFile("production", (name) => EXCHANGE_KEY_VARIABLES[name]),
      });
    } finally {
      await session.close();
    }
  }

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startSshd({ name: "alpha" }), startSshd({ name: "beta" })]);
    privateKey = (await testClientKey()).privateKey;
    for (const v of ["1.0.0", "2.0.0"]) releases.set(v, release(v));
    workspace = mkdtempSync(join(suite, "workspace-"));
    writeFileSync(join(workspace, "minisign.pub"), formatPublicKey(key));
    writeFileSync(join(workspace, "shriven-pipeline.toml"), config([{ host: alpha }, { host: beta }]));
  }, 60_000);

  const both = () => inventory([{ host: alpha }, { host: beta }]);

  describe("through the CLI", () => {
    it("deploys v1 then v2 to both hosts, rolls back to v1, and the audit log verifies", async () => {
      const env = { CI: "true", SSH_DEPLOY_KEY: privateKey, GITHUB_ACTOR: "asha", ...EXCHANGE_KEY_VARIABLES };
      const refused = await runCli(["deploy", "--env", "production", "--source", workspace, "--release", releases.get("1.0.0") as string], {
        env,
      });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(
        "deploy --env production is refused: production deploys go through `shriven-pipeline run production",
      );
      expect(existsSync(join(root(alpha), "current"))).toBe(false);
      const emergency = "exchange outage: hotfix the order router";
      for (const v of ["1.0.0", "2.0.0"]) {
        const release = releases.get(v) as string;
        const run = await runCli(["deploy", "--env", "production", "--source", workspace, "--release", release, "--emergency", emergency], {
          env,
        });
        expect(run.stdout).toMatch(new RegExp(`^🚨 EMERGENCY deploy to production by asha: ${emergency}\n`));
        expect(run.stdout).toMatch(new RegExp(`\n✅ Deploy ${v.replaceAll(".", "\\.")} to production: deployed`));
        expect(run.code).toBe(0);
      }
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/2.0.0");
        expect(serving(host)).toBe("2.0.0");
        expect(locked(host)).toBe(false);
        expect(readdirSync(join(root(host), "releases")).sort()).toEqual(["1.0.0", "2.0.0"]);
        expect(readdirSync(join(root(host), "releases", "2.0.0")).sort()).toEqual(["SHA256SUMS", "app", "app.minisig", "manifest.json"]);
      }
      const back = await runCli(["rollback", "--env", "production", "--source", workspace, "--to", "v1.0.0"], { env });
      expect(back.stdout).toMatch(/^✅ Rollback of production to 1\.0\.0: deployed/);
      expect(back.code).toBe(0);
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/1.0.0");
        expect(serving(host)).toBe("1.0.0");
      }
      // The script the pipeline document's manual rollback becomes: forward to v2 again, from the built CLI.
      const script = join(import.meta.dirname, "../../scripts/rollback-production.sh");
      const usage = await execa("bash", [script], { reject: false });
      expect(usage.exitCode).toBe(2);
      expect(usage.stderr).toContain("usage:");
      const scripted = await execa("bash", [script, "v2.0.0", "--source", workspace], {
        reject: false,
        env: { SSH_DEPLOY_KEY: privateKey, GITHUB_ACTOR: "asha", ...EXCHANGE_KEY_VARIABLES },
      });
      expect(scripted.stdout).toMatch(/^✅ Rollback of production to 2\.0\.0: deployed/);
      expect(scripted.exitCode).toBe(0);
      for (const host of [alpha, beta]) expect(current(host)).toBe("releases/2.0.0");
      const log = join(workspace, ".shriven-pipeline/audit/audit.jsonl");
      const verified = verifyAuditLog(log, { publicKey: parsePublicKey(formatPublicKey(key), "pub") });
      expect(verified.ok).toBe(true);
      expect(verified.entries).toBe(6);
      const lines = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.kind, l.actor, l.data.version, l.data.status])).toEqual([
        ["emergency", "asha", undefined, undefined],
        ["deploy", "asha", "1.0.0", "deployed"],
        ["emergency", "asha", undefined, undefined],
        ["deploy", "asha", "2.0.0", "deployed"],
        ["rollback", "asha", "1.0.0", "deployed"],
        ["rollback", "asha", "2.0.0", "deployed"],
      ]);
      expect(lines[0].data).toMatchObject({ command: "deploy", environment: "production", reason: emergency });
      expect(lines[3].data.hosts).toEqual([
        { host: "alpha", result: "deployed", previous: "releases/1.0.0" },
        { host: "beta", result: "deployed", previous: "releases/1.0.0" },
      ]);
      const audit = await runCli(["audit-log", "verify", "--source", workspace]);
      expect(audit.code).toBe(0);
      // No private key material in any output.
      const keyLine = privateKey.split("\n")[1] ?? "";
      for (const out of [back.stdout, back.stderr, audit.stdout, scripted.stdout, scripted.stderr, readFileSync(log, "utf8")])
        expect(out).not.toContain(keyLine.slice(0, 40));
    }, 120_000);
  });

  describe("faults leave the previous release serving and the lock released", () => {
    beforeEach(async () => {
      // Both hosts on 2.0.0 before each fault.
      const outcome = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: releases.get("2.0.0") as string }));
      expect(outcome.status).toBe("deployed");
      for (const host of [alpha, beta]) for (const f of readdirSync(root(host))) if (f.startsWith("unhealthy")) rmSync(join(root(host), f));
    }, 60_000);

    const stillOnTwo = () => {
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/2.0.0");
        expect(serving(host)).toBe("2.0.0");
        expect(locked(host)).toBe(false);
        // A release uploaded but never switched to may stay (retention prunes it); an unfinished upload may not.
        expect(readdirSync(join(root(host), "releases")).filter((d) => d.startsWith(".partial"))).toEqual([]);
      }
    };

    it("an upload killed mid-transfer", async () => {
      const big = release("3.0.0", { size: 150 * 1024 * 1024 });
      const controller = new AbortController();
      const watch = (async () => {
        const deadline = performance.now() + 30_000;
        while (performance.now() < deadline && !controller.signal.aborted) {
          const releasesDir = join(root(alpha), "releases");
          const partial = readdirSync(releasesDir).find((d) => d.startsWith(".partial-"));
          if (partial !== undefined && existsSync(join(releasesDir, partial, "app"))) {
            controller.abort();
            return true;
          }
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return false;
      })();
      const outcome = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: big, signal: controller.signal }));
      expect(await watch).toBe(true);
      expect(outcome.status).toBe("failed");
      expect(outcome.summary).toMatch(/^alpha: .*cancel.*; no host was switched$/);
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/2.0.0");
        expect(locked(host)).toBe(false);
        expect(existsSync(join(root(host), "releases", "3.0.0"))).toBe(false);
      }
    }, 120_000);

    it("a checksum mismatch on the host after upload", async () => {
      const outcome = await withSession(both(), (c) =>
        deployRelease({
          ...c,
          releaseDir: release("3.0.0"),
          afterUpload: async (host, partial) => {
            if (host.name === "beta") writeFileSync(join(partial, "app"), "#!/bin/sh\necho tampered\n");
          },
        }),
      );
      expect(outcome.status).toBe("failed");
      expect(outcome.summary).toMatch(/^beta: SHA-256 mismatch on the host after upload: .*; no host was switched$/);
      // Alpha got the verified release in place, but it never became current.
      expect(existsSync(join(root(alpha), "releases", "3.0.0"))).toBe(true);
      rmSync(join(root(alpha), "releases", "3.0.0"), { recursive: true });
      stillOnTwo();
    }, 60_000);

    it("a failing health check rolls every host back automatically", async () => {
      const outcome = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: release("3.0.0", { healthy: false }) }));
      expect(outcome.status).toBe("rolled-back");
      expect(outcome.summary).toMatch(
        /^alpha: health check failed 2 time\(s\): exit 1: .*; every switched host is back on its previous release$/,
      );
      expect(outcome.hosts.map((h) => [h.host, h.result])).toEqual([
        ["alpha", "rolled-back"],
        ["beta", "not-switched"],
      ]);
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/2.0.0");
        expect(serving(host)).toBe("2.0.0");
        expect(locked(host)).toBe(false);
      }
    }, 60_000);

    it("one of two hosts failing takes both back", async () => {
      writeFileSync(join(root(beta), "unhealthy-3.0.0"), "");
      const outcome = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: release("3.0.0") }));
      expect(outcome.status).toBe("rolled-back");
      expect(outcome.hosts.map((h) => [h.host, h.result])).toEqual([
        ["alpha", "rolled-back"],
        ["beta", "rolled-back"],
      ]);
      expect(outcome.hosts[0]?.detail).toMatch(/^rolled back because beta: health check failed/);
      for (const host of [alpha, beta]) {
        expect(current(host)).toBe("releases/2.0.0");
        expect(serving(host)).toBe("2.0.0");
        expect(locked(host)).toBe(false);
      }
    }, 60_000);

    it("a host presenting a different key is refused before anything is written anywhere", async () => {
      const inv = inventory([{ host: alpha }, { host: beta, pinWith: alpha }]);
      const before = readdirSync(join(root(beta), "releases")).sort();
      await expect(withSession(inv, (c) => deployRelease({ ...c, releaseDir: release("3.0.0") }))).rejects.toThrow(
        /^beta: .*host key.*; nothing was written on any host$/i,
      );
      expect(readdirSync(join(root(beta), "releases")).sort()).toEqual(before);
      stillOnTwo();
    }, 60_000);

    it("two deploys at once: the second is refused naming the holder and age; a lock is broken only when stale and asked to", async () => {
      let release3Done: () => void = () => {};
      const firstHolds = new Promise<void>((resolve) => (release3Done = resolve));
      // The second deploy's result, settled into a value at once (a rejection waiting for an assertion is "unhandled").
      let second: Promise<{ error?: unknown }> | undefined;
      const first = withSession(both(), (c) =>
        deployRelease({
          ...c,
          who: "first-deployer",
          releaseDir: release("3.0.0"),
          // While the first deploy is in its health checks (holding the locks), a second one starts.
          sleep: async () => {
            second ??= withSession(both(), (c2) => deployRelease({ ...c2, who: "second-deployer", releaseDir: release("3.0.1") }))
              .then(
                () => ({}),
                (error: unknown) => ({ error }),
              )
              .finally(release3Done);
            await firstHolds;
          },
        }),
      );
      writeFileSync(join(root(alpha), "unhealthy-3.0.0"), "");
      const outcome = await first;
      const refused = (await second)?.error;
      expect(refused).toBeInstanceOf(DeployRefused);
      expect((refused as Error).message).toMatch(
        /^alpha: another deploy holds the lock, held by \{"who":"first-deployer",.*"action":"deploy","version":"3\.0\.0",.*\} for \d+ s \(stale after lock_stale_seconds = 3600 s\): wait for it$/,
      );
      expect(outcome.status).toBe("rolled-back");
      stillOnTwo();
      // A lock left behind by a crashed deploy: reported with its holder and age, broken only past lock_stale_seconds.
      const crashed = '{"who":"crashed-ci","at":"2026-11-01T00:00:00Z"}';
      mkdirSync(join(root(beta), ".deploy-lock"));
      writeFileSync(join(root(beta), ".deploy-lock", "holder.json"), `${crashed}\n`);
      // Live (younger than lock_stale_seconds = 3600 s): refused, with or without breakLock.
      for (const breakLock of [false, true])
        await expect(withSession(both(), (c) => deployRelease({ ...c, breakLock, releaseDir: release("3.0.2") }))).rejects.toThrow(
          new RegExp(
            `^beta: another deploy holds the lock, held by \\{"who":"crashed-ci".* for \\d+ s \\(stale after lock_stale_seconds = 3600 s\\): wait for it${breakLock ? "; --break-lock never breaks a live lock" : ""}$`,
          ),
        );
      expect(locked(alpha)).toBe(false);
      expect(locked(beta)).toBe(true);
      // Two hours old: stale. Without breakLock it is reported; with it, broken and told.
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      utimesSync(join(root(beta), ".deploy-lock"), twoHoursAgo, twoHoursAgo);
      await expect(withSession(both(), (c) => deployRelease({ ...c, releaseDir: release("3.0.2") }))).rejects.toThrow(
        /^beta: a stale deploy lock, held by \{"who":"crashed-ci".* for 7\d\d\d s \(stale after lock_stale_seconds = 3600 s\): rerun with --break-lock to break it$/,
      );
      const broken: HeldLock[] = [];
      const forced = await withSession(both(), (c) =>
        deployRelease({
          ...c,
          releaseDir: releases.get("2.0.0") as string,
          breakLock: true,
          onLockBroken: (lock) => broken.push(lock),
        }),
      );
      expect(forced.status).toBe("deployed");
      expect(broken).toHaveLength(1);
      expect(broken[0]).toMatchObject({ host: "beta", holder: crashed, staleAfterSeconds: 3600 });
      expect(broken[0]?.ageSeconds).toBeGreaterThan(7100);
      expect(locked(beta)).toBe(false);
    }, 120_000);

    it("the CLI: --break-lock refuses a live lock naming holder and age; a stale one is broken and audit-logged", async () => {
      const hook = await slackHook();
      const env = { CI: "true", SSH_DEPLOY_KEY: privateKey, GITHUB_ACTOR: "asha", ...EXCHANGE_KEY_VARIABLES, SLACK_WEBHOOK_URL: hook.url };
      const log = join(workspace, ".shriven-pipeline/audit/audit.jsonl");
      const before = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).length : 0;
      mkdirSync(join(root(alpha), ".deploy-lock"));
      writeFileSync(join(root(alpha), ".deploy-lock", "holder.json"), '{"who":"ravi","action":"deploy","version":"2.0.0"}\n');
      const live = await runCli(["rollback", "--env", "production", "--source", workspace, "--to", "v2.0.0", "--break-lock"], { env });
      expect(live.code).toBe(1);
      expect(live.stdout).toMatch(
        /^❌ alpha: another deploy holds the lock, held by \{"who":"ravi","action":"deploy","version":"2\.0\.0"\} for \d+ s \(stale after lock_stale_seconds = 3600 s\): wait for it; --break-lock never breaks a live lock\n/,
      );
      expect(locked(alpha)).toBe(true);
      // The refused rollback is announced, not only logged.
      expect(hook.bodies.map((b) => b.text)).toEqual([
        expect.stringMatching(/^Rollback of production to v2\.0\.0 refused: alpha: another deploy holds the lock, held by /),
      ]);
      const old = new Date(Date.now() - 3 * 3600_000);
      utimesSync(join(root(alpha), ".deploy-lock"), old, old);
      const stale = await runCli(["rollback", "--env", "production", "--source", workspace, "--to", "v2.0.0", "--break-lock"], { env });
      expect(stale.stdout).toMatch(/^⚠️ alpha: broke the stale deploy lock, held by \{"who":"ravi".* for 10\d\d\d s/);
      expect(stale.code).toBe(0);
      expect(locked(alpha)).toBe(false);
      const added = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .slice(before)
        .map((l) => JSON.parse(l));
      expect(added.map((e) => [e.kind, e.data.status ?? e.data.gate])).toEqual([
        ["rollback", "refused"],
        ["override", "deploy-lock"],
        ["rollback", "deployed"],
      ]);
      expect(added[1].data).toMatchObject({
        host: "alpha",
        holder: '{"who":"ravi","action":"deploy","version":"2.0.0"}',
        staleAfterSeconds: 3600,
      });
      expect(verifyAuditLog(log).ok).toBe(true);
    }, 120_000);

    it("the CLI: an audit log that cannot be appended to (a stale lock) stops deploy and rollback before any host is touched", async () => {
      const env = { CI: "true", SSH_DEPLOY_KEY: privateKey, GITHUB_ACTOR: "asha", ...EXCHANGE_KEY_VARIABLES };
      const log = join(workspace, ".shriven-pipeline/audit/audit.jsonl");
      mkdirSync(join(workspace, ".shriven-pipeline/audit"), { recursive: true });
      writeFileSync(`${log}.lock`, "pid 1 on crashed-host\n");
      const old = new Date(Date.now() - 3600_000);
      utimesSync(`${log}.lock`, old, old);
      const logBefore = existsSync(log) ? readFileSync(log, "utf8") : "";
      const hostsBefore = [alpha, beta].map((h) => [current(h), readdirSync(join(root(h), "releases")).sort()]);
      try {
        const deploy = await runCli(
          ["deploy", "--env", "production", "--source", workspace, "--release", release("4.0.0"), "--emergency", "exchange outage: hotfix"],
          { env },
        );
        expect(deploy.code).toBe(1);
        expect(deploy.stdout).toMatch(/^❌ The audit log cannot be appended to, so no host was touched: .*audit\.jsonl\.lock: stale lock/);
        const back = await runCli(["rollback", "--env", "production", "--source", workspace, "--to", "v1.0.0"], { env });
        expect(back.code).toBe(1);
        expect(back.stdout).toMatch(/^❌ The audit log cannot be appended to, so no host was touched: /);
        expect([alpha, beta].map((h) => [current(h), readdirSync(join(root(h), "releases")).sort()])).toEqual(hostsBefore);
        for (const host of [alpha, beta]) expect(locked(host)).toBe(false);
        expect(existsSync(log) ? readFileSync(log, "utf8") : "").toBe(logBefore);
      } finally {
        rmSync(`${log}.lock`, { force: true });
      }
    }, 120_000);

    it("keeps `retain` releases per host, never removing current or its predecessor", async () => {
      for (const v of ["4.1.0", "4.2.0", "4.3.0"]) {
        const outcome = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: release(v) }));
        expect(outcome.status).toBe("deployed");
      }
      for (const host of [alpha, beta]) {
        const kept = readdirSync(join(root(host), "releases")).filter((d) => !d.startsWith("."));
        // retain = 3: the three newest; 2.0.0 and older are pruned.
        expect(kept.sort()).toEqual(["4.1.0", "4.2.0", "4.3.0"]);
        expect(current(host)).toBe("releases/4.3.0");
      }
      // Back to 2.0.0 for the next test.
      const back = await withSession(both(), (c) => deployRelease({ ...c, releaseDir: releases.get("2.0.0") as string }));
      expect(back.status).toBe("deployed");
      for (const host of [alpha, beta]) {
        const kept = readdirSync(join(root(host), "releases")).filter((d) => !d.startsWith("."));
        // 2.0.0 is current and 4.3.0 its predecessor: both kept, whatever their age.
        expect(kept).toContain("2.0.0");
        expect(kept).toContain("4.3.0");
        expect(kept.length).toBeLessThanOrEqual(3);
      }
    }, 120_000);

    it("refuses a release not signed by the pinned key, and a rollback to a tampered or missing release", async () => {
      const other = loadSigningKey(randomBytes(32).toString("hex"), "other");
      await expect(
        withSession(both(), (c) =>
          deployRelease({ ...c, publicKeyText: formatPublicKey(other), releaseDir: releases.get("2.0.0") as string }),
        ),
      ).rejects.toThrow(DeployRefused);
      await expect(withSession(both(), (c) => rollbackRelease({ ...c, to: "v9.9.9" }))).rejects.toThrow(
        /^alpha: release 9\.9\.9 is not retained there/,
      );
      const retained = join(root(beta), "releases", "2.0.0", "app");
      const original = readFileSync(retained);
      writeFileSync(retained, Buffer.concat([original, Buffer.from("# tampered\n")]));
      await expect(withSession(both(), (c) => rollbackRelease({ ...c, to: "v2.0.0" }))).rejects.toThrow(
        /^beta: the retained 2\.0\.0 binary does not verify: .*does not match the file/,
      );
      writeFileSync(retained, original);
      stillOnTwo();
    }, 60_000);
  });

  afterAll(() => {
    // Nothing of the deploy key is left in a temp file of ours.
    const keyLine = privateKey?.split("\n")[1] ?? "";
    for (const host of [alpha, beta]) {
      for (const file of readdirSync(root(host), { recursive: true }) as string[]) {
        const path = join(root(host), file);
        if (statSync(path).isFile() && statSync(path).size < 1_000_000)
          expect(readFileSync(path, "utf8")).not.toContain(keyLine.slice(0, 40));
      }
    }
  });
});
