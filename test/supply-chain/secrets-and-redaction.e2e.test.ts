/**
 * The secrets step on a git copy of the example (real git grep, then plain
 * grep without git), and the redaction of the run's secrets from everything a
 * failing step leaves behind: its log, outcome, report renderings, and what
 * the deploy steps write themselves (audit log, Slack notices).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_AUDIT_LOG } from "../../src/audit-log/policy.js";
import type { DeployOutcome } from "../../src/deploy/outcome.js";
import { runStage, type StageOutcome } from "../../src/engine/stage.js";
import type { HostCapabilities, Step } from "../../src/engine/step.js";
import { renderConsoleSummary } from "../../src/report/console.js";
import { renderJunit } from "../../src/report/junit.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { Redactor } from "../../src/report/redact.js";
import type { RunReport } from "../../src/report/report.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { secretsStep } from "../../src/steps/dev/secrets.js";
import { notify, recordDeploy } from "../../src/steps/shared/host.js";
import { MAX_CHECKED_LINE_LENGTH } from "../../src/supply-chain/secret-scan.js";
import { copyExample } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

/** Made-up secrets of each kind, assembled at run time so this file holds none whole. */
const PLANTED = {
  "private-key": `-----BEGIN ${"RSA"} PRIVATE KEY-----\nMIIEowIBAAKCAQEA${"x".repeat(20)}\n-----END RSA PRIVATE KEY-----\n`,
  "github-token": `GITHUB_TOKEN=gh${"p"}_${"aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"}\n`,
  "slack-webhook": `url = "https://hooks.slack.com/services/T0${"1ABCDEFG"}/B0${"2HIJKLMN"}/${"aBcDeFgHiJkLmNoPqRsTuVwX"}"\n`,
  "exchange-api-key": `BINANCE_API_SECRET=${"Zk7Qp2Lm9Xw4Rt8Vb6Nc3Hy5Js1Df0Ga"}${"Zk7Qp2Lm9Xw4Rt8Vb6Nc3Hy5Js1Df0Gb"}\n`,
  "high-entropy-assignment": `const SIGNING_KEY: &str = "${"q9F2vL7xR4mT8wZ1kP5nB3cY6hJ0sD"}";\n`,
};

/** A made-up multi-line key (LF endings): four 64-character base64 lines between armour lines split in the source. */
const KEY_LINES = (Buffer.from(Array.from({ length: 192 }, (_, i) => (i * 89 + 3) % 256))
  .toString("base64")
  .match(/.{64}/g) ?? []) as string[];
const KEY = `-----BEGIN ${"OPENSSH"} PRIVATE KEY-----\n${KEY_LINES.join("\n")}\n-----END ${"OPENSSH"} PRIVATE KEY-----\n`;
const TOKEN = ["tk", "live", "5e4d3c2b1a09f8e7d6c5b4a3"].join("_");
/** A secret JSON must escape. */
const QUOTED = ['pa"ss', "\\", "w0rd-Zq9x7Lm"].join("");
/** The base64 of TOKEN inside `ci-bot:TOKEN` that depends on TOKEN alone. */
const BASIC_MIDDLE = Buffer.from(`ci-bot:${TOKEN}`)
  .toString("base64")
  .slice(Math.ceil((8 * 7) / 6), Math.floor((8 * (7 + TOKEN.length)) / 6));
/** Parts of the secrets none of which may be left anywhere. */
const LEAKS = [...KEY_LINES, TOKEN, "w0rd-Zq9x7Lm", BASIC_MIDDLE];

function expectNoLeak(text: string): void {
  for (const leak of LEAKS) expect(text).not.toContain(leak);
}

function reportOf(outcome: StageOutcome, workspace: string): RunReport {
  return {
    schemaVersion: 1,
    tool: { name: "shriven-pipeline", version: "0" },
    stage: "dev",
    environment: { name: "development", variables: {} },
    runner: "host",
    workspace,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: 1,
    status: outcome.status,
    exitCode: 1,
    steps: outcome.steps,
  } as RunReport;
}

/** The host capabilities the deploy steps' audit and Slack helpers read, for an environment holding the test's secrets. */
function hostWith(workspace: string, webhookUrl?: string): HostCapabilities {
  const secrets: Record<string, string> = { SSH_DEPLOY_KEY: KEY, GITHUB_TOKEN: TOKEN, TEST_BINANCE_API_SECRET: QUOTED };
  if (webhookUrl !== undefined) secrets.SLACK_WEBHOOK_URL = webhookUrl;
  return {
    workspace,
    who: "tester",
    environment: { secrets },
    secret: (name: string) => secrets[name],
  } as unknown as HostCapabilities;
}

function git(dir: string, ...args: string[]): void {
  execFileSync("git", args, {
    cwd: dir,
    stdio: "ignore",
    env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" },
  });
}

async function scan(workspace: string) {
  const outcome = await runStage({
    stage: { name: "dev", environment: "development", description: "secrets", groups: [[secretsStep]] },
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    jobs: 1,
  });
  return outcome.steps[0];
}

