/**
 * The stages' deploy step with the environment's exchange keys missing or unwritable: it fails naming the
 * variable (never a value) before it reads the SSH key or reaches a host.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import type { HostCapabilities } from "../../src/engine/step.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { allStepIds } from "../../src/stages/registry.js";
import { deployTestStep } from "../../src/steps/staging/deploy-test.js";
import { EXCHANGE_KEY_VARIABLES, unreachableHostConfig } from "../helpers/serving-hosts.js";
import { tempDir } from "../helpers/temp.js";

const CONFIG = unreachableHostConfig("test");

async function deployWith(secrets: Record<string, string>): Promise<{ summary: string | undefined; read: string[] }> {
  const workspace = tempDir();
  writeFileSync(join(workspace, "minisign.pub"), "untrusted comment: k\nRWQ\n");
  const config = parsePipelineConfig(CONFIG, join(workspace, "shriven-pipeline.toml"), allStepIds());
  const read: string[] = [];
  const host: HostCapabilities = {
    workspace,
    environment: resolveEnvironment({ environment: "test", processEnv: {} }),
    secret: (name) => {
      read.push(name);
      return name === "SSH_DEPLOY_KEY" ? "not a key" : secrets[name];
    },
    who: "asha",
    state: {
      deploys: {},
      builtRelease: { dir: tempDir(), version: "1.0.0", commit: "a".repeat(40), keyId: "0123456789ABCDEF", artifacts: [] },
    },
    clock: { now: () => Date.now(), sleep: async () => undefined },
    inputs: {},
    ci: {},
  };
  const outcome = await runStage({
    stage: { name: "staging", environment: "test", description: "d", groups: [[deployTestStep]] },
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    policies: config.policies,
    services: { advisoryDatabase: () => Promise.reject(new Error("none")), today: () => "2026-12-02", host },
    jobs: 1,
  });
  expect(outcome.steps[0]?.status).toBe("failed");
  return { summary: outcome.steps[0]?.summary, read };
}

describe("the deploy step without the environment's exchange keys", () => {
  it("fails naming the missing variable, before reading the SSH key or touching a host", async () => {
    const { TEST_BINANCE_API_SECRET: _left, ...rest } = EXCHANGE_KEY_VARIABLES;
    const { summary, read } = await deployWith(rest);
    expect(summary).toBe(
      "the test exchange keys cannot be delivered to the hosts, so no host was touched: TEST_BINANCE_API_SECRET is not set (or set [deploy.test] exchange_keys = false)",
    );
    expect(read).not.toContain("SSH_DEPLOY_KEY");
    for (const value of Object.values(rest)) expect(summary).not.toContain(value);
  });

  it("fails on a value the keys' file cannot hold, naming it and not showing it", async () => {
    const { summary, read } = await deployWith({ ...EXCHANGE_KEY_VARIABLES, TEST_ZERODHA_API_KEY: "abc'; rm -rf /" });
    expect(summary).toContain("TEST_ZERODHA_API_KEY contains a single quote");
    expect(summary).not.toContain("rm -rf");
    expect(read).not.toContain("SSH_DEPLOY_KEY");
  });
});
