/**
 * retention.yml, its script run with bash as the runner runs it (a stand-in `npx` that runs this checkout's
 * CLI): the published audit log loses its entries older than 90 days to one signed checkpoint, the result is
 * pushed, and a fresh clone verifies it with the pinned public key.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { formatPublicKey, loadSigningKey } from "../../src/adapters/minisign.js";
import { appendAuditEntry } from "../../src/audit-log/append.js";
import { DEFAULT_AUDIT_REF, fetchAuditRef, publishAuditLog } from "../../src/audit-log/git-ref.js";
import { verifyAuditBytes } from "../../src/audit-log/verify.js";
import { bareOrigin, gitIn } from "../helpers/git-origin.js";
import { tempDir } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const DAY = 24 * 3600 * 1000;

interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<
    string,
    { environment?: string; permissions?: Record<string, string>; steps: { name?: string; run?: string; env?: Record<string, string> }[] }
  >;
}
const workflow = parseYaml(readFileSync(join(ROOT, "templates/github-workflows/retention.yml"), "utf8")) as Workflow;

/** A `npx` that runs this checkout's CLI for `npx … -- shriven-pipeline ARGS`. */
function standInNpx(): string {
  const bin = tempDir("shriven-bin-");
  const cli = join(ROOT, "bin/shriven-pipeline.js");
  writeFileSync(join(bin, "npx"), `#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done\nshift 2\nexec node ${JSON.stringify(cli)} "$@"\n`);
  chmodSync(join(bin, "npx"), 0o755);
  return bin;
}

describe("retention.yml", () => {
  it("runs every week and by hand, in the audit-retention environment, writing only the audit ref", () => {
    expect(workflow.on).toEqual({ schedule: [{ cron: "17 3 * * 1" }], workflow_dispatch: null });
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs["audit-log"]?.environment).toBe("audit-retention");
    expect(workflow.jobs["audit-log"]?.permissions).toEqual({ contents: "write" });
    expect(workflow.jobs["audit-log"]?.steps.at(-1)?.env).toEqual({
      GITHUB_TOKEN: `\${{ secrets.GITHUB_TOKEN }}`,
      RELEASE_SIGNING_KEY: `\${{ secrets.RELEASE_SIGNING_KEY }}`,
    });
  });

  it("prunes the published log past 90 days into a signed checkpoint, pushes it, and a fresh clone verifies it", async () => {
    const origin = bareOrigin();
    const seeded = origin.clone();
    const log = join(seeded, ".shriven-pipeline/audit/audit.jsonl");
    const now = Date.now();
    for (const [i, age] of [200, 120, 95, 30, 1].entries())
      appendAuditEntry(log, { kind: "deploy", actor: "asha", data: { version: `1.0.${i}` }, at: new Date(now - age * DAY) });
    await publishAuditLog(log, { repoDir: seeded });
    const seed = randomBytes(32).toString("hex");
    const key = loadSigningKey(seed, "RELEASE_SIGNING_KEY");
    // The job: a checkout of the default branch, with the pinned public key in it.
    const checkout = origin.clone();
    writeFileSync(join(checkout, workflow.env.RELEASE_PUBLIC_KEY as string), formatPublicKey(key));
    const script = workflow.jobs["audit-log"]?.steps.at(-1)?.run as string;
    const ran = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      cwd: checkout,
      encoding: "utf8",
      env: {
        PATH: `${standInNpx()}:${dirname(process.execPath)}:/usr/bin:/bin`,
        ...workflow.env,
        GITHUB_TOKEN: "not-used-by-a-file-remote",
        RELEASE_SIGNING_KEY: seed,
      },
    });
    expect(ran.status, `${ran.stdout}\n${ran.stderr}`).toBe(0);
    expect(ran.stdout).toMatch(
      /^Pruned 3 entries older than 90 days from \.shriven-pipeline\/audit\/audit\.jsonl into a checkpoint signed by key /m,
    );
    expect(ran.stdout).toMatch(/^Pushed \d+ entr(y|ies) to origin refs\/shriven-pipeline\/audit/m);
    expect(ran.stdout).toMatch(/^✅ audit log verifies: 3 entries \(origin refs\/shriven-pipeline\/audit at [0-9a-f]{12}\)$/m);
    // From a fresh clone: the checkpoint stands for the three old entries, the two recent ones follow it.
    const fetched = await fetchAuditRef({ repoDir: origin.clone(), ref: DEFAULT_AUDIT_REF });
    const verified = verifyAuditBytes(fetched.bytes, key);
    expect(verified).toMatchObject({ ok: true, entries: 3, checkpoint: { prunedThroughSeq: 3, verified: true } });
  });

  it("with no published log yet, has nothing to prune and succeeds", () => {
    const origin = bareOrigin();
    const checkout = origin.clone();
    const ran = spawnSync(
      "bash",
      ["--noprofile", "--norc", "-eo", "pipefail", "-c", workflow.jobs["audit-log"]?.steps.at(-1)?.run as string],
      {
        cwd: checkout,
        encoding: "utf8",
        env: {
          PATH: `${standInNpx()}:${dirname(process.execPath)}:/usr/bin:/bin`,
          ...workflow.env,
          GITHUB_TOKEN: "x",
          RELEASE_SIGNING_KEY: "",
        },
      },
    );
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toBe("no audit log on refs/shriven-pipeline/audit yet: nothing to prune\n");
    expect(gitIn(checkout, "for-each-ref", "refs/shriven-pipeline")).toBe("");
  });
});
