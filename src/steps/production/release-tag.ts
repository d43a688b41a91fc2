/** The release tag pre-production validation found, as the production steps after it read it. */
import type { HostCapabilities } from "../../engine/step.js";
import type { ReleaseTag } from "../../release/release-tag.js";

/** The release tag pre-production validation recorded in this run, if it passed. */
export function releaseTag(host: HostCapabilities): ReleaseTag | undefined {
  return host.state.releaseTag;
}

/** Records the release tag for the steps after pre-production validation. */
export function recordReleaseTag(host: HostCapabilities, tag: ReleaseTag): void {
  host.state.releaseTag = tag;
}
