/**
 * The exchange keys' file: which variables it is made of, the values it refuses (named, never shown), and its
 * delivery to local targets, which run the hosts' own deploy scripts: the engine started there sees the keys
 * in its environment, not in its argv.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { formatPublicKey } from "../../src/adapters/minisign.js";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { DeployRefused } from "../../src/deploy/deploy-refused.js";
import { deployRelease } from "../../src/deploy/deploy-release.js";
import { EXCHANGE_KEYS_FILE, exchangeKeySources, exchangeKeysFile } from "../../src/deploy/exchange-keys.js";
import { freePorts, localInventory, prepareLocalTargets } from "../../src/deploy/local-targets.js";
import { LocalTransport } from "../../src/deploy/local-transport.js";
import type { DeployHost, Inventory } from "../../src/deploy/policy.js";
import { runInDeployRoot } from "../../src/deploy/service.js";
import { allStepIds } from "../../src/stages/registry.js";
import { EXCHANGE_KEY_VARIABLES } from "../helpers/serving-hosts.js";
import { signedRelease, testSigningKey } from "../helpers/signed-release.js";

const refusal = (values: Record<string, string | undefined>, environment: "test" | "production" = "test"): string => {
  try {
    exchangeKeysFile(environment, (name) => values[name]);
  } catch (error) {
    expect(error).toBeInstanceOf(DeployRefused);
    return (error as Error).message;
  }
  throw new Error("not refused");
};

describe("the exchange keys' file", () => {
  it("is made of the environment's exchange secrets, under the names the engine reads", () => {
    expect([...exchangeKeySources("test")]).toEqual([
      ["ZERODHA_API_KEY", "TEST_ZERODHA_API_KEY"],
      ["ZERODHA_API_SECRET", "TEST_ZERODHA_API_SECRET"],
      ["BINANCE_API_KEY", "TEST_BINANCE_API_KEY"],
      ["BINANCE_API_SECRET", "TEST_BINANCE_API_SECRET"],
    ]);
    expect([...exchangeKeySources("production").values()]).toEqual([
      "PROD_ZERODHA_API_KEY",
      "PROD_ZERODHA_API_SECRET",
      "PROD_BINANCE_API_KEY",
      "PROD_BINANCE_API_SECRET",
    ]);
    const file = exchangeKeysFile("production", (name) => EXCHANGE_KEY_VARIABLES[name]);
    expect(file.text).toBe(
      `ZERODHA_API_KEY='prodzerodhakey01'\nZERODHA_API_SECRET='prodzerodhasecret000000000000001'\nBINANCE_API_KEY='${"P".repeat(64)}'\nBINANCE_API_SECRET='${"p".repeat(64)}'\n`,
    );
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Production's file never takes a test key, nor test's a production one.
    expect(file.text).not.toContain("testzerodhakey01");
  });

  it("names every missing or empty variable, and suggests the switch", () => {
    expect(refusal({})).toBe(
      "the test exchange keys cannot be delivered to the hosts, so no host was touched: TEST_ZERODHA_API_KEY is not set; TEST_ZERODHA_API_SECRET is not set; TEST_BINANCE_API_KEY is not set; TEST_BINANCE_API_SECRET is not set (or set [deploy.test] exchange_keys = false)",
    );
    // Production keys do not stand in for test's.
    const production = Object.fromEntries(Object.entries(EXCHANGE_KEY_VARIABLES).filter(([name]) => name.startsWith("PROD_")));
    expect(refusal(production)).toContain("TEST_ZERODHA_API_KEY is not set");
    expect(refusal({ ...EXCHANGE_KEY_VARIABLES, PROD_BINANCE_API_KEY: "" }, "production")).toMatch(
      /: PROD_BINANCE_API_KEY is not set \(or set \[deploy\.production\] exchange_keys = false\)$/,
    );
  });

  it("refuses values the file cannot hold, naming the variable and never the value", () => {
    const hostile = ["it's", "nul\0byte", "carriage\rreturn", "escape\x1b[0m", "bell\x07", "del\x7f"];
    for (const value of hostile) {
      const message = refusal({ ...EXCHANGE_KEY_VARIABLES, TEST_BINANCE_API_KEY: `secret-${value}` });
      expect(message).toMatch(/: TEST_BINANCE_API_KEY contains a (single quote \(.\) the keys' file cannot hold|control character)/);
      expect(message).not.toContain("secret-");
    }
    // Newlines and tabs (a PEM key) and shell syntax are held literally, single-quoted.
    const pem = "-----BEGIN PRIVATE KEY-----\nMC4\tCAQ=\n-----END PRIVATE KEY-----";
    const text = exchangeKeysFile("test", (name) => ({ ...EXCHANGE_KEY_VARIABLES, TEST_BINANCE_API_SECRET: pem })[name]).text;
    expect(text).toContain(`\nBINANCE_API_SECRET='${pem}'\n`);
  });
});

/** The engine: serves GET /health on the port it is given (single-quoted below: no ' inside). */
const SERVICE = `#!/bin/sh\nexec '${process.execPath}' -e 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.argv[1]), "127.0.0.1")' "$@"\n`;

