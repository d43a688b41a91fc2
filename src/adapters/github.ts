/**
 * The GitHub REST client every GitHub call of the pipeline goes through (releases, deployment reviews):
 * one Octokit per call site, with a time limit per request, the API version header, no logging, and no
 * silent retries or throttling. Works against github.com and GitHub Enterprise Server (`https://HOST/api/v3`).
 */
import { Octokit } from "octokit";

/** The REST API version every request asks for (`X-GitHub-Api-Version`). */
export const GITHUB_API_VERSION = "2022-11-28";

/** The public GitHub API; GitHub Enterprise Server uses `https://HOST/api/v3`. */
export const DEFAULT_GITHUB_API = "https://api.github.com";

/** What {@link githubClient} needs. */
export interface GitHubClientOptions {
  /** The token sent with every request. */
  readonly token: string;
  /** API root: default {@link DEFAULT_GITHUB_API}; GitHub Enterprise Server: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  /** Time limit of each request, in milliseconds. */
  readonly timeoutMs: number;
  /** Transport override, for tests. */
  readonly request?: { readonly fetch?: typeof fetch };
}

const SILENT_LOG = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * An Octokit for our calls: a time limit per request, the API version header,
 * no logging, and no silent retries or throttling (a failed run is re-run whole).
 */
export function githubClient(options: GitHubClientOptions): Octokit {
  const base = options.request?.fetch ?? globalThis.fetch;
  const timedFetch: typeof fetch = (input, init) => {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return base(input, { ...init, signal });
  };
  const octokit = new Octokit({
    auth: options.token,
    baseUrl: (options.baseUrl ?? DEFAULT_GITHUB_API).replace(/\/+$/, ""),
    userAgent: "shriven-pipeline",
    log: SILENT_LOG,
    retry: { enabled: false },
    throttle: { enabled: false },
    request: { fetch: timedFetch, log: SILENT_LOG },
  });
  octokit.hook.before("request", (request) => {
    request.headers["x-github-api-version"] = GITHUB_API_VERSION;
  });
  return octokit;
}
