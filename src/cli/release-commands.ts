/**
 * `shriven-pipeline release`, `verify` and `prune-artifacts`: the artifact side
 * of production on its own — an optimized, signed release with provenance
 * (optionally published to GitHub), checking one offline, and the retention
 * rule for build artifacts.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { execa } from "execa";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { readTextFile } from "../config/read-text-file.js";
import { UsageError } from "../core/errors.js";
import { publishRelease, ReleaseError } from "../release/github-release.js";
import { loadSigningKey } from "../release/minisign.js";
import { packageRelease } from "../release/package-release.js";
import { buildRelease, ReleaseBuildError, rustcToolchain } from "../release/release-build.js";
import { DEFAULT_ARTIFACTS_DIR, planPrune, prune, RELEASED_FILE } from "../release/retention.js";
import { verifyRelease } from "../release/verify-release.js";
import { writeAtomic } from "../report/write-report.js";
import { HostRunner } from "../runners/host-runner.js";
import { allStepIds } from "../stages/registry.js";
import { checkReleaseTag } from "../supply-chain/release-tag.js";
import { parseOptions, text } from "./args.js";
import type { GateIo } from "./gate-commands.js";
import { runIdentity } from "./run-identity.js";

/** Environment variable holding the signing key (a production secret). */
export const SIGNING_KEY_ENV = "RELEASE_SIGNING_KEY";

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

/** `release --tag vX.Y.Z [--source DIR] [--signing-key-file FILE] [--out DIR] [--report FILE]... [--publish]` */
export async function releaseCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    source: { type: "string" },
    tag: { type: "string" },
    "signing-key-file": { type: "string" },
    out: { type: "string" },
    report: { type: "string", multiple: true },
    publish: { type: "boolean" },
    repository: { type: "string" },
  });
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
      reports: ((values.report as string[] | undefined) ?? []).map((r) => ({
        name: relative(io.cwd, resolve(io.cwd, r)),
        path: resolve(io.cwd, r),
      })),
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
  return publish(io, {
    dir: out,
    tag,
    commit,
    repositoryName,
    apiUrl: policy.githubApiUrl,
    reports: (values.report as string[] | undefined) ?? [],
  });
}

/** Publishes the release folder `dir` to GitHub; re-running it is idempotent (identical assets are skipped). */
async function publish(
  io: GateIo,
  options: {
    dir: string;
    tag: string;
    commit: string | undefined;
    repositoryName: string | undefined;
    apiUrl: string;
    reports: readonly string[];
  },
): Promise<number> {
  const { dir, tag } = options;
  const token = io.env.GITHUB_TOKEN;
  if (token === undefined || token === "") throw new UsageError("publishing needs the GITHUB_TOKEN secret");
  if (options.repositoryName === undefined)
    throw new UsageError("publishing needs --repository OWNER/NAME, [release] github_repository or $GITHUB_REPOSITORY");
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repositoryName))
    throw new UsageError(`--repository: expected OWNER/NAME, got ${JSON.stringify(options.repositoryName)}`);
  const [owner, repo] = options.repositoryName.split("/") as [string, string];
  const notesFrom = options.reports.filter((r) => r.endsWith(".md"));
  const notes =
    notesFrom.length > 0
      ? notesFrom.map((r) => readFileSync(resolve(io.cwd, r), "utf8")).join("\n")
      : `Release ${tag}${options.commit === undefined ? "" : ` (${options.commit})`}. Verify: \`minisign -Vm FILE -p minisign.pub\` and \`sha256sum -c SHA256SUMS\`.`;
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== RELEASED_FILE && !e.name.endsWith(".tmp"))
    .map((e) => e.name)
    .sort();
  try {
    const published = await publishRelease({
      token,
      owner,
      repo,
      tag,
      notes,
      ...(options.commit === undefined ? {} : { targetCommitish: options.commit }),
      baseUrl: options.apiUrl,
      assets: names.map((name) => ({ path: join(dir, name), name })),
    });
    writeAtomic(
      join(dir, RELEASED_FILE),
      `${JSON.stringify({ tag, releasedAt: new Date().toISOString(), url: published.htmlUrl }, null, 2)}\n`,
    );
    io.stdout.write(
      `✅ GitHub release ${tag}: ${published.htmlUrl} (${published.created ? "created" : "reused"}; uploaded ${published.uploaded.length}, already there ${published.skipped.length})\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    io.stdout.write(`❌ GitHub release: ${error.message}\n`);
    return 1;
  }
}

/** `publish --dir DIR --tag vX.Y.Z [--repository OWNER/NAME] [--source DIR] [--report FILE]...` */
export async function publishCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    dir: { type: "string" },
    tag: { type: "string" },
    repository: { type: "string" },
    source: { type: "string" },
    report: { type: "string", multiple: true },
  });
  const dir = text(values.dir);
  const tag = text(values.tag);
  if (dir === undefined || tag === undefined) throw new UsageError("publish needs --dir DIR (a signed release folder) and --tag vX.Y.Z");
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const policy = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.release;
  const verdict = checkReleaseTag(tag, [], policy);
  if (!verdict.ok) throw new UsageError(`--tag: ${verdict.reason}`);
  const folder = resolve(io.cwd, dir);
  let commit: string | undefined;
  try {
    commit = (JSON.parse(readFileSync(join(folder, "build.json"), "utf8")) as { commit?: string }).commit;
  } catch {
    throw new UsageError(`${dir} has no readable build.json: is it a release folder made by \`shriven-pipeline release\`?`);
  }
  return publish(io, {
    dir: folder,
    tag,
    commit,
    repositoryName: text(values.repository) ?? policy.githubRepository ?? io.env.GITHUB_REPOSITORY,
    apiUrl: policy.githubApiUrl,
    reports: (values.report as string[] | undefined) ?? [],
  });
}