describe("exchange keys on local targets (the hosts' scripts over the local transport)", () => {
  const suite = mkdtempSync(join(tmpdir(), "shriven-exchange-local-"));
  const key = testSigningKey("release");
  const release = signedRelease(suite, { version: "1.0.0", binary: "app", script: SERVICE, key });
  const made: Inventory[] = [];
  afterEach(async () => {
    for (const inventory of made.splice(0)) {
      const transport = new LocalTransport(inventory.hosts);
      for (const host of inventory.hosts) await runInDeployRoot(transport, host, inventory.stop, 30_000);
    }
  });
  afterAll(() => rmSync(suite, { recursive: true, force: true }));

  async function targets(switchLine: string): Promise<Inventory> {
    const config = `[deploy.test]\nbinary = "app"\n${switchLine}\n[deploy.test.local]\ntargets = 1\nserve = ["./app", "{port}"]\n`;
    const inventory = parsePipelineConfig(config, "shriven-pipeline.toml", allStepIds()).policies.deploy.test as Inventory;
    const workspace = mkdtempSync(join(suite, "workspace-"));
    const resolved = localInventory(inventory, prepareLocalTargets(workspace, "test", await freePorts(1)), undefined);
    made.push(resolved);
    return resolved;
  }
  const context = (inventory: Inventory) => ({
    inventory,
    session: new LocalTransport(inventory.hosts),
    publicKeyText: formatPublicKey(key),
    who: "asha",
    releaseDir: release,
  });

  it("are off by default for local targets: nothing is written, nothing is read", async () => {
    const inventory = await targets("");
    expect(inventory.exchangeKeys).toBe(false);
    expect((await deployRelease(context(inventory))).status).toBe("deployed");
    const host = inventory.hosts[0] as DeployHost;
    expect(readdirSync(host.path)).not.toContain("secrets");
  }, 60_000);

  it("with exchange_keys = true, reach the engine's environment and not its argv", async () => {
    const inventory = await targets("exchange_keys = true");
    const host = inventory.hosts[0] as DeployHost;
    await expect(deployRelease(context(inventory))).rejects.toThrow(
      "[deploy.test] exchange_keys is on, but the deploy was given no exchange keys: no host was touched",
    );
    expect(readdirSync(host.path)).toEqual(["port"]);
    const exchangeKeys = exchangeKeysFile("test", (name) => EXCHANGE_KEY_VARIABLES[name]);
    const outcome = await deployRelease({ ...context(inventory), exchangeKeys });
    expect(outcome.status, outcome.summary).toBe("deployed");
    expect(statSync(join(host.path, EXCHANGE_KEYS_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(host.path, "secrets")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(host.path, EXCHANGE_KEYS_FILE), "utf8")).toBe(exchangeKeys.text);
    const pid = Number(readFileSync(join(host.path, "service.pid"), "utf8"));
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    expect(environ).toEqual(
      expect.arrayContaining([
        "ZERODHA_API_KEY=testzerodhakey01",
        "ZERODHA_API_SECRET=testzerodhasecret000000000000001",
        `BINANCE_API_KEY=${"T".repeat(64)}`,
        `BINANCE_API_SECRET=${"t".repeat(64)}`,
      ]),
    );
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain("testzerodhakey01");
    // The stop and health commands run without them.
    const probe = await runInDeployRoot(context(inventory).session, host, ["sh", "-c", 'echo "[$ZERODHA_API_KEY]"'], 10_000);
    expect(probe.stdout).toBe("[]\n");
    expect(JSON.stringify(outcome)).not.toContain("testzerodhakey01");
  }, 60_000);

  it("a start without the keys' file in place fails, naming the file", async () => {
    const inventory = await targets("exchange_keys = true");
    const host = inventory.hosts[0] as DeployHost;
    mkdirSync(join(host.path, "secrets"));
    writeFileSync(join(host.path, "secrets", "other"), "");
    const started = await runInDeployRoot(context(inventory).session, host, ["true"], 10_000, {}, true);
    expect(started.exitCode).toBe(42);
    expect(started.stderr).toBe(`no exchange keys in ${host.path}/${EXCHANGE_KEYS_FILE}: a deploy writes them\n`);
  });
});
