/**
 * Every host back on its own previous release (issue 16's rollback fix) on
 * two real OpenSSH servers: after a deploy that the smoke tests or the
 * monitoring then fail, hosts with different histories each go back to the
 * release they served before; after a failed health check, a host that had
 * no previous release is stopped and its `current` removed, and the summary
 * says so instead of claiming every host is back.
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPublicKey } from "../../src/adapters/minisign.js";
import { SshSession } from "../../src/adapters/ssh/session.js";
import type { DeployContext } from "../../src/deploy/context.js";
import { deployRelease } from "../../src/deploy/deploy-release.js";
import { type ExchangeKeysFile, exchangeKeysFile } from "../../src/deploy/exchange-keys.js";
import { deployPolicyFrom, deploySchema, type Inventory } from "../../src/deploy/policy.js";
import { restorePreviousReleases } from "../../src/deploy/rollback.js";
import { EXCHANGE_KEY_VARIABLES } from "../helpers/serving-hosts.js";
import { signedRelease, testSigningKey } from "../helpers/signed-release.js";
import { startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../helpers/sshd.js";
import { needs } from "../helpers/tools.js";

/** The service: `start` records the version it serves, `health` checks it (and a per-version "unhealthy" marker). */
function service(version: string): string {
  return `#!/bin/sh
root="$(dirname "$SHRIVEN_CURRENT")"
case "$1" in
  start) echo "${version}" > "$root/serving" ;;
  stop) rm -f "$root/serving" ;;
  health) [ "$(cat "$root/serving" 2>/dev/null)" = "${version}" ] && [ ! -f "$root/unhealthy-${version}" ] ;;
  *) exit 2 ;;
esac
`;
}

describe("each host back on its own previous release, over SSH", needs("sshd"), () => {
  stopSshdsAfter("all");
  const suite = mkdtempSync(join(tmpdir(), "shriven-rollback-each-"));
  const key = testSigningKey("release");
  let alpha: TestHost;
  let beta: TestHost;
  let privateKey: string;
  afterAll(() => rmSync(suite, { recursive: true, force: true }));

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startSshd({ name: "alpha" }), startSshd({ name: "beta" })]);
    privateKey = (await testClientKey()).privateKey;
  }, 60_000);

  const root = (host: TestHost) => join(host.dir, "deploy");
  const current = (host: TestHost) => (existsSync(join(root(host), "current")) ? readlinkSync(join(root(host), "current")) : undefined);
  const serving = (host: TestHost) =>
    existsSync(join(root(host), "serving")) ? readFileSync(join(root(host), "serving"), "utf8").trim() : undefined;
  const release = (version: string) => signedRelease(suite, { version, binary: "app", script: service(version), key });

  function inventory(hosts: TestHost[]): Inventory {
    const toml = `[deploy.production]
public_key = "minisign.pub"
binary = "app"
start = ["./current/app", "start"]
stop = ["sh", "-c", "[ -e current ] && ./current/app stop || true"]
health = { command = ["./current/app", "health"], retries = 2, interval_seconds = 0.01, timeout_seconds = 10 }
${hosts
  .map(
    (h) => `
[[deploy.production.hosts]]
name = "${h.host.name}"
address = "127.0.0.1"
port = ${h.host.port}
user = "${h.host.user}"
host_key = "${h.host.hostKey}"
path = "${root(h)}"
`,
  )
  .join("")}`;
    return deployPolicyFrom(deploySchema.parse((parse(toml) as { deploy: unknown }).deploy)).production as Inventory;
  }

  async function withSession<T>(
    hosts: TestHost[],
    body: (context: DeployContext & { exchangeKeys: ExchangeKeysFile }) => Promise<T>,
  ): Promise<T> {
    const inv = inventory(hosts);
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

  it("after a deploy, hosts with different histories each go back to their own previous release", async () => {
    await withSession([alpha], (c) => deployRelease({ ...c, releaseDir: release("1.0.0") }));
    await withSession([beta], (c) => deployRelease({ ...c, releaseDir: release("3.0.0") }));
    const deployed = await withSession([alpha, beta], (c) => deployRelease({ ...c, releaseDir: release("4.0.0") }));
    expect(deployed.status).toBe("deployed");
    expect([serving(alpha), serving(beta)]).toEqual(["4.0.0", "4.0.0"]);
    // Before the fix every host went back to alpha's previous release, and beta had no 1.0.0 to go to.
    const back = await withSession([alpha, beta], (c) => restorePreviousReleases({ ...c, deployed }));
    expect(back.status, back.summary).toBe("deployed");
    expect(back.summary).toBe("rolled back to 1.0.0 on alpha, 3.0.0 on beta");
    expect(back.hosts.map((h) => [h.host, h.result, h.previous])).toEqual([
      ["alpha", "deployed", "releases/4.0.0"],
      ["beta", "deployed", "releases/4.0.0"],
    ]);
    expect([current(alpha), current(beta)]).toEqual(["releases/1.0.0", "releases/3.0.0"]);
    expect([serving(alpha), serving(beta)]).toEqual(["1.0.0", "3.0.0"]);
  }, 120_000);

  it("a failed health check stops a host that had no previous release and removes its current", async () => {
    rmSync(root(beta), { recursive: true, force: true });
    const outcome = await withSession([alpha, beta], (c) =>
      deployRelease({
        ...c,
        releaseDir: release("5.0.0"),
        afterUpload: async (host) => {
          if (host.name === "beta") writeFileSync(join(root(beta), "unhealthy-5.0.0"), "");
        },
      }),
    );
    expect(outcome.status).toBe("rolled-back");
    expect(outcome.hosts.map((h) => [h.host, h.result])).toEqual([
      ["alpha", "rolled-back"],
      ["beta", "stopped"],
    ]);
    expect(outcome.summary).toBe(
      "beta: health check failed 2 time(s): exit 1: ; back on their previous release: alpha; stopped, having no previous release: beta",
    );
    expect([current(alpha), serving(alpha)]).toEqual(["releases/1.0.0", "1.0.0"]);
    expect([current(beta), serving(beta)]).toEqual([undefined, undefined]);
    expect(existsSync(join(root(beta), "releases", "5.0.0", "app"))).toBe(true);
  }, 120_000);
});
