/**
 * The secrets preflight step, first in staging and production: it fails on a misplaced, malformed or missing
 * secret and on a key past production's limit, lets a local run go on without the keys it does not need, reads
 * production's rotation limits and declared dates from the trusted ref (never the tagged checkout's), and reads
 * ages from GitHub's secret metadata when asked — naming secrets, never showing a value.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import type { HostCapabilities, RunInputs, StepResult } from "../../src/engine/step.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { productionStage } from "../../src/stages/production.js";
import { allStepIds } from "../../src/stages/registry.js";
import { stagingStage } from "../../src/stages/staging.js";
import { secretsPreflightStep } from "../../src/steps/shared/secrets-preflight.js";
import { exchangeKeys, githubSecretsServer, opensshKey, SECRETS_TOKEN } from "../helpers/github-secrets.js";
import { tempDir } from "../helpers/temp.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const daysAgo = (n: number) => new Date(NOW - n * 86_400_000).toISOString().slice(0, 10);

let sshKey: string;
beforeAll(() => {
  sshKey = opensshKey();
});

/** Every secret `environment` needs, well-formed. */
function secretsOf(environment: "test" | "production"): Record<string, string> {
  return {
    ...exchangeKeys(environment),
    SSH_DEPLOY_KEY: sshKey,
    RELEASE_SIGNING_KEY: randomBytes(32).toString("hex"),
    SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0AAAAAA/B0BBBBBB/cccccccccccccccccccccccc",
  };
}

/** A workspace whose `main` branch holds `trusted` as its pipeline config, with `checkout` in the working tree. */
function workspaceWith(trusted: string, checkout: string): string {
  const workspace = tempDir();
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: workspace, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  writeFileSync(join(workspace, "shriven-pipeline.toml"), trusted);
  git("add", ".");
  git("commit", "-q", "-m", "trusted policy");
  writeFileSync(join(workspace, "shriven-pipeline.toml"), checkout);
  return workspace;
}

async function runPreflight(options: {
  environment: "test" | "production";
  env: Record<string, string>;
  trusted?: string;
  checkout?: string;
  inputs?: RunInputs;
  ci?: Record<string, string>;
}): Promise<StepResult> {
  const checkout = options.checkout ?? "";
  const workspace = workspaceWith(options.trusted ?? checkout, checkout);
  const config = parsePipelineConfig(checkout, join(workspace, "shriven-pipeline.toml"), allStepIds());
  const environment = resolveEnvironment({ environment: options.environment, processEnv: options.env });
  const host: HostCapabilities = {
    workspace,
    environment,
    secret: (name) => environment.secrets[name],
    who: "asha",
    state: { deploys: {} },
    clock: { now: () => NOW, sleep: async () => undefined },
    inputs: { policyRef: "main", ...options.inputs },
    ci: options.ci ?? {},
  };
  const outcome = await runStage({
    stage: {
      name: options.environment === "test" ? "staging" : "production",
      environment: options.environment,
      description: "d",
      groups: [[secretsPreflightStep]],
    },
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    policies: config.policies,
    services: { advisoryDatabase: () => Promise.reject(new Error("none")), today: () => "2026-12-02", host },
    jobs: 1,
  });
  const step = outcome.steps[0] as StepResult;
  // Names and problems only: no value of any secret the run was given, in any form the report keeps.
  const shown = JSON.stringify(step);
  for (const value of Object.values(options.env)) if (value.length >= 12) expect(shown).not.toContain(value.trim().slice(0, 16));
  return step;
}

