/**
 * Stage notifications: with the environment's SLACK_WEBHOOK_URL secret, a run
 * tells Slack (a loopback server here) that the stage started and how it
 * ended; an undeliverable notification is reported and changes nothing else.
 */

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { DEFAULT_AUDIT_LOG } from "../../src/audit-log/policy.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import type { Step } from "../../src/engine/step.js";
import { hostServices } from "../../src/pipeline/host-services.js";
import { runPipeline } from "../../src/pipeline/run-pipeline.js";
import { renderConsoleSummary } from "../../src/report/console.js";
import { runReportSchema } from "../../src/report/report.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { tempDir } from "../helpers/temp.js";

const SECRET_PATH = "/services/T0001/B0001/sEcReTwEbHoOkToKeN";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function slack(status: number): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === SECRET_PATH && req.method === "POST") bodies.push(JSON.parse(body));
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "no_service");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`, bodies };
}

const step = (id: string, pass: boolean): Step => ({
  id,
  title: id,
  description: id,
  defaultTimeoutSeconds: 30,
  run: async () => (pass ? { status: "passed", summary: "fine" } : { status: "failed", summary: "3 tests failed" }),
});

async function run(url: string, pass: boolean) {
  const workspace = tempDir();
  return runPipeline({
    stage: { name: "staging", environment: "test", description: "t", groups: [[step("build", true), step("tests", pass)]] },
    config: defaultPipelineConfig(["build", "tests"]),
    environment: resolveEnvironment({ environment: "test", processEnv: { SLACK_WEBHOOK_URL: url } }),
    runner: new HostRunner({ workspace }),
    workspaceDir: workspace,
    workspaceLabel: workspace,
    reportDir: tempDir(),
    jobs: 2,
    services: { advisoryDatabase: () => Promise.reject(new Error("unused")), today: () => "2026-11-27" },
    notify: { who: "asha", version: "v1.2.3", runUrl: "https://github.com/o/r/actions/runs/1" },
    slackOptions: { sleep: async () => {}, requestTimeoutMs: 500, totalTimeoutMs: 2000 },
  });
}

describe("stage notifications to Slack", () => {
  it("announces the start and the failure, with version, who, run link and the failed step", async () => {
    const server = await slack(200);
    const { report } = await run(server.url, false);
    expect(report.status).toBe("failed");
    expect(server.bodies.map((b) => String(b.text))).toEqual([
      expect.stringMatching(/staging.*started/i),
      expect.stringMatching(/staging.*failed/i),
    ]);
    const failed = JSON.stringify(server.bodies[1]);
    for (const part of ["v1.2.3", "asha", "https://github.com/o/r/actions/runs/1", "3 tests failed"]) expect(failed).toContain(part);
    expect(report.notifications).toEqual([
      { channel: "slack", event: "stage-started", delivered: true, attempts: 1 },
      { channel: "slack", event: "stage-failed", delivered: true, attempts: 1 },
    ]);
  });

  it("reports an undeliverable notification without failing the stage or leaking the webhook", async () => {
    const server = await slack(404);
    const { report } = await run(server.url, true);
    expect(report.status).toBe("passed");
    expect(report.exitCode).toBe(0);
    expect(report.notifications?.map((n) => [n.event, n.delivered, n.attempts])).toEqual([
      ["stage-started", false, 1],
      ["stage-passed", false, 1],
    ]);
    const text = renderConsoleSummary(report);
    expect(text).toContain("⚠️ Slack notification (stage-passed) not delivered after 1 attempt(s): HTTP 404");
    expect(JSON.stringify(report)).not.toContain("sEcReTwEbHoOkToKeN");
  });

  it("a closed port is reported after bounded retries, and the stage still passes", async () => {
    const server = await slack(200);
    const url = server.url;
    const s = servers.pop() as Server;
    await new Promise((resolve) => s.close(resolve));
    const started = performance.now();
    const { report } = await run(url, true);
    expect(report.status).toBe("passed");
    expect(report.notifications?.every((n) => !n.delivered && n.attempts === 3 && /connection refused/.test(n.error ?? ""))).toBe(true);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("without the secret, nothing is sent and the report has no notifications", async () => {
    const workspace = tempDir();
    const { report } = await runPipeline({
      stage: { name: "dev", environment: "development", description: "t", groups: [[step("build", true)]] },
      config: defaultPipelineConfig(["build"]),
      environment: resolveEnvironment({ environment: "development" }),
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      workspaceLabel: workspace,
      reportDir: tempDir(),
      jobs: 1,
      services: { advisoryDatabase: () => Promise.reject(new Error("unused")), today: () => "2026-11-27" },
      notify: { who: "asha", version: "v1" },
    });
    expect(report.notifications).toBeUndefined();
  });
});

describe("the run's audit record", () => {
  it("appends the test, benchmark and stage entries; the report and the Slack notice carry the chain head", async () => {
    const server = await slack(200);
    const workspace = tempDir();
    const environment = resolveEnvironment({ environment: "test", processEnv: { SLACK_WEBHOOK_URL: server.url } });
    const tests: Step = {
      ...step("integration-tests", false),
      run: async () => ({
        status: "failed",
        summary: "1 of 3 tests failed",
        tests: [
          { suite: "engine", name: "fills", status: "passed" },
          { suite: "engine", name: "cancels", status: "failed", message: "boom" },
          { suite: "risk", name: "limits", status: "ignored" },
        ],
      }),
    };
    const { report, files } = await runPipeline({
      stage: { name: "staging", environment: "test", description: "t", groups: [[tests, step("benchmarks", true)]] },
      config: defaultPipelineConfig(["integration-tests", "benchmarks"]),
      environment,
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      workspaceLabel: workspace,
      reportDir: tempDir(),
      jobs: 2,
      services: hostServices({ workspace, audit: defaultPipelineConfig([]).policies.audit, env: {}, environment, who: "asha" }),
      notify: { who: "asha", version: "v1.2.3" },
      slackOptions: { sleep: async () => {}, requestTimeoutMs: 500, totalTimeoutMs: 2000 },
    });
    const log = join(workspace, DEFAULT_AUDIT_LOG);
    const entries = readAuditLog(log).map((l) => l.entry);
    expect(entries.map((e) => e?.kind)).toEqual(["test", "benchmark", "stage"]);
    expect(entries[0]?.data).toMatchObject({
      stage: "staging",
      step: "integration-tests",
      total: 3,
      passed: 1,
      failed: 1,
      ignored: 1,
      failures: ["engine::cancels"],
    });
    expect(entries[1]?.data).toMatchObject({ step: "benchmarks", status: "passed", summary: "fine" });
    expect(entries[2]?.data).toMatchObject({ stage: "staging", status: "failed" });
    const verified = verifyAuditLog(log);
    expect(verified.ok).toBe(true);
    const head = { seq: 3, sha256: verified.head?.sha256 };
    expect(report.audit).toEqual({ log: DEFAULT_AUDIT_LOG, appended: 3, head });
    expect(runReportSchema.parse(JSON.parse(readFileSync(files.json, "utf8"))).audit?.head).toEqual(head);
    expect(JSON.stringify(server.bodies[1])).toContain(`seq 3 · ${head.sha256}`);
    expect(readFileSync(files.markdown, "utf8")).toContain(`chain head seq 3, sha256 \`${head.sha256}\``);
  });
});
