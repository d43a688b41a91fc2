/**
 * The optimized release build on a copy of the example, with real cargo:
 * the profile reaches rustc without Cargo.toml being edited, and each binary
 * comes out named and hashed.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { buildRelease, hostTriple, ReleaseBuildError, releaseEnv, workspaceBinaries } from "../../src/release/release-build.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { copyExample, injectDefect } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

const PROFILE = { targetCpu: "x86-64-v2", lto: "fat", codegenUnits: 1, target: undefined } as const;

describe("release build (real cargo on the example)", () => {
  it("builds with LTO, one codegen unit and the target CPU, names each binary and hashes it", async () => {
    const source = copyExample(tempDir());
    const manifests = ["Cargo.toml", "crates/engine/Cargo.toml"].map((f) => readFileSync(join(source, f), "utf8"));
    const runner = new HostRunner({ workspace: source });
    const build = await buildRelease((command) => runner.exec(command), PROFILE, {
      version: "1.2.3",
      commit: "0123456789abcdef0123456789abcdef01234567",
    });
    const triple = hostTriple((await execa("rustc", ["-vV"])).stdout);
    expect(build.triple).toBe(triple);
    expect(build.folder).toBe("target/shriven-release/artifacts/1.2.3-0123456");
    expect(build.artifacts.map((a) => a.name)).toEqual([`shriven-quant-1.2.3-${triple}`]);
    const artifact = build.artifacts[0] as (typeof build.artifacts)[number];
    const bytes = readFileSync(join(source, artifact.path));
    expect(artifact.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    // The binary runs, and the rustc command line of the engine had the profile's flags.
    expect((await execa(join(source, artifact.path), ["--version"])).stdout).toMatch(/^shriven-quant \d+\.\d+\.\d+/);
    const engineRustc = build.buildLog.split("\n").find((l) => l.includes("--crate-name shriven_quant"));
    expect(engineRustc).toContain("-C lto");
    expect(engineRustc).toContain("-C codegen-units=1");
    expect(engineRustc).toContain("-C target-cpu=x86-64-v2");
    expect(engineRustc).toContain("-C opt-level=3");
    // Cargo.toml untouched.
    expect(["Cargo.toml", "crates/engine/Cargo.toml"].map((f) => readFileSync(join(source, f), "utf8"))).toEqual(manifests);
    expect(build.profile).toMatchObject({ lto: "fat", codegenUnits: 1, targetCpu: "x86-64-v2", target: triple });
  }, 600_000);

  it("names the failing command: a compile error, and a workspace whose Cargo.lock is out of date", async () => {
    const source = copyExample(tempDir());
    const runner = new HostRunner({ workspace: source });
    const lock = join(source, "Cargo.lock");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(lock, readFileSync(lock, "utf8").replace('name = "risk"', 'name = "risk-renamed"'));
    await expect(buildRelease((c) => runner.exec(c), PROFILE, { version: "1.0.0", commit: "abcdef0" })).rejects.toThrow(
      /^cargo build --release failed \(exit code 101\): error: .*lock file/,
    );
    writeFileSync(lock, readFileSync(lock, "utf8").replace('name = "risk-renamed"', 'name = "risk"'));
    injectDefect(source, "compile-error");
    await expect(buildRelease((c) => runner.exec(c), PROFILE, { version: "1.0.0", commit: "abcdef0" })).rejects.toThrow(
      /^cargo build --release failed \(exit code 101\): error\[E0308\]: mismatched types/,
    );
  }, 300_000);

  it("refuses a version or commit that could escape the artifact folder", async () => {
    const exec = () => Promise.reject(new Error("must not run"));
    await expect(buildRelease(exec, PROFILE, { version: "../1.0.0", commit: "abcdef0" })).rejects.toThrow(ReleaseBuildError);
    await expect(buildRelease(exec, PROFILE, { version: "1.0.0", commit: "main; rm -rf /" })).rejects.toThrow(/is not a git commit id/);
  });

  it("reads cargo metadata and rustc -vV, refusing odd output", () => {
    const metadata = JSON.stringify({
      packages: [
        {
          id: "a",
          name: "a",
          version: "1.0.0",
          targets: [
            { name: "zeta", kind: ["bin"] },
            { name: "a", kind: ["lib"] },
          ],
        },
        { id: "b", name: "b", version: "1.0.0", targets: [{ name: "alpha", kind: ["bin"] }] },
        { id: "dep", name: "dep", version: "1.0.0", targets: [{ name: "depbin", kind: ["bin"] }] },
      ],
      workspace_members: ["a", "b"],
    });
    expect(workspaceBinaries(metadata)).toEqual(["alpha", "zeta"]);
    expect(() => workspaceBinaries("not json")).toThrow("cargo metadata printed something that is not JSON");
    expect(() => workspaceBinaries('{"packages":[]}')).toThrow(/cargo metadata: unexpected output/);
    expect(() =>
      workspaceBinaries(
        JSON.stringify({
          packages: [{ id: "a", name: "a", version: "1", targets: [{ name: "../x", kind: ["bin"] }] }],
          workspace_members: ["a"],
        }),
      ),
    ).toThrow('binary name "../x" is not a plain file name');
    expect(hostTriple("rustc 1.95.0\nhost: x86_64-unknown-linux-gnu\n")).toBe("x86_64-unknown-linux-gnu");
    expect(() => hostTriple("rustc 1.95.0\n")).toThrow("rustc -vV did not name the host triple");
    expect(releaseEnv({ targetCpu: "znver4", lto: "thin", codegenUnits: 4, target: undefined })).toMatchObject({
      CARGO_PROFILE_RELEASE_LTO: "thin",
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS: "4",
      RUSTFLAGS: "-C target-cpu=znver4",
      CARGO_TARGET_DIR: "target/shriven-release",
    });
  });
});
