/**
 * Approvals from GitHub: the deployment reviews of the workflow run. A GitHub environment can require
 * reviewers, but one reviewer's approval satisfies it, so the pipeline reads the reviews and counts them itself.
 */
import { type Octokit, RequestError } from "octokit";
import { z } from "zod";
import { DEFAULT_GITHUB_API, githubClient } from "../adapters/github.js";
import { errorCode, messageOf } from "../core/error-chain.js";
import { Redactor } from "../report/redact.js";
import { ApprovalError } from "./approval-error.js";
import type { Approval, Rejection } from "./approvals.js";

/** What {@link approvalsFromGitHub} needs. */
export interface GitHubApprovalsOptions {
  /** A token that can read the repository's Actions (`actions: read`). Never appears in errors or results. */
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  /** The workflow run whose deployment reviews are read (`github.run_id`). */
  readonly runId: number;
  /** Count only reviews of these environments (compared ignoring case); default: reviews of every environment. */
  readonly environments?: readonly string[];
  /** API root: default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  /** Time limit of the request in milliseconds (default {@link DEFAULT_APPROVALS_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** The time recorded for each review (default: now); GitHub's response carries no time of its own. */
  readonly now?: Date;
  /** Transport override, for tests. */
  readonly request?: { readonly fetch?: typeof fetch };
}

/** What reading the run itself needs: the repository, the run, the token. */
export type GitHubRunOptions = Omit<GitHubApprovalsOptions, "environments" | "now">;

/** The reviews of a workflow run. */
export interface GitHubReviews {
  readonly approvals: Approval[];
  /** Any of these refuses the release. */
  readonly rejections: Rejection[];
}

/** Time limit of the GitHub request, by default. */
export const DEFAULT_APPROVALS_TIMEOUT_MS = 30_000;

const reviewSchema = z.object({
  state: z.string(),
  comment: z.string().nullable().optional(),
  environments: z.array(z.object({ name: z.string().optional() }).loose()).optional(),
  user: z.object({ login: z.string().min(1) }).loose(),
});

/**
 * Reads the deployment reviews of a workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`):
 * `approved` reviews become approvals and `rejected` ones rejections, of `user.login`; pending ones are left out.
 * @throws ApprovalError naming the run and the cause (bad options, token refused, run not found, network error).
 */
export async function approvalsFromGitHub(options: GitHubApprovalsOptions): Promise<GitHubReviews> {
  const redactor = new Redactor([options.token]);
  try {
    return await fetchReviews(options);
  } catch (error) {
    if (error instanceof ApprovalError) throw new ApprovalError(redactor.redact(error.message), error.status);
    throw new ApprovalError(redactor.redact(`${what(options)}: ${messageOf(error)}`));
  }
}

function what(options: GitHubApprovalsOptions): string {
  return `reading the approvals of run ${options.runId} of ${options.owner}/${options.repo}`;
}

async function fetchReviews(options: GitHubApprovalsOptions): Promise<GitHubReviews> {
  checkGitHubOptions(options);
  const now = options.now ?? new Date();
  let data: unknown;
  try {
    const response = await client(options).rest.actions.getReviewsForRun({
      owner: options.owner,
      repo: options.repo,
      run_id: options.runId,
    });
    data = response.data;
  } catch (error) {
    throw new ApprovalError(
      `${what(options)}: ${describeFailure(error, options)}`,
      error instanceof RequestError ? error.status : undefined,
    );
  }
  const parsed = z.array(reviewSchema).safeParse(data);
  if (!parsed.success) throw new ApprovalError(`${what(options)}: GitHub answered with an unexpected response`);
  const wanted = options.environments?.map((e) => e.toLowerCase());
  const approvals: Approval[] = [];
  const rejections: Rejection[] = [];
  for (const review of parsed.data) {
    const environments = (review.environments ?? []).flatMap((e) => (e.name === undefined ? [] : [e.name]));
    if (wanted !== undefined && !environments.some((name) => wanted.includes(name.toLowerCase()))) continue;
    const comment = review.comment ?? "";
    const where = `GitHub review of run ${options.runId}${environments.length > 0 ? ` (${environments.join(", ")})` : ""}`;
    if (review.state === "approved") {
      approvals.push({ approver: review.user.login, at: now, source: "github", detail: comment === "" ? where : `${where}: ${comment}` });
    } else if (review.state === "rejected") {
      rejections.push({ approver: review.user.login, at: now, source: "github", ...(comment === "" ? {} : { comment }) });
    }
  }
  return { approvals, rejections };
}

/** What GitHub recorded of a workflow run: when its event happened and who caused it. */
export interface GitHubRun {
  /** When the run was created by its event (the tag push); re-runs keep it. */
  readonly createdAt: Date;
  /** Who caused the original run (for a tag push: the pusher). */
  readonly actor: string;
  /** Who started this attempt (a re-run's starter); the same as `actor` on a first attempt. */
  readonly triggeringActor: string;
  readonly event: string;
  /** The branch or tag the run is for. */
  readonly headBranch: string;
  readonly headSha: string;
}

