/**
 * build-release and verify in the Dagger module, run by the real SDK against
 * the recording GraphQL endpoint on 127.0.0.1: the optimized build's commands
 * go to the pinned toolchain, the signing key arrives as a Secret and never
 * appears in a query, and the returned Directory is a release our verify
 * accepts.
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUST_IMAGE } from "../../containers/images.js";
import { formatPublicKey, loadSigningKey, parsePublicKey, verifySignature } from "../../src/adapters/minisign.js";
import { ShrivenPipeline } from "../../src/index.js";
import { packageRelease } from "../../src/release/package-release.js";
import { EXAMPLE } from "../helpers/example.js";
import { execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { tempDir } from "../helpers/temp.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const METADATA = execFileSync("cargo", ["metadata", "--no-deps", "--format-version", "1", "--offline"], { cwd: EXAMPLE, encoding: "utf8" });
const TRIPLE = "x86_64-unknown-linux-gnu";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const ARTIFACT = `shriven-quant-1.4.0-${TRIPLE}`;
const ARTIFACT_PATH = `target/shriven-release/artifacts/1.4.0-0123456/${ARTIFACT}`;
const SEED = randomBytes(32).toString("hex");

async function inSession<T>(body: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await connection(async () => {
    result = await body();
  });
  return result as T;
}

describe("build-release in Dagger (real SDK, recorded on 127.0.0.1)", () => {
  it("builds with the release profile in the pinned toolchain, signs in the module, and never sends the key", async () => {
    const outputs = tempDir();
    const binary = Buffer.from("\x7fELF fake release binary");
    mkdirSync(join(outputs, ARTIFACT_PATH, ".."), { recursive: true });
    writeFileSync(join(outputs, ARTIFACT_PATH), binary);
    const digest = createHash("sha256").update(binary).digest("hex");
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n' },
      glob: [ARTIFACT_PATH],
      outputs,
      secrets: { "signing-key-id": SEED },
      exec: (argv, env) => {
        // The record of the toolchain's packages: the version the engine installed, as dpkg reports it.
        if (argv[0] === "dpkg-query") return { exitCode: 0, stdout: "ii \tvalgrind\t1:3.19.0-1+deb12u9\tamd64\n" };
        if (argv.includes("cargo") && !argv.includes("fetch") && env.CARGO_NET_OFFLINE !== "true")
          return { exitCode: 101, stderr: "error: cargo ran online beside other containers\n" };
        if (argv.includes("metadata")) return { exitCode: 0, stdout: METADATA };
        if (argv.includes("-vV")) return { exitCode: 0, stdout: `rustc 1.95.0\nhost: ${TRIPLE}\n` };
        if (argv.includes("sha256sum")) return { exitCode: 0, stdout: `${digest}  ${ARTIFACT_PATH}\n` };
        return { exitCode: 0 };
      },
    });
    const files = await inSession(async () => {
      const release = await new ShrivenPipeline().buildRelease(
        dag.loadDirectoryFromID("workspace-directory-id" as never),
        "v1.4.0",
        COMMIT,
        dag.loadSecretFromID("signing-key-id" as never),
        "https://github.com/shrivenquant/shrivenquant",
      );
      await release.id();
      return engine.allQueries();
    });
    expect(fieldCalls(files, "from")).toContainEqual({ address: RUST_IMAGE });
    const build = execArgvs(files).find((argv) => argv.includes("build"));
    // Merged output (the build log keeps rustc's lines in order), the host runner's argv inside.
    expect(build).toEqual(["sh", "-c", 'exec "$@" 2>&1', "sh", "cargo", "build", "--release", "--locked", "--bins", "--verbose"]);
    const env = fieldCalls(files, "withEnvVariable");
    for (const [name, value] of [
      ["CARGO_PROFILE_RELEASE_LTO", "fat"],
      ["CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1"],
      ["RUSTFLAGS", "-C target-cpu=x86-64-v3"],
      ["CARGO_TARGET_DIR", "target/shriven-release"],
    ])
      expect(env).toContainEqual({ name, value });
    expect(fieldCalls(files, "withMountedCache").map((c) => c.path)).toContain("/src/target/shriven-release");
    // The binary goes into the release as the file the container produced; everything else is written by the module.
    const added = fieldCalls(files, "withNewFile");
    const byPath = new Map(added.map((c) => [String(c.path), String(c.contents)]));
    expect([...byPath.keys()].sort()).toEqual(
      ["SHA256SUMS", "SHA256SUMS.minisig", "build.json", `${ARTIFACT}.minisig`, "minisign.pub", "provenance.intoto.jsonl"].sort(),
    );
    expect(fieldCalls(files, "withFile").map((c) => c.path)).toContain(ARTIFACT);
    expect(byPath.get("SHA256SUMS")).toBe(`${digest}  ${ARTIFACT}\n`);
    const key = loadSigningKey(SEED, "seed");
    const pub = parsePublicKey(byPath.get("minisign.pub") as string, "minisign.pub");
    expect(byPath.get("minisign.pub")).toBe(formatPublicKey(key));
    expect(verifySignature(binary, byPath.get(`${ARTIFACT}.minisig`) as string, pub, "sig").trustedComment).toContain(`commit:${COMMIT}`);
    const envelope = JSON.parse(byPath.get("provenance.intoto.jsonl") as string);
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8"));
    expect(statement.subject).toEqual([{ name: ARTIFACT, digest: { sha256: digest } }]);
    // What the build resolved: the source, the toolchain image by digest, and the packages added to it at the
    // versions dpkg reported in that container.
    const [image, imageDigest] = RUST_IMAGE.split("@sha256:");
    expect(statement.predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: "git+https://github.com/shrivenquant/shrivenquant@refs/tags/v1.4.0", digest: { gitCommit: COMMIT } },
      { uri: `docker://${image}`, digest: { sha256: imageDigest } },
      { name: "valgrind", uri: "pkg:deb/debian/valgrind@1%3A3.19.0-1%2Bdeb12u9?arch=amd64&distro=debian-12" },
    ]);
    // The build ran after the one download, offline (else the exec answer above fails it).
    const fetchAt = engine.queries.findIndex((query) => execArgvs(query).some((argv) => argv.includes("fetch")));
    const buildAt = engine.queries.findIndex((query) => execArgvs(query).some((argv) => argv.includes("build")));
    expect(fetchAt).toBeGreaterThanOrEqual(0);
    expect(fetchAt).toBeLessThan(buildAt);
    // The key never leaves the module: not in any query, not in the returned files.
    expect(files).not.toContain(SEED);
    expect(files).not.toContain(Buffer.from(SEED, "hex").toString("base64"));
  });

  it("refuses a bad tag, a short commit and a missing repository before building", async () => {
    engine.reset({ entries: ["Cargo.toml"], files: { "Cargo.toml": "[workspace]\n" }, secrets: { "signing-key-id": SEED } });
    const call = (tag: string, commit: string, repository?: string) =>
      inSession(() =>
        new ShrivenPipeline().buildRelease(
          dag.loadDirectoryFromID("workspace-directory-id" as never),
          tag,
          commit,
          dag.loadSecretFromID("signing-key-id" as never),
          repository,
        ),
      );
    await expect(call("1.0", COMMIT, "https://github.com/o/r")).rejects.toThrow(/tag: "1\.0" is not a release tag/);
    await expect(call("v1.0.0", "abc123", "https://github.com/o/r")).rejects.toThrow(/commit: expected the full 40-hex commit id/);
    await expect(call("v1.0.0", COMMIT)).rejects.toThrow(/repository: pass the source repository URL/);
    expect(execArgvs(engine.allQueries()).filter((argv) => argv.includes("build"))).toEqual([]);
  });

  it("verify checks a release Directory against a public key File, and fails listing a tampered file", async () => {
    const dir = tempDir();
    const binary = join(dir, "bin");
    writeFileSync(binary, "release binary");
    const key = loadSigningKey(SEED, "seed");
    const release = join(dir, "release");
    packageRelease({
      build: {
        version: "1.4.0",
        commit: COMMIT,
        triple: TRIPLE,
        folder: "x",
        buildLog: "",
        profile: { lto: "fat" },
        artifacts: [
          { binary: "app", name: `app-1.4.0-${TRIPLE}`, path: "bin", sha256: createHash("sha256").update("release binary").digest("hex") },
        ],
      },
      binaryPath: () => binary,
      key,
      dir: release,
      origin: {
        repository: "https://github.com/o/r",
        ref: "refs/tags/v1.4.0",
        toolchainImage: { ref: "docker://rust:1.95.0", sha256: "a".repeat(64) },
        builderId: "https://example.com/builder",
        invocationId: "urn:uuid:1",
        startedOn: new Date("2026-11-27T00:00:00Z"),
        reports: [],
      },
    });
    engine.reset({ directories: { "release-id": release }, files: { "minisign.pub": formatPublicKey(key) } });
    const verify = () =>
      inSession(() =>
        new ShrivenPipeline().verify(
          dag.loadDirectoryFromID("release-id" as never),
          dag.loadDirectoryFromID("keys-id" as never).file("minisign.pub"),
        ),
      );
    expect(await verify()).toMatch(/^verified against key [0-9A-F]{16}\nok {3}SHA256SUMS: /);
    writeFileSync(join(release, `app-1.4.0-${TRIPLE}`), "release binarY");
    await expect(verify()).rejects.toThrow(/NOT verified[\s\S]*FAIL app-1\.4\.0-x86_64-unknown-linux-gnu\.minisig: /);
  });
});
