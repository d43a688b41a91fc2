/**
 * The release-tag gate of the production stage: the tag is `vMAJOR.MINOR.PATCH`
 * (SemVer), not a prerelease unless allowed, and newer than every released tag.
 */
import semver from "semver";
import type { ReleasePolicy } from "../release/policy.js";

/** The gate's verdict on a tag. */
export type TagVerdict =
  | { readonly ok: true; readonly version: string; readonly previous: string | undefined }
  | { readonly ok: false; readonly reason: string };

const TAG =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/**
 * Checks a release tag against the policy and the tags already released.
 * @param existing Every tag of the repository (non-release tags are ignored).
 */
export function checkReleaseTag(tag: string, existing: readonly string[], policy: Pick<ReleasePolicy, "allowPrerelease">): TagVerdict {
  if (!tag.startsWith("v"))
    return { ok: false, reason: `${JSON.stringify(tag)} is not a release tag: expected vMAJOR.MINOR.PATCH such as v1.2.3` };
  if (!TAG.test(tag) || semver.valid(tag.slice(1)) === null) {
    return { ok: false, reason: `${JSON.stringify(tag)} is not semantic: expected vMAJOR.MINOR.PATCH such as v1.2.3 (no leading zeros)` };
  }
  const version = tag.slice(1);
  if (semver.prerelease(version) !== null && !policy.allowPrerelease) {
    return {
      ok: false,
      reason: `${tag} is a prerelease; production takes final releases (set [release] allow_prerelease = true to allow)`,
    };
  }
  const released = existing
    .filter((t) => t !== tag && TAG.test(t))
    .map((t) => t.slice(1))
    .filter((v) => policy.allowPrerelease || semver.prerelease(v) === null);
  const latest = semver.rsort([...released])[0];
  if (latest !== undefined && semver.lte(version, latest)) {
    return { ok: false, reason: `${tag} is not newer than the latest release v${latest}` };
  }
  return { ok: true, version, previous: latest === undefined ? undefined : `v${latest}` };
}
