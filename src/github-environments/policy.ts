/**
 * The `[github_environments]` table of shriven-pipeline.toml: the wanted protection of the pipeline's GitHub
 * environments, which `shriven-pipeline github-environments plan|apply` compares with GitHub and applies.
 * Defaults follow the two-approver model (docs/approvals.md): `development` unprotected, `test` deployed from `main`
 * only, `production` (the secrets) from `v*.*.*` tags and `main` (rollback) after a 30-minute wait and without
 * reviewers, and `production-approval-1` and `-2` from `v*.*.*` tags, each approved by one of its reviewers
 * (self-review prevented), so that two people approve a release.
 */
import { z } from "zod";
import { DEFAULT_GITHUB_ENVIRONMENTS as APPROVAL_ENVIRONMENTS } from "../approval/policy.js";
import { closedObject } from "../core/zod-issues.js";

/** The two environments whose reviews the production stage counts (`[approval] github_environments`'s default). */
export const APPROVAL_ENVIRONMENT_NAMES = APPROVAL_ENVIRONMENTS;

/** The environments this table manages, in the order plans list them. */
export const ENVIRONMENT_NAMES = ["development", "test", "production", ...APPROVAL_ENVIRONMENT_NAMES] as const;

/** One of {@link ENVIRONMENT_NAMES}. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/** GitHub's longest wait timer: 30 days, in minutes. */
export const MAX_WAIT_TIMER_MINUTES = 43_200;

/** GitHub's most required reviewers of one environment. */
export const MAX_REVIEWERS = 6;

/** Distinct reviewers the approval environments must name together, so that two different people can approve. */
export const MIN_APPROVAL_REVIEWERS = 2;

/** The wanted protection of one environment, defaults applied. */
export interface EnvironmentSettings {
  /** Required reviewers: GitHub logins (`alice`) and teams (`org/team-slug`); none means no review. */
  readonly reviewers: readonly string[];
  /** Minutes a job waits before it may run (0: none). */
  readonly waitTimerMinutes: number;
  /** Whether whoever started the job may not approve it (only meaningful with reviewers). */
  readonly preventSelfReview: boolean;
  /** Branch name patterns that may deploy; with no branches and no tags, any branch may. */
  readonly branches: readonly string[];
  /** Tag name patterns that may deploy. */
  readonly tags: readonly string[];
}

/** `[github_environments]`, defaults applied: each environment's wanted protection. */
export type GitHubEnvironmentsPolicy = Readonly<Record<EnvironmentName, EnvironmentSettings>>;

/** An approval environment's defaults: release tags only, no wait, self-review prevented; reviewers have no default. */
const APPROVAL_DEFAULTS: EnvironmentSettings = {
  reviewers: [],
  waitTimerMinutes: 0,
  preventSelfReview: true,
  branches: [],
  tags: ["v*.*.*"],
};

/** The two-approver model's environments, used for what the table leaves out. */
export const DEFAULT_GITHUB_ENVIRONMENTS: GitHubEnvironmentsPolicy = {
  development: { reviewers: [], waitTimerMinutes: 0, preventSelfReview: false, branches: [], tags: [] },
  test: { reviewers: [], waitTimerMinutes: 0, preventSelfReview: false, branches: ["main"], tags: [] },
  production: { reviewers: [], waitTimerMinutes: 30, preventSelfReview: false, branches: ["main"], tags: ["v*.*.*"] },
  "production-approval-1": APPROVAL_DEFAULTS,
  "production-approval-2": APPROVAL_DEFAULTS,
};

/** A GitHub login: letters, digits and single inner hyphens, at most 39 characters. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
/** A team: its organization's login, a slash, the team's slug. */
const TEAM = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}\/[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** Why `pattern` cannot be a deployment branch or tag pattern, or undefined when it can. */
function patternProblem(pattern: string): string | undefined {
  if (pattern === "") return "is empty";
  if (pattern.length > 255) return "is longer than 255 characters";
  if (/[\s\p{Cc}]/u.test(pattern)) return "contains whitespace or a control character";
  if (/[~^:\\]|\.\.|@\{|\/\/|\.lock$/.test(pattern)) return "contains ~, ^, :, \\, .., @{, // or ends in .lock: no git ref can match it";
  if (/^[/.-]|[/.]$/.test(pattern)) return "starts with /, . or -, or ends with / or .";
  return undefined;
}

const patterns = (what: string) =>
  z
    .array(
      z.string({ error: `expected a ${what} name pattern` }).superRefine((pattern, ctx) => {
        const problem = patternProblem(pattern);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: `${JSON.stringify(pattern)} ${problem}` });
      }),
      { error: `expected an array of ${what} name patterns` },
    )
    .max(50, { error: "expected at most 50 patterns" })
    .refine((list) => new Set(list).size === list.length, { error: "names a pattern twice" });

const environmentSchema = closedObject({
  reviewers: z
    .array(
      z.string({ error: "expected a GitHub login or org/team" }).refine((r) => LOGIN.test(r) || TEAM.test(r), {
        error: (issue) => `${JSON.stringify(issue.input)} is neither a GitHub login (letters, digits, single hyphens) nor org/team-slug`,
      }),
      { error: "expected an array of GitHub logins or org/team slugs" },
    )
    .max(MAX_REVIEWERS, { error: `expected at most ${MAX_REVIEWERS} reviewers (GitHub's limit)` })
    .refine((list) => new Set(list.map((r) => r.toLowerCase())).size === list.length, { error: "names a reviewer twice" })
    .optional(),
  wait_timer_minutes: z
    .int({ error: "expected a whole number of minutes" })
    .min(0, { error: "expected at least 0 minutes" })
    .max(MAX_WAIT_TIMER_MINUTES, { error: `expected at most ${MAX_WAIT_TIMER_MINUTES} minutes (30 days, GitHub's limit)` })
    .optional(),
  prevent_self_review: z.boolean({ error: "expected true or false" }).optional(),
  branches: patterns("branch").optional(),
  tags: patterns("tag").optional(),
});

/** The zod schema of `[github_environments]`: one optional sub-table per environment (`[github_environments."production-approval-1"]`). */
export const githubEnvironmentsSchema = closedObject({
  development: environmentSchema.optional(),
  test: environmentSchema.optional(),
  production: environmentSchema.optional(),
  "production-approval-1": environmentSchema.optional(),
  "production-approval-2": environmentSchema.optional(),
});

/** `[github_environments]` as parsed, before defaults. */
export type GitHubEnvironmentsInput = z.output<typeof githubEnvironmentsSchema>;

/** The wanted environments: each key given in the table, the document's default for the rest. */
export function githubEnvironmentsPolicyFrom(raw: GitHubEnvironmentsInput | undefined): GitHubEnvironmentsPolicy {
  const settings = (name: EnvironmentName): EnvironmentSettings => {
    const given = raw?.[name] ?? {};
    const fallback = DEFAULT_GITHUB_ENVIRONMENTS[name];
    return {
      reviewers: given.reviewers ?? fallback.reviewers,
      waitTimerMinutes: given.wait_timer_minutes ?? fallback.waitTimerMinutes,
      preventSelfReview: given.prevent_self_review ?? fallback.preventSelfReview,
      branches: given.branches ?? fallback.branches,
      tags: given.tags ?? fallback.tags,
    };
  };
  return Object.fromEntries(ENVIRONMENT_NAMES.map((name) => [name, settings(name)])) as Record<EnvironmentName, EnvironmentSettings>;
}
