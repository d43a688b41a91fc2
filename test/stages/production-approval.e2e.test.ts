/**
 * The approval gate against a tagged commit's author, through the CLI (`run production --only
 * pre-validation,approval`) on a real git repository: the policy comes from the default branch (origin/main),
 * not the tagged commit; the wait starts at GitHub's record of the tag push, not the tagger date; the author is
 * GitHub's actor of the tag-push run, or locally the approver whose SSH key signed the tag; two approvals of the
 * two approval environments must come from two people, neither the author. GitHub is a loopback server
 * answering in its documented shapes. The clock is injected.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { formatPublicKey, loadSigningKey, type SigningKey } from "../../src/adapters/minisign.js";
import { writeSignedApproval } from "../../src/approval/signed-files.js";
import type { Clock } from "../../src/core/clock.js";
import type { RunReport } from "../../src/report/report.js";
import { copyExample } from "../helpers/example.js";
import { TOKEN } from "../helpers/fake-github.js";
import { deploymentReview, fakeActionsRun } from "../helpers/fake-github-actions.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

/** Saturday 28 November 2026, 10:00 in Mumbai: the market is closed. */
const SATURDAY = Date.parse("2026-11-28T10:00:00+05:30");
const MINUTE = 60_000;
const fixed = (at: number): Clock => ({ now: () => at, sleep: async () => undefined });

const minisignKeys = Object.fromEntries(
  ["ravi", "meera", "asha", "mallory1", "mallory2"].map((name) => [name, loadSigningKey(randomBytes(32).toString("hex"), name)]),
) as Record<"ravi" | "meera" | "asha" | "mallory1" | "mallory2", SigningKey>;
const keyLine = (key: SigningKey) => formatPublicKey(key).trim().split("\n").at(-1) as string;

/** An SSH signing key pair made with ssh-keygen: the private key's path and the public key line. */
function sshKey(dir: string, name: string): { path: string; pub: string } {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path]);
  return { path, pub: readFileSync(`${path}.pub`, "utf8").trim() };
}

function approvalTable(approvers: { name: string; key: SigningKey; ssh?: string }[], extra = ""): string {
  const lines = approvers.map(
    (a) => `  { name = "${a.name}", public_key = "${keyLine(a.key)}"${a.ssh === undefined ? "" : `, ssh_key = "${a.ssh}"`} },`,
  );
  return `\n[approval]\n${extra}approvers = [\n${lines.join("\n")}\n]\n`;
}

interface Repo {
  source: string;
  git: (args: string[], env?: Record<string, string>) => Promise<string>;
  asha: { path: string; pub: string };
  eve: { path: string; pub: string };
  config: string;
}

/**
 * The example workspace as a git repository whose default branch (origin/main, as a fetch leaves it) has the
 * team's policy: ravi, meera and asha (asha signs tags with her SSH key), 30 minutes' wait, and `extra` TOML.
 */
async function repository(extra = ""): Promise<Repo> {
  const dir = tempDir("shriven-approval-");
  const source = copyExample(dir);
  const asha = sshKey(dir, "asha");
  const eve = sshKey(dir, "eve");
  const git = async (args: string[], env: Record<string, string> = {}) =>
    (
      await execa("git", ["-c", "user.name=asha", "-c", "user.email=asha@shriven.example", ...args], {
        cwd: source,
        env: { GIT_COMMITTER_DATE: new Date(SATURDAY).toISOString(), ...env },
      })
    ).stdout.trim();
  const base = readFileSync(join(source, "shriven-pipeline.toml"), "utf8");
  const config = `${base}${extra}${approvalTable([
    { name: "ravi", key: minisignKeys.ravi },
    { name: "meera", key: minisignKeys.meera },
    { name: "asha", key: minisignKeys.asha, ssh: asha.pub },
  ])}`;
  writeFileSync(join(source, "shriven-pipeline.toml"), config);
  await git(["init", "-q"]);
  await git(["add", "-A"]);
  await git(["commit", "-qm", "team policy"]);
  await git(["update-ref", "refs/remotes/origin/main", "HEAD"]);
  return { source, git, asha, eve, config };
}

/** An annotated tag, signed with `key` when given, dated `at`, with the tagger name `tagger`. */
async function tag(repo: Repo, options: { key?: string; at?: number; tagger?: string } = {}): Promise<string> {
  const args = options.key === undefined ? ["tag", "-a"] : ["-c", "gpg.format=ssh", "-c", `user.signingkey=${options.key}`, "tag", "-s"];
  await repo.git([...(options.tagger === undefined ? [] : ["-c", `user.name=${options.tagger}`]), ...args, "v1.0.0", "-m", "release"], {
    GIT_COMMITTER_DATE: new Date(options.at ?? SATURDAY).toISOString(),
  });
  return repo.git(["rev-parse", "HEAD"]);
}

