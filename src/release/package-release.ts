/**
 * Turning built binaries into a release a user can verify offline with
 * standard tools: a minisign signature per binary (its trusted comment binds
 * file name, version and commit), a signed `SHA256SUMS`, SLSA provenance in a
 * signed DSSE envelope, the public key, and `build.json`.
 *
 * Layout of the release folder:
 *
 *     <bin>-<version>-<triple>            the binaries
 *     <bin>-<version>-<triple>.minisig    minisign signatures (prehashed Ed25519)
 *     SHA256SUMS, SHA256SUMS.minisig      `sha256sum -c` format, signed
 *     provenance.intoto.jsonl             DSSE envelope of an in-toto Statement (SLSA provenance v1)
 *     minisign.pub                        the public key to pin
 *     build.json                          version, commit, time, key id
 */
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { formatPublicKey, keyIdHex, type SigningKey, signFile } from "../adapters/minisign.js";
import { writeFileAtomically } from "../core/atomic-file.js";
import { formatSha256Sums } from "./checksums.js";
import { buildProvenance, type DebianPackage } from "./provenance/build.js";
import { signEnvelope } from "./provenance/dsse.js";
import type { ReleaseBuild } from "./release-build.js";

/** Where provenance says the build came from. */
export interface ReleaseOrigin {
  /** Source repository URL (https://github.com/owner/name). */
  readonly repository: string;
  /** The release tag. */
  readonly ref: string;
  /** The toolchain image and its digest. */
  readonly toolchainImage: { readonly ref: string; readonly sha256: string };
  /** Debian packages the pipeline added to the toolchain image, at their installed versions (builds in a container). */
  readonly toolchainPackages?: readonly DebianPackage[];
  /** Who built it: the CI workflow run or the local CLI. */
  readonly builderId: string;
  /** This run's id (the CI run URL or a random id). */
  readonly invocationId: string;
  readonly startedOn: Date;
  /** The stage reports this release is based on: name and local path. */
  readonly reports: readonly { readonly name: string; readonly path: string }[];
}

/** What was packaged. */
export interface PackagedRelease {
  readonly dir: string;
  /** The signing key's id (16 hex digits, as minisign prints it) and the public key file text. */
  readonly keyId: string;
  readonly publicKey: string;
  /** Every file of the release folder, for uploading. */
  readonly files: readonly string[];
}

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/**
 * Packages `build` (its binaries read from `binaryPath(artifact path)`) into `dir`.
 * Every text file is written whole (temp file and rename).
 */
export function packageRelease(input: {
  readonly build: ReleaseBuild;
  readonly binaryPath: (workspacePath: string) => string;
  readonly key: SigningKey;
  readonly origin: ReleaseOrigin;
  readonly dir: string;
  readonly now?: () => Date;
}): PackagedRelease {
  const { build, key, origin, dir } = input;
  const now = input.now ?? (() => new Date());
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const artifact of build.artifacts) {
    const target = join(dir, artifact.name);
    copyFileSync(input.binaryPath(artifact.path), target);
    const bytes = readFileSync(target);
    if (sha256(bytes) !== artifact.sha256) throw new Error(`${artifact.name} changed after it was built: its SHA-256 differs`);
    const trustedComment = `timestamp:${Math.floor(now().getTime() / 1000)}\tfile:${artifact.name}\tversion:${build.version}\tcommit:${build.commit}`;
    writeFileAtomically(
      `${target}.minisig`,
      signFile(bytes, key, { trustedComment, untrustedComment: `signature from shriven-pipeline key ${keyIdHex(key.keyId)}` }),
    );
    files.push(target, `${target}.minisig`);
  }
  const sums = formatSha256Sums(build.artifacts.map((a) => ({ name: a.name, sha256: a.sha256 })));
  const sumsPath = join(dir, "SHA256SUMS");
  writeFileAtomically(sumsPath, sums);
  writeFileAtomically(
    `${sumsPath}.minisig`,
    signFile(Buffer.from(sums), key, {
      trustedComment: `timestamp:${Math.floor(now().getTime() / 1000)}\tfile:SHA256SUMS\tversion:${build.version}\tcommit:${build.commit}`,
      untrustedComment: `signature from shriven-pipeline key ${keyIdHex(key.keyId)}`,
    }),
  );
  files.push(sumsPath, `${sumsPath}.minisig`);
  const statement = buildProvenance({
    subjects: build.artifacts.map((a) => ({ name: a.name, sha256: a.sha256 })),
    repository: origin.repository,
    ref: origin.ref,
    commit: build.commit,
    toolchainImage: origin.toolchainImage,
    ...(origin.toolchainPackages === undefined ? {} : { toolchainPackages: origin.toolchainPackages }),
    builderId: origin.builderId,
    invocationId: origin.invocationId,
    startedOn: origin.startedOn,
    finishedOn: now(),
    releaseProfile: build.profile,
    reports: origin.reports.map((r) => ({ name: r.name, sha256: sha256(readFileSync(r.path)) })),
  });
  const envelope = signEnvelope(statement, { keyId: keyIdHex(key.keyId), sign: (data) => key.sign(data) });
  const provenancePath = join(dir, "provenance.intoto.jsonl");
  writeFileAtomically(provenancePath, `${JSON.stringify(envelope)}\n`);
  const publicKey = formatPublicKey(key);
  const publicKeyPath = join(dir, "minisign.pub");
  writeFileAtomically(publicKeyPath, publicKey);
  const buildJson = join(dir, "build.json");
  writeFileAtomically(
    buildJson,
    `${JSON.stringify({ version: build.version, commit: build.commit, builtAt: now().toISOString(), triple: build.triple, keyId: keyIdHex(key.keyId) }, null, 2)}\n`,
  );
  files.push(provenancePath, publicKeyPath, buildJson);
  return { dir, keyId: keyIdHex(key.keyId), publicKey, files: files.map((f) => join(dir, basename(f))) };
}
