/**
 * Secrets preflight: every required secret present and of its kind's shape, test and production keys
 * different, no key in the other environment, none past rotation — each problem a message naming the secret
 * and never containing its value.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { preflightSecrets, type SecretEnvironment } from "../../src/secrets/preflight.js";
import { tempDir } from "../helpers/temp.js";

const NOW = new Date("2026-12-02T12:00:00Z");
const alnum = (n: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") =>
  Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join("");
const lower = (n: number) => alnum(n, "abcdefghijklmnopqrstuvwxyz0123456789");

let sshKey: string;
let encryptedSshKey: string;
beforeAll(() => {
  const dir = tempDir();
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "plain")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", join(dir, "locked")]);
  sshKey = readFileSync(join(dir, "plain"), "utf8");
  encryptedSshKey = readFileSync(join(dir, "locked"), "utf8");
});

/** A complete, well-formed set for `environment`. */
function good(environment: SecretEnvironment): Record<string, string> {
  const p = environment === "test" ? "TEST" : "PROD";
  return {
    [`${p}_ZERODHA_API_KEY`]: lower(16),
    [`${p}_ZERODHA_API_SECRET`]: lower(32),
    [`${p}_BINANCE_API_KEY`]: alnum(64),
    [`${p}_BINANCE_API_SECRET`]: alnum(64),
    SLACK_WEBHOOK_URL: `https://hooks.slack.com/services/T0${alnum(8).toUpperCase()}/B0${alnum(8).toUpperCase()}/${alnum(24)}`,
    SSH_DEPLOY_KEY: sshKey,
    RELEASE_SIGNING_KEY: randomBytes(32).toString("hex"),
  };
}

