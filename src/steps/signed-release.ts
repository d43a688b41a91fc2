/**
 * The signed release build of staging and production: optimized binaries of
 * the workspace, minisign signatures, SHA256SUMS and SLSA provenance, made
 * with the RELEASE_SIGNING_KEY secret into the artifacts folder, handed to the
 * deploy step of the same run.
 */
import { join } from "node:path";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../core/step.js";
import { loadSigningKey } from "../release/minisign.js";
import { packageRelease } from "../release/package-release.js";
import { buildRelease, rustcToolchain } from "../release/release-build.js";
import { DEFAULT_ARTIFACTS_DIR } from "../release/retention.js";
import { guarded, needHost } from "./host-steps.js";

/** The release a run built, for its deploy and publish steps. */
export interface BuiltRelease {
  readonly dir: string;
  readonly version: string;
  readonly commit: string;
  /** The signing key's id, as minisign prints it. */
  readonly keyId: string;
}

/** Where a run keeps the release it built in {@link HostCapabilities.shared}. */
export const BUILT_RELEASE = "release.built";

/** What is being released: its version and git ref, or why it cannot be built. */
export type ReleaseTarget = { readonly version: string; readonly ref: string } | { readonly refused: string };

/** The release a run built, if its build step passed. */
export function builtRelease(host: HostCapabilities): BuiltRelease | undefined {
  return host.shared.get(BUILT_RELEASE) as BuiltRelease | undefined;
}

async function build(context: StepContext, target: (host: HostCapabilities, commit: string) => ReleaseTarget): Promise<StepOutcome> {
  const host = needHost(context, "the signed release build");
  const keyText = host.secret("RELEASE_SIGNING_KEY");
  if (keyText === undefined)
    return { status: "failed", summary: "the RELEASE_SIGNING_KEY secret is missing: every release that reaches a host is signed" };
  const head = await context.exec({ argv: ["git", "rev-parse", "HEAD"] });
  const commit = head.stdout.trim();
  if (head.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(commit))
    return { status: "failed", summary: "the workspace is not a git checkout with a commit; a release records its commit" };
  const what = target(host, commit);
  if ("refused" in what) return { status: "failed", summary: what.refused };
  const { version } = what;
  const started = new Date();
  const built = await buildRelease((command) => context.exec(command), context.policies.release.profile, { version, commit });
  const dir = join(host.workspace, DEFAULT_ARTIFACTS_DIR, `${version}-${commit.slice(0, 7)}`);
  const packaged = packageRelease({
    build: built,
    binaryPath: (path) => join(host.workspace, path),
    key: loadSigningKey(keyText, "RELEASE_SIGNING_KEY"),
    dir,
    origin: {
      repository:
        host.ci.GITHUB_REPOSITORY === undefined
          ? `file://${host.workspace}`
          : `${host.ci.GITHUB_SERVER_URL ?? "https://github.com"}/${host.ci.GITHUB_REPOSITORY}`,
      ref: what.ref,
      toolchainImage: await rustcToolchain((command) => context.exec(command)),
      builderId: "https://github.com/shrivenquant/shriven-pipeline/cli",
      invocationId: host.runUrl ?? `urn:shriven:${what.ref}:${started.getTime()}`,
      startedOn: started,
      reports: [],
    },
  });
  host.shared.set(BUILT_RELEASE, { dir, version, commit, keyId: packaged.keyId } satisfies BuiltRelease);
  return {
    status: "passed",
    summary: `${version}: ${built.artifacts.map((a) => a.name).join(", ")} signed by key ${packaged.keyId}`,
    details: built.artifacts.map((a) => `${a.sha256}  ${a.name}`),
  };
}

/** A release build step; `target` names the version (or refuses) once the commit is known. */
export function signedReleaseStep(description: string, target: (host: HostCapabilities, commit: string) => ReleaseTarget): Step {
  return {
    id: "release-build",
    title: "Release build",
    description,
    defaultTimeoutSeconds: 1800,
    run: (context) => guarded(() => build(context, target)),
  };
}
