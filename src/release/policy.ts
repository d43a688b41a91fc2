/**
 * The `[release]` table of shriven-pipeline.toml: which tags production takes, how the release binaries are
 * built, how long build artifacts are kept, and where GitHub releases go.
 */
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";
import type { ReleaseProfile } from "./release-build.js";

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
  /** The branch a release tag's commit must be on (`git merge-base --is-ancestor`); default `main`. */
  readonly protectedBranch: string;
}

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
  protected_branch: z
    .string({ error: "expected a branch name" })
    .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/, { error: "expected a branch name such as main" })
    .optional(),
});

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
    protectedBranch: raw?.protected_branch ?? "main",
  };
}
