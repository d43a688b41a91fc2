/**
 * Runs the GitHub calls of publishing a release, turning each failure into a {@link ReleaseError} that says
 * what was being done and why (token refused, rate limit, not found, network cause), never the token.
 */
import { RequestError } from "octokit";
import { z } from "zod";
import { DEFAULT_GITHUB_API } from "../adapters/github.js";
import { causeChain, causeOf, errorCode, messageOf } from "../core/error-chain.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, type PublishReleaseOptions } from "./publish-types.js";
import { ReleaseError } from "./release-error.js";

/** Runs API calls, turning their failures into {@link ReleaseError}s that say what was being done. */
export class ReleaseApiCalls {
  /** @param options The repository and the connection settings named in the messages. */
  constructor(private readonly options: PublishReleaseOptions) {}

  /**
   * Runs one call; a failure becomes a {@link ReleaseError} starting with `what`.
   * @param explain A message of its own for some GitHub answers (undefined: the usual one).
   */
  async call<T>(what: string, run: () => Promise<T>, explain?: (error: RequestError) => string | undefined): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ReleaseError) throw error;
      throw new ReleaseError(
        `${what}: ${this.#describe(error, explain)}`,
        error instanceof RequestError && error.response ? error.status : undefined,
      );
    }
  }

  #describe(error: unknown, explain?: (error: RequestError) => string | undefined): string {
    const { owner, repo } = this.options;
    if (error instanceof z.ZodError) return "GitHub answered with an unexpected response";
    if (!(error instanceof RequestError) || error.response === undefined) {
      return `cannot reach GitHub at ${this.#origin()} (${networkCause(error, this.options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS)})`;
    }
    const status = error.status;
    const said = githubMessage(error);
    const special = explain?.(error);
    if (special !== undefined) return special;
    if (status === 401) return `GitHub rejected the token (HTTP 401 ${said}); check that it is set, valid and not expired`;
    if (status === 403 || status === 429) {
      const headers = error.response.headers;
      if (headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(said)) {
        return `GitHub rate limit exceeded (HTTP ${status} ${said}); re-run later`;
      }
      return `the token is not allowed to do this (HTTP ${status} ${said}); it needs contents: write on ${owner}/${repo}`;
    }
    if (status === 404) return `repository ${owner}/${repo} not found, or the token cannot see it (HTTP 404 ${said})`;
    if (status === 422) return `GitHub refused the request (HTTP 422 ${said})`;
    return `GitHub answered HTTP ${status} ${said}`;
  }

  #origin(): string {
    return safeUrl(this.options.baseUrl ?? DEFAULT_GITHUB_API)?.origin ?? "the configured baseUrl";
  }
}

/** GitHub's `message` and validation `errors`, on one line. */
export function githubMessage(error: RequestError): string {
  const parsed = z
    .object({
      message: z.string().optional(),
      errors: z
        .array(
          z.union([
            z.string(),
            z.object({
              resource: z.string().optional(),
              field: z.string().optional(),
              code: z.string().optional(),
              message: z.string().optional(),
            }),
          ]),
        )
        .optional(),
    })
    .safeParse(error.response?.data);
  if (!parsed.success) return "";
  const details = (parsed.data.errors ?? []).map((e) =>
    typeof e === "string" ? e : [e.resource, e.field, e.code, e.message].filter((part) => part !== undefined).join(" "),
  );
  const text = [parsed.data.message ?? "", ...details].filter((part) => part !== "").join(": ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function networkCause(error: unknown, timeoutMs: number): string {
  for (const e of causeChain(error)) {
    if (e instanceof Error && e.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
    const code = errorCode(e);
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection reset";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
    if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "connection timed out";
    if (code !== undefined && (code.startsWith("ERR_TLS") || code.includes("CERT"))) return `TLS error ${code}`;
    if (code !== undefined && causeOf(e) === undefined) return `network error ${code}`;
  }
  return `network error: ${messageOf(error)}`;
}

/** The URL `text` names, or undefined when it names none. */
export function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
