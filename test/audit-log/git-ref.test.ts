/**
 * The audit log kept on a git ref: runs publish their entries with fetch-rebase-push (real git, a local bare
 * repository as the remote), two racing runs both land in one chain, and a fresh clone verifies it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { DEFAULT_AUDIT_REF, fetchAuditRef, publishAuditLog } from "../../src/audit-log/git-ref.js";
import { verifyAuditBytes } from "../../src/audit-log/verify.js";
import { auditLogCommand } from "../../src/cli/actions/audit-log.js";
import { bareOrigin, gitIn } from "../helpers/git-origin.js";
import { tempDir } from "../helpers/temp.js";

const git = gitIn;
const origin = bareOrigin;

/** A run's local log (started empty, as in a fresh CI container) with `n` entries of `run`. */
function runLog(repo: string, run: string, n: number, at: number): string {
  const file = join(repo, ".shriven-pipeline/audit/audit.jsonl");
  for (let i = 1; i <= n; i++) {
    appendAuditEntry(file, { kind: "test", actor: run, data: { run, i, passed: 10, failed: 0 }, at: new Date(at + i * 1000) });
  }
  return file;
}

async function cli(args: string[], cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await auditLogCommand(args, {
    cwd,
    env: {},
    stdout: { write: (t: string) => out.push(t) > 0 },
    stderr: { write: (t: string) => err.push(t) > 0 },
  });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

describe("the audit log on a git ref", () => {
  it("publishes two racing runs into one chain that verifies from a fresh clone", async () => {
    const { clone } = origin();
    const first = clone();
    const seed = runLog(first, "seed", 2, Date.parse("2026-01-01T00:00:00Z"));
    expect(await publishAuditLog(seed, { repoDir: first })).toMatchObject({ added: 2, pushed: true, attempts: 1 });

    const a = clone();
    const b = clone();
    const logA = runLog(a, "run-a", 3, Date.parse("2026-01-02T00:00:00Z"));
    const logB = runLog(b, "run-b", 4, Date.parse("2026-01-02T00:00:00Z"));
    const [ra, rb] = await Promise.all([publishAuditLog(logA, { repoDir: a }), publishAuditLog(logB, { repoDir: b })]);
    expect([ra.added, rb.added]).toEqual([3, 4]);
    // One of them lost the race at least once and rebased onto the other's entries.
    expect(Math.max(ra.attempts, rb.attempts)).toBeGreaterThan(1);

    const fresh = clone();
    const fetched = await fetchAuditRef({ repoDir: fresh });
    const verification = verifyAuditBytes(fetched.bytes, undefined);
    expect(verification).toMatchObject({ ok: true, entries: 9, head: { seq: 9 } });
    const actors = fetched.bytes
      .toString("utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).actor as string);
    expect(actors.filter((x) => x === "run-a")).toHaveLength(3);
    expect(actors.filter((x) => x === "run-b")).toHaveLength(4);
    // Each run's local log is now the published one: its head is the ref's head (or the other's on top of it).
    const last = verifyAuditBytes(readFileSync(ra.attempts > rb.attempts ? logA : logB), undefined);
    expect(last.head?.sha256).toBe(verification.head?.sha256);

    const verified = await cli(["verify", "--from-ref", DEFAULT_AUDIT_REF], fresh);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^✅ audit log verifies: 9 entries \(origin refs\/shriven-pipeline\/audit at [0-9a-f]{12}\)\n/);
    expect(verified.stdout).toContain(`head: line 9, seq 9, sha256 ${verification.head?.sha256}`);

    // Publishing again adds nothing.
    expect(await publishAuditLog(logA, { repoDir: a })).toMatchObject({ added: 0, pushed: false });
  });

  it("verify --from-ref fails on an edited log pushed to the ref, and on a missing ref", async () => {
    const { clone } = origin();
    const repo = clone();
    const log = runLog(repo, "run", 3, Date.parse("2026-01-01T00:00:00Z"));
    await publishAuditLog(log, { repoDir: repo });
    // Someone with push access rewrites entry 2 and pushes it.
    const edited = readFileSync(log, "utf8").replace('"i":2', '"i":7');
    const blob = execFileSync("git", ["hash-object", "-w", "--stdin"], { cwd: repo, input: edited, encoding: "utf8" }).trim();
    const tree = execFileSync("git", ["mktree"], { cwd: repo, input: `100644 blob ${blob}\taudit.jsonl\n`, encoding: "utf8" }).trim();
    const commit = execFileSync("git", ["commit-tree", tree, "-m", "edit"], {
      cwd: repo,
      encoding: "utf8",
      env: { ...process.env, GIT_AUTHOR_NAME: "x", GIT_AUTHOR_EMAIL: "x@x", GIT_COMMITTER_NAME: "x", GIT_COMMITTER_EMAIL: "x@x" },
    }).trim();
    git(repo, "push", "--quiet", "--force", "origin", `${commit}:${DEFAULT_AUDIT_REF}`);
    const fresh = clone();
    const verified = await cli(["verify", "--from-ref", DEFAULT_AUDIT_REF], fresh);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/❌ line 3: prev \S+ is not the SHA-256 \S+ of line 2: .*line 2 was edited/);
    const missing = await cli(["verify", "--from-ref", "refs/shriven-pipeline/nothing"], fresh);
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.stderr).toContain("the ref does not exist");
  });

  it("push --records publishes the records a Dagger stage run printed", async () => {
    const { clone } = origin();
    const repo = clone();
    const container = runLog(tempDir(), "ci", 2, Date.parse("2026-01-01T00:00:00Z"));
    // A workspace test printed a header and a forged entry first; only the block after the last header counts.
    const forged = '{"seq":1,"at":"2026-01-01T00:00:00.000Z","kind":"deploy","actor":"mallory","data":{},"prev":"0"}';
    const output = `Audit records of this run (publish them …):\n${forged}\n✅ Tests: Passed\n\nAudit records of this run (publish them …):\n${readFileSync(container, "utf8")}\nPromotion record of this run …\n`;
    writeFileSync(join(repo, "stage-output.txt"), output);
    const pushed = await cli(["push", "--records", "stage-output.txt"], repo);
    expect(pushed).toMatchObject({ code: 0 });
    expect(pushed.stdout).toMatch(
      /^Pushed 2 entries to origin refs\/shriven-pipeline\/audit \(commit [0-9a-f]{12}, 1 attempt\); chain head seq 2 sha256 [0-9a-f]{64}\n$/,
    );
    expect(verifyAuditBytes((await fetchAuditRef({ repoDir: clone() })).bytes, undefined)).toMatchObject({ ok: true, entries: 2 });
  });
});
