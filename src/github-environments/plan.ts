/**
 * The difference between the wanted environments (`[github_environments]`, reviewers resolved to ids) and what
 * GitHub has: the changes, in words for `plan`, and the calls that make them for `apply`.
 */
import type { BranchPolicy, CurrentEnvironment, DeploymentRefs, EnvironmentBody, Reviewer } from "./github-calls.js";
import {
  APPROVAL_ENVIRONMENT_NAMES,
  type EnvironmentName,
  type EnvironmentSettings,
  type GitHubEnvironmentsPolicy,
  MIN_APPROVAL_REVIEWERS,
} from "./policy.js";

/** One environment's wanted settings with its reviewers resolved. */
export interface WantedEnvironment {
  readonly settings: EnvironmentSettings;
  readonly reviewers: readonly Reviewer[];
}

/** What differs for one environment, and how to change it. */
export interface EnvironmentPlan {
  readonly name: EnvironmentName;
  /** One line per difference (`set wait timer 5 → 30 minutes`); none when it matches. */
  readonly changes: readonly string[];
  /** The environment-level write to make, when any of its settings differ (or it is missing). */
  readonly put: EnvironmentBody | undefined;
  /** Custom policies to add and remove (after {@link put}). */
  readonly add: readonly Omit<BranchPolicy, "id">[];
  readonly remove: readonly BranchPolicy[];
}

const REFS: Readonly<Record<DeploymentRefs, string>> = {
  all: "any branch",
  protected: "protected branches",
  custom: "selected branches and tags",
};

/**
 * Problems of the wanted environments themselves, found before GitHub is asked: each approval environment needs a
 * reviewer, and together they must name at least {@link MIN_APPROVAL_REVIEWERS} distinct reviewers so that two
 * different people can approve. A team counts as enough on its own (its members are not looked up).
 */
export function policyProblems(policy: GitHubEnvironmentsPolicy): string[] {
  const problems: string[] = [];
  for (const name of APPROVAL_ENVIRONMENT_NAMES)
    if (policy[name].reviewers.length === 0)
      problems.push(`${name}: no reviewers configured; each approval environment needs at least one: set reviewers in ${table(name)}`);
  const named = APPROVAL_ENVIRONMENT_NAMES.flatMap((name) => policy[name].reviewers);
  const people = new Set(named.map((r) => r.toLowerCase()));
  if (problems.length === 0 && people.size < MIN_APPROVAL_REVIEWERS && !named.some((r) => r.includes("/")))
    problems.push(
      `${APPROVAL_ENVIRONMENT_NAMES.join(" and ")}: only ${[...people].join(", ")} can approve; two different people must approve a release: name at least ${MIN_APPROVAL_REVIEWERS} distinct reviewers (or a team) in ${APPROVAL_ENVIRONMENT_NAMES.map(table).join(" and ")}`,
    );
  return problems;
}

/** The TOML table header of an environment, quoted where its name needs it. */
function table(name: EnvironmentName): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? `[github_environments.${name}]` : `[github_environments.${JSON.stringify(name)}]`;
}

/** How `current` (undefined: missing) differs from `wanted`. */
export function planEnvironment(
  name: EnvironmentName,
  wanted: WantedEnvironment,
  current: CurrentEnvironment | undefined,
): EnvironmentPlan {
  const s = wanted.settings;
  const have: CurrentEnvironment = current ?? {
    waitTimerMinutes: 0,
    reviewers: [],
    preventSelfReview: false,
    deploymentRefs: "all",
    policies: [],
  };
  const changes: string[] = current === undefined ? [`create environment ${name}`] : [];
  if (have.waitTimerMinutes !== s.waitTimerMinutes) changes.push(`set wait timer ${have.waitTimerMinutes} → ${s.waitTimerMinutes} minutes`);
  const key = (r: Reviewer) => `${r.type}:${r.id}`;
  const label = (r: Reviewer) => `${r.name} (${r.type.toLowerCase()} ${r.id})`;
  const wantedKeys = new Set(wanted.reviewers.map(key));
  const haveKeys = new Set(have.reviewers.map(key));
  for (const r of wanted.reviewers) if (!haveKeys.has(key(r))) changes.push(`add reviewer ${label(r)}`);
  for (const r of have.reviewers) if (!wantedKeys.has(key(r))) changes.push(`remove reviewer ${label(r)}`);
  if (wanted.reviewers.length > 0 && have.preventSelfReview !== s.preventSelfReview)
    changes.push(`set prevent self-review ${have.preventSelfReview} → ${s.preventSelfReview}`);
  const refs: DeploymentRefs = s.branches.length + s.tags.length > 0 ? "custom" : "all";
  if (have.deploymentRefs !== refs) changes.push(`set deployment refs ${REFS[have.deploymentRefs]} → ${REFS[refs]}`);
  const put =
    changes.length === 0
      ? undefined
      : {
          wait_timer: s.waitTimerMinutes,
          prevent_self_review: s.preventSelfReview,
          reviewers: wanted.reviewers.length === 0 ? null : wanted.reviewers.map((r) => ({ type: r.type, id: r.id })),
          deployment_branch_policy: refs === "custom" ? { protected_branches: false, custom_branch_policies: true } : null,
        };
  const haveCustom = have.deploymentRefs === "custom" ? have.policies : [];
  const wantedPolicies = refs === "custom" ? patternPolicies(s) : [];
  const same = (a: Omit<BranchPolicy, "id">, b: Omit<BranchPolicy, "id">) => a.type === b.type && a.name === b.name;
  const add = wantedPolicies.filter((w) => !haveCustom.some((h) => same(h, w)));
  const remove = refs === "custom" ? haveCustom.filter((h) => !wantedPolicies.some((w) => same(h, w))) : [];
  for (const p of add) changes.push(`add ${p.type} policy ${p.name}`);
  for (const p of remove) changes.push(`remove ${p.type} policy ${p.name}`);
  return { name, changes, put, add, remove };
}

function patternPolicies(s: EnvironmentSettings): Omit<BranchPolicy, "id">[] {
  return [...s.branches.map((name) => ({ name, type: "branch" as const })), ...s.tags.map((name) => ({ name, type: "tag" as const }))];
}
