/**
 * The signed release build of staging and production: optimized binaries of
 * the workspace, minisign signatures, SHA256SUMS and SLSA provenance, made
 * with the RELEASE_SIGNING_KEY secret into the artifacts folder, handed to the
 * deploy step of the same run.
 */
import { join } from "node:path";
import { loadSigningKey } from "../../adapters/minisign.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import type { BuiltRelease } from "../../release/built-release.js";
import { packageRelease } from "../../release/package-release.js";
import { buildRelease, type ReleaseBuild, rustcToolchain } from "../../release/release-build.js";
import { DEFAULT_ARTIFACTS_DIR, planPrune, prune } from "../../release/retention.js";
import { needHost } from "./host.js";

/**
 * The document's retention, as a step of each release build: builds older than `[release] retention_days`
 * (30) leave the artifacts folder; released builds stay forever. Returns what the step reports.
 */
function applyRetention(artifacts: string, days: number): string[] {
  let plan: ReturnType<typeof planPrune>;
  let removed: ReturnType<typeof prune>;
  try {
    plan = planPrune(artifacts, { now: new Date(), maxAgeDays: days });
    removed = prune(plan, artifacts);
  } catch (error) {
    // The build is made and signed; a folder retention may not touch is reported, not a failed release.
    return [`retention not applied: ${(error as Error).message}`];
  }
  return [
    `retention: ${removed.length} build${removed.length === 1 ? "" : "s"} older than ${days} days removed${removed.length === 0 ? "" : ` (${removed.map((r) => r.folder).join(", ")})`}; released builds are kept`,
    ...plan.problems.map((p) => `retention kept a folder: ${p}`),
  ];
}

/** What is being released: its version and git ref, or why it cannot be built. */
export type ReleaseTarget = { readonly version: string; readonly ref: string } | { readonly refused: string };

/** The release a run built, if its build step passed. */
export function builtRelease(host: HostCapabilities): BuiltRelease | undefined {
  return host.state.builtRelease;
}

/** Why a build may not be released (production: not bit-for-bit what staging validated), or `undefined`. */
export type BuildCheck = (host: HostCapabilities, built: ReleaseBuild) => string | undefined;

async function build(
  context: StepContext,
  target: (host: HostCapabilities, commit: string) => ReleaseTarget,
  check: BuildCheck | undefined,
): Promise<StepOutcome> {
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
  const refused = check?.(host, built);
  if (refused !== undefined) return { status: "failed", summary: refused, details: built.artifacts.map((a) => `${a.sha256}  ${a.name}`) };
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
  host.state.builtRelease = {
    dir,
    version,
    commit,
    keyId: packaged.keyId,
    artifacts: built.artifacts.map(({ binary, name, sha256 }) => ({ binary, name, sha256 })),
  };
  const ephemeral =
    host.inputs.ephemeralKeyId === packaged.keyId
      ? " (an ephemeral key generated for this local run, pinned for its local targets only: not a release key)"
      : "";
  return {
    status: "passed",
    summary: `${version}: ${built.artifacts.map((a) => a.name).join(", ")} signed by key ${packaged.keyId}${ephemeral}`,
    details: [
      ...built.artifacts.map((a) => `${a.sha256}  ${a.name}`),
      ...applyRetention(join(host.workspace, DEFAULT_ARTIFACTS_DIR), context.policies.release.retentionDays),
    ],
  };
}

/**
 * A release build step; `target` names the version (or refuses) once the commit is known; `check` may refuse
 * what was built before it is signed.
 */
export function signedReleaseStep(
  description: string,
  target: (host: HostCapabilities, commit: string) => ReleaseTarget,
  check?: BuildCheck,
): Step {
  return {
    id: "release-build",
    title: "Release build",
    description,
    defaultTimeoutSeconds: 1800,
    run: (context) => build(context, target, check),
  };
}
