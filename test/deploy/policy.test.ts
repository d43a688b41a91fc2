/** `[deploy.<env>]` inventories: defaults, and every bad value refused with its key before anything runs. */
import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { type Inventory, withHosts } from "../../src/deploy/policy.js";
import { allStepIds } from "../../src/stages/registry.js";
import { configError } from "../helpers/config-error.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

function table(overrides: Record<string, string> = {}, host: Record<string, string> = {}): string {
  const env = {
    public_key: '"keys/minisign.pub"',
    binary: '"shriven-quant"',
    start: '["./current/shriven-quant", "serve"]',
    stop: '["pkill", "-f", "shriven-quant"]',
    health: '{ command = ["./current/shriven-quant", "--version"] }',
    ...overrides,
  };
  const h = { name: '"prod-1"', address: '"10.0.0.5"', user: '"deploy"', host_key: `"${KEY}"`, path: '"/opt/shrivenquant"', ...host };
  const lines = (o: Record<string, string>) =>
    Object.entries(o)
      .filter(([, v]) => v !== "")
      .map(([k, v]) => `${k} = ${v}`)
      .join("\n");
  return `[deploy.production]\n${lines(env)}\n\n[[deploy.production.hosts]]\n${lines(h)}\n`;
}

const parse = (text: string) => parsePipelineConfig(text, "shriven-pipeline.toml", allStepIds());

describe("[deploy] inventories", () => {
  it("reads an inventory with its defaults", () => {
    const inventory = parse(table()).policies.deploy.production;
    expect(inventory).toMatchObject({
      environment: "production",
      publicKey: "keys/minisign.pub",
      binary: "shriven-quant",
      retain: 5,
      health: { command: ["./current/shriven-quant", "--version"], url: undefined, timeoutMs: 5000, retries: 10, intervalMs: 1000 },
      lockStaleMs: 3_600_000,
      hosts: [{ name: "prod-1", address: "10.0.0.5", port: 22, user: "deploy", hostKey: KEY, path: "/opt/shrivenquant" }],
    });
    expect(parse(table({}, { host_key: `"SHA256:${"A".repeat(43)}"` })).policies.deploy.production?.hosts[0]?.hostKey).toMatch(/^SHA256:/);
    expect(parse("").policies.deploy).toEqual({});
  });

  it.each([
    [{}, { host_key: '"yes"' }, "host_key: expected a public key line"],
    [{}, { host_key: '"SHA256:short"' }, "host_key: expected a public key line"],
    [{}, { address: '"-oProxyCommand=sh"' }, "address: expected an IP address or DNS name"],
    [{}, { address: '"10.0.0.5; rm -rf /"' }, "address: expected an IP address or DNS name"],
    [{}, { port: "70000" }, "port: expected 1–65535"],
    [{}, { user: '"Root Admin"' }, "user: expected a POSIX user name"],
    [{}, { path: '"relative/dir"' }, "path: expected an absolute path"],
    [{}, { path: '"/opt/../etc"' }, "path: must not contain .."],
    [{}, { path: '"/"' }, "path: must not be /"],
    [{ retain: "1" }, {}, "retain: expected at least 2 (current and its predecessor)"],
    [{ binary: '"../bin"' }, {}, "binary: expected a plain file name"],
    [{ start: "[]" }, {}, "start: expected a command"],
    [{ health: '{ command = ["x"], url = "http://h/health" }' }, {}, "expected exactly one of command or url"],
    [{ health: "{ retries = 3 }" }, {}, "expected exactly one of command or url"],
    [{ health: '{ url = "not a url" }' }, {}, "health.url: expected an http(s) URL"],
    [{ public_key: "" }, {}, "public_key: "],
    [{ unknown: "1" }, {}, "deploy.production.unknown: unknown key"],
    [{ exchange_keys: '"yes"' }, {}, "deploy.production.exchange_keys: expected true or false"],
    [{ exchange_keys: "1" }, {}, "deploy.production.exchange_keys: expected true or false"],
  ])("refuses %j %j", (env, host, message) => {
    const error = configError(() => parse(table(env as Record<string, string>, host as Record<string, string>)));
    expect(error.message).toContain("shriven-pipeline.toml");
    expect(error.problems.join("\n")).toContain(message);
  });

  it("delivers the exchange keys to hosts unless exchange_keys = false", () => {
    expect(parse(table()).policies.deploy.production?.exchangeKeys).toBe(true);
    expect(parse(table({ exchange_keys: "false" })).policies.deploy.production?.exchangeKeys).toBe(false);
    expect(parse(table({ exchange_keys: "true" })).policies.deploy.production?.exchangeKeys).toBe(true);
  });

  it("refuses an environment other than test and production, no hosts, and duplicate host names", () => {
    expect(configError(() => parse(table().replaceAll("deploy.production", "deploy.staging"))).problems.join("\n")).toContain(
      "deploy.staging: unknown key",
    );
    expect(
      configError(() =>
        parse('[deploy.test]\npublic_key = "k"\nbinary = "b"\nstart = ["a"]\nstop = ["b"]\nhealth = { command = ["c"] }\nhosts = []\n'),
      ).problems.join("\n"),
    ).toContain("expected at least one host");
    const twice = `${table()}\n[[deploy.production.hosts]]\nname = "prod-1"\naddress = "10.0.0.6"\nuser = "deploy"\nhost_key = "${KEY}"\npath = "/opt/q"\n`;
    expect(configError(() => parse(twice)).problems.join("\n")).toContain("host names must be unique");
  });
});

