/**
 * A fake GitHub REST API on 127.0.0.1 for deployment environments, keeping state: environments with their
 * protection rules, deployment branch and tag policies, users and teams. Its answers have the shapes of GitHub's
 * OpenAPI description (@octokit/openapi-types: `environment`, `deployment-branch-policy`, `simple-user`, `team`);
 * @octokit/fixtures records no environment scenario. Every request must carry the token and the API version.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { afterEach } from "vitest";
import { z } from "zod";
import { GITHUB_API_VERSION } from "../../src/adapters/github.js";
import { close, listen, origin, send } from "./fake-github.js";

export const ENV_TOKEN = "ghp_EnvironmentsT0kenNeverShown0123456789";

export interface FakeEnvironment {
  id: number;
  waitTimer: number;
  preventSelfReview: boolean;
  reviewers: { type: "User" | "Team"; id: number }[];
  branchPolicy: { protected_branches: boolean; custom_branch_policies: boolean } | null;
  policies: { id: number; name: string; type: "branch" | "tag" }[];
}

const NOT_FOUND = { message: "Not Found", documentation_url: "https://docs.github.com/rest", status: "404" };

const putBody = z.strictObject({
  wait_timer: z.int().min(0).max(43_200).optional(),
  prevent_self_review: z.boolean().optional(),
  reviewers: z
    .array(z.strictObject({ type: z.enum(["User", "Team"]), id: z.int() }))
    .max(6)
    .nullable()
    .optional(),
  deployment_branch_policy: z.strictObject({ protected_branches: z.boolean(), custom_branch_policies: z.boolean() }).nullable().optional(),
});

export class FakeGitHubEnvironments {
  readonly environments = new Map<string, FakeEnvironment>();
  readonly users = new Map<string, number>([
    ["alice", 1001],
    ["bob-smith", 1002],
    ["carol", 1003],
  ]);
  /** `org/slug` → id. */
  readonly teams = new Map<string, number>([["acme/release-approvers", 501]]);
  /** Reviewer ids GitHub refuses with 422 (a team without access to the repository). */
  readonly refused = new Set<number>();
  /** Echo the request's Authorization header in 422 messages, as a hostile or broken server might. */
  echoAuthorization = false;
  /** Answer writes with 403, as for a token without Administration: write. */
  readOnly = false;
  /** Answer the environment list with a body of the wrong shape. */
  garbled = false;
  readonly requests: string[] = [];
  readonly violations: string[] = [];
  readonly repository = "acme/quant";
  #nextId = 10;
  #authorization = "";
  #server!: Server;

  async start(): Promise<this> {
    this.#server = await listen((req, res) => this.#handle(req, res));
    return this;
  }

  async stop(): Promise<void> {
    await close(this.#server);
  }

  get url(): string {
    return origin(this.#server);
  }

  /** Requests other than reads, as `METHOD path`. */
  writes(): string[] {
    return this.requests.filter((r) => !r.startsWith("GET "));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
      const method = req.method ?? "";
      this.requests.push(`${method} ${path}`);
      if (req.headers["x-github-api-version"] !== GITHUB_API_VERSION) this.violations.push(`${method} ${path}: no API version`);
      this.#authorization = req.headers.authorization ?? "";
      if (req.headers.authorization !== `token ${ENV_TOKEN}`) {
        send(res, 401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" });
        return;
      }
      try {
        const body = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString("utf8"));
        this.#route(method, path, body, res);
      } catch (error) {
        this.violations.push(`${method} ${path}: ${String(error)}`);
        send(res, 500, { message: "fake server error" });
      }
    });
  }

  #route(method: string, path: string, body: unknown, res: ServerResponse) {
    const user = /^\/users\/([^/]+)$/.exec(path);
    if (method === "GET" && user !== null) {
      const id = this.users.get(user[1] ?? "");
      if (id === undefined) send(res, 404, NOT_FOUND);
      else send(res, 200, this.#userJson(user[1] ?? "", id));
      return;
    }
    const team = /^\/orgs\/([^/]+)\/teams\/([^/]+)$/.exec(path);
    if (method === "GET" && team !== null) {
      const id = this.teams.get(`${team[1]}/${team[2]}`);
      if (id === undefined) send(res, 404, NOT_FOUND);
      else send(res, 200, this.#teamJson(team[2] ?? "", id));
      return;
    }
    const repo = /^\/repos\/([^/]+\/[^/]+)\/environments(?:\/([^/]+)(\/deployment-branch-policies(?:\/(\d+))?)?)?$/.exec(path);
    if (repo === null || repo[1] !== this.repository) {
      if (repo === null) this.violations.push(`${method} ${path}: no such endpoint in this test`);
      send(res, 404, NOT_FOUND);
      return;
    }
    const [, , name, policies, policyId] = repo;
    if (this.readOnly && method !== "GET")
      return send(res, 403, {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment",
        status: "403",
      });
    if (this.garbled && name === undefined) return send(res, 200, { total_count: 1, environments: [{ name: 7 }] });
    if (name === undefined) {
      if (method !== "GET") return this.#unexpected(method, path, res);
      const all = [...this.environments.keys()].map((n) => this.#environmentJson(n));
      send(res, 200, { total_count: all.length, environments: all });
    } else if (policies === undefined) {
      if (method !== "PUT") return this.#unexpected(method, path, res);
      this.#put(name, body, res);
    } else {
      this.#policies(method, name, policyId, body, res);
    }
  }

  #put(name: string, body: unknown, res: ServerResponse) {
    const parsed = putBody.safeParse(body);
    const invalid = (message: string) =>
      send(res, 422, {
        message: "Validation Failed",
        errors: [
          { resource: "Environment", code: "invalid", message: this.echoAuthorization ? `${message} (${this.#authorization})` : message },
        ],
        documentation_url: "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment",
        status: "422",
      });
    if (!parsed.success) return invalid(parsed.error.message);
    const b = parsed.data;
    const policy = b.deployment_branch_policy ?? null;
    if (policy !== null && policy.protected_branches === policy.custom_branch_policies)
      return invalid("protected_branches and custom_branch_policies cannot have the same value");
    const reviewers = b.reviewers ?? [];
    for (const r of reviewers) {
      const known = r.type === "User" ? [...this.users.values()] : [...this.teams.values()];
      if (!known.includes(r.id) || this.refused.has(r.id)) return invalid(`reviewer ${r.type} ${r.id} cannot review this environment`);
    }
    const existing = this.environments.get(name);
    this.environments.set(name, {
      id: existing?.id ?? this.#nextId++,
      waitTimer: b.wait_timer ?? 0,
      preventSelfReview: b.prevent_self_review ?? false,
      reviewers,
      branchPolicy: policy,
      // As on GitHub (we assume): policies stay stored while custom policies are off.
      policies: existing?.policies ?? [],
    });
    send(res, 200, this.#environmentJson(name));
  }

  #policies(method: string, name: string, policyId: string | undefined, body: unknown, res: ServerResponse) {
    const environment = this.environments.get(name);
    if (environment === undefined) return send(res, 404, NOT_FOUND);
    if (method === "GET" && policyId === undefined) {
      send(res, 200, { total_count: environment.policies.length, branch_policies: environment.policies.map((p) => this.#policyJson(p)) });
    } else if (method === "POST" && policyId === undefined) {
      const parsed = z.strictObject({ name: z.string().min(1), type: z.enum(["branch", "tag"]).optional() }).safeParse(body);
      if (!parsed.success || environment.branchPolicy?.custom_branch_policies !== true) {
        if (parsed.success) this.violations.push(`POST policy ${name}: custom branch policies are off`);
        return send(res, 422, { message: "Validation Failed", status: "422" });
      }
      const policy = { id: this.#nextId++, name: parsed.data.name, type: parsed.data.type ?? ("branch" as const) };
      if (environment.policies.some((p) => p.name === policy.name && p.type === policy.type)) {
        this.violations.push(`POST policy ${name}: ${policy.type} ${policy.name} exists`);
        return send(res, 422, { message: "Validation Failed", errors: [{ code: "already_exists" }], status: "422" });
      }
      environment.policies.push(policy);
      send(res, 200, this.#policyJson(policy));
    } else if (method === "DELETE" && policyId !== undefined) {
      const before = environment.policies.length;
      environment.policies = environment.policies.filter((p) => p.id !== Number(policyId));
      if (environment.policies.length === before) return send(res, 404, NOT_FOUND);
      res.writeHead(204).end();
    } else {
      this.#unexpected(method, name, res);
    }
  }

  #unexpected(method: string, path: string, res: ServerResponse): void {
    this.violations.push(`${method} ${path}: no such endpoint in this test`);
    send(res, 404, NOT_FOUND);
  }

  #environmentJson(name: string): Record<string, unknown> {
    const e = this.environments.get(name) as FakeEnvironment;
    const rules: Record<string, unknown>[] = [];
    if (e.waitTimer > 0) rules.push({ id: e.id * 10 + 1, node_id: "GA_w", type: "wait_timer", wait_timer: e.waitTimer });
    if (e.reviewers.length > 0)
      rules.push({
        id: e.id * 10 + 2,
        node_id: "GA_r",
        type: "required_reviewers",
        prevent_self_review: e.preventSelfReview,
        reviewers: e.reviewers.map((r) => ({ type: r.type, reviewer: this.#reviewerJson(r) })),
      });
    if (e.branchPolicy !== null) rules.push({ id: e.id * 10 + 3, node_id: "GA_b", type: "branch_policy" });
    return {
      id: e.id,
      node_id: "EN_kw",
      name,
      url: `${this.url}/repos/${this.repository}/environments/${name}`,
      html_url: `https://github.example/${this.repository}/deployments/activity_log?environments_filter=${name}`,
      created_at: "2025-01-01T00:00:00Z",
      updated_at: "2025-01-02T00:00:00Z",
      can_admins_bypass: true,
      protection_rules: rules,
      deployment_branch_policy: e.branchPolicy,
    };
  }

  #reviewerJson(r: { type: "User" | "Team"; id: number }): Record<string, unknown> {
    const entries = [...(r.type === "User" ? this.users : this.teams).entries()];
    const name = entries.find(([, id]) => id === r.id)?.[0] ?? "";
    return r.type === "User" ? this.#userJson(name, r.id) : this.#teamJson(name.split("/")[1] ?? "", r.id);
  }

  #userJson(login: string, id: number): Record<string, unknown> {
    return {
      login,
      id,
      node_id: "U_kg",
      avatar_url: `https://avatars.example/u/${id}`,
      url: `${this.url}/users/${login}`,
      html_url: `https://github.example/${login}`,
      type: "User",
      site_admin: false,
    };
  }

  #teamJson(slug: string, id: number): Record<string, unknown> {
    return {
      id,
      node_id: "T_kw",
      url: `${this.url}/teams/${id}`,
      html_url: `https://github.example/orgs/acme/teams/${slug}`,
      name: slug,
      slug,
      description: null,
      privacy: "closed",
      permission: "pull",
      members_url: `${this.url}/teams/${id}/members{/member}`,
      repositories_url: `${this.url}/teams/${id}/repos`,
      parent: null,
    };
  }

  #policyJson(p: { id: number; name: string; type: "branch" | "tag" }): Record<string, unknown> {
    return { id: p.id, node_id: "MDE2OkdhdGVCcmFuY2hQb2xpY3k=", name: p.name, type: p.type };
  }
}

const started: FakeGitHubEnvironments[] = [];
afterEach(async () => {
  for (const github of started.splice(0)) await github.stop();
});

/** A started fake, stopped after the test. */
export async function fakeGitHubEnvironments(): Promise<FakeGitHubEnvironments> {
  const github = await new FakeGitHubEnvironments().start();
  started.push(github);
  return github;
}
