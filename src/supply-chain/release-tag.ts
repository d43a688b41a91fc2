/**
 * The release-tag gate of the production stage: the tag is `vMAJOR.MINOR.PATCH`
 * (SemVer), not a prerelease unless allowed, and newer than every released tag.
 */
import semver from "semver";
import { z } from "zod";
import { closedObject } from "../config/zod-issues.js";
import type { ReleaseProfile } from "../release/release-build.js";

/** The `[release]` table of shriven-pipeline.toml. */
export const releasePolicySchema = closedObject({
  allow_prerelease: z.boolean({ error: "expected true or false" }).optional(),
  target_cpu: z
    .string({ error: "expected a CPU name" })
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: "expected a CPU name such as x86-64-v3 or znver4" })
    .optional(),
  lto: z.enum(["fat", "thin", "off"], { error: "expected fat, thin or off" }).optional(),
  codegen_units: z
    .int({ error: "expected a whole number" })
    .min(1, { error: "expected at least 1" })
    .max(256, { error: "expected at most 256" })
    .optional(),
  target: z
    .string({ error: "expected a target triple" })
    .regex(/^[a-z0-9_]+(-[a-z0-9_.]+){1,3}$/, { error: "expected a target triple such as x86_64-unknown-linux-gnu" })
    .optional(),
  retention_days: z.int({ error: "expected a whole number of days" }).min(1, { error: "expected at least 1 day" }).optional(),
  github_repository: z
    .string({ error: "expected owner/name" })
    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: "expected owner/name" })
    .optional(),
  github_api_url: z.url({ error: "expected a URL such as https://github.example.com/api/v3" }).optional(),
});

/** Release settings, defaults applied. */
export interface ReleasePolicy {
  /** Accept tags such as v1.2.0-rc.1 (default false). */
  readonly allowPrerelease: boolean;
  /** The optimized build (see src/release/release-build.ts). */
  readonly profile: ReleaseProfile;
  /** Build artifacts older than this are pruned by `prune-artifacts` (releases are kept forever). */
  readonly retentionDays: number;
  /** Where GitHub releases go (owner/name); default: the `origin` remote or $GITHUB_REPOSITORY. */
  readonly githubRepository: string | undefined;
  /** GitHub API base URL (GitHub Enterprise: https://HOST/api/v3). */
  readonly githubApiUrl: string;
}

/** Applies defaults to the `[release]` table. */
export function releasePolicyFrom(raw: z.output<typeof releasePolicySchema> | undefined): ReleasePolicy {
  return {
    allowPrerelease: raw?.allow_prerelease ?? false,
    profile: {
      targetCpu: raw?.target_cpu ?? "x86-64-v3",
      lto: raw?.lto ?? "fat",
      codegenUnits: raw?.codegen_units ?? 1,
      target: raw?.target,
    },
    retentionDays: raw?.retention_days ?? 30,
    githubRepository: raw?.github_repository,
    githubApiUrl: raw?.github_api_url ?? "https://api.github.com",
  };
}

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
