/**
 * Promotion records across CI runs: the Dagger module's script prints the record a staging run wrote in its
 * throwaway container, `promotion push --records` publishes it on the remote (real git, a bare repository as
 * origin), and the production workflow's own fetch step brings it into a fresh checkout, where it verifies.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { formatPublicKey, loadSigningKey, parsePublicKey } from "../../src/adapters/minisign.js";
import { RUN_AND_REPORT } from "../../src/dagger/stage-in-dagger.js";
import { type PromotionRecord, signPromotion, verifyPromotion } from "../../src/release/promotion.js";
import { PROMOTION_RECORD_HEADER, promotionsIn, publishPromotion } from "../../src/release/promotion-ref.js";
import { promotionRef, readPromotion, writePromotion } from "../../src/release/promotion-store.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { runCli } from "../helpers/cli.js";
import { bareOrigin, gitIn } from "../helpers/git-origin.js";
import { tempDir } from "../helpers/temp.js";

const key = loadSigningKey(randomBytes(32).toString("hex"), "RELEASE_SIGNING_KEY");
const publicKey = parsePublicKey(formatPublicKey(key), "minisign.pub");
const ROOT = resolve(import.meta.dirname, "../..");

/** An origin with one commit on main; returns it and that commit. */
function originWithCommit() {
  const origin = bareOrigin();
  const work = origin.clone();
  gitIn(work, "-c", "user.name=asha", "-c", "user.email=asha@example.com", "commit", "--allow-empty", "-qm", "first");
  gitIn(work, "push", "--quiet", "origin", "HEAD:refs/heads/main");
  gitIn(origin.bare, "symbolic-ref", "HEAD", "refs/heads/main");
  return { ...origin, commit: gitIn(work, "rev-parse", "HEAD").trim() };
}

function signed(commit: string, at: string) {
  const record: Omit<PromotionRecord, "format" | "keyId"> = {
    commit,
    promotedAt: at,
    artifacts: [{ binary: "shriven-quant", name: "shriven-quant-x86_64-unknown-linux-gnu", sha256: "a".repeat(64) }],
    reports: [],
    testHosts: ["test-1"],
  };
  return signPromotion(record, key, new Date(at));
}

const line = (commit: string, text: string, signature: string) =>
  `promotion ${commit} ${Buffer.from(text).toString("base64")} ${Buffer.from(signature).toString("base64")}`;

