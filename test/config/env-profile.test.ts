import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROFILE_DEFAULTS, readEnvFiles, resolveEnvironment } from "../../src/config/env-profile.js";
import { configError } from "../helpers/config-error.js";
import { tempFiles } from "../helpers/temp.js";

describe("resolveEnvironment", () => {
  it("gives the pipeline document's production profile by default", () => {
    const env = resolveEnvironment({ environment: "production" });
    expect(env.variables).toEqual({
      ENVIRONMENT: "production",
      TRADING_MODE: "live",
      MAX_POSITION_SIZE: "10000",
      MAX_DAILY_LOSS: "5000000",
      RISK_CHECK_ENABLED: "true",
      MONITORING_ENABLED: "true",
      ALERTING_ENABLED: "true",
      CPU_AFFINITY: "true",
      PERFORMANCE_MODE: "ultra_low_latency",
    });
    expect(env.profile.MAX_DAILY_LOSS).toBe(5_000_000);
    expect(env.profile.CPU_AFFINITY).toBe(true);
  });

  it("gives the pipeline document's test profile by default", () => {
    const env = resolveEnvironment({ environment: "test" });
    expect(env.profile).toMatchObject({
      ENVIRONMENT: "test",
      TRADING_MODE: "paper",
      MAX_POSITION_SIZE: 1000,
      MAX_DAILY_LOSS: 100000,
      RISK_CHECK_ENABLED: true,
      MONITORING_ENABLED: true,
    });
  });

  it("applies env files in order, then the process environment, and records origins", () => {
    const dir = tempFiles({ "a.env": "MAX_POSITION_SIZE=500\nMAX_DAILY_LOSS=2000\n", "b.env": "MAX_POSITION_SIZE=0.5\n" });
    const env = resolveEnvironment({
      environment: "test",
      envFiles: readEnvFiles([join(dir, "a.env"), join(dir, "b.env")]),
      processEnv: { MAX_DAILY_LOSS: "3000", UNRELATED: "x" },
    });
    expect(env.profile.MAX_POSITION_SIZE).toBe(0.5);
    expect(env.profile.MAX_DAILY_LOSS).toBe(3000);
    expect(env.origins.MAX_POSITION_SIZE).toBe(`${join(dir, "b.env")}:1`);
    expect(env.origins.MAX_DAILY_LOSS).toBe("process environment");
    expect(env.origins.TRADING_MODE).toBe("default");
    expect(env.variables).not.toHaveProperty("UNRELATED");
  });

  it("keeps secrets apart from the variables steps and reports see", () => {
    const dir = tempFiles({ "t.env": "TEST_BINANCE_API_KEY=abc123secret\n" });
    const env = resolveEnvironment({
      environment: "test",
      envFiles: readEnvFiles([join(dir, "t.env")]),
      processEnv: { TEST_BINANCE_API_SECRET: "s3cr3t" },
    });
    expect(env.secrets).toEqual({ TEST_BINANCE_API_KEY: "abc123secret", TEST_BINANCE_API_SECRET: "s3cr3t" });
    expect(JSON.stringify(env.variables)).not.toContain("secret");
  });

  it.each([
    ["production with TRADING_MODE=paper", "production", { TRADING_MODE: "paper" }, "TRADING_MODE", "expected live"],
    ["test with TRADING_MODE=live", "test", { TRADING_MODE: "live" }, "TRADING_MODE", "only production may trade live"],
    ["a negative limit", "test", { MAX_POSITION_SIZE: "-5" }, "MAX_POSITION_SIZE", "expected a positive number"],
    ["a zero limit", "test", { MAX_DAILY_LOSS: "0" }, "MAX_DAILY_LOSS", "greater than 0"],
    ["a non-numeric limit", "test", { MAX_DAILY_LOSS: "1e6" }, "MAX_DAILY_LOSS", "expected a positive number"],
    ["a bad boolean", "test", { RISK_CHECK_ENABLED: "yes" }, "RISK_CHECK_ENABLED", "expected true or false"],
    ["risk checks off in test", "test", { RISK_CHECK_ENABLED: "false" }, "RISK_CHECK_ENABLED", "cannot be disabled in test"],
    ["monitoring off in production", "production", { MONITORING_ENABLED: "false" }, "MONITORING_ENABLED", "cannot be disabled"],
    ["alerting off in production", "production", { ALERTING_ENABLED: "false" }, "ALERTING_ENABLED", "cannot be disabled in production"],
    ["the wrong ENVIRONMENT", "test", { ENVIRONMENT: "production" }, "ENVIRONMENT", "this stage runs in the test environment"],
    ["an unknown ENVIRONMENT", "test", { ENVIRONMENT: "qa" }, "ENVIRONMENT", "expected development, test or production"],
    ["an unknown PERFORMANCE_MODE", "production", { PERFORMANCE_MODE: "fast" }, "PERFORMANCE_MODE", "expected standard"],
  ] as const)("rejects %s, naming the key, value and origin", (_, environment, processEnv, key, reason) => {
    const error = configError(() => resolveEnvironment({ environment, processEnv }));
    const line = error.problems.find((p) => p.startsWith(key));
    expect(line).toBeDefined();
    expect(line).toContain(reason);
    expect(line).toContain(`"${processEnv[key as keyof typeof processEnv]}"`);
    expect(line).toContain("(from process environment)");
  });

  it("drops another environment's secrets from the process environment and names them as misplaced", () => {
    const test = resolveEnvironment({
      environment: "test",
      processEnv: {
        PROD_BINANCE_API_KEY: "p".repeat(64),
        TEST_BINANCE_API_KEY: "t".repeat(64),
        GITHUB_TOKEN: "g",
        PROD_ZERODHA_API_KEY: "",
      },
    });
    expect(test.secrets).toEqual({ TEST_BINANCE_API_KEY: "t".repeat(64) });
    expect(test.misplacedSecrets).toEqual(["GITHUB_TOKEN", "PROD_BINANCE_API_KEY"]);
    const production = resolveEnvironment({ environment: "production", processEnv: { TEST_ZERODHA_API_SECRET: "x", SSH_DEPLOY_KEY: "k" } });
    expect(production.misplacedSecrets).toEqual(["TEST_ZERODHA_API_SECRET"]);
    expect(JSON.stringify(production.misplacedSecrets)).not.toContain('"x"');
  });

  it("names the env file and line of a bad value", () => {
    const dir = tempFiles({ "prod.env": "ENVIRONMENT=production\nTRADING_MODE=paper\n" });
    const error = configError(() => resolveEnvironment({ environment: "production", envFiles: readEnvFiles([join(dir, "prod.env")]) }));
    expect(error.message).toContain(`TRADING_MODE = "paper" (from ${join(dir, "prod.env")}:2)`);
  });

  it("rejects an unknown key in an env file, listing the known ones", () => {
    const dir = tempFiles({ "t.env": "MAX_POSITON_SIZE=10\n" });
    const error = configError(() => resolveEnvironment({ environment: "test", envFiles: readEnvFiles([join(dir, "t.env")]) }));
    expect(error.source).toBe(join(dir, "t.env"));
    expect(error.problems[0]).toMatch(/^line 1: MAX_POSITON_SIZE: unknown key; expected one of: ENVIRONMENT, .*MAX_POSITION_SIZE/);
  });

  it("refuses production secrets in a test env file without echoing them", () => {
    const dir = tempFiles({ "t.env": "PROD_BINANCE_API_SECRET=very-secret-value\n" });
    const error = configError(() => resolveEnvironment({ environment: "test", envFiles: readEnvFiles([join(dir, "t.env")]) }));
    expect(error.message).toContain("is a production secret and must not be given to the test environment");
    expect(error.message).not.toContain("very-secret-value");
  });

  it("rejects secrets in development, which has none", () => {
    const dir = tempFiles({ "d.env": "TEST_BINANCE_API_KEY=k\n" });
    expect(
      configError(() => resolveEnvironment({ environment: "development", envFiles: readEnvFiles([join(dir, "d.env")]) })).message,
    ).toContain("is a test secret");
  });

  it("rejects an empty secret", () => {
    const dir = tempFiles({ "t.env": "SSH_DEPLOY_KEY=\n" });
    expect(configError(() => resolveEnvironment({ environment: "test", envFiles: readEnvFiles([join(dir, "t.env")]) })).message).toContain(
      "SSH_DEPLOY_KEY: secret is empty",
    );
  });

  it.each([
    ["a missing file", (dir: string) => join(dir, "nope.env"), "file not found"],
    ["a directory", (dir: string) => dir, "is a directory"],
    ["a file that is not UTF-8", (dir: string) => join(dir, "latin1.env"), "not valid UTF-8"],
  ])("rejects %s", (_, pick, reason) => {
    const dir = tempFiles({});
    writeFileSync(join(dir, "latin1.env"), Buffer.from("MAX_DAILY_LOSS=caf\xe9\n", "latin1"));
    const file = pick(dir);
    const error = configError(() => resolveEnvironment({ environment: "test", envFiles: readEnvFiles([file]) }));
    expect(error.source).toBe(file);
    expect(error.problems[0]).toContain(reason);
  });

  it("forces paper in a local rehearsal of production, whatever the files and the environment say", () => {
    const resolved = resolveEnvironment({
      environment: "production",
      envFiles: [{ name: "prod.env", text: "TRADING_MODE=live\n" }],
      processEnv: { TRADING_MODE: "live" },
      forcePaper: "--local (a local rehearsal)",
    });
    expect(resolved.profile.TRADING_MODE).toBe("paper");
    expect(resolved.variables.TRADING_MODE).toBe("paper");
    expect(resolved.origins.TRADING_MODE).toBe("forced by --local (a local rehearsal)");
    expect(resolved.profile.ENVIRONMENT).toBe("production");
    // Everything else of production still holds: a test profile is still refused.
    expect(
      configError(() => resolveEnvironment({ environment: "production", processEnv: { ENVIRONMENT: "test" }, forcePaper: "--local" })),
    ).toMatchObject({ problems: [`ENVIRONMENT = "test" (from process environment): this stage runs in the production environment`] });
  });

  it("has defaults that pass their own validation for every environment", () => {
    for (const environment of ["development", "test", "production"] as const) {
      expect(resolveEnvironment({ environment }).variables).toEqual(PROFILE_DEFAULTS[environment]);
    }
  });
});
