/**
 * `shriven-pipeline release`: the artifact side of production on its own — an
 * optimized, signed release with SHA256SUMS and SLSA provenance, optionally
 * published to GitHub.
 */
import { randomUUID } from "node:crypto";
import { join, relative, resolve } from "node:path";
import { execa } from "execa";
import { loadSigningKey } from "../../adapters/minisign.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import { packageRelease } from "../../release/package-release.js";
import { buildRelease, ReleaseBuildError, rustcToolchain } from "../../release/release-build.js";
import { DEFAULT_ARTIFACTS_DIR } from "../../release/retention.js";
import { HostRunner } from "../../runners/host-runner.js";
import { allStepIds } from "../../stages/registry.js";
import { checkReleaseTag } from "../../supply-chain/release-tag.js";
import { type ParsedArgs, text, texts } from "../args.js";
import type { CliIo } from "../io.js";
import { publishReleaseFolder } from "../publish-release.js";
import { runIdentity } from "../run-identity.js";
import { SIGNING_KEY_ENV } from "../secrets.js";

export { runRelease as run };

async function git(source: string, args: string[]): Promise<string | undefined> {
  const result = await execa("git", args, { cwd: source, reject: false });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}

/** `https://github.com/owner/name` from an origin URL (https or ssh form), or the URL as is. */
function repositoryUrl(origin: string): string {
  const ssh = /^git@([^:]+):(.+?)(\.git)?$/.exec(origin);
  if (ssh !== null) return `https://${ssh[1]}/${ssh[2]}`;
  return origin.replace(/\.git$/, "");
}

async function runRelease({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const tag = text(values.tag);
  if (tag === undefined) throw new UsageError("release needs --tag vMAJOR.MINOR.PATCH");
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const policy = config.policies.release;
  const verdict = checkReleaseTag(tag, ((await git(source, ["tag", "--list"])) ?? "").split("\n").filter(Boolean), policy);
  if (!verdict.ok) throw new UsageError(`--tag: ${verdict.reason}`);
  const keyFile = text(values["signing-key-file"]);
  const keyText = keyFile !== undefined ? readTextFile(resolve(io.cwd, keyFile)) : io.env[SIGNING_KEY_ENV];
  if (keyText === undefined || keyText.trim() === "")
    throw new UsageError(`release needs a signing key: --signing-key-file FILE or the ${SIGNING_KEY_ENV} secret`);
  const key = loadSigningKey(keyText, keyFile ?? SIGNING_KEY_ENV);
  const commit = await git(source, ["rev-parse", "HEAD"]);
  if (commit === undefined || !/^[0-9a-f]{40}$/.test(commit))
    throw new UsageError(`${source} is not a git checkout with a commit; a release records its commit`);
  const repositoryName = text(values.repository) ?? policy.githubRepository ?? io.env.GITHUB_REPOSITORY;
  const origin = await git(source, ["remote", "get-url", "origin"]);
  const repository =
    repositoryName !== undefined
      ? `https://github.com/${repositoryName}`
      : origin !== undefined
        ? repositoryUrl(origin)
        : `file://${source}`;
  const startedOn = new Date();
  const runner = new HostRunner({ workspace: source });
  let build: Awaited<ReturnType<typeof buildRelease>>;
  let toolchainImage: Awaited<ReturnType<typeof rustcToolchain>>;
  try {
    io.stdout.write(
      `Building ${tag} (LTO ${policy.profile.lto}, ${policy.profile.codegenUnits} codegen unit(s), target CPU ${policy.profile.targetCpu})\n`,
    );
    build = await buildRelease((command) => runner.exec(command), policy.profile, { version: verdict.version, commit });
    toolchainImage = await rustcToolchain((command) => runner.exec(command));
  } catch (error) {
    if (!(error instanceof ReleaseBuildError)) throw error;
    io.stdout.write(`❌ Release: ${error.message}\n`);
    return 1;
  }
  const out = resolve(io.cwd, text(values.out) ?? join(source, DEFAULT_ARTIFACTS_DIR, `${verdict.version}-${commit.slice(0, 7)}`));
  const { runUrl } = runIdentity(io.env);
  const reports = texts(values.report) ?? [];
  const packaged = packageRelease({
    build,
    binaryPath: (path) => join(source, path),
    key,
    dir: out,
    origin: {
      repository,
      ref: `refs/tags/${tag}`,
      toolchainImage,
      builderId:
        runUrl !== undefined
          ? `${io.env.GITHUB_SERVER_URL ?? "https://github.com"}/${io.env.GITHUB_REPOSITORY}/.github/workflows/production.yml`
          : "https://github.com/shrivenquant/shriven-pipeline/cli",
      invocationId: runUrl ?? `urn:uuid:${randomUUID()}`,
      startedOn,
      reports: reports.map((r) => ({ name: relative(io.cwd, resolve(io.cwd, r)), path: resolve(io.cwd, r) })),
    },
  });
  io.stdout.write(
    [
      `✅ Release ${tag}: ${build.artifacts.length} binar${build.artifacts.length === 1 ? "y" : "ies"} signed in ${relative(io.cwd, out) || out}`,
      ...build.artifacts.map((a) => `    ${a.sha256}  ${a.name}`),
      `    signing key ${packaged.keyId}; pin this public key (minisign.pub):`,
      ...packaged.publicKey
        .trimEnd()
        .split("\n")
        .map((l) => `      ${l}`),
      `    verify: shriven-pipeline verify --dir ${relative(io.cwd, out) || out} --public-key minisign.pub   (or: minisign -Vm FILE -p minisign.pub)`,
      "",
    ].join("\n"),
  );
  if (values.publish !== true) return 0;
  return publishReleaseFolder(io, { dir: out, tag, commit, repositoryName, apiUrl: policy.githubApiUrl, reports });
}