describe("a promotion record from a staging run in Dagger to production's checkout", () => {
  it("is printed by the module's script, pushed by promotion push, fetched by production.yml and verifies", async () => {
    const { clone, commit } = originWithCommit();
    // The stage's container: the staging run writes the ref (here a command standing in for the CLI).
    const container = clone();
    const exec = (command: Parameters<HostRunner["exec"]>[0]) => new HostRunner({ workspace: container }).exec(command);
    const record = signed(commit, "2026-12-01T10:00:00.000Z");
    const scratch = join(container, ".scratch");
    await writePromotion(exec, commit, record, { host: scratch, workspace: scratch });
    const written = gitIn(container, "rev-parse", promotionRef(commit)).trim();
    gitIn(container, "update-ref", "-d", promotionRef(commit));
    const log = join(container, "audit.jsonl");
    const cli = `git update-ref ${promotionRef(commit)} ${written}; echo '✅ staging stage passed'`;
    const ran = await execa("sh", ["-c", RUN_AND_REPORT, "sh", log, "sh", "-c", cli], { cwd: container, reject: false });
    expect(ran.exitCode).toBe(0);
    expect(ran.stdout).toContain(`${PROMOTION_RECORD_HEADER} (publish it with shriven-pipeline promotion push --records):`);
    // The CI job's checkout never saw the container's objects: the printed text is all it has.
    const job = clone();
    writeFileSync(join(job, "stage-output.txt"), ran.stdout);
    const pushed = await runCli(["promotion", "push", "--records", "stage-output.txt", "--source", job], { cwd: job });
    expect(pushed.stderr).toBe("");
    expect(pushed.stdout).toMatch(
      new RegExp(
        `^Pushed the promotion record of ${commit} to origin refs/shriven-pipeline/promotions/${commit} \\(commit [0-9a-f]{12}, 1 attempt\\)\\n$`,
      ),
    );
    // production.yml's own step, run with bash as the runner runs it, in a fresh checkout of the tag's commit.
    const production = parseYaml(readFileSync(join(ROOT, "templates/github-workflows/production.yml"), "utf8")) as {
      jobs: { production: { steps: { name?: string; run?: string }[] } };
    };
    const fetchStep = production.jobs.production.steps.find((s) => s.name === "Fetch the promotion record");
    const checkout = clone();
    gitIn(checkout, "checkout", "--quiet", commit);
    const fetched = await execa("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", fetchStep?.run ?? "exit 9"], {
      cwd: checkout,
      env: { GITHUB_TOKEN: "not-used-by-a-file-remote" },
      reject: false,
    });
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    expect(fetched.stdout).not.toContain("::warning::");
    const stored = await readPromotion((command) => new HostRunner({ workspace: checkout }).exec(command), commit);
    expect(stored).toEqual(record);
    expect(verifyPromotion(stored as typeof record, [publicKey], commit).promotedAt).toBe("2026-12-01T10:00:00.000Z");
  });

  it("production.yml's fetch warns, and production then refuses, when staging never promoted the commit", async () => {
    const { clone, commit } = originWithCommit();
    const production = parseYaml(readFileSync(join(ROOT, "templates/github-workflows/production.yml"), "utf8")) as {
      jobs: { production: { steps: { name?: string; run?: string }[] } };
    };
    const script = production.jobs.production.steps.find((s) => s.name === "Fetch the promotion record")?.run ?? "exit 9";
    const checkout = clone();
    const fetched = await execa("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], { cwd: checkout, reject: false });
    expect(fetched.exitCode).toBe(0);
    expect(fetched.stdout).toBe(
      `::warning::no promotion record on origin (refs/shriven-pipeline/promotions/${commit}): staging has not passed on this commit`,
    );
    expect(await readPromotion((command) => new HostRunner({ workspace: checkout }).exec(command), commit)).toBeUndefined();
  });

  it("prints nothing when the run promoted nothing (a failed staging run), and keeps the run's exit code", async () => {
    const { clone } = originWithCommit();
    const container = clone();
    const ran = await execa("sh", ["-c", RUN_AND_REPORT, "sh", join(container, "audit.jsonl"), "sh", "-c", "echo failed; exit 3"], {
      cwd: container,
      reject: false,
    });
    expect(ran.exitCode).toBe(3);
    expect(ran.stdout).toBe("failed");
  });

  it("a later staging run of the same commit goes on top; the same record again is not pushed twice; racing runs both land", async () => {
    const { clone, commit } = originWithCommit();
    const first = { commit, signed: signed(commit, "2026-12-01T10:00:00.000Z") };
    const again = { commit, signed: signed(commit, "2026-12-01T11:00:00.000Z") };
    const a = clone();
    expect(await publishPromotion(a, first)).toMatchObject({ pushed: true, attempts: 1 });
    expect(await publishPromotion(clone(), first)).toMatchObject({ pushed: false });
    // Two runs publish at once (the origin holds each push half a second): one is rejected and retries on top.
    const racing = [
      { commit, signed: signed(commit, "2026-12-01T12:00:00.000Z") },
      { commit, signed: signed(commit, "2026-12-01T13:00:00.000Z") },
    ];
    const results = await Promise.all([
      publishPromotion(clone(), racing[0] as typeof first),
      publishPromotion(clone(), racing[1] as typeof first),
    ]);
    expect(results.every((r) => r.pushed)).toBe(true);
    expect(results.map((r) => r.attempts).sort()).toEqual([1, 2]);
    expect(await publishPromotion(clone(), again)).toMatchObject({ pushed: true });
    const check = clone();
    gitIn(check, "fetch", "--quiet", "origin", `+${promotionRef(commit)}:${promotionRef(commit)}`);
    // Four records in the ref's history, newest on top.
    expect(gitIn(check, "rev-list", "--count", promotionRef(commit)).trim()).toBe("4");
    expect(JSON.parse(gitIn(check, "cat-file", "blob", `${promotionRef(commit)}:promotion.json`)).promotedAt).toBe(
      "2026-12-01T11:00:00.000Z",
    );
  });
});

