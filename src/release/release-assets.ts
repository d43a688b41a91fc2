/**
 * The assets of a GitHub release: what a local file is (size, SHA-256), whether the published asset of the
 * same name is the same file, and the upload, which never overwrites an asset already published.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { type Octokit, RequestError } from "octokit";
import { z } from "zod";
import { errorCode, messageOf } from "../core/error-chain.js";
import type { PublishReleaseOptions, ReleaseAssetFile } from "./publish-types.js";
import { githubMessage, type ReleaseApiCalls } from "./release-api-calls.js";
import { conflictError, ReleaseError } from "./release-error.js";

/** A file to attach, with what it holds. */
export interface LocalAsset {
  readonly file: ReleaseAssetFile;
  readonly size: number;
  readonly sha256: string;
}

/** An asset as the GitHub API describes it. */
const assetSchema = z.object({
  id: z.number(),
  name: z.string(),
  size: z.number(),
  state: z.string().optional(),
  digest: z.string().nullable().optional(),
});
type RemoteAsset = z.output<typeof assetSchema>;

/** A release as the GitHub API describes it. */
export const releaseSchema = z.object({
  id: z.number(),
  html_url: z.string(),
  upload_url: z.string(),
  body: z.string().nullable().optional(),
  assets: z.array(assetSchema).optional(),
});
/** A release already on GitHub. */
export type RemoteRelease = z.output<typeof releaseSchema>;

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

/**
 * Reads a file to attach: its size and SHA-256.
 * @throws ReleaseError when it is not a readable regular file.
 */
export async function describeLocal(file: ReleaseAssetFile): Promise<LocalAsset> {
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

/** Why `remote` is not `local`, or undefined when they are identical. */
export async function compare(
  local: LocalAsset,
  remote: RemoteAsset,
  github: Octokit,
  api: ReleaseApiCalls,
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

/**
 * Uploads the asset; when GitHub says it is already there (published meanwhile), compares with that one instead.
 * @returns Whether it was uploaded, or skipped as identical to the published one.
 * @throws ReleaseAssetConflict when the published one differs; ReleaseError when the file changed or the upload failed.
 */
export async function upload(
  asset: LocalAsset,
  release: RemoteRelease,
  github: Octokit,
  api: ReleaseApiCalls,
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
