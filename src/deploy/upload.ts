/**
 * Putting a release on a host: the files every host gets are staged locally,
 * uploaded into a partial folder, their SHA-256 checked on the host, and the
 * folder renamed into `releases/<version>` (never replacing the one serving).
 */
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatSha256Sums } from "../release/checksums.js";
import type { DeployContext } from "./context.js";
import type { DeployHost } from "./policy.js";

/** The release's binary as the release folder holds it. */
export interface ReleaseArtifact {
  readonly version: string;
  readonly commit: string;
  /** Its file name in the release folder. */
  readonly artifact: string;
  readonly sha256: string;
}

const PREPARE = `
rm -rf -- "$1"/releases/.partial-*
mkdir -p -- "$1/releases/.partial-$2"`;
const COMMIT = `
root="$1"; version="$2"; nonce="$3"; binary="$4"
d="$root/releases/.partial-$nonce"
(cd "$d" && sha256sum -c --strict --quiet SHA256SUMS) || { rm -rf -- "$d"; exit 20; }
chmod 0755 "$d/$binary"
if [ -e "$root/releases/$version" ]; then
  if cmp -s "$d/SHA256SUMS" "$root/releases/$version/SHA256SUMS" && (cd "$root/releases/$version" && sha256sum -c --strict --quiet SHA256SUMS); then
    rm -rf -- "$d"; exit 0
  fi
  # Another build under the same version: never replace the one serving.
  [ "$(readlink "$root/current" 2>/dev/null)" = "releases/$version" ] && { rm -rf -- "$d"; echo "releases/$version is serving with other content"; exit 22; }
  rm -rf -- "$root/releases/$version"
fi
mv -- "$d" "$root/releases/$version"`;

/**
 * Writes the files every host gets into `staging`, named for the service: the binary, its signature, their
 * checksums, a manifest. Their paths.
 */
export function stageReleaseFiles(
  context: DeployContext & { readonly releaseDir: string },
  staging: string,
  release: ReleaseArtifact,
): string[] {
  const { inventory } = context;
  const { version, commit, artifact, sha256 } = release;
  const binaryFile = join(staging, inventory.binary);
  copyFileSync(join(context.releaseDir, artifact), binaryFile);
  copyFileSync(join(context.releaseDir, `${artifact}.minisig`), `${binaryFile}.minisig`);
  writeFileSync(join(staging, "SHA256SUMS"), formatSha256Sums([{ name: inventory.binary, sha256 }]));
  writeFileSync(
    join(staging, "manifest.json"),
    `${JSON.stringify({ version, commit, artifact, sha256, deployedBy: context.who, deployedAt: (context.now?.() ?? new Date()).toISOString() }, null, 2)}\n`,
  );
  return [inventory.binary, `${inventory.binary}.minisig`, "SHA256SUMS", "manifest.json"].map((f) => join(staging, f));
}

/**
 * Uploads `files` to a partial folder on `host` (named by the deploy's `nonce`), checks their SHA-256 there
 * and puts them in place as `releases/<version>`.
 * @throws Error saying what failed.
 */
export async function uploadRelease(
  context: DeployContext,
  host: DeployHost,
  files: readonly string[],
  nonce: string,
  version: string,
): Promise<void> {
  const { session } = context;
  const prepared = await session.run(host, PREPARE, [host.path, nonce], { timeoutMs: 30_000 });
  if (prepared.exitCode !== 0) throw new Error(`cannot prepare the upload: ${prepared.stderr.trim()}`);
  const partial = `${host.path}/releases/.partial-${nonce}`;
  await session.upload(host, files, partial, {
    timeoutMs: 600_000,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  await context.afterUpload?.(host, partial);
  const committed = await session.run(host, COMMIT, [host.path, version, nonce, context.inventory.binary], { timeoutMs: 120_000 });
  if (committed.exitCode === 20 || committed.exitCode === 21)
    throw new Error(`SHA-256 mismatch on the host after upload: ${committed.stdout.trim() || committed.stderr.trim()}`);
  if (committed.exitCode === 22) throw new Error(committed.stdout.trim());
  if (committed.exitCode !== 0) throw new Error(`cannot put the release in place (exit ${committed.exitCode}): ${committed.stderr.trim()}`);
}
