/** A release tag as pre-production validation found it: what the production steps after it read. */

/** The release tag as pre-production validation found it. */
export interface ReleaseTag {
  readonly tag: string;
  readonly version: string;
  /** The commit the tag points at (the workspace's HEAD). */
  readonly commit: string;
  /** Who tagged it (the annotated tag's tagger). */
  readonly tagger: string;
  readonly taggerEmail: string;
  /** Who pushed it, when the run was started by the tag push in GitHub Actions. */
  readonly pushedBy: string | undefined;
  readonly taggedAt: Date;
  /** The latest earlier release tag, if any. */
  readonly previous: string | undefined;
}