/** `verify --dir DIR --public-key FILE` */
export async function verifyCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, { dir: { type: "string" }, "public-key": { type: "string" } });
  const dir = text(values.dir);
  const keyFile = text(values["public-key"]);
  if (dir === undefined || keyFile === undefined) throw new UsageError("verify needs --dir DIR and --public-key FILE (minisign.pub)");
  const keyPath = resolve(io.cwd, keyFile);
  const result = await verifyRelease(resolve(io.cwd, dir), readTextFile(keyPath), keyFile);
  io.stdout.write(
    [
      `${result.ok ? "✅" : "❌"} Release in ${dir}: ${result.ok ? "verified" : "NOT verified"} against key ${result.keyId}`,
      ...result.checks.map((c) => `    ${c.ok ? "ok  " : "FAIL"} ${c.subject}: ${c.detail}`),
      "",
    ].join("\n"),
  );
  return result.ok ? 0 : 1;
}

/** `prune-artifacts [--source DIR | --dir DIR] [--days N] [--dry-run]` */
export async function pruneCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    source: { type: "string" },
    dir: { type: "string" },
    days: { type: "string" },
    "dry-run": { type: "boolean" },
  });
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const daysText = text(values.days);
  const days = daysText === undefined ? config.policies.release.retentionDays : Number(daysText);
  if (!Number.isInteger(days) || days < 1)
    throw new UsageError(`--days: expected a whole number of days ≥ 1, got ${JSON.stringify(daysText)}`);
  const dir = resolve(io.cwd, text(values.dir) ?? join(source, DEFAULT_ARTIFACTS_DIR));
  const plan = planPrune(dir, { now: new Date(), maxAgeDays: days });
  const dry = values["dry-run"] === true;
  const removed = dry ? plan.remove : prune(plan, dir);
  io.stdout.write(
    [
      `${dry ? "Would remove" : "Removed"} ${removed.length} build${removed.length === 1 ? "" : "s"} older than ${days} days from ${relative(io.cwd, dir) || dir}; releases are kept:`,
      ...removed.map((r) => `    - ${r.folder} (built ${r.builtAt}, ${Math.floor(r.ageDays)} days, ${r.bytes} bytes)`),
      ...plan.keep.map((k) => `    kept ${k.folder} (${k.reason})`),
      ...plan.problems.map((p) => `    ⚠️ ${p}`),
      "",
    ].join("\n"),
  );
  return 0;
}
