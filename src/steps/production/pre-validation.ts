/**
 * Pre-production validation: the release tag is semver, annotated, newer than
 * every release and checked out, and the profile is production's.
 */
import { productionProfileProblem } from "../../config/production-profile.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { checkReleaseTag } from "../../supply-chain/release-tag.js";
import { needHost } from "../shared/host.js";
import { failed } from "./failed.js";
import { recordReleaseTag } from "./release-tag.js";

async function git(context: StepContext, args: string[]): Promise<{ ok: boolean; out: string }> {
  const result = await context.exec({ argv: ["git", ...args] });
  return { ok: result.exitCode === 0, out: result.stdout.trim() };
}

async function validateTag(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = host.inputs.tag;
  if (tag === undefined) return failed("production needs the release tag: run production --tag vX.Y.Z");
  const profile = productionProfileProblem(host.environment.profile, host.inputs.localRehearsal === true);
  if (profile !== undefined) return failed(profile);
  const list = await git(context, ["tag", "--list"]);
  if (!list.ok) return failed("the workspace is not a git checkout: the release tag cannot be checked");
  const tags = list.out.split("\n").filter((t) => t !== "");
  if (!tags.includes(tag)) return failed(`${tag} is not a tag of this repository (git tag --list): create and push it first`);
  const verdict = checkReleaseTag(tag, tags, context.policies.release);
  if (!verdict.ok) return failed(verdict.reason);
  const format = "%(objecttype)%09%(taggername)%09%(taggeremail:trim)%09%(taggerdate:iso-strict)%09%(*objectname)";
  const ref = await git(context, ["for-each-ref", `--format=${format}`, `refs/tags/${tag}`]);
  const [type, tagger = "", email = "", date = "", target = ""] = ref.out.split("\t");
  if (!ref.ok || type !== "tag")
    return failed(`${tag} is a lightweight tag: production tags are annotated (git tag -a) so they record who tagged it and when`);
  const taggedAt = new Date(date);
  if (tagger === "" || Number.isNaN(taggedAt.getTime())) return failed(`${tag} has no tagger or tag date`);
  const head = await git(context, ["rev-parse", "HEAD"]);
  if (!head.ok || head.out !== target)
    return failed(`the workspace is at ${head.out.slice(0, 12) || "no commit"}, but ${tag} is ${target.slice(0, 12)}: check out the tag`);
  const pushedBy = host.ci.GITHUB_REF === `refs/tags/${tag}` && host.ci.GITHUB_ACTOR !== "" ? host.ci.GITHUB_ACTOR : undefined;
  recordReleaseTag(host, {
    tag,
    version: verdict.version,
    commit: target,
    tagger,
    taggerEmail: email,
    pushedBy,
    taggedAt,
    previous: verdict.previous,
  });
  const mode = host.inputs.localRehearsal === true ? "paper (local rehearsal)" : "live";
  return {
    status: "passed",
    summary: `${tag} (${target.slice(0, 12)}) tagged by ${tagger} at ${taggedAt.toISOString()}; ${verdict.previous === undefined ? "the first release" : `after ${verdict.previous}`}; TRADING_MODE ${mode}`,
  };
}

/** The tag (semver, annotated, newer than every release, checked out) and the production profile. */
export const preValidationStep: Step = {
  id: "pre-validation",
  title: "Pre-production validation",
  description: "the release tag is semver, annotated, newer than the last release and checked out; the profile is production",
  defaultTimeoutSeconds: 120,
  run: (context) => validateTag(context, needHost(context, "pre-production validation")),
};
