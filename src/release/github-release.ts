/**
 * Publishes a GitHub release and its assets, idempotently: a re-run with the
 * same files reuses the release and uploads nothing; an asset that differs
 * from the one already published is refused, never deleted or overwritten.
 * Works against github.com and GitHub Enterprise Server (`https://HOST/api/v3`).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { Octokit, RequestError } from "octokit";
import semver from "semver";
import { z } from "zod";
import { Redactor } from "../report/redact.js";

/** The REST API version every request asks for (`X-GitHub-Api-Version`). */
export const GITHUB_API_VERSION = "2022-11-28";

/** The public GitHub API; GitHub Enterprise Server uses `https://HOST/api/v3`. */
export const DEFAULT_GITHUB_API = "https://api.github.com";

/** Default time one request (an upload included) may take. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/** A local file to attach to the release. */
export interface ReleaseAssetFile {
  /** The file on disk. */
  readonly path: string;
  /** Its name on the release: letters, digits and `._+@-` (GitHub renames other characters, which would break re-runs). */
  readonly name: string;
  /** MIME type sent with the upload; guessed from the extension when absent (else `application/octet-stream`). */
  readonly contentType?: string;
  /** Optional label shown instead of the name on the release page. */
  readonly label?: string;
}

/** What {@link publishRelease} needs. */
export interface PublishReleaseOptions {
  /** A token with `contents: write` on the repository. Never appears in errors or results. */
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  /** The release tag, `vMAJOR.MINOR.PATCH[-PRERELEASE]`; a prerelease tag makes a prerelease. */
  readonly tag: string;
  /** The release title (default: the tag). */
  readonly name?: string;
  /** The release notes (Markdown), written only when the release is created. */
  readonly notes: string;
  readonly assets: readonly ReleaseAssetFile[];
  /**
   * The commit the tag is created at when the tag does not exist yet. Without
   * it GitHub tags the default branch's head, so pass it unless the tag is pushed first.
   */
  readonly targetCommitish?: string;
  /** API root: default {@link DEFAULT_GITHUB_API}; GitHub Enterprise Server: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  /** Time limit of each request, in milliseconds (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Transport override, for tests. */
  readonly request?: { readonly fetch?: typeof fetch };
}

/** What {@link publishRelease} did. */
export interface PublishedRelease {
  readonly releaseId: number;
  readonly htmlUrl: string;
  /** True when this call created the release; false when an existing release of the tag was reused. */
  readonly created: boolean;
  /**
   * True when the release was created with `options.notes`. False when an
   * existing release was reused: its notes were left as they were, never overwritten.
   */
  readonly notesWritten: boolean;
  /** A reused release whose notes differ from `options.notes` (they were kept, not replaced). */
  readonly notesDiffer: boolean;
  /** Names of the assets uploaded by this call. */
  readonly uploaded: string[];
  /** Names of the assets already published with identical content, so not uploaded twice. */
  readonly skipped: string[];
}

/** Publishing failed; the message names the step, the repository and the cause, never the token. */
export class ReleaseError extends Error {
  override readonly name: string = "ReleaseError";

  /**
   * @param status The HTTP status GitHub answered with, when it answered.
   */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * An asset of that name is already on the release with other content (or is
 * left from an interrupted upload). Nothing was deleted or overwritten, and no
 * asset was uploaded by the call that threw it.
 */
export class ReleaseAssetConflict extends ReleaseError {
  override readonly name = "ReleaseAssetConflict";

