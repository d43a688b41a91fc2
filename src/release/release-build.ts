/**
 * The optimized release build of production: cargo's release profile with
 * LTO, one codegen unit and a chosen target CPU, applied through cargo's
 * environment (`CARGO_PROFILE_RELEASE_*`, `RUSTFLAGS`) so the user's
 * Cargo.toml is never edited; every binary of the workspace copied out of the
 * build cache, named `<bin>-<version>-<target triple>`, with its SHA-256.
 * Runs through a step's runner, so the same build runs on the host and in Dagger.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { z } from "zod";
import type { CacheMount, Command, ExecResult } from "../core/command.js";
import { PipelineError } from "../core/errors.js";

/** Target directory of release builds: LTO builds never mix with test or lint builds. */
export const RELEASE_TARGET: CacheMount = { key: "cargo-target-release", path: "target/shriven-release" };

/** Where the named artifacts are put, inside the release cache (kept between commands in Dagger too). */
export const ARTIFACT_ROOT = `${RELEASE_TARGET.path}/artifacts`;

/** How the release is optimized (`[release]` in shriven-pipeline.toml). */
export interface ReleaseProfile {
  /** `-C target-cpu`: the oldest CPU the trading hosts have (default x86-64-v3: Haswell and later). */
  readonly targetCpu: string;
  /** Link-time optimization: "fat" (default), "thin" or "off". */
  readonly lto: "fat" | "thin" | "off";
  /** Codegen units (default 1: slower build, faster binary). */
  readonly codegenUnits: number;
  /** Cross-compilation target triple; default the toolchain's host. */
  readonly target: string | undefined;
}

/** One release binary. */
export interface ReleaseArtifact {
  /** Cargo's binary name. */
  readonly binary: string;
  /** The artifact's file name: `<bin>-<version>-<triple>`. */
  readonly name: string;
  /** Workspace-relative path of the artifact. */
  readonly path: string;
  readonly sha256: string;
}

/** What a release build made. */
export interface ReleaseBuild {
  readonly version: string;
  readonly commit: string;
  readonly triple: string;
  /** Workspace-relative folder holding the artifacts: `<ARTIFACT_ROOT>/<version>-<short commit>`. */
  readonly folder: string;
  readonly artifacts: readonly ReleaseArtifact[];
  /** cargo's output of the build (with the rustc command lines). */
  readonly buildLog: string;
  /** The settings applied, for the provenance's internal parameters. */
  readonly profile: Readonly<Record<string, string | number | boolean>>;
}

/** The build failed; the message says which command and why. */
export class ReleaseBuildError extends PipelineError {
  override readonly name: string = "ReleaseBuildError";
}

const metadataSchema = z.object({
  packages: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      version: z.string(),
      targets: z.array(z.object({ name: z.string(), kind: z.array(z.string()) })),
    }),
  ),
  workspace_members: z.array(z.string()),
});

/** Cargo binary names: what cargo accepts, and nothing a path or shell could misread. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function expectSuccess(result: ExecResult, what: string): void {
  if (result.exitCode === 0) return;
  const lines = result.output.trim().split("\n");
  const line = lines.find((l) => /^error/.test(l)) ?? lines.at(-1) ?? "";
  throw new ReleaseBuildError(`${what} failed (exit code ${result.exitCode ?? "none"})${line === "" ? "" : `: ${line.trim()}`}`);
}

/** The workspace's binaries, from `cargo metadata`. */
export function workspaceBinaries(json: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new ReleaseBuildError("cargo metadata printed something that is not JSON");
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) throw new ReleaseBuildError(`cargo metadata: unexpected output (${parsed.error.issues[0]?.message ?? ""})`);
  const members = new Set(parsed.data.workspace_members);
  const bins = parsed.data.packages
    .filter((p) => members.has(p.id))
    .flatMap((p) => p.targets.filter((t) => t.kind.includes("bin")).map((t) => t.name));
  for (const bin of bins)
    if (!SAFE_NAME.test(bin)) throw new ReleaseBuildError(`binary name ${JSON.stringify(bin)} is not a plain file name`);
  return [...new Set(bins)].sort();
}

/** The host triple from `rustc -vV`. */
export function hostTriple(rustcVersion: string): string {
  const host = /^host: (\S+)$/m.exec(rustcVersion)?.[1];
  if (host === undefined) throw new ReleaseBuildError("rustc -vV did not name the host triple");
  return host;
}

/** The environment that applies the release profile without touching Cargo.toml. */
export function releaseEnv(profile: ReleaseProfile): Record<string, string> {
  return {
    CARGO_TERM_COLOR: "never",
    CARGO_TARGET_DIR: RELEASE_TARGET.path,
    CARGO_PROFILE_RELEASE_LTO: profile.lto === "off" ? "off" : profile.lto,
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS: String(profile.codegenUnits),
    CARGO_PROFILE_RELEASE_DEBUG: "false",
    CARGO_PROFILE_RELEASE_OPT_LEVEL: "3",
    CARGO_PROFILE_RELEASE_PANIC: "unwind",
    RUSTFLAGS: `-C target-cpu=${profile.targetCpu}`,
  };
}

