/**
 * Local targets: the hosts' deploy code (deploy.ts) over the local transport,
 * against real processes — a small HTTP service (node) released, signed and
 * started from each target's `current/` on a free port, as `[deploy.<env>.local]
 * serve` describes it. Layout, switch, health check by URL, rollback of each
 * target to its own previous release (or a stop when it has none), former
 * local keys, the transport's guards, and no process left behind.
 */
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
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { formatPublicKey, type SigningKey } from "../../src/adapters/minisign.js";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import type { DeployContext } from "../../src/deploy/context.js";
import { DeployRefused } from "../../src/deploy/deploy-refused.js";
import { deployRelease } from "../../src/deploy/deploy-release.js";
import { freePorts, localInventory, localTargetsRefusal, prepareLocalTargets } from "../../src/deploy/local-targets.js";
import { LocalTargetError, LocalTransport } from "../../src/deploy/local-transport.js";
import type { DeployHost, Inventory } from "../../src/deploy/policy.js";
import { restorePreviousReleases } from "../../src/deploy/rollback.js";
import { runInDeployRoot } from "../../src/deploy/service.js";
import { allStepIds } from "../../src/stages/registry.js";
import { liveProcessesIn } from "../helpers/processes.js";
import { signedRelease, testSigningKey } from "../helpers/signed-release.js";

/**
 * The service of `version`: GET /health answers `ok <version>` (500 while the target's root holds
 * `unhealthy-<version>`), GET /metrics a small exposition with the TRADING_MODE it was started with.
 */
function service(version: string): string {
  // No single quote in the program: the shell script below single-quotes it.
  const program = `
const http = require("node:http");
const fs = require("node:fs");
const port = Number(process.argv[1]);
http.createServer((req, res) => {
  if (req.url === "/health") {
    const sick = fs.existsSync("../../unhealthy-${version}");
    res.writeHead(sick ? 500 : 200);
    res.end(sick ? "sick" : "ok ${version}");
  } else if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    const mode = JSON.stringify(process.env.TRADING_MODE);
    res.end(["shriven_trading_mode{mode=" + mode + "} 1", "shriven_events_total 1", ""].join(String.fromCharCode(10)));
  } else {
    res.writeHead(404);
    res.end();
  }
}).listen(port, "127.0.0.1");`;
  return `#!/bin/sh\nexec '${process.execPath}' -e '${program}' "$@"\n`;
}

const CONFIG = `[deploy.test]
binary = "app"
retain = 3

[deploy.test.local]
targets = 2
serve = ["./app", "{port}"]
`;

