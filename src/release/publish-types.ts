/**
 * What publishing a GitHub release takes and gives: the release's options, its asset files and the outcome
 * (`publishRelease` in `github-release.ts` does the publishing).
 */

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

/** What `publishRelease` needs. */
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
  /** API root: default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  /** Time limit of each request, in milliseconds (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Transport override, for tests. */
  readonly request?: { readonly fetch?: typeof fetch };
}

/** What `publishRelease` did. */
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
