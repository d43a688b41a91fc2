/**
 * Production's release build: optimized, signed, versioned from the tag pre-production validation checked,
 * and released only when every binary is bit-for-bit the one staging validated (the promotion record).
 */
import type { Step } from "../../engine/step.js";
import { promotionMismatch } from "../../release/promotion.js";
import { signedReleaseStep } from "../shared/signed-release.js";
import { releaseTag } from "./release-tag.js";

/** The optimized production build, signed, versioned from the tag, identical to what staging validated. */
export const productionReleaseStep: Step = signedReleaseStep(
  "optimized release build (LTO, one codegen unit, target CPU) of the tagged commit, signed, bit-for-bit what staging validated",
  (host, commit) => {
    const tag = releaseTag(host);
    if (tag === undefined) return { refused: "pre-production validation did not pass: no release tag" };
    if (tag.commit !== commit) return { refused: `the workspace moved off ${tag.tag} (${tag.commit.slice(0, 12)})` };
    if (host.state.promotion?.commit !== commit)
      return { refused: `no verified promotion record of ${commit}: production deploys only what staging validated` };
    return { version: tag.version, ref: `refs/tags/${tag.tag}` };
  },
  (host, built) => {
    const record = host.state.promotion;
    if (record === undefined) return `no verified promotion record of ${built.commit}`;
    const mismatch = promotionMismatch(record, built.artifacts);
    return mismatch === undefined ? undefined : `not the binaries staging validated for ${built.commit}: ${mismatch}`;
  },
);
