/**
 * The production stage's gates that need no build and no host, through the
 * CLI (the steps selected with the CLI's test hook, since production refuses `--only`): pre-production validation of the tag (missing,
 * lightweight, not checked out, not newer, prerelease), the approval gate
 * reading the run's GitHub reviews from a loopback API, and the emergency
 * override of the deployment window written to the audit log. The clock is
 * injected. The full stage runs in test/stages/production-stage.e2e.test.ts.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readAuditLog } from "../../src/audit-log/log-lines.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import type { Clock } from "../../src/core/clock.js";
import type { RunReport } from "../../src/report/report.js";
import { copyExample } from "../helpers/example.js";
import { TOKEN } from "../helpers/fake-github.js";
import { deploymentReview, fakeActionsRun } from "../helpers/fake-github-actions.js";
import { tempDir } from "../helpers/temp.js";

/** Saturday 28 November 2026, 10:00 in Mumbai. */
const SATURDAY = Date.parse("2026-11-28T10:00:00+05:30");
const MINUTE = 60_000;

const fixed = (at: number): Clock => ({ now: () => at, sleep: async () => undefined });

async function workspace(): Promise<{ source: string; git: (...args: string[]) => Promise<string> }> {
  const source = copyExample(tempDir("shriven-gates-"));
  const git = async (...args: string[]) =>
    (
      await execa("git", ["-c", "user.name=asha", "-c", "user.email=asha@shriven.example", ...args], {
        cwd: source,
        env: { GIT_COMMITTER_DATE: new Date(SATURDAY).toISOString() },
      })
    ).stdout.trim();
  await git("init", "-q");
  await git("add", "-A");
  await git("commit", "-qm", "first");
  return { source, git };
}

async function gates(source: string, tag: string, options: { clock?: Clock; env?: Record<string, string>; extra?: string[] } = {}) {
  const reportDir = tempDir("shriven-gates-report-");
  let stdout = "";
  const { main } = await import("../../src/cli/main.js");
  const code = await main(["run", "production", "--tag", tag, "--source", source, "--report-dir", reportDir, ...(options.extra ?? [])], {
    // `--only` is refused in production: the test selects the gates it exercises through the test hook.
    testSelection: ["pre-validation", "approval", "deploy-window"],
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stdout += t) },
    env: { CI: "true", ...options.env },
    cwd: source,
    handleSignals: false,
    clock: options.clock ?? fixed(SATURDAY + 31 * MINUTE),
  });
  const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
  const step = (id: string) => report.steps.find((s) => s.id === id);
  return { code, stdout, step };
}

describe("pre-production validation refuses a tag that is not a release of this checkout", () => {
  it("a tag that does not exist", async () => {
    const { source } = await workspace();
    const run = await gates(source, "v1.0.0");
    expect(run.step("pre-validation")).toMatchObject({
      status: "failed",
      summary: "v1.0.0 is not a tag of this repository (git tag --list): create and push it first",
    });
    expect(run.step("approval")?.status).toBe("skipped");
    expect(run.code).toBe(1);
  });

  it("a lightweight tag", async () => {
    const { source, git } = await workspace();
    await git("tag", "v1.0.0");
    expect((await gates(source, "v1.0.0")).step("pre-validation")?.summary).toBe(
      "v1.0.0 is a lightweight tag: production tags are annotated (git tag -a) so they record who tagged it and when",
    );
  });

  it("a tag on another commit than the checkout", async () => {
    const { source, git } = await workspace();
    await git("tag", "-a", "v1.0.0", "-m", "release");
    const tagged = await git("rev-parse", "HEAD");
    await git("commit", "--allow-empty", "-qm", "after the tag");
    const head = await git("rev-parse", "HEAD");
    expect((await gates(source, "v1.0.0")).step("pre-validation")?.summary).toBe(
      `the workspace is at ${head.slice(0, 12)}, but v1.0.0 is ${tagged.slice(0, 12)}: check out the tag`,
    );
  });

  it("a tag not newer than the latest release, and a prerelease", async () => {
    const { source, git } = await workspace();
    await git("tag", "-a", "v1.1.0", "-m", "release");
    await git("tag", "-a", "v1.0.5", "-m", "late fix");
    await git("tag", "-a", "v1.2.0-rc.1", "-m", "candidate");
    expect((await gates(source, "v1.0.5")).step("pre-validation")?.summary).toBe("v1.0.5 is not newer than the latest release v1.1.0");
    expect((await gates(source, "v1.2.0-rc.1")).step("pre-validation")?.summary).toBe(
      "v1.2.0-rc.1 is a prerelease; production takes final releases (set [release] allow_prerelease = true to allow)",
    );
  });
});