async function approveWithFiles(repo: Repo, commit: string, names: ("ravi" | "meera" | "asha" | "mallory1" | "mallory2")[]) {
  const dir = join(repo.source, ".shriven-pipeline/approvals");
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    await writeSignedApproval(dir, { tag: "v1.0.0", commit, approver: name, at: new Date(SATURDAY + 5 * MINUTE) }, minisignKeys[name]);
  }
}

async function gate(source: string, options: { clock?: Clock; env?: Record<string, string>; extra?: string[] } = {}) {
  const reportDir = tempDir("shriven-approval-report-");
  let stdout = "";
  const { main } = await import("../../src/cli/main.js");
  const code = await main(
    ["run", "production", "--tag", "v1.0.0", "--source", source, "--report-dir", reportDir, ...(options.extra ?? [])],
    {
      stdout: { write: (t: string) => (stdout += t), isTTY: false },
      stderr: { write: (t: string) => (stdout += t) },
      env: { CI: "true", ...options.env },
      cwd: source,
      handleSignals: false,
      clock: options.clock ?? fixed(SATURDAY + 31 * MINUTE),
      // Production refuses `--only`: the steps under test are selected through the CLI's test hook.
      testSelection: ["pre-validation", "approval"],
    },
  );
  const report = JSON.parse(readFileSync(join(reportDir, "report.json"), "utf8")) as RunReport;
  const approval = report.steps.find((s) => s.id === "approval");
  return { code, stdout, approval, pre: report.steps.find((s) => s.id === "pre-validation") };
}

