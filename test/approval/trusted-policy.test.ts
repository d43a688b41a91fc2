/**
 * The approval policy from a trusted ref (src/approval/trusted-policy.ts) on a real git repository, the wait's
 * start (wait-start.ts) and GitHub's record of the run (github-reviews.ts) on a loopback API.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey } from "../../src/adapters/minisign.js";
import { ApprovalError } from "../../src/approval/approval-error.js";
import { workflowRunFromGitHub } from "../../src/approval/github-reviews.js";
import { parseApprovalTable } from "../../src/approval/policy.js";
import { authorFromGitHubRun } from "../../src/approval/tag-author.js";
import { type GitRunner, readTrustedPolicy } from "../../src/approval/trusted-policy.js";
import { waitStart } from "../../src/approval/wait-start.js";
import { ConfigError } from "../../src/core/errors.js";
import { OWNER, REPO, TOKEN } from "../helpers/fake-github.js";
import { fakeActionsRun } from "../helpers/fake-github-actions.js";
import { tempDir } from "../helpers/temp.js";

const keyLine = (name: string) =>
  formatPublicKey(loadSigningKey(randomBytes(32).toString("hex"), name))
    .trim()
    .split("\n")
    .at(-1);
const RAVI = keyLine("ravi");
const MEERA = keyLine("meera");

async function repository(): Promise<{ dir: string; git: GitRunner; run: (...args: string[]) => Promise<string> }> {
  const dir = tempDir("shriven-policy-");
  const run = async (...args: string[]) =>
    (await execa("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir })).stdout.trim();
  const git: GitRunner = async (args) => {
    const r = await execa("git", args, { cwd: dir, reject: false });
    return { exitCode: r.exitCode ?? null, stdout: r.stdout, stderr: r.stderr };
  };
  await run("init", "-q");
  return { dir, git, run };
}

const TEAM = `[approval]\nwait_minutes = 45\napprovers = [{ name = "ravi", public_key = "${RAVI}" }, { name = "meera", public_key = "${MEERA}" }]\n`;

describe("the trusted approval policy", () => {
  it("is the ref's table; the checkout's different table is listed, not used", async () => {
    const { dir, git, run } = await repository();
    writeFileSync(join(dir, "shriven-pipeline.toml"), TEAM);
    await run("add", "-A");
    await run("commit", "-qm", "policy");
    await run("update-ref", "refs/remotes/origin/main", "HEAD");
    const checkout = parseApprovalTable({ wait_minutes: 0, approvers: [{ name: "ravi", public_key: RAVI }] }, "shriven-pipeline.toml");
    const trusted = await readTrustedPolicy(git, "origin/main", "shriven-pipeline.toml", checkout);
    expect(trusted.policy.waitMinutes).toBe(45);
    expect(trusted.policy.approvers.map((a) => a.name)).toEqual(["ravi", "meera"]);
    expect(trusted.commit).toBe(await run("rev-parse", "HEAD"));
    expect(trusted.differences).toEqual(["wait_minutes 0 instead of 45", "trusted approvers or keys missing or changed: meera"]);
    const same = await readTrustedPolicy(git, "origin/main", "shriven-pipeline.toml", trusted.policy);
    expect(same.differences).toEqual([]);
  });

  it("a ref without the file, an option-like ref and an invalid table are clear errors", async () => {
    const { dir, git, run } = await repository();
    writeFileSync(join(dir, "README"), "x");
    await run("add", "-A");
    await run("commit", "-qm", "no config");
    const policy = parseApprovalTable(undefined, "x");
    await expect(readTrustedPolicy(git, "HEAD", "shriven-pipeline.toml", policy)).rejects.toThrow(
      /^cannot read the approval policy: HEAD \([0-9a-f]{12}\) has no shriven-pipeline\.toml/,
    );
    await expect(readTrustedPolicy(git, "--output=/tmp/x", "shriven-pipeline.toml", policy)).rejects.toThrow(ApprovalError);
    writeFileSync(join(dir, "shriven-pipeline.toml"), "[approval]\nrequired = 1\n");
    await run("add", "-A");
    await run("commit", "-qm", "bad");
    const error = await readTrustedPolicy(git, "HEAD", "shriven-pipeline.toml", policy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).source).toBe("HEAD:shriven-pipeline.toml");
    expect((error as ConfigError).problems[0]).toMatch(/^approval\.required: expected at least 2/);
  });
});

describe("the protected branch a release must be on", () => {
  it("is the trusted ref's [release] protected_branch, else the ref's own branch; never the checkout's", async () => {
    const { dir, git, run } = await repository();
    writeFileSync(join(dir, "shriven-pipeline.toml"), TEAM);
    await run("add", "-A");
    await run("commit", "-qm", "policy");
    await run("update-ref", "refs/remotes/origin/trunk", "HEAD");
    const policy = parseApprovalTable(undefined, "x");
    for (const ref of ["origin/trunk", "refs/remotes/origin/trunk"])
      expect((await readTrustedPolicy(git, ref, "shriven-pipeline.toml", policy)).protectedBranch).toBe("trunk");
    writeFileSync(join(dir, "shriven-pipeline.toml"), `${TEAM}[release]\nprotected_branch = "release"\n`);
    await run("commit", "-qam", "release branch");
    await run("update-ref", "refs/remotes/origin/trunk", "HEAD");
    expect((await readTrustedPolicy(git, "origin/trunk", "shriven-pipeline.toml", policy)).protectedBranch).toBe("release");
    // A tagged commit naming a branch of its own changes nothing: only the ref's file is read.
    writeFileSync(join(dir, "shriven-pipeline.toml"), `${TEAM}[release]\nprotected_branch = "my-branch"\n`);
    expect((await readTrustedPolicy(git, "origin/trunk", "shriven-pipeline.toml", policy)).protectedBranch).toBe("release");
  });

  it.each([
    ['"--upload-pack=x"', /protected_branch "--upload-pack=x" is not a branch name/],
    ["42", /protected_branch 42 is not a branch name/],
    ['"a..b"', /protected_branch "a\.\.b" is not a branch name/],
  ])("refuses protected_branch = %s at the ref, naming ref and file", async (value, message) => {
    const { dir, git, run } = await repository();
    writeFileSync(join(dir, "shriven-pipeline.toml"), `[release]\nprotected_branch = ${value}\n`);
    await run("add", "-A");
    await run("commit", "-qm", "bad branch");
    const error = readTrustedPolicy(git, "HEAD", "shriven-pipeline.toml", parseApprovalTable(undefined, "x"));
    await expect(error).rejects.toThrow(message);
    await expect(error).rejects.toThrow(/^HEAD:shriven-pipeline\.toml: \[release\]/);
  });
});

describe("the wait's start", () => {
  const run = new Date("2026-11-28T05:00:00Z");
  it("is the latest recorded time, else the run's start; never earlier than GitHub's record of the push", () => {
    expect(waitStart({ runStartedAt: run })).toEqual({ at: run, from: "the start of this run (2026-11-28T05:00:00Z)" });
    const pushedAt = new Date("2026-11-28T04:40:00Z");
    const earlier = new Date("2026-11-26T04:40:00Z");
    expect(waitStart({ given: earlier, pushedAt, runStartedAt: run }).at).toEqual(pushedAt);
    const later = new Date("2026-11-28T04:50:00Z");
    expect(waitStart({ given: later, pushedAt, runStartedAt: run })).toEqual({ at: later, from: "--wait-starts-at 2026-11-28T04:50:00Z" });
    expect(() => waitStart({ runStartedAt: new Date(Number.NaN) })).toThrow(RangeError);
  });
});

describe("GitHub's record of the tag-push run", () => {
  const sha = "4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e";
  const tag = { tag: "v1.2.3", commit: sha, tagger: "x", taggerEmail: "x@example.com" };
  it("gives the push time and the pusher; a run of another commit or event is refused", async () => {
    const createdAt = new Date("2026-11-28T04:30:00Z");
    const api = await fakeActionsRun({ id: 42, tag: "v1.2.3", sha, actor: "asha", triggeringActor: "kiran", createdAt }, []);
    const run = await workflowRunFromGitHub({ token: TOKEN, owner: OWNER, repo: REPO, runId: 42, baseUrl: api.baseUrl });
    expect(run).toEqual({ createdAt, actor: "asha", triggeringActor: "kiran", event: "push", headBranch: "v1.2.3", headSha: sha });
    expect(authorFromGitHubRun(run, tag, 42)).toEqual({
      name: "asha",
      how: "asha pushed v1.2.3 (GitHub's record of run 42)",
      others: ["kiran"],
    });
    expect(() => authorFromGitHubRun({ ...run, event: "workflow_dispatch" }, tag, 42)).toThrow(/^run 42 is not the push of v1\.2\.3/);
    expect(() => authorFromGitHubRun({ ...run, headBranch: "v1.2.4" }, tag, 42)).toThrow(ApprovalError);
  });

  it("a missing run and a refused token are clear errors that never show the token", async () => {
    const api = await fakeActionsRun({ id: 42, tag: "v1.2.3", sha, actor: "asha", createdAt: new Date() }, []);
    await expect(workflowRunFromGitHub({ token: TOKEN, owner: OWNER, repo: REPO, runId: 43, baseUrl: api.baseUrl })).rejects.toThrow(
      /^reading run 43 of shriven\/quant: run 43 of shriven\/quant not found/,
    );
    const wrong = "ghp_wrongTokenNeverPrinted000000000000000";
    const error = await workflowRunFromGitHub({ token: wrong, owner: OWNER, repo: REPO, runId: 42, baseUrl: api.baseUrl }).catch(
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(ApprovalError);
    expect((error as Error).message).toMatch(/GitHub rejected the token \(HTTP 401/);
    expect((error as Error).message).not.toContain(wrong);
  });
});
