/**
 * The secrets step on a git copy of the example (real git grep, then plain
 * grep without git), and the redaction of the run's secrets from everything a
 * failing step leaves behind.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Step } from "../../src/core/step.js";
import { renderConsoleSummary } from "../../src/report/console.js";
import { renderJunit } from "../../src/report/junit.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { Redactor } from "../../src/report/redact.js";
import type { RunReport } from "../../src/report/report.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { runStage } from "../../src/stages/stage.js";
import { secretsStep } from "../../src/steps/secrets.js";
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
    const report = {
      schemaVersion: 1,
      tool: { name: "shriven-pipeline", version: "0" },
      stage: "dev",
      environment: { name: "development", variables: {} },
      runner: "host",
      workspace,
      startedAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
      durationMs: 1,
      status: "failed",
      exitCode: 1,
      steps: outcome.steps,
    } as RunReport;
    for (const text of [log, JSON.stringify(outcome), renderConsoleSummary(report), renderMarkdown(report), renderJunit(report)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString("base64"));
    }
  });
});