describe("promotionsIn (the printed records) refuses malformed and hostile lines, naming file and line", () => {
  const commit = "c".repeat(40);
  const good = signed(commit, "2026-12-01T10:00:00.000Z");
  const output = (...lines: string[]) => ["✅ staging passed", "", `${PROMOTION_RECORD_HEADER} (…):`, ...lines].join("\n");

  it("reads a record, also with CRLF line ends; no header means none", () => {
    expect(promotionsIn(output(line(commit, good.text, good.signature)), "out.txt")).toEqual([{ commit, signed: good }]);
    expect(promotionsIn(output(`${line(commit, good.text, good.signature)}\r`), "out.txt")).toHaveLength(1);
    expect(promotionsIn(`promotion ${line(commit, good.text, good.signature)}`, "out.txt")).toEqual([]);
  });

  it("reads only the lines right after the last header: what the workspace's code printed before it is never a record", () => {
    const forged = signed("f".repeat(40), "2026-12-01T09:00:00.000Z");
    const output = [
      "running 3 tests",
      `${PROMOTION_RECORD_HEADER} (…):`,
      line("f".repeat(40), forged.text, forged.signature),
      "test result: ok",
      "",
      `${PROMOTION_RECORD_HEADER} (…):`,
      line(commit, good.text, good.signature),
      "",
      "promotion not-a-record-line-after-the-block",
    ].join("\n");
    expect(promotionsIn(output, "out.txt")).toEqual([{ commit, signed: good }]);
  });

  it.each([
    [
      "a missing field",
      `promotion ${commit} ${Buffer.from(good.text).toString("base64")}`,
      /out\.txt line 4: expected "promotion <commit> <record> <signature>", got 3 fields/,
    ],
    ["an extra field", `${line(commit, good.text, good.signature)} more`, /line 4: .*got 5 fields/],
    ["a commit that is not one", line("$(reboot)", good.text, good.signature), /line 4: "\$\(reboot\)" is not a commit id/],
    ["an uppercase commit", line(commit.toUpperCase(), good.text, good.signature), /is not a commit id/],
    [
      "a record that is not base64",
      `promotion ${commit} not*base64 ${Buffer.from(good.signature).toString("base64")}`,
      /line 4: promotion\.json is not base64/,
    ],
    [
      "a truncated base64 record",
      `promotion ${commit} ${Buffer.from(good.text).toString("base64").slice(0, -3)} ${Buffer.from(good.signature).toString("base64")}`,
      /promotion\.json is not base64|is not JSON/,
    ],
    [
      "a record that is not UTF-8",
      `promotion ${commit} ${Buffer.from([0xff, 0xfe, 0x7b]).toString("base64")} ${Buffer.from(good.signature).toString("base64")}`,
      /promotion\.json is not UTF-8 text/,
    ],
    ["a record that is not JSON", line(commit, "{not json", good.signature), /promotion\.json is not JSON/],
    [
      "JSON that is not a promotion record",
      line(commit, '{"format":"something/else"}', good.signature),
      /is not a shriven-pipeline\/promotion\/v1 record/,
    ],
    [
      "the record of another commit",
      line("d".repeat(40), good.text, good.signature),
      new RegExp(`the record is of ${commit}, the line names ${"d".repeat(40)}`),
    ],
    [
      "a signature that is not minisign's",
      line(commit, good.text, "-----BEGIN PGP SIGNATURE-----"),
      /the signature is not a minisign signature/,
    ],
  ])("%s", (_what, bad, message) => {
    expect(() => promotionsIn(output(bad), "out.txt")).toThrow(message);
  });

  it("promotion push: no record is an error naming the file; bad arguments are usage errors", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "out.txt"), "❌ staging stage failed\n");
    const none = await runCli(["promotion", "push", "--records", "out.txt", "--source", dir], { cwd: dir });
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toContain("out.txt holds no promotion record");
    const twice = output(line(commit, good.text, good.signature), line(commit, good.text, good.signature));
    writeFileSync(join(dir, "twice.txt"), twice);
    expect((await runCli(["promotion", "push", "--records", "twice.txt"], { cwd: dir })).stderr).toContain(
      "more than one promotion record of the same commit",
    );
    expect((await runCli(["promotion", "push"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["promotion", "pull", "--records", "out.txt"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["promotion", "push", "--records", "missing.txt"], { cwd: dir })).stderr).toContain("missing.txt");
    expect(
      await publishPromotion(dir, { commit, signed: good }, { remote: "--upload-pack=touch /tmp/x" }).catch((e: Error) => e.message),
    ).toContain("a remote may not start with '-'");
  });
});