describe("the approval gate reads the run's GitHub deployment reviews", () => {
  const review = (login: string, state: "approved" | "rejected", environment = "production-approval-1") =>
    deploymentReview(login, state, [environment], state === "rejected" ? "not during the RBI announcement" : "");
  /** A workflow run started by asha's push of the tag; GitHub's API on the loopback server. */
  const ci = (api: string) => ({
    GITHUB_RUN_ID: "42",
    GITHUB_REPOSITORY: "shriven/quant",
    GITHUB_REF: "refs/tags/v1.0.0",
    GITHUB_ACTOR: "asha",
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: api,
  });

  /** The tagged workspace, its default branch (origin/main) holding the same policy, and the run's API. */
  async function tagged(reviews: unknown[]): Promise<{ source: string; api: string }> {
    const { source, git } = await workspace();
    await git("update-ref", "refs/remotes/origin/main", "HEAD");
    await git("tag", "-a", "v1.0.0", "-m", "release");
    const sha = await git("rev-parse", "HEAD");
    const { baseUrl } = await fakeActionsRun({ id: 42, tag: "v1.0.0", sha, actor: "asha", createdAt: new Date(SATURDAY) }, reviews);
    return { source, api: baseUrl };
  }

  it("two reviewers besides the tag's pusher approve; the pusher's own approval and other environments do not count", async () => {
    const { source, api } = await tagged([
      review("asha", "approved"),
      review("ravi", "approved"),
      review("kiran", "approved", "staging"),
      review("meera", "approved", "production-approval-2"),
    ]);
    const run = await gates(source, "v1.0.0", { env: ci(api) });
    expect(run.step("approval")?.status, run.stdout).toBe("passed");
    expect(run.step("approval")?.summary).toMatch(
      /^approved by ravi, meera \(2 of 2 required\); the wait timer ended at 2026-11-28T05:00:00Z; ignored: asha: the tag author cannot approve their own release$/,
    );
    expect(run.step("approval")?.details).toContain(
      "sources: 0 approval file(s) in .shriven-pipeline/approvals; 3 review(s) of run 42 (production-approval-1, production-approval-2)",
    );
    const audit = join(source, ".shriven-pipeline/audit/audit.jsonl");
    expect(verifyAuditLog(audit).ok).toBe(true);
    const recorded = readAuditLog(audit).map((l) => l.entry);
    // The run records its test and benchmark results and its verdict after the approvals.
    expect(recorded.at(-1)).toMatchObject({ kind: "stage", data: { stage: "production" } });
    expect(recorded.filter((e) => e?.kind === "approval").map((e) => [e?.kind, e?.data.approver, e?.data.source])).toEqual([
      ["approval", "ravi", "github"],
      ["approval", "meera", "github"],
    ]);
    expect(run.stdout).not.toContain(TOKEN);
  });

  it("a rejection refuses the release, naming the reviewer and the comment", async () => {
    const { source, api } = await tagged([review("ravi", "approved"), review("meera", "approved"), review("kiran", "rejected")]);
    const run = await gates(source, "v1.0.0", { env: ci(api) });
    expect(run.step("approval")).toMatchObject({
      status: "failed",
      summary: "not approved: rejected by kiran (github: not during the RBI announcement)",
    });
    expect(run.code).toBe(1);
  });

  it("a token GitHub refuses fails the gate without printing it", async () => {
    const { source, api } = await tagged([]);
    const run = await gates(source, "v1.0.0", { env: { ...ci(api), GITHUB_TOKEN: "ghp_wrongTokenNeverPrinted000000000000000" } });
    expect(run.step("approval")?.status).toBe("failed");
    expect(run.step("approval")?.summary).toMatch(/^reading run 42 of shriven\/quant: GitHub rejected the token/);
    expect(run.stdout).not.toContain("ghp_wrongTokenNeverPrinted");
  });

  it("the tagged checkout's [release] github_api_url is not where approvals are read: GitHub's GITHUB_API_URL is", async () => {
    const forged = await fakeActionsRun({ id: 42, tag: "v1.0.0", sha: "0".repeat(40), actor: "mallory", createdAt: new Date(0) }, [
      review("mallory1", "approved"),
      review("mallory2", "approved", "production-approval-2"),
    ]);
    const { source, api } = await tagged([]);
    const config = readFileSync(join(source, "shriven-pipeline.toml"), "utf8");
    writeFileSync(join(source, "shriven-pipeline.toml"), `${config}\n[release]\ngithub_api_url = "${forged.baseUrl}"\n`);
    const viaCi = await gates(source, "v1.0.0", { env: ci(api) });
    expect(viaCi.step("approval")?.summary).toBe("not approved: 0 of 2 approvals");
    expect(forged.requested).toEqual([]);
  });
});

describe("the deployment window's emergency override", () => {
  it("deploys inside market hours only with --override-window, as a warning written to the audit log", async () => {
    const { source, git } = await workspace();
    await git("tag", "-a", "v1.0.0", "-m", "release");
    const open = fixed(Date.parse("2026-11-30T11:00:00+05:30"));
    const refused = await gates(source, "v1.0.0", { clock: open });
    expect(refused.step("deploy-window")?.status).toBe("failed");
    const reason = "exchange connectivity fix, approved by the CTO";
    const run = await gates(source, "v1.0.0", { clock: open, extra: ["--override-window", reason] });
    expect(run.step("deploy-window")).toMatchObject({ status: "warned" });
    expect(run.step("deploy-window")?.summary).toMatch(
      /^deploy window overridden by [^:]+: exchange connectivity fix, approved by the CTO \(market open/,
    );
    const entries = readAuditLog(join(source, ".shriven-pipeline/audit/audit.jsonl")).map((l) => l.entry);
    const override = entries.find((e) => e?.kind === "override");
    expect(override?.data).toMatchObject({ gate: "deploy-window", reason, tag: "v1.0.0", at: "2026-11-30T05:30:00.000Z" });
    expect(String(override?.data.overridden)).toMatch(/^market open \(NSE 09:15–15:30/);
  });
});
