/**
 * `github-environments plan` and `apply` on a repository: read what GitHub has, resolve the configured reviewers,
 * compare; apply writes each environment's settings, then its deployment policies, then reads everything again
 * and fails if anything still differs.
 */
import { type EnvironmentsApi, GitHubEnvironmentsError, type Reviewer } from "./github-calls.js";
import { type EnvironmentPlan, planEnvironment, policyProblems } from "./plan.js";
import { ENVIRONMENT_NAMES, type GitHubEnvironmentsPolicy } from "./policy.js";

/** The plan of every managed environment, and the problems of the configuration itself. */
export interface EnvironmentsPlan {
  readonly environments: readonly EnvironmentPlan[];
  /** Problems that make applying refused (an approval environment without reviewers, fewer than two people who can approve). */
  readonly problems: readonly string[];
}

/** Whether any environment differs from the configuration. */
export function hasDrift(plan: EnvironmentsPlan): boolean {
  return plan.environments.some((e) => e.changes.length > 0);
}

/**
 * Compares GitHub's environments with the configuration.
 * @param reviewers Reviewers already resolved, by configured name (filled in as they are looked up).
 */
export async function planEnvironments(
  api: EnvironmentsApi,
  policy: GitHubEnvironmentsPolicy,
  reviewers: Map<string, Reviewer> = new Map(),
): Promise<EnvironmentsPlan> {
  const current = await api.read(ENVIRONMENT_NAMES);
  const environments: EnvironmentPlan[] = [];
  for (const name of ENVIRONMENT_NAMES) {
    const settings = policy[name];
    const resolved: Reviewer[] = [];
    for (const reviewer of settings.reviewers) {
      const known = reviewers.get(reviewer) ?? (await api.reviewer(reviewer));
      reviewers.set(reviewer, known);
      resolved.push(known);
    }
    environments.push(planEnvironment(name, { settings, reviewers: resolved }, current[name]));
  }
  return { environments, problems: policyProblems(policy) };
}

/**
 * Makes GitHub's environments match the configuration, then checks that they do.
 * Refuses before any change when the configuration has problems.
 * @returns The plan that was applied.
 */
export async function applyEnvironments(api: EnvironmentsApi, policy: GitHubEnvironmentsPolicy): Promise<EnvironmentsPlan> {
  const reviewers = new Map<string, Reviewer>();
  const plan = await planEnvironments(api, policy, reviewers);
  if (plan.problems.length > 0)
    throw new GitHubEnvironmentsError(`refusing to apply, nothing was changed:\n  ${plan.problems.join("\n  ")}`);
  for (const environment of plan.environments)
    if (environment.put !== undefined) await api.putEnvironment(environment.name, environment.put);
  // Policies against a fresh read: a policy GitHub kept while custom policies were off is not added twice.
  const policies = await planEnvironments(api, policy, reviewers);
  for (const environment of policies.environments) {
    for (const p of environment.remove) await api.removePolicy(environment.name, p);
    for (const p of environment.add) await api.addPolicy(environment.name, p);
  }
  const after = await planEnvironments(api, policy, reviewers);
  if (hasDrift(after)) {
    const left = after.environments.flatMap((e) => e.changes.map((c) => `${e.name}: ${c}`));
    throw new GitHubEnvironmentsError(`applied, but GitHub still differs:\n  ${left.join("\n  ")}`);
  }
  return plan;
}
