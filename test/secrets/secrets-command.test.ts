/**
 * `secrets check`: the preflight on the process's secrets, with their ages read from GitHub's secret metadata
 * (`GET …/actions/secrets` and `GET …/environments/{name}/secrets`, in the shapes GitHub documents) on a
 * loopback server; names and problems only.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { exchangeKeys, githubSecretsServer, opensshKey, SECRETS_TOKEN } from "../helpers/github-secrets.js";
import { tempDir } from "../helpers/temp.js";

const TOKEN = SECRETS_TOKEN;

/** GitHub's secret-metadata endpoints for acme/quant and its production environment. */
function github(repositorySecrets: Record<string, string>, environmentSecrets: Record<string, string>) {
  return githubSecretsServer({ repository: "acme/quant", environment: "production", repositorySecrets, environmentSecrets });
}

const alnum = (n: number) =>
  randomBytes(n)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "x")
    .slice(0, n);

describe("secrets check", () => {
  it("reports a missing secret and an old one by name, ages from GitHub, and never a value", async () => {
    const server = await github(
      { SLACK_WEBHOOK_URL: "2026-11-01T00:00:00Z", PROD_ZERODHA_API_KEY: "2024-01-01T00:00:00Z" },
      { PROD_BINANCE_API_KEY: "2026-08-01T00:00:00Z", PROD_ZERODHA_API_KEY: "2026-11-20T00:00:00Z" },
    );
    const binance = alnum(64);
    const env = {
      GITHUB_TOKEN: TOKEN,
      PROD_ZERODHA_API_KEY: "abcdefgh12345678",
      PROD_ZERODHA_API_SECRET: "abcdefgh12345678abcdefgh12345678",
      PROD_BINANCE_API_KEY: binance,
      SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0AAAA/B0BBBB/cccccccccccccccccccccccc",
      RELEASE_SIGNING_KEY: randomBytes(32).toString("hex"),
      UNRELATED: "not a secret the preflight reads",
    };
    const run = await runCli(["secrets", "check", "--env", "production", "--repository", "acme/quant", "--github-api", server.url], {
      env,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toContain("❌ PROD_BINANCE_API_SECRET is missing from the production environment");
    expect(lines).toContain("❌ SSH_DEPLOY_KEY is missing from the production environment");
    // The environment's secret is newer than the repository's of the same name: it wins (no rotation finding).
    expect(lines.filter((l) => l.includes("PROD_ZERODHA_API_KEY"))).toEqual([]);
    expect(lines.some((l) => /^⚠️ PROD_BINANCE_API_KEY was last rotated \d+ days ago; rotate it every 90 days$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe("❌ 2 problems with the production secrets");
    expect(run.stdout).not.toContain(binance);
    expect(run.stdout).not.toContain(TOKEN);
    expect(server.asked.map((u) => u.split("?")[0])).toEqual([
      "/repos/acme/quant/actions/secrets",
      "/repos/acme/quant/environments/production/secrets",
    ]);
  });

  it("applies the workspace's [secrets] limits and declared rotation dates (--source), refusing a bad table", async () => {
    const workspace = tempDir();
    const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    writeFileSync(
      join(workspace, "shriven-pipeline.toml"),
      `[secrets]\nrotate_after_days = 10\n[secrets.rotated]\nTEST_BINANCE_API_KEY = ${day(20)}\n`,
    );
    const env = {
      ...exchangeKeys("test"),
      SSH_DEPLOY_KEY: opensshKey(),
      RELEASE_SIGNING_KEY: randomBytes(32).toString("hex"),
    };
    const run = await runCli(["secrets", "check", "--env", "test", "--source", workspace], { env });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toBe(
      "⚠️ TEST_BINANCE_API_KEY was last rotated 20 days ago; rotate it every 10 days\n✅ test secrets pass the preflight (6 checked)\n",
    );
    writeFileSync(join(workspace, "shriven-pipeline.toml"), "[secrets]\nrotated.NOT_A_SECRET = 2026-01-01\n");
    const bad = await runCli(["secrets", "check", "--env", "test", "--source", workspace], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("secrets.rotated.NOT_A_SECRET: is not a secret of the test or production environment");
  });

  it("refuses bad arguments as usage errors", async () => {
    expect((await runCli(["secrets", "check", "--env", "staging"], { env: {} })).stderr).toContain("--env: expected test or production");
    expect((await runCli(["secrets", "rotate", "--env", "test"], { env: {} })).code).toBe(2);
    const noToken = await runCli(["secrets", "check", "--env", "test", "--repository", "acme/quant"], { env: {} });
    expect(noToken).toMatchObject({ code: 2 });
    expect(noToken.stderr).toContain("set GITHUB_TOKEN");
    const badRepository = await runCli(["secrets", "check", "--env", "test", "--repository", "acme/quant/../x"], {
      env: { GITHUB_TOKEN: TOKEN },
    });
    expect(badRepository).toMatchObject({ code: 2 });
    expect(badRepository.stderr).toContain('--repository: expected OWNER/NAME, got "acme/quant/../x"');
  });
});
