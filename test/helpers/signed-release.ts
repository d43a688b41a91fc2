/**
 * Signed release folders of a one-file service, as `shriven-pipeline release`
 * makes them (binary, .minisig, SHA256SUMS, provenance, build.json), for
 * tests of deploys and rollbacks that need no cargo build.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSigningKey, type SigningKey } from "../../src/adapters/minisign.js";
import { packageRelease } from "../../src/release/package-release.js";

const TRIPLE = "x86_64-unknown-linux-gnu";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

/** A fresh signing key named `name`. */
export function testSigningKey(name: string): SigningKey {
  return loadSigningKey(randomBytes(32).toString("hex"), name);
}

/**
 * Packages `script` (the text of the binary `binary`) as the signed release `version` in a fresh folder
 * under `parent`, returning the release folder.
 */
export function signedRelease(parent: string, options: { version: string; binary: string; script: string; key: SigningKey }): string {
  const dir = mkdtempSync(join(parent, "release-"));
  const bin = join(dir, options.binary);
  writeFileSync(bin, options.script);
  chmodSync(bin, 0o755);
  const out = join(dir, "release");
  packageRelease({
    build: {
      version: options.version,
      commit: COMMIT,
      triple: TRIPLE,
      folder: "x",
      buildLog: "",
      profile: {},
      artifacts: [
        {
          binary: options.binary,
          name: `${options.binary}-${options.version}-${TRIPLE}`,
          path: options.binary,
          sha256: createHash("sha256").update(readFileSync(bin)).digest("hex"),
        },
      ],
    },
    binaryPath: () => bin,
    key: options.key,
    dir: out,
    origin: {
      repository: "https://github.com/o/r",
      ref: `refs/tags/v${options.version}`,
      toolchainImage: { ref: "docker://rust:1.95.0", sha256: "a".repeat(64) },
      builderId: "https://example.com/builder",
      invocationId: "urn:uuid:1",
      startedOn: new Date(),
      reports: [],
    },
  });
  return out;
}
