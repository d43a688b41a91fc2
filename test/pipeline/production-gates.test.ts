/**
 * Production's gates are not configuration: a disabled step or `--only` stops `run production` with exit 2
 * before any step (no report, no audit entry); the one way past a gate is `--emergency REASON`, which skips
 * only what the emergency procedure allows, writes an "emergency" audit entry, posts to Slack and marks the
 * report. `deploy --env production` from the CLI is refused without `--emergency`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { DEFAULT_AUDIT_LOG } from "../../src/audit-log/policy.js";
import type { CliIo } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { stageStepIds } from "../../src/engine/stage.js";
import type { RunReport } from "../../src/report/report.js";
import { productionStage } from "../../src/stages/production.js";
import { slackHook } from "../helpers/slack-hook.js";
import { tempDir } from "../helpers/temp.js";

/** A workspace with a Cargo.toml and, when given, a shriven-pipeline.toml. */
function workspace(config?: string): string {
  const dir = tempDir("shriven-prod-gates-");
  writeFileSync(join(dir, "Cargo.toml"), '[workspace]\nmembers = []\nresolver = "2"\n');
  if (config !== undefined) writeFileSync(join(dir, "shriven-pipeline.toml"), config);
  return dir;
}

async function cli(args: string[], options: { env?: Record<string, string>; testSelection?: string[] } = {}) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stderr += t) },
    env: { CI: "true", GITHUB_ACTOR: "asha", ...options.env },
    cwd: tempDir(),
    handleSignals: false,
    ...(options.testSelection === undefined ? {} : { testSelection: options.testSelection }),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

const production = (source: string, reportDir: string, extra: string[] = []) => [
  "run",
  "production",
  "--tag",
  "v1.0.0",
  "--source",
  source,
  "--report-dir",
  reportDir,
  ...extra,
];

describe("production's gates cannot be switched off", () => {
  const ids = stageStepIds(productionStage);

  it("covers every step of the production stage", () => {
    expect(ids).toEqual([
      "secrets-preflight",
      "pre-validation",
      "audit",
      "licenses",
      "promotion",
      "release-build",
      "performance",
      "hot-path",
      "approval",
      "deploy-window",
      "deploy-production",
      "monitoring",
      "github-release",
    ]);
  });

  it.each(ids)("[steps.%s] enabled = false: exit 2 before any step, naming the gate and the setting", async (id) => {
    const source = workspace(`[steps.${id}]\nenabled = false\n`);
    const reportDir = join(tempDir(), "report");
    const run = await cli(production(source, reportDir));
    expect(run.code).toBe(2);
    const title = productionStage.groups.flat().find((s) => s.id === id)?.title as string;
    expect(run.stderr).toContain(
      `production's gates cannot be switched off: [steps.${id}] enabled = false in ${join(source, "shriven-pipeline.toml")} switches off the ${title} gate`,
    );
    expect(run.stderr).toContain('run production --emergency "REASON"');
    expect(run.stdout).toBe("");
    expect(existsSync(reportDir)).toBe(false);
    expect(existsSync(join(source, DEFAULT_AUDIT_LOG))).toBe(false);
  });

  it("several disabled gates are all named", async () => {
    const source = workspace("[steps.approval]\nenabled = false\n[steps.monitoring]\nenabled = false\n");
    const run = await cli(production(source, join(tempDir(), "r")));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("[steps.approval] enabled = false");
    expect(run.stderr).toContain("[steps.monitoring] enabled = false");
  });

  it("--only in production: exit 2 naming the gates it leaves out", async () => {
    const source = workspace();
    const reportDir = join(tempDir(), "report");
    const run = await cli(production(source, reportDir, ["--only", "pre-validation,release-build,deploy-production"]));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "--only pre-validation,release-build,deploy-production leaves out the gates secrets-preflight, audit, licenses, promotion, performance, hot-path, approval, deploy-window, monitoring, github-release",
    );
    expect(existsSync(reportDir)).toBe(false);
  });

  it("a disabled step of production stays refused with --emergency", async () => {
    const source = workspace("[steps.performance]\nenabled = false\n");
    const run = await cli(production(source, join(tempDir(), "r"), ["--emergency", "exchange outage: order router fix"]));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("[steps.performance] enabled = false");
  });

  it("other stages still honour enabled = false and --only", async () => {
    const source = workspace("[steps.fmt]\nenabled = false\n");
    const reportDir = join(tempDir(), "report");
    const run = await cli(["run", "dev", "--source", source, "--report-dir", reportDir, "--only", "fmt"]);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
    expect(report.steps.find((s) => s.id === "fmt")?.summary).toBe("Disabled in the pipeline config");
    expect(report.steps.every((s) => s.status === "skipped")).toBe(true);
  });
});