describe("local targets: the hosts' deploy code on this machine", () => {
  const suite = mkdtempSync(join(tmpdir(), "shriven-local-targets-"));
  const keys = new Map<string, SigningKey>();
  const keyOf = (name: string) => {
    const key = keys.get(name) ?? testSigningKey(name);
    keys.set(name, key);
    return key;
  };
  /** Every inventory made, so its services are stopped after each test. */
  const made: Inventory[] = [];

  afterEach(async () => {
    for (const inventory of made.splice(0)) await stopAll(inventory);
  });
  afterAll(() => rmSync(suite, { recursive: true, force: true }));

  /** A signed release of the service at `version`, signed by `signer`. */
  const release = (version: string, signer = "first"): string =>
    signedRelease(suite, { version, binary: "app", script: service(version), key: keyOf(signer) });

  /** A workspace whose `[deploy.test]` has `count` local targets, resolved as a run resolves them. */
  async function targets(workspace: string, count = 2): Promise<Inventory> {
    const config = parsePipelineConfig(CONFIG, "shriven-pipeline.toml", allStepIds()).policies.deploy.test as Inventory;
    const inventory = localInventory(config, prepareLocalTargets(workspace, "test", await freePorts(count)), undefined);
    made.push(inventory);
    return inventory;
  }

  /** Only `names` of an inventory's targets (the others left as they are). */
  const only = (inventory: Inventory, ...names: string[]): Inventory => ({
    ...inventory,
    hosts: inventory.hosts.filter((h) => names.includes(h.name)),
  });

  function context(inventory: Inventory, signer = "first"): DeployContext {
    return {
      inventory,
      session: new LocalTransport(inventory.hosts),
      publicKeyText: formatPublicKey(keyOf(signer)),
      who: "asha",
      serviceEnv: { TRADING_MODE: "paper" },
    };
  }

  async function stopAll(inventory: Inventory): Promise<void> {
    const transport = new LocalTransport(inventory.hosts);
    for (const host of inventory.hosts) await runInDeployRoot(transport, host, inventory.stop, 30_000);
  }

  const current = (host: DeployHost) => (existsSync(join(host.path, "current")) ? readlinkSync(join(host.path, "current")) : undefined);
  const once = async (host: DeployHost): Promise<string> => {
    try {
      const response = await fetch(host.local?.healthUrl as string);
      return `${response.status} ${await response.text()}`;
    } catch {
      return "not serving";
    }
  };
  /** What the target's service answers once it settles (a restarted one takes a moment to listen). */
  const answer = async (host: DeployHost): Promise<string> => {
    const deadline = Date.now() + 5000;
    let last = await once(host);
    while (last === "not serving" && existsSync(join(host.path, "service.pid")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      last = await once(host);
    }
    return last;
  };

  it("deploys to two targets with a host's layout, serves the release from current/, and stops leaving no process", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace);
    const outcome = await deployRelease({ ...context(inventory), releaseDir: release("1.0.0") });
    expect(outcome.status, outcome.summary).toBe("deployed");
    expect(outcome.summary).toBe("1.0.0 serving on local-1, local-2");
    const [one, two] = inventory.hosts as [DeployHost, DeployHost];
    expect(one.path).toBe(join(workspace, ".shriven-pipeline/local-targets/test/local-1"));
    expect(one.local?.healthUrl).not.toBe(two.local?.healthUrl);
    for (const host of [one, two]) {
      expect(current(host)).toBe("releases/1.0.0");
      expect(readdirSync(join(host.path, "releases", "1.0.0")).sort()).toEqual(["SHA256SUMS", "app", "app.minisig", "manifest.json"]);
      expect(existsSync(join(host.path, ".deploy-lock"))).toBe(false);
      expect(await answer(host)).toBe("200 ok 1.0.0");
      // The service runs in the release `current` points to, with the profile's trading mode.
      const pid = Number(readFileSync(join(host.path, "service.pid"), "utf8"));
      expect(readlinkSync(`/proc/${pid}/cwd`)).toBe(join(host.path, "releases", "1.0.0"));
      expect(await (await fetch(host.local?.metricsUrl as string)).text()).toContain('shriven_trading_mode{mode="paper"} 1');
    }
    await stopAll(inventory);
    expect(liveProcessesIn(join(workspace, ".shriven-pipeline"))).toEqual([]);
    for (const host of [one, two]) {
      expect(await answer(host)).toBe("not serving");
      expect(existsSync(join(host.path, "service.pid"))).toBe(false);
    }
  }, 60_000);

  it("an edited build.json cannot redirect a deploy: the version and folder come from the signed SHA256SUMS", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = only(await targets(workspace, 1), "local-1");
    const dir = release("1.0.0");
    for (const version of ["9.9.9", "../../escape"]) {
      const buildJson = JSON.parse(readFileSync(join(dir, "build.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(dir, "build.json"), JSON.stringify({ ...buildJson, version, commit: "f".repeat(40) }));
      const outcome = await deployRelease({ ...context(inventory), releaseDir: dir });
      expect(outcome.status, outcome.summary).toBe("deployed");
      expect(outcome.version).toBe("1.0.0");
      const [host] = inventory.hosts as [DeployHost];
      expect(current(host)).toBe("releases/1.0.0");
      expect(readdirSync(join(host.path, "releases"))).toEqual(["1.0.0"]);
      expect(JSON.parse(readFileSync(join(host.path, "releases/1.0.0/manifest.json"), "utf8"))).toMatchObject({
        commit: "0123456789abcdef0123456789abcdef01234567",
      });
    }
  }, 60_000);

  it("a deploy that must ship the binary staging validated refuses any other SHA-256 before touching a target", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = only(await targets(workspace, 1), "local-1");
    await expect(deployRelease({ ...context(inventory), releaseDir: release("1.0.0"), expectedSha256: "0".repeat(64) })).rejects.toThrow(
      /app-1\.0\.0-x86_64-unknown-linux-gnu has SHA-256 [0-9a-f]{64}, not 0{64}: not the binary staging validated/,
    );
    expect(existsSync(join((inventory.hosts[0] as DeployHost).path, "current"))).toBe(false);
  }, 60_000);

  it("a failing health check takes each target back to its own previous release, and stops one that had none", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace);
    const [one, two] = inventory.hosts as [DeployHost, DeployHost];
    // local-1 has served 1.0.0; local-2 is new.
    expect((await deployRelease({ ...context(only(inventory, "local-1")), releaseDir: release("1.0.0") })).status).toBe("deployed");
    writeFileSync(join(two.path, "unhealthy-2.0.0"), "");
    const outcome = await deployRelease({ ...context(inventory), releaseDir: release("2.0.0"), sleep: async () => {} });
    expect(outcome.status).toBe("rolled-back");
    expect(
      outcome.hosts.map((h) => [h.host, h.result, h.previous]),
      JSON.stringify(outcome.hosts),
    ).toEqual([
      ["local-1", "rolled-back", "releases/1.0.0"],
      ["local-2", "stopped", undefined],
    ]);
    expect(outcome.summary).toMatch(
      /^local-2: health check failed 50 time\(s\): HTTP 500; back on their previous release: local-1; stopped, having no previous release: local-2$/,
    );
    expect(outcome.hosts[1]?.detail).toMatch(/; no previous release: service stopped and current removed$/);
    expect(current(one)).toBe("releases/1.0.0");
    expect(await answer(one)).toBe("200 ok 1.0.0");
    expect(current(two)).toBeUndefined();
    expect(await answer(two)).toBe("not serving");
    expect(liveProcessesIn(two.path)).toEqual([]);
    // The failed release stays retained on the target for inspection; nothing is locked.
    expect(existsSync(join(two.path, "releases", "2.0.0", "app"))).toBe(true);
    for (const host of [one, two]) expect(existsSync(join(host.path, ".deploy-lock"))).toBe(false);
  }, 60_000);

  it("after a deploy, targets with different histories each go back to their own previous release", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace);
    const [one, two] = inventory.hosts as [DeployHost, DeployHost];
    expect((await deployRelease({ ...context(only(inventory, "local-1")), releaseDir: release("1.0.0") })).status).toBe("deployed");
    expect((await deployRelease({ ...context(only(inventory, "local-2")), releaseDir: release("3.0.0") })).status).toBe("deployed");
    const deployed = await deployRelease({ ...context(inventory), releaseDir: release("4.0.0") });
    expect(deployed.hosts.map((h) => h.previous)).toEqual(["releases/1.0.0", "releases/3.0.0"]);
    for (const host of [one, two]) expect(await answer(host)).toBe("200 ok 4.0.0");
    // What the smoke tests or the monitoring do when they fail after the deploy.
    const back = await restorePreviousReleases({ ...context(inventory), deployed });
    expect(back.status, back.summary).toBe("deployed");
    expect(back.version).toBe("1.0.0 on local-1, 3.0.0 on local-2");
    expect(back.summary).toBe("rolled back to 1.0.0 on local-1, 3.0.0 on local-2");
    expect([current(one), current(two)]).toEqual(["releases/1.0.0", "releases/3.0.0"]);
    expect([await answer(one), await answer(two)]).toEqual(["200 ok 1.0.0", "200 ok 3.0.0"]);
  }, 60_000);

  it("after a first deploy, a rollback stops the target and removes current", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace, 1);
    const [one] = inventory.hosts as [DeployHost];
    const deployed = await deployRelease({ ...context(inventory), releaseDir: release("1.0.0") });
    expect(await answer(one)).toBe("200 ok 1.0.0");
    const back = await restorePreviousReleases({ ...context(inventory), deployed });
    expect(back.hosts.map((h) => [h.host, h.result, h.previous, h.detail])).toEqual([
      ["local-1", "stopped", "releases/1.0.0", "no previous release: service stopped and current removed"],
    ]);
    expect(back.summary).toBe("rolled back to nothing on local-1 (stopped)");
    expect(current(one)).toBeUndefined();
    expect(liveProcessesIn(one.path)).toEqual([]);
  }, 60_000);

  it("a rollback accepts a release signed by an earlier local run's key only when that key is among the former keys", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace, 1);
    // Two local runs, each with its own ephemeral key.
    expect((await deployRelease({ ...context(inventory, "run-1"), releaseDir: release("5.0.0", "run-1") })).status).toBe("deployed");
    const deployed = await deployRelease({ ...context(inventory, "run-2"), releaseDir: release("6.0.0", "run-2") });
    expect(deployed.status).toBe("deployed");
    await expect(restorePreviousReleases({ ...context(inventory, "run-2"), deployed })).rejects.toThrow(
      /^local-1: the retained 5\.0\.0 binary does not verify: .*signed by key [0-9A-F]+, expected key/,
    );
    const back = await restorePreviousReleases({
      ...context(inventory, "run-2"),
      formerKeys: [formatPublicKey(keyOf("run-1"))],
      deployed,
    });
    expect(back.status).toBe("deployed");
    expect(await answer(inventory.hosts[0] as DeployHost)).toBe("200 ok 5.0.0");
  }, 60_000);

  it("a rollback refuses a target that was not part of the deploy", async () => {
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const inventory = await targets(workspace);
    const deployed = await deployRelease({ ...context(only(inventory, "local-1")), releaseDir: release("1.0.0") });
    await expect(restorePreviousReleases({ ...context(inventory), deployed })).rejects.toThrow(
      new DeployRefused("local-2 was not part of the deploy of 1.0.0"),
    );
  }, 60_000);
});