  /**
   * @param asset The (first) conflicting asset's name.
   * @param assets Every conflicting asset's name.
   */
  constructor(
    readonly asset: string,
    readonly assets: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const assetSchema = z.object({
  id: z.number(),
  name: z.string(),
  size: z.number(),
  state: z.string().optional(),
  digest: z.string().nullable().optional(),
});
type RemoteAsset = z.output<typeof assetSchema>;

const releaseSchema = z.object({
  id: z.number(),
  html_url: z.string(),
  upload_url: z.string(),
  body: z.string().nullable().optional(),
  assets: z.array(assetSchema).optional(),
});
type RemoteRelease = z.output<typeof releaseSchema>;

interface LocalAsset {
  readonly file: ReleaseAssetFile;
  readonly size: number;
  readonly sha256: string;
}

const TAG = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const REPO_PART = /^[A-Za-z0-9_.-]+$/;
const ASSET_NAME = /^[A-Za-z0-9_.+@-]+$/;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".txt": "text/plain",
  ".sha256": "text/plain",
  ".sig": "application/octet-stream",
  ".json": "application/json",
  ".intoto.jsonl": "application/jsonl",
  ".jsonl": "application/jsonl",
  ".gz": "application/gzip",
  ".tgz": "application/gzip",
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".xz": "application/x-xz",
  ".zst": "application/zstd",
};

const SILENT_LOG = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Gets the release of `options.tag` (creating it when there is none), then
 * uploads each asset not published yet. An asset already published with the
 * same size and SHA-256 (taken from the API's `digest`, else by downloading
 * it) is skipped; one with other content fails the whole call with
 * {@link ReleaseAssetConflict} before anything is uploaded.
 * @throws ReleaseError naming what failed (bad options, unreadable file, GitHub or network error).
 */
export async function publishRelease(options: PublishReleaseOptions): Promise<PublishedRelease> {
  const redactor = new Redactor([options.token]);
  try {
    return await publish(options);
  } catch (error) {
    throw sanitized(error, redactor, options);
  }
}

async function publish(options: PublishReleaseOptions): Promise<PublishedRelease> {
  checkOptions(options);
  const { owner, repo, tag } = options;
  const local = [];
  for (const file of options.assets) local.push(await describeLocal(file));

  const github = client(options);
  const api = new Calls(options);

  let release = await api.call(`getting the release ${tag} of ${owner}/${repo}`, async () => {
    try {
      const response = await github.rest.repos.getReleaseByTag({ owner, repo, tag });
      return releaseSchema.parse(response.data);
    } catch (error) {
      if (error instanceof RequestError && error.status === 404) return undefined;
      throw error;
    }
  });
  const created = release === undefined;
  if (release === undefined) {
    release = await api.call(`creating the release ${tag} of ${owner}/${repo}`, async () => {
      const response = await github.rest.repos.createRelease({
        owner,
        repo,
        tag_name: tag,
        name: options.name ?? tag,
        body: options.notes,
        draft: false,
        prerelease: semver.prerelease(tag.slice(1)) !== null,
        ...(options.targetCommitish === undefined ? {} : { target_commitish: options.targetCommitish }),
      });
      return releaseSchema.parse(response.data);
    });
  }
  const current = release;

  // Decide every asset before uploading any, so a conflict leaves the release untouched.
  const toUpload: LocalAsset[] = [];
  const skipped: string[] = [];
  const conflicts: { name: string; detail: string }[] = [];
  for (const asset of local) {
    const remote = current.assets?.find((a) => a.name === asset.file.name);
    if (remote === undefined) {
      toUpload.push(asset);
      continue;
    }
    const difference = await compare(asset, remote, github, api, options);
    if (difference === undefined) skipped.push(asset.file.name);
    else conflicts.push({ name: asset.file.name, detail: difference });
  }
  if (conflicts.length > 0) throw conflictError(conflicts, options);

  const uploaded: string[] = [];
  for (const asset of toUpload) {
    const outcome = await upload(asset, current, github, api, options);
    (outcome === "uploaded" ? uploaded : skipped).push(asset.file.name);
  }

  const existingNotes = current.body ?? "";
  return {
    releaseId: current.id,
    htmlUrl: current.html_url,
    created,
    notesWritten: created,
    notesDiffer: !created && existingNotes.trim() !== options.notes.trim(),
    uploaded,
    skipped,
  };
}

function checkOptions(options: PublishReleaseOptions): void {
  if (typeof options.token !== "string" || options.token.trim() === "") throw new ReleaseError("no GitHub token given");
  if (!REPO_PART.test(options.owner) || !REPO_PART.test(options.repo)) {
    throw new ReleaseError(`${JSON.stringify(`${options.owner}/${options.repo}`)} is not a GitHub repository name (owner/repo)`);
  }
  if (!TAG.test(options.tag) || semver.valid(options.tag.slice(1)) === null) {
    throw new ReleaseError(`${JSON.stringify(options.tag)} is not a release tag: expected vMAJOR.MINOR.PATCH such as v1.2.3`);
  }
  const seen = new Set<string>();
  for (const asset of options.assets) {
    if (!ASSET_NAME.test(asset.name)) {
      throw new ReleaseError(
        `release asset name ${JSON.stringify(asset.name)} (${asset.path}) has characters GitHub would rename; use letters, digits and ._+@-`,
      );
    }
    if (seen.has(asset.name)) throw new ReleaseError(`release asset name ${asset.name} is given twice`);
    seen.add(asset.name);
  }
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new ReleaseError("timeoutMs must be a positive number");
  if (options.baseUrl !== undefined && !/^https?:$/.test(safeUrl(options.baseUrl)?.protocol ?? "")) {
    throw new ReleaseError("baseUrl is not an http(s) URL");
  }
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

async function describeLocal(file: ReleaseAssetFile): Promise<LocalAsset> {
  try {
    const info = await stat(file.path);
    if (!info.isFile()) throw new ReleaseError(`release asset ${file.name}: ${file.path} is not a file`);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of createReadStream(file.path)) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      hash.update(bytes);
    }
    return { file, size, sha256: hash.digest("hex") };
  } catch (error) {
    if (error instanceof ReleaseError) throw error;
    throw new ReleaseError(`release asset ${file.name}: cannot read ${file.path} (${errorCode(error) ?? messageOf(error)})`);
  }
}

function client(options: PublishReleaseOptions): Octokit {
  return githubClient({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
}

/**
 * An Octokit for our calls: a time limit per request, the API version header,
 * no logging, and no silent retries or throttling (a failed run is re-run whole).
 */
export function githubClient(options: {
  readonly token: string;
  readonly baseUrl?: string;
  readonly timeoutMs: number;
  readonly request?: { readonly fetch?: typeof fetch };
}): Octokit {
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

/** Runs API calls, turning their failures into {@link ReleaseError}s that say what was being done. */
class Calls {
  constructor(private readonly options: PublishReleaseOptions) {}

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
function githubMessage(error: RequestError): string {
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
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = causeOf(e), depth++) {
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

function causeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why `remote` is not `local`, or undefined when they are identical. */
async function compare(
  local: LocalAsset,
  remote: RemoteAsset,
  github: Octokit,
  api: Calls,
  options: PublishReleaseOptions,
): Promise<string | undefined> {
  if (remote.state !== undefined && remote.state !== "uploaded") {
    return `is left on the release by an interrupted upload (state ${remote.state}); delete it on GitHub, then re-run`;
  }
  const differs = (theirs: string) =>
    `differs from the published asset (local ${local.size} bytes sha256:${local.sha256}; published ${theirs}); refusing to overwrite`;
  if (remote.size !== local.size) return differs(`${remote.size} bytes`);
  const digest = /^sha256:([0-9a-f]{64})$/i.exec(remote.digest ?? "")?.[1]?.toLowerCase();
  if (digest !== undefined) return digest === local.sha256 ? undefined : differs(`sha256:${digest}`);
  const published = await api.call(
    `downloading the published asset ${remote.name} of ${options.tag} to compare it`,
    () => downloadSha256(github, options, remote),
    (error) => (error.status === 404 ? `the asset is no longer on the release (HTTP 404); re-run` : undefined),
  );
  if (published === undefined) return differs(`more than the listed ${remote.size} bytes`);
  return published === local.sha256 ? undefined : differs(`sha256:${published}`);
}

/** The SHA-256 of the published asset, or undefined when it is longer than its listed size. */
async function downloadSha256(github: Octokit, options: PublishReleaseOptions, remote: RemoteAsset): Promise<string | undefined> {
  const response = await github.request("GET /repos/{owner}/{repo}/releases/assets/{asset_id}", {
    owner: options.owner,
    repo: options.repo,
    asset_id: remote.id,
    headers: { accept: "application/octet-stream" },
    request: { parseSuccessResponseBody: false },
  });
  const body: unknown = response.data;
  const hash = createHash("sha256");
  if (body !== null && typeof body === "object" && Symbol.asyncIterator in body) {
    let read = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      read += chunk.length;
      // Longer than the listed size: different, and no reason to read the rest.
      if (read > remote.size) return undefined;
      hash.update(chunk);
    }
  }
  return hash.digest("hex");
}

async function upload(
  asset: LocalAsset,
  release: RemoteRelease,
  github: Octokit,
  api: Calls,
  options: PublishReleaseOptions,
): Promise<"uploaded" | "skipped"> {
  const { name } = asset.file;
  const content = await readFile(asset.file.path).catch((error: unknown) => {
    throw new ReleaseError(`release asset ${name}: cannot read ${asset.file.path} (${errorCode(error) ?? messageOf(error)})`);
  });
  if (content.length !== asset.size || createHash("sha256").update(content).digest("hex") !== asset.sha256) {
    throw new ReleaseError(`release asset ${name}: ${asset.file.path} changed while the release was being published`);
  }
  const contentType = asset.file.contentType ?? guessContentType(name);
  let alreadyThere = false;
  const stored = await api.call(
    `uploading the asset ${name} to the release ${options.tag} of ${options.owner}/${options.repo}`,
    async () => {
      try {
        const response = await github.request({
          method: "POST",
          url: release.upload_url,
          name,
          ...(asset.file.label === undefined ? {} : { label: asset.file.label }),
          data: content,
          headers: { "content-type": contentType, "content-length": content.length },
        });
        return assetSchema.parse(response.data);
      } catch (error) {
        // Published meanwhile (another run, or a release listing that left it out): compare with that one.
        if (error instanceof RequestError && error.status === 422 && /already_exists/.test(githubMessage(error))) {
          alreadyThere = true;
          return undefined;
        }
        throw error;
      }
    },
  );
  if (alreadyThere || stored === undefined) {
    const assets = await api.call(`listing the assets of the release ${options.tag} of ${options.owner}/${options.repo}`, async () => {
      const listed = await github.paginate("GET /repos/{owner}/{repo}/releases/{release_id}/assets", {
        owner: options.owner,
        repo: options.repo,
        release_id: release.id,
      });
      return z.array(assetSchema).parse(listed);
    });
    const remote = assets.find((a) => a.name === name);
    if (remote === undefined) {
      throw new ReleaseError(
        `uploading the asset ${name} to the release ${options.tag}: GitHub says it already exists but does not list it`,
        422,
      );
    }
    const difference = await compare(asset, remote, github, api, options);
    if (difference !== undefined) throw conflictError([{ name, detail: difference }], options);
    return "skipped";
  }
  if (stored.size !== asset.size) {
    throw new ReleaseError(
      `uploading the asset ${name} to the release ${options.tag}: GitHub stored ${stored.size} of ${asset.size} bytes`,
    );
  }
  return "uploaded";
}

function guessContentType(name: string): string {
  const lower = name.toLowerCase();
  for (const [suffix, type] of Object.entries(CONTENT_TYPES)) {
    if (suffix.split(".").length > 2 && lower.endsWith(suffix)) return type;
  }
  return CONTENT_TYPES[extname(lower)] ?? "application/octet-stream";
}

function conflictError(conflicts: readonly { name: string; detail: string }[], options: PublishReleaseOptions): ReleaseAssetConflict {
  const where = `the release ${options.tag} of ${options.owner}/${options.repo}`;
  const lines = conflicts.map((c) => `release asset ${c.name} on ${where} ${c.detail}`);
  const first = conflicts[0]?.name ?? "";
  return new ReleaseAssetConflict(
    first,
    conflicts.map((c) => c.name),
    lines.length === 1 ? (lines[0] ?? "") : `${lines.length} release assets conflict:\n  ${lines.join("\n  ")}`,
  );
}

/** The error, as a {@link ReleaseError} whose message (and nothing else) carries no form of the token. */
function sanitized(error: unknown, redactor: Redactor, options: PublishReleaseOptions): ReleaseError {
  if (error instanceof ReleaseAssetConflict) {
    return new ReleaseAssetConflict(
      redactor.redact(error.asset),
      error.assets.map((a) => redactor.redact(a)),
      redactor.redact(error.message),
    );
  }
  if (error instanceof ReleaseError) return new ReleaseError(redactor.redact(error.message), error.status);
  const what = `publishing the release ${options.tag} of ${options.owner}/${options.repo}`;
  return new ReleaseError(redactor.redact(`${what}: ${messageOf(error)}`));
}