describe("the approval policy comes from the default branch, not the tagged commit", needs("sshd"), () => {
  it("a tagged commit setting wait_minutes = 0 and its own approvers is judged by origin/main's policy, with a warning", async () => {
    const repo = await repository();
    // The tagged commit's author lists two approvers whose keys they hold, with no wait.
    const hostile = `${readFileSync(join(repo.source, "shriven-pipeline.toml"), "utf8").replace(/\n\[approval\][\s\S]*$/, "\n")}${approvalTable(
      [
        { name: "mallory1", key: minisignKeys.mallory1 },
        { name: "mallory2", key: minisignKeys.mallory2 },
      ],
      "wait_minutes = 0\n",
    )}`;
    writeFileSync(join(repo.source, "shriven-pipeline.toml"), hostile);
    await repo.git(["commit", "-qam", "release prep"]);
    const commit = await tag(repo, { key: repo.asha.path });
    await approveWithFiles(repo, commit, ["mallory1", "mallory2"]);

    const run = await gate(repo.source, { clock: fixed(SATURDAY + MINUTE) });
    expect(run.approval?.status, run.stdout).toBe("failed");
    expect(run.approval?.summary).toMatch(/^not approved: 0 of 2 approvals; wait timer: 30 minutes left /);
    expect(run.approval?.summary).toContain("ignored: mallory1: unknown approver mallory1");
    const warning = run.approval?.details.find((d) => d.startsWith("warning:"));
    expect(warning).toBe(
      "warning: the tagged commit's [approval] differs from origin/main's and is not used: wait_minutes 0 instead of 30; approvers or keys not in the trusted policy: mallory1, mallory2; trusted approvers or keys missing or changed: ravi, meera, asha",
    );
    expect(run.approval?.details[0]).toMatch(/^policy: origin\/main \([0-9a-f]{12}\): 2 approvals, 30 minutes' wait$/);
    expect(run.code).toBe(1);

    // The trusted approvers' approvals and the trusted wait pass it, still warning of the tagged commit's table.
    await approveWithFiles(repo, commit, ["ravi", "meera"]);
    const approved = await gate(repo.source, {
      clock: fixed(SATURDAY + 40 * MINUTE),
      extra: ["--wait-starts-at", new Date(SATURDAY + 5 * MINUTE).toISOString()],
    });
    expect(approved.approval?.status, approved.stdout).toBe("warned");
    expect(approved.approval?.summary).toMatch(/^approved by meera, ravi \(2 of 2 required\); .*the tagged commit's \[approval\] differs/);
  });

  it("fails clearly when the trusted policy cannot be read", async () => {
    const repo = await repository();
    const commit = await tag(repo, { key: repo.asha.path });
    await approveWithFiles(repo, commit, ["ravi", "meera"]);
    const missingRef = await gate(repo.source, { extra: ["--policy-ref", "origin/release-policy"] });
    expect(missingRef.approval).toMatchObject({
      status: "failed",
      summary: expect.stringMatching(/^cannot read the approval policy: origin\/release-policy is not a commit in this checkout/),
    });
    await repo.git(["update-ref", "-d", "refs/remotes/origin/main"]);
    const noDefault = await gate(repo.source);
    expect(noDefault.approval?.summary).toMatch(/^cannot read the approval policy: origin\/main is not a commit in this checkout/);
    // A trusted variable names the branch; its invalid table names the ref, the file and the key.
    await repo.git(["update-ref", "refs/remotes/origin/policy", "HEAD"]);
    const invalidConfig = `${repo.config.replace("[approval]\n", "[approval]\nrequired = 1\n")}`;
    writeFileSync(join(repo.source, "shriven-pipeline.toml"), invalidConfig);
    await repo.git(["commit", "-qam", "policy with one approver"]);
    await repo.git(["update-ref", "refs/remotes/origin/policy", "HEAD"]);
    await repo.git(["checkout", "-q", "v1.0.0"]);
    const invalid = await gate(repo.source, { env: { SHRIVEN_POLICY_REF: "origin/policy" } });
    expect(invalid.approval?.status).toBe("failed");
    expect(invalid.approval?.summary).toContain("origin/policy:shriven-pipeline.toml");
    expect(invalid.approval?.summary).toContain("approval.required: expected at least 2");
  });
});

describe("the tag's author is a verified identity (local runs: the approver whose SSH key signed the tag)", needs("sshd"), () => {
  it("an unsigned tag, whatever name its tagger typed, is refused", async () => {
    const repo = await repository();
    const commit = await tag(repo, { tagger: "kiran" });
    await approveWithFiles(repo, commit, ["ravi", "meera"]);
    const run = await gate(repo.source, { extra: ["--wait-starts-at", new Date(SATURDAY).toISOString()] });
    expect(run.approval?.status, run.stdout).toBe("failed");
    expect(run.approval?.summary).toMatch(/^unknown author: v1\.0\.0 \(tagger "kiran"\) is refused because it is not signed; /);
    expect(run.code).toBe(1);
  });

  it("a tag signed with a key no approver holds is refused", async () => {
    const repo = await repository();
    const commit = await tag(repo, { key: repo.eve.path });
    await approveWithFiles(repo, commit, ["ravi", "meera"]);
    const run = await gate(repo.source, { extra: ["--wait-starts-at", new Date(SATURDAY).toISOString()] });
    expect(run.approval?.summary).toMatch(
      /^unknown author: v1\.0\.0 \(tagger "asha"\) is refused because it is signed with a key no approver holds/,
    );
  });

  it("a tag signed by asha has asha as its author: her approval does not count, two others pass", async () => {
    const repo = await repository();
    const commit = await tag(repo, { key: repo.asha.path, tagger: "someone-else" });
    await approveWithFiles(repo, commit, ["asha", "ravi"]);
    const waited = ["--wait-starts-at", new Date(SATURDAY).toISOString()];
    const selfApproved = await gate(repo.source, { extra: waited });
    expect(selfApproved.approval?.summary).toBe(
      "not approved: 1 of 2 approvals (ravi); ignored: asha: the tag author cannot approve their own release",
    );
    expect(selfApproved.approval?.details).toContain("author: v1.0.0 is signed with asha's SSH key");
    await approveWithFiles(repo, commit, ["meera"]);
    const approved = await gate(repo.source, { extra: waited });
    expect(approved.approval?.status, approved.stdout).toBe("passed");
  });

  it("without --wait-starts-at a local run's wait starts with the run: a tag dated two days back has not waited", async () => {
    const repo = await repository();
    const commit = await tag(repo, { key: repo.asha.path, at: SATURDAY - 2 * 24 * 60 * MINUTE });
    await approveWithFiles(repo, commit, ["ravi", "meera"]);
    const run = await gate(repo.source, { clock: fixed(SATURDAY) });
    expect(run.approval?.summary).toBe("not approved: wait timer: 30 minutes left (until 2026-11-28T05:00:00Z)");
    expect(run.approval?.details).toContain("wait started at 2026-11-28T04:30:00.000Z: the start of this run (2026-11-28T04:30:00Z)");
  });
});

describe("in GitHub Actions: the pusher as GitHub records it, two people across the two approval environments", needs("sshd"), () => {
  const ENV1 = "production-approval-1";
  const ENV2 = "production-approval-2";
  const ci = (baseUrl: string) => ({
    GITHUB_RUN_ID: "42",
    GITHUB_REPOSITORY: "shriven/quant",
    GITHUB_REF: "refs/tags/v1.0.0",
    GITHUB_ACTOR: "asha",
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: baseUrl,
  });
  async function run(reviews: unknown[], options: { backdated?: boolean; pushedAt?: number; triggeringActor?: string; sha?: string } = {}) {
    const repo = await repository();
    const commit = await tag(repo, options.backdated === true ? { at: SATURDAY - 2 * 24 * 60 * MINUTE } : {});
    const api = await fakeActionsRun(
      {
        id: 42,
        tag: "v1.0.0",
        sha: options.sha ?? commit,
        actor: "asha",
        createdAt: new Date(options.pushedAt ?? SATURDAY),
        ...(options.triggeringActor === undefined ? {} : { triggeringActor: options.triggeringActor }),
      },
      reviews,
    );
    const result = await gate(repo.source, { env: ci(api.baseUrl) });
    expect(result.stdout).not.toContain(TOKEN);
    return { ...result, requested: api.requested };
  }

  it("two different reviewers of the two environments approve; the wait started at the push", async () => {
    const result = await run([deploymentReview("ravi", "approved", [ENV1]), deploymentReview("meera", "approved", [ENV2])]);
    expect(result.approval?.status, result.stdout).toBe("passed");
    expect(result.approval?.summary).toBe("approved by ravi, meera (2 of 2 required); the wait timer ended at 2026-11-28T05:00:00Z");
    expect(result.approval?.details).toEqual(
      expect.arrayContaining([
        "author: asha pushed v1.0.0 (GitHub's record of run 42)",
        "wait started at 2026-11-28T04:30:00.000Z: the tag push (run created 2026-11-28T04:30:00Z)",
        `sources: 0 approval file(s) in .shriven-pipeline/approvals; 2 review(s) of run 42 (${ENV1}, ${ENV2})`,
      ]),
    );
    expect(result.requested).toEqual(["GET /repos/shriven/quant/actions/runs/42", "GET /repos/shriven/quant/actions/runs/42/approvals"]);
  });

  it("one person approving both environments is one approval", async () => {
    const result = await run([deploymentReview("ravi", "approved", [ENV1]), deploymentReview("ravi", "approved", [ENV2])]);
    expect(result.approval?.summary).toBe("not approved: 1 of 2 approvals (ravi); ignored: ravi: already counted: an approver counts once");
    const both = await run([deploymentReview("Ravi", "approved", [ENV1, ENV2])]);
    expect(both.approval?.summary).toBe("not approved: 1 of 2 approvals (Ravi)");
  });

  it("the pusher's approval, or a re-runner's, does not count", async () => {
    const result = await run([deploymentReview("asha", "approved", [ENV1]), deploymentReview("ravi", "approved", [ENV2])]);
    expect(result.approval?.summary).toBe(
      "not approved: 1 of 2 approvals (ravi); ignored: asha: the tag author cannot approve their own release",
    );
    const rerun = await run([deploymentReview("kiran", "approved", [ENV1]), deploymentReview("ravi", "approved", [ENV2])], {
      triggeringActor: "kiran",
    });
    expect(rerun.approval?.summary).toBe(
      "not approved: 1 of 2 approvals (ravi); ignored: kiran: the tag author cannot approve their own release",
    );
  });

  it("a tag dated two days back has not waited: the wait starts at GitHub's record of the push", async () => {
    const result = await run([deploymentReview("ravi", "approved", [ENV1]), deploymentReview("meera", "approved", [ENV2])], {
      backdated: true,
      pushedAt: SATURDAY + 26 * MINUTE,
    });
    expect(result.approval?.summary).toBe("not approved: wait timer: 25 minutes left (until 2026-11-28T05:26:00Z)");
  });

  it("a run that is not the push of this tag's commit is refused", async () => {
    const result = await run([deploymentReview("ravi", "approved", [ENV1]), deploymentReview("meera", "approved", [ENV2])], {
      sha: "0".repeat(40),
    });
    expect(result.approval?.summary).toMatch(
      /^run 42 is not the push of v1\.0\.0 at [0-9a-f]{12} \(GitHub says: push of v1\.0\.0 at 000000000000\)/,
    );
  });
});
