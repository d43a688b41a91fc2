/**
 * `shriven-pipeline release`: the artifact side of production on its own — an
 * optimized, signed release with SHA256SUMS and SLSA provenance, optionally
 * published to GitHub.
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `release --tag vX.Y.Z [--source DIR] [--signing-key-file FILE] [--out DIR] [--report FILE]... [--publish]` */
export const command: CliCommand = {
  name: "release",
  summary: "Optimized release build, minisign signatures, SHA256SUMS, SLSA provenance",
  usage: [
    "--tag vX.Y.Z [--source DIR] [--signing-key-file FILE (default: $RELEASE_SIGNING_KEY)]",
    "[--out DIR] [--report FILE]... [--publish [--repository OWNER/NAME]] (token: $GITHUB_TOKEN)",
  ],
  options: {
    source: { type: "string" },
    tag: { type: "string" },
    "signing-key-file": { type: "string" },
    out: { type: "string" },
    report: { type: "string", multiple: true },
    publish: { type: "boolean" },
    repository: { type: "string" },
  },
  run: lazyRun(() => import("../actions/release.js")),
};
