/**
 * The GitHub REST calls of `github-environments`: reading the repository's environments with their protection
 * rules and deployment branch and tag policies, resolving reviewers to ids, and writing environments and
 * policies. Every failure becomes a {@link GitHubEnvironmentsError} naming the call and the repository, never the
 * token.
 */
import { type Octokit, RequestError } from "octokit";
import { z } from "zod";
import { causeChain, errorCode, messageOf } from "../core/error-chain.js";
import { PipelineError } from "../core/errors.js";
import { githubMessage } from "../release/release-api-calls.js";
import type { EnvironmentName } from "./policy.js";

/** A GitHub call of `github-environments` failed, or GitHub answered with something unexpected (exit 1). */
export class GitHubEnvironmentsError extends PipelineError {
  override readonly name: string = "GitHubEnvironmentsError";
}

/** A required reviewer, resolved: its kind, its GitHub id, and its login (`org/slug` for a team). */
export interface Reviewer {
  readonly type: "User" | "Team";
  readonly id: number;
  readonly name: string;
}

/** A deployment branch or tag policy of an environment. */
export interface BranchPolicy {
  readonly id: number;
  readonly name: string;
  readonly type: "branch" | "tag";
}

/** Which refs may deploy: any branch, protected branches only, or those matching the custom policies. */
export type DeploymentRefs = "all" | "protected" | "custom";

/** An environment as GitHub has it. */
export interface CurrentEnvironment {
  readonly waitTimerMinutes: number;
  readonly reviewers: readonly Reviewer[];
  readonly preventSelfReview: boolean;
  readonly deploymentRefs: DeploymentRefs;
  /** Its custom policies (none unless {@link deploymentRefs} is `custom`). */
  readonly policies: readonly BranchPolicy[];
}

/** The body of `PUT /repos/{owner}/{repo}/environments/{name}`. */
export interface EnvironmentBody {
  readonly wait_timer: number;
  readonly prevent_self_review: boolean;
  readonly reviewers: { type: "User" | "Team"; id: number }[] | null;
  readonly deployment_branch_policy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
}

const reviewerSchema = z.object({
  type: z.enum(["User", "Team"]),
  reviewer: z.object({ id: z.number(), login: z.string().optional(), slug: z.string().optional() }),
});
const environmentSchema = z.object({
  name: z.string(),
  protection_rules: z
    .array(
      z.object({
        type: z.string(),
        wait_timer: z.number().optional(),
        prevent_self_review: z.boolean().optional(),
        reviewers: z.array(reviewerSchema).optional(),
      }),
    )
    .optional(),
  deployment_branch_policy: z.object({ protected_branches: z.boolean(), custom_branch_policies: z.boolean() }).nullish(),
});
const policySchema = z.object({ id: z.number(), name: z.string(), type: z.enum(["branch", "tag"]).default("branch") });

/** The GitHub calls for one repository. */
export class EnvironmentsApi {
  readonly #owner: string;
  readonly #repo: string;

  /**
   * @param client An Octokit from adapters/github.ts.
   * @param repository `OWNER/NAME`.
   */
  constructor(
    private readonly client: Octokit,
    private readonly repository: string,
  ) {
    const [owner = "", repo = ""] = repository.split("/");
    this.#owner = owner;
    this.#repo = repo;
  }

