/**
 * The environment's exchange keys reach the engine, and only the engine, on
 * two real OpenSSH servers: written over the session's standard input to
 * `secrets/exchange.env` (0600, the SSH user's, in a 0700 folder), read by
 * the start command alone, never in a process's argv, the release folder,
 * the outcome or the audit log; a rotated key replaces the file atomically,
 * an unchanged one leaves it alone; hostile values are written literally or
 * refused; a missing key refuses the deploy before any host is touched.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPublicKey } from "../../src/adapters/minisign.js";
import { SshSession } from "../../src/adapters/ssh/session.js";
import { DeployRefused } from "../../src/deploy/deploy-refused.js";
import { deployRelease } from "../../src/deploy/deploy-release.js";
import { EXCHANGE_KEYS_FILE, exchangeKeysFile } from "../../src/deploy/exchange-keys.js";
import type { DeployOutcome } from "../../src/deploy/outcome.js";
import { deployPolicyFrom, deploySchema, type Inventory } from "../../src/deploy/policy.js";
import { runCli } from "../helpers/cli.js";
import { signedRelease, testSigningKey } from "../helpers/signed-release.js";
import { startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../helpers/sshd.js";
import { needs } from "../helpers/tools.js";

/**
 * The engine: `start` records the SHA-256 of the four keys as it sees them (NUL-separated, `-` when unset)
 * and stays up half a second (so the argv sampler sees the start running); `health` records whether it saw a key.
 */
function service(version: string): string {
  return `#!/bin/sh
root="$(dirname "$SHRIVEN_CURRENT")"
case "$1" in
  start)
    printf '%s\\0' "\${ZERODHA_API_KEY--}" "\${ZERODHA_API_SECRET--}" "\${BINANCE_API_KEY--}" "\${BINANCE_API_SECRET--}" | sha256sum | cut -d' ' -f1 > "$root/engine-sees"
    echo "${version}" > "$root/serving"; sleep 0.5 ;;
  stop) rm -f "$root/serving" ;;
  health) echo "\${ZERODHA_API_KEY+key}\${BINANCE_API_SECRET+key}" >> "$root/health-saw"; [ "$(cat "$root/serving" 2>/dev/null)" = "${version}" ] ;;
  *) exit 2 ;;
esac
`;
}

type Keys = Record<"ZERODHA_API_KEY" | "ZERODHA_API_SECRET" | "BINANCE_API_KEY" | "BINANCE_API_SECRET", string>;

const freshKeys = (): Keys => ({
  ZERODHA_API_KEY: `zk${randomBytes(8).toString("hex")}`,
  ZERODHA_API_SECRET: `zs${randomBytes(16).toString("hex")}`,
  BINANCE_API_KEY: `BK${randomBytes(31).toString("hex")}`,
  BINANCE_API_SECRET: `BS${randomBytes(31).toString("hex")}`,
});

/** The run's variables of `keys` in `environment` (`TEST_ZERODHA_API_KEY` …). */
const variables = (keys: Keys, prefix: "TEST_" | "PROD_" = "TEST_"): Record<string, string> =>
  Object.fromEntries(Object.entries(keys).map(([name, value]) => [`${prefix}${name}`, value]));

/** What the engine records for `keys`. */
const seen = (keys: Keys): string =>
  createHash("sha256")
    .update([keys.ZERODHA_API_KEY, keys.ZERODHA_API_SECRET, keys.BINANCE_API_KEY, keys.BINANCE_API_SECRET].map((v) => `${v}\0`).join(""))
    .digest("hex");