describe("the secrets preflight step", () => {
  it("is the first group of staging and of production", () => {
    expect(stagingStage.groups[0]).toEqual([secretsPreflightStep]);
    expect(productionStage.groups[0]).toEqual([secretsPreflightStep]);
  });

  it("passes a complete, well-formed test environment", async () => {
    const step = await runPreflight({ environment: "test", env: secretsOf("test") });
    expect(step.status).toBe("passed");
    expect(step.summary).toBe("7 of the test secrets present and well-formed (6 required)");
  });

  it("fails a test run given a production key, naming it (the value is never read)", async () => {
    const step = await runPreflight({ environment: "test", env: { ...secretsOf("test"), PROD_BINANCE_API_SECRET: "x".repeat(64) } });
    expect(step.status).toBe("failed");
    expect(step.summary).toBe(
      "1 problem(s) with the test secrets: PROD_BINANCE_API_SECRET is a production secret in the test environment: production keys never leave production",
    );
  });

  it("fails on malformed and missing secrets, naming the first three and counting the rest", async () => {
    const env = { ...secretsOf("production"), PROD_BINANCE_API_KEY: "short", SLACK_WEBHOOK_URL: "http://hooks.example/x" };
    delete (env as Record<string, string | undefined>).PROD_ZERODHA_API_KEY;
    delete (env as Record<string, string | undefined>).SSH_DEPLOY_KEY;
    const step = await runPreflight({ environment: "production", env });
    expect(step.status).toBe("failed");
    expect(step.summary).toMatch(/^4 problem\(s\) with the production secrets: PROD_ZERODHA_API_KEY is missing .*; and 1 more$/);
    expect(step.details).toEqual(
      expect.arrayContaining([
        "❌ SSH_DEPLOY_KEY is missing from the production environment",
        "❌ PROD_BINANCE_API_KEY is not a Binance API key: expected 64 letters and digits",
        "❌ SLACK_WEBHOOK_URL is not an https URL",
      ]),
    );
  });

  it("lets a local run go on without the keys a paper engine and local targets do not need, with a warning", async () => {
    const step = await runPreflight({
      environment: "test",
      env: { RELEASE_SIGNING_KEY: randomBytes(32).toString("hex") },
      inputs: { localRehearsal: true },
    });
    expect(step.status).toBe("warned");
    expect(step.details).toContain("⚠️ SSH_DEPLOY_KEY is missing from the test environment (a local run goes on without it)");
    // Malformed is still an error, local or not.
    const bad = await runPreflight({ environment: "test", env: { RELEASE_SIGNING_KEY: "nope" }, inputs: { localRehearsal: true } });
    expect(bad.status).toBe("failed");
  });

  it("in production, judges ages by the trusted ref's [secrets], not the checkout's, and says how they differ", async () => {
    const trusted = `[secrets]\nrotate_after_days = 20\nmax_age_days = 30\n[secrets.rotated]\nPROD_BINANCE_API_KEY = ${daysAgo(45)}\n`;
    const checkout = `[secrets]\nmax_age_days = 3650\n[secrets.rotated]\nPROD_BINANCE_API_KEY = ${daysAgo(1)}\n`;
    const step = await runPreflight({ environment: "production", env: secretsOf("production"), trusted, checkout });
    expect(step.status).toBe("failed");
    expect(step.summary).toBe(
      "1 problem(s) with the production secrets: PROD_BINANCE_API_KEY was last rotated 45 days ago, past the limit of 30: rotate it before deploying",
    );
    expect(step.details).toContain(
      `⚠️ the checkout's [secrets] differs from main, whose values apply: rotate_after_days 90 instead of 20; max_age_days 3650 instead of 30; rotated.PROD_BINANCE_API_KEY ${daysAgo(1)} instead of ${daysAgo(45)}`,
    );
    // Staging (the test environment) uses its own checkout: main itself.
    const staging = await runPreflight({
      environment: "test",
      env: secretsOf("test"),
      checkout: `[secrets]\nrotate_after_days = 5\n[secrets.rotated]\nTEST_BINANCE_API_KEY = ${daysAgo(9)}\n`,
    });
    expect(staging.status).toBe("warned");
    expect(staging.summary).toContain("TEST_BINANCE_API_KEY was last rotated 9 days ago; rotate it every 5 days");
  });

  it("fails production when the trusted ref cannot be read, naming it", async () => {
    const step = await runPreflight({ environment: "production", env: secretsOf("production"), inputs: { policyRef: "origin/nowhere" } });
    expect(step.status).toBe("failed");
    expect(step.summary).toContain("cannot read the secrets rotation policy: origin/nowhere is not a commit in this checkout");
  });

  it("in a local rehearsal without the trusted ref, goes on with the checkout's [secrets] and says so", async () => {
    const step = await runPreflight({
      environment: "production",
      env: secretsOf("production"),
      inputs: { policyRef: "origin/nowhere", localRehearsal: true },
    });
    expect(step.status).toBe("warned");
    expect(step.summary).toContain(
      "[secrets] of the checkout applies in this local rehearsal: cannot read the secrets rotation policy: origin/nowhere is not a commit",
    );
  });

  it("reads ages from GitHub's secret metadata when github_ages = true, the environment's secret winning", async () => {
    const server = await githubSecretsServer({
      repository: "acme/quant",
      environment: "production",
      repositorySecrets: { PROD_ZERODHA_API_KEY: `${daysAgo(400)}T00:00:00Z`, SSH_DEPLOY_KEY: `${daysAgo(100)}T00:00:00Z` },
      environmentSecrets: { PROD_ZERODHA_API_KEY: `${daysAgo(3)}T00:00:00Z` },
    });
    const config = "[secrets]\ngithub_ages = true\n";
    const ci = { GITHUB_REPOSITORY: "acme/quant", GITHUB_API_URL: server.url };
    const env = { ...secretsOf("production"), GITHUB_TOKEN: SECRETS_TOKEN };
    const step = await runPreflight({ environment: "production", env, trusted: config, checkout: config, ci });
    expect(step.status).toBe("warned");
    expect(step.summary).toMatch(/SSH_DEPLOY_KEY was last rotated 100 days ago; rotate it every 90 days$/);
    expect(step.details.join("\n")).not.toContain("PROD_ZERODHA_API_KEY");
    expect(server.asked.map((u) => u.split("?")[0])).toEqual([
      "/repos/acme/quant/actions/secrets",
      "/repos/acme/quant/environments/production/secrets",
    ]);
    // Without the token, production cannot judge ages it was told to read: an error, not a silent pass.
    const noToken = await runPreflight({ environment: "production", env: secretsOf("production"), trusted: config, checkout: config, ci });
    expect(noToken.status).toBe("failed");
    expect(noToken.summary).toContain("GITHUB_TOKEN github_ages = true needs GITHUB_TOKEN and GITHUB_REPOSITORY to read secret ages");
    // GitHub refusing the token is an error naming the repository, never the token.
    const refused = await runPreflight({
      environment: "production",
      env: { ...secretsOf("production"), GITHUB_TOKEN: `ghs_${"b".repeat(36)}` },
      trusted: config,
      checkout: config,
      ci,
    });
    expect(refused.status).toBe("failed");
    expect(refused.summary).toMatch(/cannot read secret ages from GitHub for acme\/quant: .*Bad credentials/);
  });

  it("skips in an environment without secrets", async () => {
    const workspace = tempDir();
    const outcome = await runStage({
      stage: { name: "dev", environment: "development", description: "d", groups: [[secretsPreflightStep]] },
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      policies: parsePipelineConfig("", join(workspace, "x.toml"), allStepIds()).policies,
      services: {
        advisoryDatabase: () => Promise.reject(new Error("none")),
        today: () => "2026-12-02",
        host: {
          workspace,
          environment: resolveEnvironment({ environment: "development", processEnv: {} }),
          secret: () => undefined,
          who: "asha",
          state: { deploys: {} },
          clock: { now: () => NOW, sleep: async () => undefined },
          inputs: {},
          ci: {},
        },
      },
      jobs: 1,
    });
    expect(outcome.steps[0]).toMatchObject({ status: "skipped", summary: "the development environment holds no secrets to check" });
  });
});