describe("run production --emergency REASON", () => {
  it("needs a reason of its own: missing or short is exit 2", async () => {
    const source = workspace();
    const missing = await cli(production(source, join(tempDir(), "r"), ["--emergency"]));
    expect(missing.code).toBe(2);
    const short = await cli(production(source, join(tempDir(), "r"), ["--emergency", "  hotfix   "]));
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("--emergency: the emergency hotfix needs its own reason, at least 10 characters");
    const dev = await cli(["run", "dev", "--source", source, "--emergency", "exchange outage: order router fix"]);
    expect(dev.code).toBe(2);
    expect(dev.stderr).toContain("--emergency is an option of run production, not of run dev");
    expect(existsSync(join(source, DEFAULT_AUDIT_LOG))).toBe(false);
  });

  it("skips performance, hot path and deployment window only; audit entry, Slack, report and console say so", async () => {
    const source = workspace();
    const reportDir = join(tempDir(), "report");
    const hook = await slackHook();
    const reason = "exchange outage: order router fix";
    const run = await cli(production(source, reportDir, ["--emergency", reason]), {
      env: { SLACK_WEBHOOK_URL: hook.url },
      // The steps that need no build or host; the stage's order and fail-fast are kept.
      testSelection: ["pre-validation", "performance", "hot-path", "deploy-window"],
    });
    const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
    expect(report.emergency).toEqual({ reason, who: "asha", skipped: ["performance", "hot-path", "deploy-window"] });
    const status = (id: string) => report.steps.find((s) => s.id === id);
    for (const id of ["performance", "hot-path", "deploy-window"]) {
      expect(status(id)?.status).toBe("skipped");
      expect(status(id)?.summary).toMatch(/^Skipped by the emergency hotfix: /);
    }
    // Pre-validation still ran (and refuses a tag this workspace does not have).
    expect(status("pre-validation")?.status).toBe("failed");
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`🚨 EMERGENCY HOTFIX by asha: ${reason}`);
    expect(run.stdout).toContain("skipped: performance, hot-path, deploy-window (audit-logged)");
    // The emergency entry comes first, before any step; the run's own stage entry follows it.
    const entries = readAuditLog(join(source, DEFAULT_AUDIT_LOG)).map((l) => l.entry);
    expect(entries.map((e) => e?.kind)).toEqual(["emergency", "stage"]);
    expect(entries[0]).toMatchObject({
      kind: "emergency",
      actor: "asha",
      data: { stage: "production", version: "v1.0.0", reason, skipped: ["performance", "hot-path", "deploy-window"] },
    });
    const texts = hook.bodies.map((b) => b.text);
    expect(texts[0]).toBe(`Emergency hotfix to production: v1.0.0: ${reason}`);
    expect(report.notifications?.map((n) => n.event)).toEqual(["emergency", "stage-started", "stage-failed"]);
  });
});

describe("deploy --env production from the CLI", () => {
  it("is refused without --emergency, saying production deploys go through run production", async () => {
    const source = workspace();
    const run = await cli(["deploy", "--env", "production", "--source", source, "--release", source]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      "deploy --env production is refused: production deploys go through `shriven-pipeline run production --tag vX.Y.Z`",
    );
    expect(run.stderr).toContain('--emergency "REASON"');
    expect(existsSync(join(source, DEFAULT_AUDIT_LOG))).toBe(false);
  });

  it("--emergency needs a reason of 10 characters, and only for production", async () => {
    const source = workspace();
    const short = await cli(["deploy", "--env", "production", "--source", source, "--release", source, "--emergency", "now"]);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("--emergency: the emergency deploy needs its own reason, at least 10 characters");
    const test = await cli(["deploy", "--env", "test", "--source", source, "--release", source, "--emergency", "exchange outage fix"]);
    expect(test.code).toBe(2);
    expect(test.stderr).toContain("--emergency is for deploy --env production only");
  });
});
