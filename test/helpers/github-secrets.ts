/**
 * GitHub's Actions secret-metadata endpoints on a loopback server (`GET /repos/{owner}/{repo}/actions/secrets`
 * and `GET …/environments/{name}/secrets`, in the shapes GitHub documents: names and dates, never values), and
 * well-formed secrets of each environment for the tests that pass a preflight.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll } from "vitest";
import { tempDir } from "./temp.js";

/** A GitHub token of the form GitHub issues to Actions (`ghs_` and 36 characters). */
export const SECRETS_TOKEN = `ghs_${"a".repeat(36)}`;

const servers: Server[] = [];
afterAll(() => Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve)))));

/**
 * Serves the secret metadata of `owner/repo` and its environment `environment` (name → `updated_at`) to
 * requests carrying {@link SECRETS_TOKEN}; 401 otherwise, 404 for any other path. Records the paths asked for.
 */
export async function githubSecretsServer(options: {
  repository: string;
  environment: string;
  repositorySecrets: Record<string, string>;
  environmentSecrets: Record<string, string>;
}): Promise<{ url: string; asked: string[] }> {
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
    if (req.headers.authorization !== `token ${SECRETS_TOKEN}`) return send(401, { message: "Bad credentials" });
    if (path === `/repos/${options.repository}/actions/secrets`) return send(200, list(options.repositorySecrets));
    if (path === `/repos/${options.repository}/environments/${options.environment}/secrets`)
      return send(200, list(options.environmentSecrets));
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked };
}

/** `n` random letters and digits from `alphabet`. */
export function randomText(n: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"): string {
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");
}

/** Fresh exchange keys of the shapes the venues issue, under the environment's names (`TEST_…` or `PROD_…`). */
export function exchangeKeys(environment: "test" | "production"): Record<string, string> {
  const p = environment === "test" ? "TEST" : "PROD";
  const lower = "abcdefghijklmnopqrstuvwxyz0123456789";
  return {
    [`${p}_ZERODHA_API_KEY`]: randomText(16, lower),
    [`${p}_ZERODHA_API_SECRET`]: randomText(32, lower),
    [`${p}_BINANCE_API_KEY`]: randomText(64),
    [`${p}_BINANCE_API_SECRET`]: randomText(64),
  };
}

/** An unencrypted OpenSSH ed25519 private key made with ssh-keygen. */
export function opensshKey(passphrase = ""): string {
  const file = join(tempDir(), "key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-f", file]);
  return readFileSync(file, "utf8");
}