describe("the local transport", () => {
  const root = () => {
    const dir = mkdtempSync(join(tmpdir(), "shriven-local-transport-"));
    mkdirSync(join(dir, "target"));
    return join(dir, "target");
  };
  const local = (name: string, path: string): DeployHost => ({
    name,
    address: "127.0.0.1",
    port: 0,
    user: "local",
    hostKey: "",
    path,
    local: { healthUrl: "http://127.0.0.1:1/health", metricsUrl: "http://127.0.0.1:1/metrics" },
  });

  it("runs scripts in the target's root with their arguments verbatim and without the pipeline's secrets", async () => {
    const dir = root();
    const transport = new LocalTransport([local("t", dir)]);
    process.env.RELEASE_SIGNING_KEY = "do-not-leak";
    try {
      const odd = ["a b", "it's", "$(touch pwned)", "line\nbreak", "*"];
      const result = await transport.run(local("t", dir), 'pwd; for a in "$@"; do printf "<%s>" "$a"; done; echo; env', odd);
      expect(result.exitCode).toBe(0);
      const [pwd, args, ...env] = result.stdout.split("\n");
      expect(pwd).toBe(dir);
      expect(args).toBe("<a b><it's><$(touch pwned)><line");
      expect(result.stdout).toContain("break><*>");
      expect(existsSync(join(dir, "pwned"))).toBe(false);
      expect(env.join("\n")).not.toContain("do-not-leak");
      expect(env.some((line) => line.startsWith("PATH="))).toBe(true);
    } finally {
      delete process.env.RELEASE_SIGNING_KEY;
    }
  });

  it("stops a script that runs out of time, with what it started", async () => {
    const dir = root();
    const transport = new LocalTransport([local("t", dir)]);
    const result = await transport.run(local("t", dir), "sleep 30 & echo $! > child.pid; wait", [], { timeoutMs: 300 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, cancelled: false });
    const child = Number(readFileSync(join(dir, "child.pid"), "utf8"));
    expect(existsSync(`/proc/${child}`) && !readFileSync(`/proc/${child}/stat`, "utf8").includes(") Z ")).toBe(false);
    const aborted = new AbortController();
    aborted.abort();
    expect(await transport.run(local("t", dir), "true", [], { signal: aborted.signal })).toMatchObject({ cancelled: true, exitCode: null });
  });

  it("copies files in and out of the target's root, keeping modes, and nowhere else", async () => {
    const dir = root();
    const host = local("t", dir);
    const transport = new LocalTransport([host]);
    const outside = mkdtempSync(join(tmpdir(), "shriven-local-outside-"));
    const file = join(outside, "tool");
    writeFileSync(file, "#!/bin/sh\n");
    chmodSync(file, 0o750);
    mkdirSync(join(dir, "in"));
    await transport.upload(host, [file], join(dir, "in"));
    expect(readFileSync(join(dir, "in", "tool"), "utf8")).toBe("#!/bin/sh\n");
    expect(statSync(join(dir, "in", "tool")).mode & 0o777).toBe(0o750);
    await transport.download(host, join(dir, "in", "tool"), join(outside, "back"));
    expect(readFileSync(join(outside, "back"), "utf8")).toBe("#!/bin/sh\n");
    await expect(transport.upload(host, [file], outside)).rejects.toThrow(LocalTargetError);
    await expect(transport.upload(host, [file], join(dir, "../../etc"))).rejects.toThrow(/is outside its deploy root/);
    await expect(transport.upload(host, [file], join(dir, "missing"))).rejects.toThrow(/no such directory/);
    await expect(transport.download(host, "/etc/passwd", join(outside, "x"))).rejects.toThrow(/is outside its deploy root/);
    rmSync(outside, { recursive: true, force: true });
  });

  it("refuses hosts reached over SSH and targets it was not made for", async () => {
    const dir = root();
    const { local: _, ...ssh } = local("prod-1", dir);
    expect(() => new LocalTransport([ssh])).toThrow(new LocalTargetError("prod-1 is a host, not a local target: it is reached over SSH"));
    const transport = new LocalTransport([local("t", dir)]);
    await expect(transport.run(local("other", dir), "true")).rejects.toThrow("other is not a local target of this run");
  });
});

