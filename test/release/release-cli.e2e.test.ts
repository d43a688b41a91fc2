/**
 * The release commands end to end on a git copy of the example: an optimized
 * build signed with a key the real minisign made, checked with the real
 * minisign and sha256sum, with our `verify` (which also catches tampering),
 * published to a fake GitHub on 127.0.0.1, and pruned by the retention rule.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { copyExample } from "../helpers/example.js";
import { fakeGitHub, OWNER, REPO, TOKEN } from "../helpers/fake-github.js";
import { needs } from "../helpers/tools.js";

describe("release, verify and prune-artifacts on the example", needs("minisign"), () => {
  const parent = mkdtempSync(join(tmpdir(), "shriven-release-"));
  let source: string;
  let out: string;
  let secretKey: string;
  let released: Awaited<ReturnType<typeof runCli>>;
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  beforeAll(async () => {
    source = copyExample(parent);
    for (const args of [
      ["init", "-q"],
      ["add", "-A"],
      ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "release"],
    ])
      await execa("git", args, { cwd: source });
    await execa("minisign", ["-G", "-W", "-f", "-p", join(parent, "minisign.pub"), "-s", join(parent, "minisign.key")], { input: "" });
    secretKey = readFileSync(join(parent, "minisign.key"), "utf8");
    out = join(parent, "release");
    released = await runCli(["release", "--source", source, "--tag", "v0.1.0", "--out", out], {
      env: { CI: "true", RELEASE_SIGNING_KEY: secretKey },
    });
  }, 600_000);

  it("builds, signs and prints the key id and public key to pin, never the secret key", () => {
    expect(released.stderr).toBe("");
    expect(released.code).toBe(0);
    expect(released.stdout).toMatch(/✅ Release v0\.1\.0: 1 binary signed in /);
    expect(released.stdout).toMatch(/[0-9a-f]{64} {2}shriven-quant-0\.1\.0-x86_64-unknown-linux-gnu/);
    const pub = readFileSync(join(parent, "minisign.pub"), "utf8");
    expect(readFileSync(join(out, "minisign.pub"), "utf8")).toBe(pub);
    expect(released.stdout).toContain(pub.trim().split("\n")[1]);
    const secretLine = secretKey.trim().split("\n").at(-1) ?? "";
    expect(released.stdout).not.toContain(secretLine.slice(20, 60));
  });

  it("verifies with the real minisign and sha256sum", async () => {
    const artifact = "shriven-quant-0.1.0-x86_64-unknown-linux-gnu";
    for (const file of [artifact, "SHA256SUMS"]) {
      const checked = await execa("minisign", ["-V", "-p", join(parent, "minisign.pub"), "-m", join(out, file)], { reject: false });
      expect(checked.exitCode).toBe(0);
      expect(checked.stdout).toContain(`file:${file}`);
    }
    expect((await execa("sha256sum", ["-c", "--strict", "SHA256SUMS"], { cwd: out, reject: false })).exitCode).toBe(0);
    const build = JSON.parse(readFileSync(join(out, "build.json"), "utf8"));
    expect(build).toMatchObject({ version: "0.1.0", triple: "x86_64-unknown-linux-gnu" });
    expect(build.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it("verify passes, and names a flipped binary byte, a changed trusted comment and a changed provenance digest", async () => {
    const verify = () => runCli(["verify", "--dir", out, "--public-key", join(parent, "minisign.pub")]);
    const ok = await verify();
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^✅ Release in .*: verified against key [0-9A-F]{16}/);
    expect(ok.stdout).toContain("ok   provenance.intoto.jsonl: signed SLSA provenance for 1 artifact");
    const artifact = join(out, "shriven-quant-0.1.0-x86_64-unknown-linux-gnu");
    const original = readFileSync(artifact);
    const flipped = Buffer.from(original);
    flipped[1000] = (flipped[1000] as number) ^ 1;
    writeFileSync(artifact, flipped);
    const bad = await verify();
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL shriven-quant-0\.1\.0-x86_64-unknown-linux-gnu: /);
    expect(bad.stdout).toMatch(/FAIL shriven-quant-0\.1\.0-x86_64-unknown-linux-gnu\.minisig: .*does not match the file/);
    writeFileSync(artifact, original);

    const sig = `${artifact}.minisig`;
    const signature = readFileSync(sig, "utf8");
    writeFileSync(sig, signature.replace("version:0.1.0", "version:9.9.9"));
    const comment = await verify();
    expect(comment.code).toBe(1);
    expect(comment.stdout).toMatch(/FAIL .*\.minisig: .*trusted comment/);
    expect((await execa("minisign", ["-V", "-p", join(parent, "minisign.pub"), "-m", artifact], { reject: false })).exitCode).not.toBe(0);
    writeFileSync(sig, signature);

    const provenance = join(out, "provenance.intoto.jsonl");
    const envelope = JSON.parse(readFileSync(provenance, "utf8"));
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8"));
    statement.subject[0].digest.sha256 = "0".repeat(64);
    writeFileSync(provenance, `${JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString("base64") })}\n`);
    const forged = await verify();
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/FAIL provenance\.intoto\.jsonl: /);
    writeFileSync(provenance, `${JSON.stringify(envelope)}\n`);
    expect((await verify()).code).toBe(0);
  });

  it("publishes to GitHub (a fake API on 127.0.0.1), idempotently, and marks the build released", async () => {
    const github = await fakeGitHub("ghe");
    writeFileSync(join(source, "shriven-pipeline.toml"), `[release]\ngithub_api_url = "${github.baseUrl}"\n`);
    const env = { CI: "true", RELEASE_SIGNING_KEY: secretKey, GITHUB_TOKEN: TOKEN };
    const args = ["release", "--source", source, "--tag", "v0.1.0", "--out", out, "--publish", "--repository", `${OWNER}/${REPO}`];
    const first = await runCli(args, { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/✅ GitHub release v0\.1\.0: .* \(created; uploaded 7, already there 0\)/);
    expect(first.stdout).not.toContain(TOKEN);
    expect(JSON.parse(readFileSync(join(out, "released.json"), "utf8"))).toMatchObject({ tag: "v0.1.0" });
    // Publishing the same folder again: the release is reused and nothing is uploaded twice.
    const publish = ["publish", "--source", source, "--dir", out, "--tag", "v0.1.0", "--repository", `${OWNER}/${REPO}`];
    const again = await runCli(publish, { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/\(reused; uploaded 0, already there 7\)/);
    // A file that changed since it was published is a conflict, never an overwrite.
    const sums = join(out, "SHA256SUMS");
    const original = readFileSync(sums);
    writeFileSync(sums, `${original.toString()}# edited\n`);
    const conflict = await runCli(publish, { env });
    expect(conflict.code).toBe(1);
    expect(conflict.stdout).toMatch(/❌ GitHub release: .*SHA256SUMS.*refusing to overwrite/);
    writeFileSync(sums, original);
    expect(github.requests.filter((r) => r.method === "DELETE" || r.method === "PATCH")).toEqual([]);
    expect(github.violations).toEqual([]);
    expect([first.stdout, again.stdout, conflict.stdout].join("")).not.toContain(TOKEN);
  }, 600_000);

  it("refuses bad input before building: no tag, a bad tag, no key, a corrupt key", async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["release", "--source", source], { RELEASE_SIGNING_KEY: secretKey }, /release needs --tag/],
      [["release", "--source", source, "--tag", "1.0"], { RELEASE_SIGNING_KEY: secretKey }, /--tag: "1\.0" is not a release tag/],
      [
        ["release", "--source", source, "--tag", "v1.0.0"],
        {},
        /release needs a signing key: --signing-key-file FILE or the RELEASE_SIGNING_KEY secret/,
      ],
      [["release", "--source", source, "--tag", "v1.0.0"], { RELEASE_SIGNING_KEY: "not a key" }, /RELEASE_SIGNING_KEY/],
      [["verify", "--dir", out], {}, /verify needs --dir DIR and --public-key FILE/],
      [["prune-artifacts", "--source", source, "--days", "0"], {}, /--days: expected a whole number of days ≥ 1/],
    ];
    for (const [args, env, message] of cases) {
      const run = await runCli(args, { env: { CI: "true", ...env } });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toContain("not a key");
    }
  });

  it("prune-artifacts lists and removes builds past the retention, keeping releases", async () => {
    const dir = join(parent, "artifacts");
    const builds = { "1.0.0-aaaaaaa": 45, "1.1.0-bbbbbbb": 40, "1.2.0-ccccccc": 3 };
    for (const [folder, days] of Object.entries(builds)) {
      const [version, commit] = folder.split("-") as [string, string];
      const path = join(dir, folder);
      await execa("mkdir", ["-p", path]);
      writeFileSync(
        join(path, "build.json"),
        JSON.stringify({ version, commit, builtAt: new Date(Date.now() - days * 86_400_000).toISOString() }),
      );
      writeFileSync(join(path, "app"), "binary");
    }
    writeFileSync(
      join(dir, "1.1.0-bbbbbbb", "released.json"),
      JSON.stringify({ tag: "v1.1.0", releasedAt: new Date().toISOString(), url: "https://x" }),
    );
    const dry = await runCli(["prune-artifacts", "--dir", dir, "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Would remove 1 build older than 30 days/);
    expect(dry.stdout).toContain("- 1.0.0-aaaaaaa (built");
    const real = await runCli(["prune-artifacts", "--dir", dir]);
    expect(real.stdout).toMatch(/^Removed 1 build older than 30 days/);
    expect(real.stdout).toContain("kept 1.1.0-bbbbbbb (released)");
    expect(real.stdout).toContain("kept 1.2.0-ccccccc (recent)");
    expect((await execa("ls", [dir])).stdout.split("\n").sort()).toEqual(["1.1.0-bbbbbbb", "1.2.0-ccccccc"]);
  });
});