/**
 * Builds the release binaries of the workspace and names them.
 * @param exec Runs a command through the step's runner.
 * @throws ReleaseBuildError naming the command that failed.
 */
export async function buildRelease(
  exec: (command: Command) => Promise<ExecResult>,
  profile: ReleaseProfile,
  release: { readonly version: string; readonly commit: string },
): Promise<ReleaseBuild> {
  if (!SAFE_NAME.test(release.version)) throw new ReleaseBuildError(`version ${JSON.stringify(release.version)} is not a plain name`);
  if (!/^[0-9a-f]{7,40}$/.test(release.commit))
    throw new ReleaseBuildError(`commit ${JSON.stringify(release.commit)} is not a git commit id`);
  const metadata = await exec({
    argv: ["cargo", "metadata", "--no-deps", "--format-version", "1", "--locked"],
    env: { CARGO_TERM_COLOR: "never" },
  });
  expectSuccess(metadata, "cargo metadata");
  const binaries = workspaceBinaries(metadata.stdout);
  if (binaries.length === 0) throw new ReleaseBuildError("the workspace has no binaries to release");
  let triple = profile.target;
  if (triple === undefined) {
    const rustc = await exec({ argv: ["rustc", "-vV"] });
    expectSuccess(rustc, "rustc -vV");
    triple = hostTriple(rustc.stdout);
  }
  const targetArgs = profile.target === undefined ? [] : ["--target", profile.target];
  const env = releaseEnv(profile);
  const build = await exec({
    // --verbose: the log shows each rustc invocation with the flags the profile applied.
    argv: ["cargo", "build", "--release", "--locked", "--bins", "--verbose", ...targetArgs],
    env,
    caches: [RELEASE_TARGET],
    secretEnv: ["CARGO_REGISTRY_TOKEN"],
    mergeOutput: true,
  });
  expectSuccess(build, "cargo build --release");
  const built = posix.join(RELEASE_TARGET.path, ...(profile.target === undefined ? [] : [profile.target]), "release");
  const folder = posix.join(ARTIFACT_ROOT, `${release.version}-${release.commit.slice(0, 7)}`);
  const artifacts = binaries.map((binary) => {
    const name = `${binary}-${release.version}-${triple}`;
    return { binary, name, path: posix.join(folder, name) };
  });
  expectSuccess(await exec({ argv: ["rm", "-rf", folder], caches: [RELEASE_TARGET] }), `clearing ${folder}`);
  expectSuccess(await exec({ argv: ["mkdir", "-p", folder], caches: [RELEASE_TARGET] }), `creating ${folder}`);
  for (const artifact of artifacts) {
    const copied = await exec({ argv: ["cp", posix.join(built, artifact.binary), artifact.path], caches: [RELEASE_TARGET] });
    expectSuccess(copied, `copying ${artifact.binary} out of the build cache`);
  }
  const sums = await exec({
    argv: ["sha256sum", "--", ...artifacts.map((a) => a.path)],
    caches: [RELEASE_TARGET],
    outputs: artifacts.map((a) => a.path),
  });
  expectSuccess(sums, "sha256sum");
  const digests = new Map(
    sums.stdout
      .trim()
      .split("\n")
      .map((line) => {
        const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
        return [match?.[2] ?? "", match?.[1] ?? ""] as const;
      }),
  );
  return {
    version: release.version,
    commit: release.commit,
    triple,
    folder,
    buildLog: build.output,
    artifacts: artifacts.map((a) => {
      const sha256 = digests.get(a.path);
      if (sha256 === undefined || sha256 === "") throw new ReleaseBuildError(`sha256sum did not hash ${a.path}`);
      return { ...a, sha256 };
    }),
    profile: {
      lto: profile.lto,
      codegenUnits: profile.codegenUnits,
      targetCpu: profile.targetCpu,
      target: triple,
      optLevel: 3,
      debug: false,
    },
  };
}

/**
 * The toolchain a release is built with, for its provenance: `pkg:generic/rustc@<version>` and the SHA-256 of
 * the rustc binary that `run` finds (`rustc --print sysroot`), read from the host.
 * @throws ReleaseBuildError when rustc does not answer or its binary cannot be read.
 */
export async function rustcToolchain(run: (command: Command) => Promise<ExecResult>): Promise<{ ref: string; sha256: string }> {
  const version = await run({ argv: ["rustc", "-V"] });
  const sysroot = await run({ argv: ["rustc", "--print", "sysroot"] });
  const semver = /^rustc (\S+)/.exec(version.stdout)?.[1];
  if (version.exitCode !== 0 || sysroot.exitCode !== 0 || semver === undefined)
    throw new ReleaseBuildError(`rustc -V did not answer (exit ${version.exitCode}): the release's provenance records its toolchain`);
  const binary = posix.join(sysroot.stdout.trim(), "bin", "rustc");
  try {
    return {
      ref: `pkg:generic/rustc@${semver}`,
      sha256: createHash("sha256")
        .update(await readFile(binary))
        .digest("hex"),
    };
  } catch (error) {
    throw new ReleaseBuildError(`cannot read ${binary} for the provenance's toolchain digest: ${(error as Error).message}`);
  }
}