describe("secrets preflight", () => {
  it("passes a complete, well-formed set in each environment", () => {
    for (const environment of ["test", "production"] as const)
      expect(preflightSecrets({ environment, values: good(environment), now: NOW })).toEqual([]);
  });

  const cases: [string, SecretEnvironment, (v: Record<string, string>) => Record<string, string | undefined>, string, RegExp][] = [
    [
      "a missing exchange key",
      "production",
      (v) => ({ ...v, PROD_BINANCE_API_KEY: undefined }),
      "PROD_BINANCE_API_KEY",
      /is missing from the production environment/,
    ],
    ["an empty exchange secret", "test", (v) => ({ ...v, TEST_ZERODHA_API_SECRET: "" }), "TEST_ZERODHA_API_SECRET", /^is empty$/],
    ["a missing deploy key", "test", (v) => ({ ...v, SSH_DEPLOY_KEY: undefined }), "SSH_DEPLOY_KEY", /is missing/],
    [
      "production without a Slack webhook",
      "production",
      (v) => ({ ...v, SLACK_WEBHOOK_URL: undefined }),
      "SLACK_WEBHOOK_URL",
      /is missing/,
    ],
    [
      "a Kite key with uppercase letters",
      "production",
      (v) => ({ ...v, PROD_ZERODHA_API_KEY: alnum(16).toUpperCase() }),
      "PROD_ZERODHA_API_KEY",
      /is not a Kite Connect key/,
    ],
    [
      "a Binance key one character short",
      "production",
      (v) => ({ ...v, PROD_BINANCE_API_KEY: alnum(63) }),
      "PROD_BINANCE_API_KEY",
      /is not a Binance API key: expected 64/,
    ],
    [
      "a Binance secret with a trailing newline",
      "test",
      (v) => ({ ...v, TEST_BINANCE_API_SECRET: `${alnum(64)}\n` }),
      "TEST_BINANCE_API_SECRET",
      /leading or trailing whitespace/,
    ],
    [
      "a Binance secret that is neither HMAC nor PEM",
      "test",
      (v) => ({ ...v, TEST_BINANCE_API_SECRET: `${alnum(40)}!!` }),
      "TEST_BINANCE_API_SECRET",
      /is not a Binance API secret/,
    ],
    [
      "a Slack webhook over http",
      "production",
      (v) => ({ ...v, SLACK_WEBHOOK_URL: `http://hooks.slack.com/services/T0A/B0B/${alnum(24)}` }),
      "SLACK_WEBHOOK_URL",
      /is not an https URL/,
    ],
    [
      "a webhook to another host",
      "production",
      (v) => ({ ...v, SLACK_WEBHOOK_URL: `https://evil.example/services/T0A/B0B/${alnum(24)}` }),
      "SLACK_WEBHOOK_URL",
      /is not a Slack incoming webhook/,
    ],
    ["a webhook that is not a URL", "production", (v) => ({ ...v, SLACK_WEBHOOK_URL: alnum(30) }), "SLACK_WEBHOOK_URL", /is not a URL/],
    [
      "a deploy key that is a public key",
      "test",
      (v) => ({ ...v, SSH_DEPLOY_KEY: `ssh-ed25519 ${alnum(68)} deploy` }),
      "SSH_DEPLOY_KEY",
      /is not an OpenSSH private key/,
    ],
    [
      "a truncated deploy key",
      "test",
      (v) => ({ ...v, SSH_DEPLOY_KEY: `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n` }),
      "SSH_DEPLOY_KEY",
      /is a truncated OpenSSH private key/,
    ],
    [
      "a passphrase-protected deploy key",
      "production",
      (v) => ({ ...v, SSH_DEPLOY_KEY: encryptedSshKey }),
      "SSH_DEPLOY_KEY",
      /is protected by a passphrase/,
    ],
    [
      "a signing key that is no key",
      "production",
      (v) => ({ ...v, RELEASE_SIGNING_KEY: alnum(50) }),
      "RELEASE_SIGNING_KEY",
      /is not a minisign secret key/,
    ],
    [
      "a GitHub token of the wrong form",
      "production",
      (v) => ({ ...v, GITHUB_TOKEN: `token ${alnum(40)}` }),
      "GITHUB_TOKEN",
      /is not a GitHub token/,
    ],
    [
      "a production key in the test environment",
      "test",
      (v) => ({ ...v, PROD_BINANCE_API_KEY: alnum(64) }),
      "PROD_BINANCE_API_KEY",
      /is a production secret in the test environment/,
    ],
    [
      "a test key in the production environment",
      "production",
      (v) => ({ ...v, TEST_ZERODHA_API_KEY: lower(16) }),
      "TEST_ZERODHA_API_KEY",
      /is a test secret in the production environment/,
    ],
  ];

  it.each(cases)("refuses %s, naming it and never showing a value", (_what, environment, change, name, problem) => {
    const values = change(good(environment));
    const findings = preflightSecrets({ environment, values, now: NOW });
    expect(findings.filter((f) => f.name === name)).toEqual([{ name, severity: "error", problem: expect.stringMatching(problem) }]);
    const text = JSON.stringify(findings);
    for (const value of Object.values(values))
      if (value !== undefined && value.length >= 8) expect(text).not.toContain(value.trim().slice(0, 12));
  });

  it("refuses the same key in test and production, comparing digests, not text", () => {
    const values: Record<string, string> = good("production");
    values.TEST_BINANCE_API_SECRET = values.PROD_BINANCE_API_SECRET as string;
    const findings = preflightSecrets({ environment: "production", values, now: NOW });
    expect(findings).toContainEqual({
      name: "PROD_BINANCE_API_SECRET",
      severity: "error",
      problem: "has the same value as TEST_BINANCE_API_SECRET: each environment has its own keys",
    });
    expect(JSON.stringify(findings)).not.toContain(values.PROD_BINANCE_API_SECRET as string);
  });

  it("warns past rotate_after_days, and fails production past max_age_days (test only warns)", () => {
    const days = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
    const updatedAt = {
      PROD_BINANCE_API_KEY: days(95),
      PROD_ZERODHA_API_KEY: days(200),
      SSH_DEPLOY_KEY: days(30),
      SLACK_WEBHOOK_URL: days(Number.NaN),
    };
    const findings = preflightSecrets({ environment: "production", values: good("production"), updatedAt, now: NOW });
    expect(findings).toEqual([
      {
        name: "PROD_ZERODHA_API_KEY",
        severity: "error",
        problem: "was last rotated 200 days ago, past the limit of 180: rotate it before deploying",
      },
      { name: "SLACK_WEBHOOK_URL", severity: "error", problem: "has no valid rotation date" },
      { name: "PROD_BINANCE_API_KEY", severity: "warning", problem: "was last rotated 95 days ago; rotate it every 90 days" },
    ]);
    const test = preflightSecrets({ environment: "test", values: good("test"), updatedAt: { TEST_BINANCE_API_KEY: days(200) }, now: NOW });
    expect(test).toEqual([
      { name: "TEST_BINANCE_API_KEY", severity: "warning", problem: "was last rotated 200 days ago; rotate it every 90 days" },
    ]);
    const custom = preflightSecrets({
      environment: "production",
      values: good("production"),
      updatedAt: { PROD_BINANCE_API_KEY: days(31) },
      now: NOW,
      rotation: { rotateAfterDays: 30, maxAgeDays: 60 },
    });
    expect(custom.map((f) => f.severity)).toEqual(["warning"]);
  });

  it("reports the other environment's secrets the run was given by name, without their values", () => {
    const findings = preflightSecrets({
      environment: "test",
      values: good("test"),
      misplaced: ["PROD_ZERODHA_API_SECRET", "SSH_DEPLOY_KEY"],
      now: NOW,
    });
    expect(findings).toEqual([
      {
        name: "PROD_ZERODHA_API_SECRET",
        severity: "error",
        problem: "is a production secret in the test environment: production keys never leave production",
      },
    ]);
  });

  it("refuses a rotation date in the future, allowing a day for time zones and clock drift", () => {
    const at = (ms: number) => ({ PROD_BINANCE_API_KEY: new Date(NOW.getTime() + ms) });
    const future = preflightSecrets({ environment: "production", values: good("production"), updatedAt: at(3 * 86_400_000), now: NOW });
    expect(future).toEqual([
      {
        name: "PROD_BINANCE_API_KEY",
        severity: "error",
        problem: "has a rotation date 2026-12-05 in the future: a key cannot have been rotated after today",
      },
    ]);
    expect(preflightSecrets({ environment: "production", values: good("production"), updatedAt: at(60_000), now: NOW })).toEqual([]);
  });

  it("accepts a webhook relay on the runner itself (loopback), and nothing else over http", () => {
    for (const url of ["http://127.0.0.1:8080/hook", "https://localhost/relay", "http://[::1]:9/x"])
      expect(preflightSecrets({ environment: "production", values: { ...good("production"), SLACK_WEBHOOK_URL: url }, now: NOW })).toEqual(
        [],
      );
    for (const url of ["http://10.0.0.1/hook", "http://127.0.0.1.evil.example/hook", "ftp://127.0.0.1/x"])
      expect(
        preflightSecrets({ environment: "production", values: { ...good("production"), SLACK_WEBHOOK_URL: url }, now: NOW }).map(
          (f) => f.name,
        ),
      ).toEqual(["SLACK_WEBHOOK_URL"]);
  });

  it("in a local run, warns of a missing secret and still refuses a malformed one", () => {
    const values: Record<string, string | undefined> = { ...good("test"), SSH_DEPLOY_KEY: undefined, TEST_BINANCE_API_KEY: "short" };
    expect(preflightSecrets({ environment: "test", values, now: NOW, localRun: true })).toEqual([
      { name: "TEST_BINANCE_API_KEY", severity: "error", problem: "is not a Binance API key: expected 64 letters and digits" },
      {
        name: "SSH_DEPLOY_KEY",
        severity: "warning",
        problem: "is missing from the test environment (a local run goes on without it)",
      },
    ]);
  });

  it("accepts a Binance Ed25519 API key's PEM private key as its secret", () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END PRIVATE KEY-----`;
    expect(preflightSecrets({ environment: "test", values: { ...good("test"), TEST_BINANCE_API_SECRET: pem }, now: NOW })).toEqual([]);
  });
});