const runSchema = z.object({
  created_at: z.string(),
  event: z.string(),
  head_branch: z.string().nullable(),
  head_sha: z.string(),
  actor: z.object({ login: z.string().min(1) }).loose(),
  triggering_actor: z
    .object({ login: z.string().min(1) })
    .loose()
    .nullable()
    .optional(),
});

/**
 * Reads the workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}`): its creation time and who pushed.
 * @throws ApprovalError naming the run and the cause, never the token.
 */
export async function workflowRunFromGitHub(options: GitHubRunOptions): Promise<GitHubRun> {
  const redactor = new Redactor([options.token]);
  const doing = `reading run ${options.runId} of ${options.owner}/${options.repo}`;
  try {
    checkGitHubOptions(options);
    let data: unknown;
    try {
      data = (await client(options).rest.actions.getWorkflowRun({ owner: options.owner, repo: options.repo, run_id: options.runId })).data;
    } catch (error) {
      throw new ApprovalError(`${doing}: ${describeFailure(error, options)}`, error instanceof RequestError ? error.status : undefined);
    }
    const parsed = runSchema.safeParse(data);
    const createdAt = parsed.success ? new Date(parsed.data.created_at) : new Date(Number.NaN);
    if (!parsed.success || Number.isNaN(createdAt.getTime()))
      throw new ApprovalError(`${doing}: GitHub answered with an unexpected response`);
    const run = parsed.data;
    return {
      createdAt,
      actor: run.actor.login,
      triggeringActor: run.triggering_actor?.login ?? run.actor.login,
      event: run.event,
      headBranch: run.head_branch ?? "",
      headSha: run.head_sha,
    };
  } catch (error) {
    if (error instanceof ApprovalError) throw new ApprovalError(redactor.redact(error.message), error.status);
    throw new ApprovalError(redactor.redact(`${doing}: ${messageOf(error)}`));
  }
}

function checkGitHubOptions(options: GitHubRunOptions): void {
  if (typeof options.token !== "string" || options.token.trim() === "") throw new ApprovalError("no GitHub token given");
  if (!/^[A-Za-z0-9_.-]+$/.test(options.owner) || !/^[A-Za-z0-9_.-]+$/.test(options.repo)) {
    throw new ApprovalError(`${JSON.stringify(`${options.owner}/${options.repo}`)} is not a GitHub repository name (owner/repo)`);
  }
  if (!Number.isSafeInteger(options.runId) || options.runId <= 0)
    throw new ApprovalError(`run id ${options.runId} is not a positive whole number`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new ApprovalError("timeoutMs must be a positive number");
  if (options.baseUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(options.baseUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "http:" && protocol !== "https:") throw new ApprovalError("baseUrl is not an http(s) URL");
  }
}

function client(options: GitHubRunOptions): Octokit {
  return githubClient({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_APPROVALS_TIMEOUT_MS });
}

function describeFailure(error: unknown, options: GitHubRunOptions): string {
  const { owner, repo } = options;
  if (!(error instanceof RequestError) || error.response === undefined) {
    const timedOut = chain(error).some((e) => e instanceof Error && e.name === "TimeoutError");
    const code = chain(error)
      .map(errorCode)
      .find((c) => c !== undefined);
    const cause = timedOut ? `timed out after ${options.timeoutMs ?? DEFAULT_APPROVALS_TIMEOUT_MS} ms` : (code ?? messageOf(error));
    return `cannot reach GitHub at ${originOf(options.baseUrl ?? DEFAULT_GITHUB_API)} (${cause})`;
  }
  const said = githubMessage(error.response.data);
  const status = error.status;
  if (status === 401) return `GitHub rejected the token (HTTP 401 ${said}); check that it is set, valid and not expired`;
  if (status === 403 || status === 429) {
    if (error.response.headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(said)) {
      return `GitHub rate limit exceeded (HTTP ${status} ${said}); re-run later`;
    }
    return `the token is not allowed to read this (HTTP ${status} ${said}); it needs actions: read on ${owner}/${repo}`;
  }
  if (status === 404) return `run ${options.runId} of ${owner}/${repo} not found, or the token cannot see it (HTTP 404 ${said})`;
  return `GitHub answered HTTP ${status} ${said}`.trimEnd();
}

function githubMessage(data: unknown): string {
  const parsed = z.object({ message: z.string() }).safeParse(data);
  if (!parsed.success) return "";
  return parsed.data.message.length > 300 ? `${parsed.data.message.slice(0, 300)}…` : parsed.data.message;
}

function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    errors.push(e);
    e = typeof e === "object" && "cause" in e ? e.cause : undefined;
  }
  return errors;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the configured baseUrl";
  }
}
