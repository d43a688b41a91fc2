/**
 * The GitHub release's notes: the changes since the previous release tag (real git), the approvers, the
 * run's gate results, the audit log's chain head, the checksums and how to verify — published to the fake
 * GitHub on loopback by the production github-release step; hostile commit subjects stay inert and bounded.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keyIdHex } from "../../src/adapters/minisign.js";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { DEFAULT_AUDIT_LOG } from "../../src/audit-log/policy.js";
import { verifyAuditLog } from "../../src/audit-log/verify.js";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import type { Step } from "../../src/engine/step.js";
import { hostServices } from "../../src/pipeline/host-services.js";
import { CHANGES_MAX, inertMarkdown, releaseNotes } from "../../src/release/release-notes.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { githubReleaseStep } from "../../src/steps/production/github-release.js";
import { fakeGitHub, OWNER, REPO, TOKEN } from "../helpers/fake-github.js";
import { signedRelease, testSigningKey } from "../helpers/signed-release.js";
import { tempDir } from "../helpers/temp.js";

const HOSTILE = [
  '<img src=x onerror="alert(1)"> [click](https://evil.example) **bold** `code` @everyone | table | # heading',
  `${"A".repeat(5000)} very long subject`,
  "<script>alert(document.cookie)</script>",
];

function repository(): string {
  const dir = tempDir("shriven-notes-");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@e", ...args], { cwd: dir, encoding: "utf8", stdio: "pipe" });
  git("init", "--quiet", "-b", "main");
  git("commit", "--quiet", "--allow-empty", "-m", "first release");
  git("tag", "-a", "v1.0.0", "-m", "v1.0.0");
  git("commit", "--quiet", "--allow-empty", "-m", "faster order book");
  for (const subject of HOSTILE) git("commit", "--quiet", "--allow-empty", "-m", subject);
  git("tag", "-a", "v1.1.0", "-m", "v1.1.0");
  return dir;
}

describe("release notes", () => {
  it("the production github-release step publishes changes, approvers, gates, chain head, checksums and how to verify", async () => {
    const workspace = repository();
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: workspace, encoding: "utf8" }).trim();
    const key = testSigningKey("release");
    const dir = signedRelease(tempDir(), { version: "1.1.0", binary: "quant", script: "#!/bin/sh\necho hi\n", key });
    const log = join(workspace, DEFAULT_AUDIT_LOG);
    appendAuditEntry(log, { kind: "deploy", actor: "ci", data: { version: "1.1.0" } });
    const github = await fakeGitHub();
    const environment = resolveEnvironment({ environment: "production", processEnv: { GITHUB_TOKEN: TOKEN } });
    const services = hostServices({
      workspace,
      audit: defaultPipelineConfig([]).policies.audit,
      env: {},
      environment,
      who: "asha",
    });
    const gate: Step = {
      id: "approval",
      title: "Manual approval",
      description: "gate",
      defaultTimeoutSeconds: 10,
      run: async () => {
        const state = services.host?.state;
        if (state === undefined) throw new Error("no host");
        state.approvers = ["ravi", "meera"];
        state.builtRelease = { dir, version: "1.1.0", commit, keyId: keyIdHex(key.keyId), artifacts: [] };
        state.releaseTag = {
          tag: "v1.1.0",
          version: "1.1.0",
          commit,
          tagger: "asha",
          taggerEmail: "asha@example.com",
          pushedBy: "asha",
          taggedAt: new Date(),
          previous: "v1.0.0",
        };
        return { status: "passed", summary: "approved by ravi, meera (2 of 2 required)" };
      },
    };
    const policies = defaultPipelineConfig([]).policies;
    const outcome = await runStage({
      stage: { name: "production", environment: "production", description: "t", groups: [[gate], [githubReleaseStep]] },
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      policies: { ...policies, release: { ...policies.release, githubRepository: `${OWNER}/${REPO}`, githubApiUrl: github.baseUrl } },
      services,
      jobs: 1,
    });
    expect(outcome.steps.map((s) => [s.id, s.status, s.summary])).toEqual([
      ["approval", "passed", expect.any(String)],
      ["github-release", "passed", expect.stringContaining("created")],
    ]);
    expect(github.violations).toEqual([]);
    const body = github.releases.get("v1.1.0")?.body ?? "";
    const head = verifyAuditLog(log).head;
    expect(body).toContain("## Changes since v1.0.0");
    expect(body).toMatch(/^- `[0-9a-f]{7,}` faster order book$/m);
    expect(body).not.toContain("first release");
    expect(body).toContain("## Approved by\n\n- ravi\n- meera");
    expect(body).toContain("## Production gates\n\n- ✅ Manual approval: approved by ravi, meera \\(2 of 2 required\\)");
    expect(body).toContain(`chain head: seq ${head?.seq}, sha256 \`${head?.sha256}\``);
    const sums = readFileSync(join(dir, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums.length).toBeGreaterThan(0);
    for (const line of sums) expect(body).toContain(line);
    expect(body).toContain("minisign -Vm SHA256SUMS -p minisign.pub");
    expect(body).toContain("sha256sum -c SHA256SUMS");
    // Hostile subjects: no live HTML, links, emphasis or mentions; long ones cut.
    expect(body).not.toMatch(/<img|<script|\]\(https|\*\*bold|(?<!\\)@everyone/);
    expect(body).toContain("&lt;script&gt;alert\\(document\\.cookie\\)&lt;/script&gt;");
    expect(body).not.toContain("A".repeat(200));
    for (const line of body.split("\n")) expect(line.length).toBeLessThan(400);
  });

  it("bounds the list of changes and escapes every subject", () => {
    const changes = Array.from({ length: CHANGES_MAX + 1 }, (_, i) => ({ commit: `abc${i}`, subject: `change ${i}` }));
    const notes = releaseNotes({
      tag: "v2.0.0",
      commit: "c".repeat(40),
      keyId: "0123456789ABCDEF",
      previousTag: "v1.9.0",
      changes,
      approvers: [],
      productionGates: [],
      checksums: [],
    });
    expect(notes).toContain("change 49");
    expect(notes).not.toContain("change 50");
    expect(notes).toContain("… and more: `git log --oneline v1.9.0..v2.0.0`");
    expect(notes).toContain("- (no approvals recorded in this run)");
    expect(inertMarkdown("[x](javascript:alert(1)) <b>hi</b>\n# h")).toBe(
      "\\[x\\]\\(javascript\\:alert\\(1\\)\\) &lt;b&gt;hi&lt;/b&gt; \\# h",
    );
  });
});
