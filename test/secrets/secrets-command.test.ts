/**
 * `secrets check`: the preflight on the process's secrets, with their ages read from GitHub's secret metadata
 * (`GET …/actions/secrets` and `GET …/environments/{name}/secrets`, in the shapes GitHub documents) on a
 * loopback server; names and problems only.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const TOKEN = `ghs_${"a".repeat(36)}`;
const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));

/** GitHub's secret-metadata endpoints for OWNER/REPO; records the paths asked for. */
async function github(repositorySecrets: Record<string, string>, environmentSecrets: Record<string, string>) {
  const asked: string[] = [];
  const list = (secrets: Record<string, string>) => ({
    total_count: Object.keys(secrets).length,
    secrets: Object.entries(secrets).map(([name, updated]) => ({ name, created_at: "2025-01-01T00:00:00Z", updated_at: updated })),
  });
  const server = createServer((req, res) => {
    asked.push(req.url ?? "");
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `token ${TOKEN}`) return send(401, { message: "Bad credentials" });
    if (path === "/repos/acme/quant/actions/secrets") return send(200, list(repositorySecrets));
    if (path === "/repos/acme/quant/environments/production/secrets") return send(200, list(environmentSecrets));
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
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