describe("[deploy] local targets (no hosts)", () => {
  const local = (env: string, table: string, extra = "") =>
    `[deploy.${env}]\nbinary = "shriven-quant"\n${extra}\n[deploy.${env}.local]\n${table}\n`;
  const SERVE = 'serve = ["./shriven-quant", "serve", "--listen", "127.0.0.1:{port}"]';

  it("reads a [local] table with its defaults; targets set explicitly is remembered", () => {
    const inventory = parse(local("test", SERVE)).policies.deploy.test;
    expect(inventory).toMatchObject({
      hosts: [],
      publicKey: undefined,
      local: {
        targets: 1,
        explicit: false,
        serve: ["./shriven-quant", "serve", "--listen", "127.0.0.1:{port}"],
        healthPath: "/health",
        metricsPath: "/metrics",
      },
    });
    const explicit = parse(local("production", `${SERVE}\ntargets = 3\nhealth_path = "/ready"\nmetrics_path = "/m"`)).policies.deploy
      .production;
    expect(explicit?.local).toMatchObject({ targets: 3, explicit: true, healthPath: "/ready", metricsPath: "/m" });
    // Local targets get no exchange keys unless asked to.
    expect(inventory?.exchangeKeys).toBe(false);
    expect(parse(local("test", SERVE, "exchange_keys = true")).policies.deploy.test?.exchangeKeys).toBe(true);
  });

  it.each([
    ['[deploy.test]\nbinary = "b"\n', "deploy.test.hosts: expected [[hosts]] tables, or a [local] table"],
    [local("test", 'serve = ["./b", "--listen", "127.0.0.1:9100"]'), "deploy.test.local.serve: expected {port} in an argument"],
    [local("test", `${SERVE}\ntargets = 0`), "deploy.test.local.targets: expected at least 1"],
    [local("test", `${SERVE}\ntargets = 9`), "deploy.test.local.targets: expected at most 8"],
    [local("test", `${SERVE}\nhealth_path = "health"`), 'deploy.test.local.health_path: expected a URL path starting with "/"'],
    [local("test", `${SERVE}\nhosts = 1`), "deploy.test.local.hosts: unknown key"],
    [local("test", SERVE, 'start = ["x"]'), "deploy.test.start: only hosts take it"],
    [local("test", SERVE, 'health = { command = ["x"] }'), "deploy.test.health: only hosts take it"],
    [`${table()}\n[deploy.production.local]\n${SERVE}\n`, "deploy.production.local: expected [[hosts]] or [local], not both"],
    [table({ public_key: "" }).replace("public_key = \n", ""), "deploy.production.public_key: required with [[hosts]]"],
    [table({ start: "" }), "deploy.production.start: required with [[hosts]]"],
  ])("refuses %j", (text, message) => {
    expect(configError(() => parse(text)).problems.join("\n")).toContain(message);
  });

  it("the deploy and rollback commands refuse an environment without hosts, naming the local run", () => {
    const inventory = parse(local("production", SERVE)).policies.deploy.production as Inventory;
    expect(() => withHosts(inventory, "shriven-pipeline.toml")).toThrow(
      "[deploy.production] in shriven-pipeline.toml has no hosts: its local targets are deployed to only by a local run of a stage (scripts/deploy/local-deploy.sh, run … --local)",
    );
  });
});
