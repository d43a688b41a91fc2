/** The GitHub release of the tag with the signed artifacts; a local rehearsal or a run without a token publishes nothing. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { auditChainHead } from "../../audit-log/head.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { parseSha256Sums } from "../../release/checksums.js";
import { publishRelease } from "../../release/github-release.js";
import { CHANGES_MAX, type ReleaseChange, releaseNotes } from "../../release/release-notes.js";
import { RELEASED_FILE } from "../../release/retention.js";
import { auditLogOf, needHost } from "../shared/host.js";
import { builtRelease } from "../shared/signed-release.js";
import { EMERGENCY_SKIPS } from "./emergency.js";
import { failed } from "./failed.js";
import { releaseTag } from "./release-tag.js";

/** The commits `previous..tag` (or up to the tag, for the first release), newest first, bounded. */
async function changesSince(context: StepContext, previous: string | undefined, tag: string): Promise<ReleaseChange[]> {
  const range = previous === undefined ? `refs/tags/${tag}` : `refs/tags/${previous}..refs/tags/${tag}`;
  const log = await context.exec({ argv: ["git", "log", `--max-count=${CHANGES_MAX + 1}`, "--format=%h%x09%s", range, "--"] });
  if (log.exitCode !== 0) return [];
  return log.stdout
    .split("\n")
    .filter((l) => l.includes("\t"))
    .map((l) => ({ commit: l.slice(0, l.indexOf("\t")), subject: l.slice(l.indexOf("\t") + 1) }));
}

/** The release notes of this run: changes, approvers, gate results so far, the chain head, checksums. */
async function notesOf(context: StepContext, host: HostCapabilities, release: { dir: string; keyId: string }): Promise<string> {
  const tag = releaseTag(host) as NonNullable<ReturnType<typeof releaseTag>>;
  const sums = join(release.dir, "SHA256SUMS");
  const checksums = existsSync(sums)
    ? parseSha256Sums(readFileSync(sums, "utf8"), sums).map((e) => ({ name: e.name, sha256: e.sha256 }))
    : [];
  const head = auditChainHead(auditLogOf(host));
  const emergency =
    host.inputs.emergency === undefined
      ? ""
      : `**Emergency hotfix** by ${host.who}: ${host.inputs.emergency}. Skipped under the emergency procedure: ${[...EMERGENCY_SKIPS.keys()].join(", ")} (see the audit log's "emergency" entry).\n\n`;
  return (
    emergency +
    releaseNotes({
      tag: tag.tag,
      commit: tag.commit,
      keyId: release.keyId,
      ...(tag.previous === undefined ? {} : { previousTag: tag.previous }),
      changes: await changesSince(context, tag.previous, tag.tag),
      approvers: host.state.approvers ?? [],
      productionGates: (host.state.finished ?? []).map((r) => ({ title: r.title, status: r.status, summary: r.summary })),
      ...(head === undefined ? {} : { chainHead: head }),
      checksums,
    })
  );
}

async function publish(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = releaseTag(host);
  const release = builtRelease(host);
  if (tag === undefined || release === undefined) return failed("no release was built in this run");
  if (host.inputs.localRehearsal === true)
    return { status: "warned", summary: `${tag.tag}: local rehearsal: not published (the signed release is in ${release.dir})` };
  const token = host.secret("GITHUB_TOKEN");
  if (token === undefined)
    return { status: "warned", summary: `${tag.tag} not published: no GITHUB_TOKEN secret (the signed release is in ${release.dir})` };
  const repository = context.policies.release.githubRepository ?? host.ci.GITHUB_REPOSITORY;
  if (repository === undefined) return failed("publishing needs [release] github_repository or $GITHUB_REPOSITORY");
  const [owner = "", repo = ""] = repository.split("/");
  const assets = readdirSync(release.dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== RELEASED_FILE && !e.name.endsWith(".tmp"))
    .map((e) => ({ path: join(release.dir, e.name), name: e.name }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const published = await publishRelease({
    token,
    owner,
    repo,
    tag: tag.tag,
    notes: await notesOf(context, host, release),
    targetCommitish: tag.commit,
    baseUrl: context.policies.release.githubApiUrl,
    assets,
  });
  return {
    status: "passed",
    summary: `${published.htmlUrl} (${published.created ? "created" : "reused"}; uploaded ${published.uploaded.length}, already there ${published.skipped.length})`,
  };
}

/** The GitHub release of the tag with the signed artifacts (idempotent). */
export const githubReleaseStep: Step = {
  id: "github-release",
  title: "GitHub release",
  description: "the GitHub release of the tag: binaries, signatures, SHA256SUMS, provenance (idempotent)",
  defaultTimeoutSeconds: 900,
  run: (context) => publish(context, needHost(context, "the GitHub release")),
};