  /** The managed environments GitHub has, with their rules and policies; a missing one is absent. */
  async read(names: readonly EnvironmentName[]): Promise<Partial<Record<EnvironmentName, CurrentEnvironment>>> {
    const listed = await this.#call("listing the environments", "GET /repos/{owner}/{repo}/environments", () =>
      this.client.paginate("GET /repos/{owner}/{repo}/environments", { owner: this.#owner, repo: this.#repo, per_page: 100 }),
    );
    const environments = this.#parse(z.array(environmentSchema), listed, "GET /repos/{owner}/{repo}/environments");
    const found: Partial<Record<EnvironmentName, CurrentEnvironment>> = {};
    for (const name of names) {
      const environment = environments.find((e) => e.name === name);
      if (environment === undefined) continue;
      const rules = environment.protection_rules ?? [];
      const review = rules.find((r) => r.type === "required_reviewers");
      const branches = environment.deployment_branch_policy;
      const deploymentRefs: DeploymentRefs =
        branches === null || branches === undefined ? "all" : branches.custom_branch_policies ? "custom" : "protected";
      found[name] = {
        waitTimerMinutes: rules.find((r) => r.type === "wait_timer")?.wait_timer ?? 0,
        reviewers: (review?.reviewers ?? []).map((r) => ({
          type: r.type,
          id: r.reviewer.id,
          name: r.reviewer.login ?? r.reviewer.slug ?? String(r.reviewer.id),
        })),
        preventSelfReview: review?.prevent_self_review ?? false,
        deploymentRefs,
        policies: deploymentRefs === "custom" ? await this.policies(name) : [],
      };
    }
    return found;
  }

  /** The deployment branch and tag policies of an environment. */
  async policies(environment: EnvironmentName): Promise<BranchPolicy[]> {
    const route = "GET /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies";
    const listed = await this.#call(`listing the deployment policies of ${environment}`, route, () =>
      this.client.paginate(route, { owner: this.#owner, repo: this.#repo, environment_name: environment, per_page: 100 }),
    );
    return this.#parse(z.array(policySchema), listed, route);
  }

  /** The reviewer a login (`alice`) or team (`org/slug`) names, with its id. */
  async reviewer(name: string): Promise<Reviewer> {
    const slash = name.indexOf("/");
    if (slash === -1) {
      const route = "GET /users/{username}";
      const user = await this.#call(`looking up the reviewer ${name}`, route, () => this.client.request(route, { username: name }));
      const parsed = this.#parse(z.object({ id: z.number(), login: z.string() }), user.data, route);
      return { type: "User", id: parsed.id, name: parsed.login };
    }
    const route = "GET /orgs/{org}/teams/{team_slug}";
    const org = name.slice(0, slash);
    const team = await this.#call(`looking up the reviewer team ${name}`, route, () =>
      this.client.request(route, { org, team_slug: name.slice(slash + 1) }),
    );
    const parsed = this.#parse(z.object({ id: z.number(), slug: z.string() }), team.data, route);
    return { type: "Team", id: parsed.id, name: `${org}/${parsed.slug}` };
  }

  /** Creates the environment or replaces its protection rules and branch policy setting. */
  async putEnvironment(environment: EnvironmentName, body: EnvironmentBody): Promise<void> {
    const route = "PUT /repos/{owner}/{repo}/environments/{environment_name}";
    await this.#call(`writing the environment ${environment}`, route, () =>
      this.client.request(route, { owner: this.#owner, repo: this.#repo, environment_name: environment, ...body }),
    );
  }

  /** Adds a deployment branch or tag policy. */
  async addPolicy(environment: EnvironmentName, policy: Omit<BranchPolicy, "id">): Promise<void> {
    const route = "POST /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies";
    await this.#call(`adding the ${policy.type} policy ${policy.name} to ${environment}`, route, () =>
      this.client.request(route, { owner: this.#owner, repo: this.#repo, environment_name: environment, ...policy }),
    );
  }

  /** Removes a deployment branch or tag policy. */
  async removePolicy(environment: EnvironmentName, policy: BranchPolicy): Promise<void> {
    const route = "DELETE /repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies/{branch_policy_id}";
    await this.#call(`removing the ${policy.type} policy ${policy.name} from ${environment}`, route, () =>
      this.client.request(route, { owner: this.#owner, repo: this.#repo, environment_name: environment, branch_policy_id: policy.id }),
    );
  }

  async #call<T>(what: string, route: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new GitHubEnvironmentsError(`${what} of ${this.repository} (${route}): ${describe(error, this.repository)}`, {
        cause: error,
      });
    }
  }

  #parse<S extends z.ZodType>(schema: S, data: unknown, route: string): z.output<S> {
    const parsed = schema.safeParse(data);
    if (!parsed.success) throw new GitHubEnvironmentsError(`${route} of ${this.repository}: GitHub answered with an unexpected response`);
    return parsed.data;
  }
}

function describe(error: unknown, repository: string): string {
  if (!(error instanceof RequestError) || error.response === undefined) {
    const chain = causeChain(error);
    if (chain.some((e) => e instanceof Error && e.name === "TimeoutError")) return "cannot reach GitHub (timed out)";
    return `cannot reach GitHub (${chain.map(errorCode).find((code) => code !== undefined) ?? messageOf(error)})`;
  }
  const said = githubMessage(error);
  const status = error.status;
  if (status === 401) return `GitHub rejected the token (HTTP 401 ${said}); check that GITHUB_TOKEN is set, valid and not expired`;
  if (status === 403 || status === 429) {
    if (error.response.headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(said))
      return `GitHub rate limit exceeded (HTTP ${status} ${said}); re-run later`;
    return `the token is not allowed to do this (HTTP ${status} ${said}); it needs administration: write on ${repository} (read for plan), and members: read on the organization for team reviewers`;
  }
  if (status === 404) return `not found, or the token cannot see it (HTTP 404 ${said})`;
  if (status === 422) return `GitHub refused the request (HTTP 422 ${said})`;
  return `GitHub answered HTTP ${status} ${said}`.trimEnd();
}