describe("secrets step (real git grep and grep)", () => {
  it("finds no secret in the example itself", async () => {
    const copy = copyExample(tempDir());
    git(copy, "init", "-q");
    git(copy, "add", ".");
    expect(await scan(copy)).toMatchObject({ status: "passed", summary: "No secrets in tracked files" });
  });

  it("finds each planted kind in tracked files, masked, and ignores untracked ones", async () => {
    const copy = copyExample(tempDir());
    mkdirSync(join(copy, "config"));
    const files = Object.entries(PLANTED).map(([kind, text], i) => [kind, `config/planted-${i}.txt`, text] as const);
    for (const [, file, text] of files) writeFileSync(join(copy, file), text);
    writeFileSync(join(copy, "untracked.env"), PLANTED["github-token"]);
    git(copy, "init", "-q");
    git(copy, "add", ".");
    git(copy, "rm", "-q", "--cached", "untracked.env");
    const step = await scan(copy);
    expect(step?.status).toBe("failed");
    expect(step?.summary).toMatch(/^5 committed secrets: /);
    for (const [kind, file] of files) expect(step?.details).toContainEqual(expect.stringMatching(new RegExp(`^${file}:1: ${kind} `)));
    expect(step?.details.join("\n")).not.toContain("untracked.env");
    const everything = JSON.stringify(step);
    expect(everything).not.toContain("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
    expect(everything).not.toContain("Zk7Qp2Lm9Xw4Rt8Vb6Nc3Hy5Js1Df0Ga");
    expect(everything).not.toContain("q9F2vL7xR4mT8wZ1kP5nB3cY6hJ0sD");
  });

  it("scans every file with plain grep when the workspace is not a git checkout, and honours allow-listed paths", async () => {
    const copy = copyExample(tempDir());
    writeFileSync(join(copy, "leak.toml"), PLANTED["slack-webhook"]);
    mkdirSync(join(copy, "tests-fixtures"));
    writeFileSync(join(copy, "tests-fixtures", "fake.env"), PLANTED["github-token"]);
    writeFileSync(
      join(copy, "shriven-pipeline.toml"),
      '[[secrets.allow]]\npath = "tests-fixtures/**"\nreason = "made-up keys for parser tests"\n',
    );
    const { loadPipelineConfig } = await import("../../src/config/pipeline-config.js");
    const { allStepIds } = await import("../../src/stages/registry.js");
    const config = loadPipelineConfig({ workspace: copy, stepIds: allStepIds() });
    const outcome = await runStage({
      stage: { name: "dev", environment: "development", description: "secrets", groups: [[secretsStep]] },
      runner: new HostRunner({ workspace: copy }),
      workspaceDir: copy,
      jobs: 1,
      policies: config.policies,
    });
    expect(outcome.steps[0]?.summary).toBe("1 committed secret: leak.toml:1 (slack-webhook) (rotate them, then remove them from history)");
  });

  it("fails on a selected line too long to check, naming it apart from the secrets", async () => {
    const copy = copyExample(tempDir());
    mkdirSync(join(copy, "dist"));
    writeFileSync(join(copy, "dist/app.min.js"), `var api_key=k;var blob="${"x".repeat(MAX_CHECKED_LINE_LENGTH)}";\n`);
    writeFileSync(join(copy, "leak.toml"), PLANTED["slack-webhook"]);
    git(copy, "init", "-q");
    git(copy, "add", ".");
    const step = await scan(copy);
    expect(step?.status).toBe("failed");
    expect(step?.summary).toBe(
      "1 committed secret: leak.toml:1 (slack-webhook) (rotate them, then remove them from history); " +
        "1 line too long to check: dist/app.min.js:1 (allow the file in [secrets] with a reason, or split the line)",
    );
  });
});

describe("redaction of the run's secrets", () => {
  it("keeps a secret that a failing step prints out of its summary, details, log, report and renderings", async () => {
    const secret = ["tk", "live", "9f8e7d6c5b4a39281706f5e4"].join("_");
    const workspace = tempDir();
    const leaky: Step = {
      id: "leaky",
      title: "Leaky",
      description: "prints its secret and fails",
      defaultTimeoutSeconds: 30,
      async run(context) {
        const result = await context.exec({
          argv: ["sh", "-c", 'echo "connecting with $TOKEN"; echo "auth failed for $TOKEN" >&2; exit 3'],
          secretEnv: ["TOKEN"],
        });
        return {
          status: "failed",
          summary: `exit ${result.exitCode}: ${result.stderr.trim()}`,
          details: [result.stdout.trim()],
          tests: [{ suite: "s", name: "t", status: "failed", message: result.output }],
          data: { raw: result.output },
        };
      },
    };
    const outcome = await runStage({
      stage: { name: "dev", environment: "development", description: "leak", groups: [[leaky]] },
      runner: new HostRunner({ workspace, secrets: { TOKEN: secret } }),
      workspaceDir: workspace,
      jobs: 1,
      logDir: join(workspace, "logs"),
      redactor: new Redactor([secret]),
    });
    const step = outcome.steps[0];
    expect(step?.summary).toBe("exit 3: auth failed for [REDACTED]");
    const log = readFileSync(join(workspace, "logs", "leaky.log"), "utf8");
    expect(log).toContain("connecting with [REDACTED]");
    const report = reportOf(outcome, workspace);
    for (const text of [log, JSON.stringify(outcome), renderConsoleSummary(report), renderMarkdown(report), renderJunit(report)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString("base64"));
    }
  });

  it("keeps every form of a secret out of the log, the step's data, tests and details, and the renderings", async () => {
    const workspace = tempDir();
    const printsForms = [
      'printf "%s\\n" "$KEY" | sed -n 3p', // one body line alone
      'printf "%s" "$KEY" | sed "s/\\$/\\r/"', // the key with CRLF endings
      'printf "Authorization: Basic %s\\n" "$(printf "ci-bot:%s" "$TOKEN" | base64 | tr -d "\\n")"',
      'printf "{\\"password\\":\\"%s\\"}\\n" "$QUOTED_IN_JSON"', // as a JSON writer escapes it
      'printf "%s" "$KEY" > key.pem',
      "exit 1",
    ].join("; ");
    const leaky: Step = {
      id: "leaky",
      title: "Leaky",
      description: "prints its secrets in several forms and keeps a tool's report file in its data",
      defaultTimeoutSeconds: 30,
      async run(context) {
        const result = await context.exec({
          argv: ["sh", "-c", printsForms],
          env: { QUOTED_IN_JSON: JSON.stringify(QUOTED).slice(1, -1) },
          secretEnv: ["KEY", "TOKEN"],
        });
        // Read from a file, not from the command's output: what the stage redacts as data.
        const key = readFileSync(join(workspace, "key.pem"), "utf8");
        const line = key.split("\n")[2] as string;
        return {
          status: "failed",
          summary: `exit ${result.exitCode}`,
          details: [line],
          tests: [{ suite: line, name: `t ${TOKEN}`, status: "failed", message: key.replaceAll("\n", "\r\n") }],
          data: {
            report: { key, crlf: key.replaceAll("\n", "\r\n"), line, password: QUOTED },
            headers: [`Basic ${Buffer.from(`ci-bot:${TOKEN}`).toString("base64")}`],
            [TOKEN]: "a key named by the secret",
          },
        };
      },
    };
    const outcome = await runStage({
      stage: { name: "dev", environment: "development", description: "leak", groups: [[leaky]] },
      runner: new HostRunner({ workspace, secrets: { KEY, TOKEN } }),
      workspaceDir: workspace,
      jobs: 1,
      logDir: join(workspace, "logs"),
      redactor: new Redactor([KEY, TOKEN, QUOTED]),
    });
    const log = readFileSync(join(workspace, "logs", "leaky.log"), "utf8");
    expect(log).toContain("Authorization: Basic ");
    expect(log).toContain('{"password":"[REDACTED]"}');
    expect(outcome.steps[0]?.details).toEqual(["[REDACTED]"]);
    const report = reportOf(outcome, workspace);
    for (const text of [log, JSON.stringify(outcome), renderConsoleSummary(report), renderMarkdown(report), renderJunit(report)]) {
      expectNoLeak(text);
    }
  });

  it("keeps the environment's secrets out of the audit entry of a deploy", () => {
    const workspace = tempDir();
    const outcome: DeployOutcome = {
      action: "deploy",
      environment: "test",
      version: "1.2.3",
      status: "failed",
      summary: `a: health check said ${JSON.stringify({ key: KEY, auth: Buffer.from(`ci-bot:${TOKEN}`).toString("base64"), QUOTED })}`,
      hosts: [{ host: "a", previous: undefined, result: "failed", detail: KEY_LINES[0] as string }],
    };
    recordDeploy(hostWith(workspace), outcome);
    const audit = readFileSync(join(workspace, DEFAULT_AUDIT_LOG), "utf8");
    expect(audit).toContain('"kind":"deploy"');
    expectNoLeak(audit);
  });

  it("keeps the environment's secrets out of a Slack notice, where Slack's escaping would hide one", async () => {
    const bodies: string[] = [];
    const server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      request.on("end", () => {
        bodies.push(body);
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/hook`;
    try {
      const escaped = `<${TOKEN}&>`;
      const undelivered = await notify(hostWith(tempDir(), url), {
        kind: "rolled-back",
        environment: "test",
        from: "1.2.3",
        to: "1.2.2",
        reason: `smoke test printed ${JSON.stringify({ key: KEY })} and ${escaped} and ${QUOTED}`,
      });
      expect(undelivered).toBeUndefined();
    } finally {
      server.close();
    }
    expect(bodies).toHaveLength(1);
    const body = bodies[0] as string;
    const texts: string[] = [];
    JSON.parse(body, (_key, value: unknown) => {
      if (typeof value === "string") texts.push(value);
      return value;
    });
    expect(texts.join("\n")).toContain("[REDACTED]");
    expectNoLeak(body);
    expectNoLeak(texts.join("\n"));
  });
});
