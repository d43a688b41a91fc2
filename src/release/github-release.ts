/**
 * Publishes a GitHub release and its assets, idempotently: a re-run with the
 * same files reuses the release and uploads nothing; an asset that differs
 * from the one already published is refused, never deleted or overwritten.
 * Works against github.com and GitHub Enterprise Server (`https://HOST/api/v3`).
 */
import { type Octokit, RequestError } from "octokit";
import semver from "semver";
import { githubClient } from "../adapters/github.js";
import { messageOf } from "../core/error-chain.js";
import { Redactor } from "../report/redact.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, type PublishedRelease, type PublishReleaseOptions } from "./publish-types.js";
import { ReleaseApiCalls, safeUrl } from "./release-api-calls.js";
import { compare, describeLocal, type LocalAsset, releaseSchema, upload } from "./release-assets.js";
import { conflictError, ReleaseAssetConflict, ReleaseError } from "./release-error.js";

const TAG = /^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const REPO_PART = /^[A-Za-z0-9_.-]+$/;
const ASSET_NAME = /^[A-Za-z0-9_.+@-]+$/;

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
  const api = new ReleaseApiCalls(options);

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

function client(options: PublishReleaseOptions): Octokit {
  return githubClient({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS });
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