describe("who may deploy to local targets", () => {
  const inventory = (text: string): Inventory =>
    Object.values(parsePipelineConfig(text, "shriven-pipeline.toml", allStepIds()).policies.deploy)[0] as Inventory;
  const local = (env: string, extra = "") => `[deploy.${env}]\nbinary = "b"\n[deploy.${env}.local]\nserve = ["./b", "{port}"]\n${extra}`;

  it("a production run only as the --local rehearsal", () => {
    const refusal = localTargetsRefusal(inventory(local("production", "targets = 1")), false);
    expect(refusal).toContain("[deploy.production] has no hosts, only local targets ([deploy.production.local])");
    expect(refusal).toContain("a production run deploys to pinned [[deploy.production.hosts]]");
    expect(refusal).toContain("run production --local");
    expect(localTargetsRefusal(inventory(local("production")), true)).toBeUndefined();
  });

  it("a staging run as a local run, or when [deploy.test.local] targets is set", () => {
    expect(localTargetsRefusal(inventory(local("test")), false)).toContain("[deploy.test.local] targets is not set");
    expect(localTargetsRefusal(inventory(local("test")), true)).toBeUndefined();
    expect(localTargetsRefusal(inventory(local("test", "targets = 1")), false)).toBeUndefined();
  });

  it("resolved local targets are held to the same rule", () => {
    const resolved = localInventory(inventory(local("production")), [{ name: "local-1", root: "/tmp/x", port: 1 }], undefined);
    expect(localTargetsRefusal(resolved, false)).toContain("[deploy.production] has no hosts");
  });
});
