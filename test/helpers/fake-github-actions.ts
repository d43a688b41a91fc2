/**
 * GitHub's Actions endpoints the approval gate reads, on a loopback server, in the shapes GitHub documents:
 * `GET /repos/{owner}/{repo}/actions/runs/{run_id}` (a workflow run) and `.../approvals` (its deployment
 * reviews). Every request must carry the token; anything else answers 404 like GitHub.
 */
import type { Server } from "node:http";
import { afterEach } from "vitest";
import { close, listen, OWNER, origin, REPO, send, TOKEN } from "./fake-github.js";

/** A GitHub user as the API embeds one. */
export function githubUser(login: string) {
  return {
    login,
    id: login.length * 1000 + 7,
    node_id: `U_${login}`,
    type: "User",
    site_admin: false,
    html_url: `https://github.com/${login}`,
  };
}

/** One deployment review of a run (an item of `GET .../actions/runs/{run_id}/approvals`). */
export function deploymentReview(login: string, state: "approved" | "rejected", environments: string[], comment = "") {
  return {
    state,
    comment,
    environments: environments.map((name, i) => ({
      id: 161088068 + i,
      node_id: `EN_${name}`,
      name,
      url: `https://api.github.com/repos/${OWNER}/${REPO}/environments/${name}`,
      html_url: `https://github.com/${OWNER}/${REPO}/deployments/activity_log?environments_filter=${name}`,
      created_at: "2026-01-10T08:00:00Z",
      updated_at: "2026-01-10T08:00:00Z",
    })),
    user: githubUser(login),
  };
}

/** What the fake run says about itself. */
export interface FakeRun {
  readonly id: number;
  readonly tag: string;
  readonly sha: string;
  /** Who pushed the tag. */
  readonly actor: string;
  /** Who started this attempt (default: the actor). */
  readonly triggeringActor?: string;
  /** When GitHub created the run (the push). */
  readonly createdAt: Date;
  readonly event?: string;
}

/** A workflow run in GitHub's documented shape. */
export function workflowRun(run: FakeRun) {
  return {
    id: run.id,
    name: "production",
    node_id: `WFR_${run.id}`,
    head_branch: run.tag,
    head_sha: run.sha,
    path: ".github/workflows/production.yml",
    run_number: 7,
    event: run.event ?? "push",
    status: "in_progress",
    conclusion: null,
    workflow_id: 4711,
    url: `https://api.github.com/repos/${OWNER}/${REPO}/actions/runs/${run.id}`,
    html_url: `https://github.com/${OWNER}/${REPO}/actions/runs/${run.id}`,
    created_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    updated_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
    actor: githubUser(run.actor),
    triggering_actor: githubUser(run.triggeringActor ?? run.actor),
    run_attempt: 1,
    run_started_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await close(server);
});

/**
 * Serves `run` and its `reviews` for `${OWNER}/${REPO}` (closed after the test).
 * @returns The API root, and the paths requested.
 */
export async function fakeActionsRun(run: FakeRun, reviews: unknown[]): Promise<{ baseUrl: string; requested: string[] }> {
  const requested: string[] = [];
  const server = await listen((req, res) => {
    requested.push(`${req.method} ${req.url}`);
    const base = `/repos/${OWNER}/${REPO}/actions/runs/${run.id}`;
    if (req.headers.authorization !== `token ${TOKEN}`) send(res, 401, { message: "Bad credentials" });
    else if (req.method === "GET" && req.url === base) send(res, 200, workflowRun(run));
    else if (req.method === "GET" && req.url === `${base}/approvals`) send(res, 200, reviews);
    else send(res, 404, { message: "Not Found", documentation_url: "https://docs.github.com/rest" });
  });
  servers.push(server);
  return { baseUrl: origin(server), requested };
}
