/**
 * The release side in Dagger: the optimized build runs in the pinned
 * toolchain container through the same {@link buildRelease} the CLI runs on
 * the host; the binaries come back as a Directory, are signed in the module
 * with the key that arrived as a Secret, and go out as one Directory. The
 * provenance names the toolchain image by digest and the Debian packages added
 * to it at the versions installed there.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Directory, dag, type File, type Secret } from "@dagger.io/dagger";
import { RUST_IMAGE } from "../../containers/images.js";
import { loadSigningKey } from "../adapters/minisign.js";
import { UsageError } from "../core/errors.js";
import { packageRelease } from "../release/package-release.js";
import { buildRelease } from "../release/release-build.js";
import { verifyRelease } from "../release/verify-release.js";
import { checkReleaseTag } from "../supply-chain/release-tag.js";
import { pinnedImage } from "./container-record.js";
import { loadConfig, toolchainRecord, workspaceEntries, workspaceRunner } from "./run-in-dagger.js";

/** Arguments of `buildRelease`. */
export interface ReleaseArgs {
  readonly source: Directory;
  readonly tag: string;
  readonly commit: string;
  readonly signingKey: Secret;
  readonly repository?: string;
  readonly registryToken?: Secret;
}

/** Builds, signs and packages a release; the returned Directory is the release folder. */
export async function buildReleaseInDagger(args: ReleaseArgs): Promise<Directory> {
  const config = await loadConfig(args.source, await workspaceEntries(args.source));
  const policy = config.policies.release;
  const verdict = checkReleaseTag(args.tag, [], policy);
  if (!verdict.ok) throw new UsageError(`tag: ${verdict.reason}`);
  if (!/^[0-9a-f]{40}$/.test(args.commit))
    throw new UsageError(`commit: expected the full 40-hex commit id, got ${JSON.stringify(args.commit)}`);
  const repository =
    args.repository ?? (policy.githubRepository === undefined ? undefined : `https://github.com/${policy.githubRepository}`);
  if (repository === undefined || !/^https?:\/\/\S+$/.test(repository))
    throw new UsageError("repository: pass the source repository URL (https://github.com/OWNER/NAME); the provenance records it");
  // The key is read inside the module and only ever used to sign; it is never returned or logged.
  const key = loadSigningKey(await args.signingKey.plaintext(), "signingKey");
  const startedOn = new Date();
  const [runner, toolchain] = await Promise.all([workspaceRunner(args.source, args.registryToken), toolchainRecord()]);
  const image = pinnedImage(RUST_IMAGE);
  const build = await buildRelease((command) => runner.exec(command), policy.profile, { version: verdict.version, commit: args.commit });
  const produced = runner.outputs();
  if (produced === undefined) throw new Error("the release build produced no files");
  const local = mkdtempSync(join(tmpdir(), "shriven-release-"));
  await produced.export(local);
  const out = mkdtempSync(join(tmpdir(), "shriven-release-out-"));
  const packaged = packageRelease({
    build,
    binaryPath: (path) => join(local, path),
    key,
    dir: out,
    origin: {
      repository,
      ref: `refs/tags/${args.tag}`,
      toolchainImage: { ref: `docker://${image.ref}`, sha256: image.digest.slice("sha256:".length) },
      toolchainPackages: toolchain.packages.map((pkg) => ({ ...pkg, distro: toolchain.distro })),
      builderId: "https://github.com/shrivenquant/shriven-pipeline/dagger/build-release",
      invocationId: `urn:uuid:${randomUUID()}`,
      startedOn,
      reports: [],
    },
  });
  let release = dag.directory();
  const binaries = new Map(build.artifacts.map((a) => [a.name, a.path]));
  for (const name of readdirSync(out).sort()) {
    const binaryPath = binaries.get(name);
    release =
      binaryPath !== undefined
        ? release.withFile(name, produced.file(binaryPath))
        : release.withNewFile(name, readFileSync(join(packaged.dir, name), "utf8"));
  }
  return release;
}

/** Verifies a release Directory against a public key File; the checks, or an error listing them. */
export async function verifyReleaseInDagger(release: Directory, publicKey: File): Promise<string> {
  const local = mkdtempSync(join(tmpdir(), "shriven-verify-"));
  await release.export(local);
  const result = await verifyRelease(local, await publicKey.contents(), await publicKey.name());
  const text = [
    `${result.ok ? "verified" : "NOT verified"} against key ${result.keyId}`,
    ...result.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.subject}: ${c.detail}`),
  ].join("\n");
  if (!result.ok) throw new Error(text);
  return `${text}\n`;
}
