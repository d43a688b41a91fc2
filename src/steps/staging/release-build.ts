/** Staging's release build: optimized like production, signed, versioned `0.0.0-staging.<commit>` for the test hosts. */
import type { Step } from "../../engine/step.js";
import { signedReleaseStep } from "../shared/signed-release.js";

/** The release build of staging: optimized like production, signed, versioned `0.0.0-staging.<commit>` for the test hosts. */
export const stagingReleaseStep: Step = signedReleaseStep(
  "optimized release build of the workspace's binaries, signed for the test hosts",
  (_host, commit) => ({ version: `0.0.0-staging.${commit.slice(0, 7)}`, ref: "refs/heads/staging" }),
);