/** Every file under `dir` (recursively), but those `skip` names. */
function filesUnder(dir: string, skip: (path: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) out.push(...filesUnder(path, skip));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Reads every process's argv while `body` runs (every 2 ms, at most 20,000 samples); the argvs seen. */
async function sampleArgv<T>(body: () => Promise<T>): Promise<{ result: T; argvs: Set<string>; samples: number }> {
  const argvs = new Set<string>();
  let done = false;
  let samples = 0;
  const sampler = (async () => {
    while (!done && samples < 20_000) {
      samples++;
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          argvs.add(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
        } catch {
          // The process ended between the listing and the read.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  try {
    return { result: await body(), argvs, samples };
  } finally {
    done = true;
    await sampler;
  }
}

describe("exchange keys on two real sshd hosts", needs("sshd"), () => {
  stopSshdsAfter("all");
  const suite = mkdtempSync(join(tmpdir(), "shriven-exchange-keys-"));
  const key = testSigningKey("release");
  let alpha: TestHost;
  let beta: TestHost;
  let privateKey: string;
  let workspace: string;
  const releases = new Map<string, string>();
  afterAll(() => rmSync(suite, { recursive: true, force: true }));

  const root = (host: TestHost) => join(host.dir, "deploy");
  const keysFile = (host: TestHost) => join(root(host), EXCHANGE_KEYS_FILE);
  const release = (version: string) => {
    const known = releases.get(version);
    if (known !== undefined) return known;
    const made = signedRelease(suite, { version, binary: "app", script: service(version), key });
    releases.set(version, made);
    return made;
  };

  const config = `[deploy.test]
public_key = "minisign.pub"
binary = "app"
start = ["./current/app", "start"]
stop = ["sh", "-c", "[ -e current ] && ./current/app stop || true"]
health = { command = ["./current/app", "health"], retries = 2, interval_seconds = 0.01, timeout_seconds = 10 }
`;
  const hostsToml = () =>
    [alpha, beta]
      .map(
        (h) => `
[[deploy.test.hosts]]
name = "${h.host.name}"
address = "127.0.0.1"
port = ${h.host.port}
user = "${h.host.user}"
host_key = "${h.host.hostKey}"
path = "${root(h)}"
`,
      )
      .join("");
  const inventory = (): Inventory =>
    deployPolicyFrom(deploySchema.parse((parse(config + hostsToml()) as { deploy: unknown }).deploy)).test as Inventory;

  async function deploy(version: string, keys: Keys): Promise<DeployOutcome> {
    const inv = inventory();
    const session = await SshSession.open(inv.hosts, privateKey);
    try {
      return await deployRelease({
        inventory: inv,
        session,
        publicKeyText: formatPublicKey(key),
        who: "asha",
        sleep: async () => {},
        releaseDir: release(version),
        exchangeKeys: exchangeKeysFile("test", (name) => variables(keys)[name]),
      });
    } finally {
      await session.close();
    }
  }

  const expectedFile = (keys: Keys) =>
    `ZERODHA_API_KEY='${keys.ZERODHA_API_KEY}'\nZERODHA_API_SECRET='${keys.ZERODHA_API_SECRET}'\nBINANCE_API_KEY='${keys.BINANCE_API_KEY}'\nBINANCE_API_SECRET='${keys.BINANCE_API_SECRET}'\n`;

  /** No file of the deploy root but the keys' file holds any of `keys`. */
  function expectNowhereElse(host: TestHost, keys: Keys): void {
    const files = filesUnder(root(host), (p) => p === keysFile(host));
    expect(files.some((f) => f.includes("/releases/"))).toBe(true);
    for (const file of files) {
      const text = readFileSync(file, "latin1");
      for (const value of Object.values(keys)) expect(text.includes(value), `${file} holds a key`).toBe(false);
    }
  }

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startSshd({ name: "alpha" }), startSshd({ name: "beta" })]);
    privateKey = (await testClientKey()).privateKey;
    workspace = mkdtempSync(join(suite, "workspace-"));
    writeFileSync(join(workspace, "minisign.pub"), formatPublicKey(key));
    writeFileSync(join(workspace, "shriven-pipeline.toml"), config + hostsToml());
  }, 60_000);

  it("writes them 0600 in a 0700 folder, hands them to the start alone, and never puts them in an argv", async () => {
    const keys = freshKeys();
    const { result: outcome, argvs, samples } = await sampleArgv(() => deploy("1.0.0", keys));
    expect(outcome.status).toBe("deployed");
    expect(samples).toBeGreaterThan(10);
    // The sampler saw the service commands run over SSH (the start stays up half a second)…
    expect([...argvs].some((a) => a.includes("SHRIVEN_CURRENT"))).toBe(true);
    // …and no argv of any process held a key.
    for (const argv of argvs) for (const value of Object.values(keys)) expect(argv.includes(value)).toBe(false);
    const uid = process.getuid?.();
    for (const host of [alpha, beta]) {
      const file = statSync(keysFile(host));
      expect(file.mode & 0o777).toBe(0o600);
      expect(file.uid).toBe(uid);
      const dir = statSync(join(root(host), "secrets"));
      expect(dir.mode & 0o777).toBe(0o700);
      expect(dir.uid).toBe(uid);
      expect(readdirSync(join(root(host), "secrets"))).toEqual(["exchange.env"]);
      expect(readFileSync(keysFile(host), "utf8")).toBe(expectedFile(keys));
      expect(readFileSync(join(root(host), "engine-sees"), "utf8").trim()).toBe(seen(keys));
      // The health command ran, and saw no key.
      expect(
        readFileSync(join(root(host), "health-saw"), "utf8")
          .split("\n")
          .filter((l) => l !== ""),
      ).toEqual([]);
      expect(readFileSync(join(root(host), "health-saw"), "utf8").length).toBeGreaterThan(0);
      expectNowhereElse(host, keys);
    }
    const report = JSON.stringify(outcome);
    for (const value of Object.values(keys)) expect(report).not.toContain(value);
  }, 120_000);

  it("leaves an unchanged file alone and replaces a rotated one atomically", async () => {
    const keys = freshKeys();
    expect((await deploy("1.0.0", keys)).status).toBe("deployed");
    const before = [alpha, beta].map((h) => statSync(keysFile(h)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await deploy("2.0.0", keys)).status).toBe("deployed");
    for (const [i, host] of [alpha, beta].entries()) {
      const after = statSync(keysFile(host));
      expect(after.ino).toBe(before[i]?.ino);
      expect(after.mtimeMs).toBe(before[i]?.mtimeMs);
      expect(readFileSync(join(root(host), "engine-sees"), "utf8").trim()).toBe(seen(keys));
    }
    const rotated = { ...keys, BINANCE_API_SECRET: freshKeys().BINANCE_API_SECRET };
    expect((await deploy("1.0.0", rotated)).status).toBe("deployed");
    for (const [i, host] of [alpha, beta].entries()) {
      const after = statSync(keysFile(host));
      expect(after.ino).not.toBe(before[i]?.ino);
      expect(after.mode & 0o777).toBe(0o600);
      const text = readFileSync(keysFile(host), "utf8");
      expect(text).toBe(expectedFile(rotated));
      expect(text).not.toContain(keys.BINANCE_API_SECRET);
      expect(readdirSync(join(root(host), "secrets"))).toEqual(["exchange.env"]);
      expect(readFileSync(join(root(host), "engine-sees"), "utf8").trim()).toBe(seen(rotated));
    }
  }, 120_000);

  it("writes hostile values literally: nothing in them is run or expanded", async () => {
    const marker = randomBytes(4).toString("hex");
    const hostile: Keys = {
      ZERODHA_API_KEY: `k${marker}$(touch PWNED)\`touch PWNED2\`$HOME`,
      ZERODHA_API_SECRET: `s${marker}"; touch PWNED3; echo "\\n\\`,
      BINANCE_API_KEY: `b${marker}\nZERODHA_API_KEY=evil\nexport X=1`,
      BINANCE_API_SECRET: `-----BEGIN PRIVATE KEY-----\n${marker}\tabc\n-----END PRIVATE KEY-----`,
    };
    const { result: outcome, argvs } = await sampleArgv(() => deploy("2.0.0", hostile));
    expect(outcome.status).toBe("deployed");
    for (const host of [alpha, beta]) {
      expect(readFileSync(join(root(host), "engine-sees"), "utf8").trim()).toBe(seen(hostile));
      for (const pwned of ["PWNED", "PWNED2", "PWNED3"]) expect(existsSync(join(root(host), pwned))).toBe(false);
    }
    for (const argv of argvs) expect(argv.includes(marker)).toBe(false);
    // A value the file cannot hold is refused, named, never shown.
    for (const bad of [`a'${marker}`, `a\0${marker}`, `a\r${marker}`, `a\x1b${marker}`]) {
      const refused = (() => {
        try {
          exchangeKeysFile("test", (name) => variables({ ...hostile, ZERODHA_API_SECRET: bad })[name]);
        } catch (error) {
          return error as Error;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(DeployRefused);
      expect(refused?.message).toMatch(/TEST_ZERODHA_API_SECRET contains a (single quote|control character)/);
      expect(refused?.message).not.toContain(marker);
    }
  }, 120_000);

  it("through the CLI: keys from the process environment, none in its output or the audit log; a missing one refuses before any host", async () => {
    for (const host of [alpha, beta]) rmSync(root(host), { recursive: true, force: true });
    const keys = freshKeys();
    const env = { CI: "true", SSH_DEPLOY_KEY: privateKey, GITHUB_ACTOR: "asha", ...variables(keys) };
    const missing = { ...env, TEST_BINANCE_API_SECRET: "" };
    const refused = await runCli(["deploy", "--env", "test", "--source", workspace, "--release", release("1.0.0")], { env: missing });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      "❌ the test exchange keys cannot be delivered to the hosts, so no host was touched: TEST_BINANCE_API_SECRET is not set",
    );
    for (const host of [alpha, beta]) expect(existsSync(root(host))).toBe(false);
    const run = await runCli(["deploy", "--env", "test", "--source", workspace, "--release", release("1.0.0")], { env });
    expect(run.stdout).toMatch(/✅ Deploy 1\.0\.0 to test: deployed/);
    expect(run.code).toBe(0);
    for (const host of [alpha, beta]) {
      expect(readFileSync(keysFile(host), "utf8")).toBe(expectedFile(keys));
      expect(readFileSync(join(root(host), "engine-sees"), "utf8").trim()).toBe(seen(keys));
    }
    // A rollback restarts the engine with the keys in place.
    rmSync(join(root(alpha), "engine-sees"));
    const back = await runCli(["rollback", "--env", "test", "--source", workspace, "--to", "v1.0.0"], {
      env: { ...env, ...variables(freshKeys()) },
    });
    expect(back.code).toBe(0);
    expect(readFileSync(join(root(alpha), "engine-sees"), "utf8").trim()).toBe(seen(keys));
    const log = readFileSync(join(workspace, ".shriven-pipeline/audit/audit.jsonl"), "utf8");
    expect(log).toContain("TEST_BINANCE_API_SECRET is not set");
    for (const text of [refused.stdout, refused.stderr, run.stdout, run.stderr, back.stdout, back.stderr, log])
      for (const value of Object.values(keys)) expect(text).not.toContain(value);
  }, 120_000);
});
