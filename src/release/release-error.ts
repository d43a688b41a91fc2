/**
 * The errors of publishing a GitHub release: any failure, and the refusal to overwrite an asset already
 * published with other content.
 */

import { PipelineError } from "../core/errors.js";
import type { PublishReleaseOptions } from "./publish-types.js";

/** Publishing failed; the message names the step, the repository and the cause, never the token. */
export class ReleaseError extends PipelineError {
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

/** The {@link ReleaseAssetConflict} naming every asset that differs from the published one, each with its detail. */
export function conflictError(
  conflicts: readonly { name: string; detail: string }[],
  options: Pick<PublishReleaseOptions, "owner" | "repo" | "tag">,
): ReleaseAssetConflict {
  const where = `the release ${options.tag} of ${options.owner}/${options.repo}`;
  const lines = conflicts.map((c) => `release asset ${c.name} on ${where} ${c.detail}`);
  const first = conflicts[0]?.name ?? "";
  return new ReleaseAssetConflict(
    first,
    conflicts.map((c) => c.name),
    lines.length === 1 ? (lines[0] ?? "") : `${lines.length} release assets conflict:\n  ${lines.join("\n  ")}`,
  );
}
