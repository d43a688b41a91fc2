/**
 * Production's "test first": the tagged commit is on the protected branch,
 * and staging promoted it (a promotion record signed with the pinned release
 * key, for this very commit). Its record goes to the build, which must be
 * bit-for-bit what staging validated, and to the deploy.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { type PublicKey, parsePublicKey } from "../../adapters/minisign.js";
import { DEFAULT_POLICY_REF, type GitRunner, readTrustedPolicy } from "../../approval/trusted-policy.js";
import { CONFIG_FILE_NAME } from "../../config/pipeline-config.js";
import { readTextFile } from "../../core/read-text-file.js";
import { LOCAL_TARGETS_DIR } from "../../deploy/local-targets.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { verifyPromotion } from "../../release/promotion.js";
import { promotionRef, readPromotion } from "../../release/promotion-store.js";
import { inventoryOf, needHost, pinnedKey } from "../shared/host.js";
import { failed } from "./failed.js";
import { releaseTag } from "./release-tag.js";

/**
 * The keys a promotion record may be signed with: the release key production pins, and the key the test
 * hosts pin (`[deploy.test] public_key`: staging signs with the test environment's key, which CI keeps apart
 * from production's); in the local rehearsal on local targets, also the keys local staging runs pinned for
 * theirs (each signed its record with one). Both pins come from the tagged commit, which the step has
 * checked is on the protected branch.
 */
export function trustedKeys(context: StepContext, host: HostCapabilities): PublicKey[] {
  const inventory = inventoryOf(context, "production");
  const keys = [parsePublicKey(pinnedKey(host, inventory), inventory.publicKey ?? "the pinned release key")];
  const test = context.policies.deploy.test;
  if (test?.publicKey !== undefined && test.publicKey !== inventory.publicKey)
    keys.push(parsePublicKey(pinnedKey(host, test), test.publicKey));
  if (host.inputs.localRehearsal === true && inventory.hosts.every((h) => h.local !== undefined)) {
    const dir = join(host.workspace, LOCAL_TARGETS_DIR, "test", "keys");
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith(".pub"));
    } catch {
      // No local staging run pinned a key here.
    }
    for (const file of files) keys.push(parsePublicKey(readTextFile(join(dir, file)), join(LOCAL_TARGETS_DIR, "test", "keys", file)));
  }
  return keys;
}

/** The ref of the protected branch to check against: the remote's when fetched, else the local branch. */
async function branchRef(context: StepContext, branch: string): Promise<string | undefined> {
  for (const ref of [`refs/remotes/origin/${branch}`, `refs/heads/${branch}`]) {
    const found = await context.exec({ argv: ["git", "rev-parse", "--verify", "-q", `${ref}^{commit}`] });
    if (found.exitCode === 0) return ref;
  }
  return undefined;
}

async function checkPromotion(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = releaseTag(host);
  if (tag === undefined) return failed("pre-production validation did not pass: no release tag to look up a promotion for");
  const { commit } = tag;
  // The protected branch comes from the trusted policy ref, as the approval policy does: a tagged commit naming
  // its own `protected_branch` would name a branch its author pushed.
  const git: GitRunner = (args) => context.exec({ argv: ["git", ...args] });
  const policyRef = host.inputs.policyRef ?? host.ci.SHRIVEN_POLICY_REF ?? DEFAULT_POLICY_REF;
  const branch = (await readTrustedPolicy(git, policyRef, CONFIG_FILE_NAME, context.policies.approval)).protectedBranch;
  const ref = await branchRef(context, branch);
  if (ref === undefined)
    return failed(
      `the protected branch ${branch} is not in this checkout: fetch it (git fetch origin ${branch}) to check ${tag.tag} is on it`,
    );
  const ancestor = await context.exec({ argv: ["git", "merge-base", "--is-ancestor", commit, ref] });
  if (ancestor.exitCode === 1) return failed(`${tag.tag} (${commit}) is not on the protected branch ${branch} (${ref})`);
  if (ancestor.exitCode !== 0) return failed(`git merge-base --is-ancestor ${commit} ${ref} failed: ${ancestor.stderr.trim()}`);
  const signed = await readPromotion((command) => context.exec(command), commit);
  if (signed === undefined)
    return failed(
      `no promotion record of ${commit} (${promotionRef(commit)}): staging has not passed on this commit; production deploys only what staging validated`,
    );
  const record = verifyPromotion(signed, trustedKeys(context, host), commit);
  host.state.promotion = record;
  return {
    status: "passed",
    summary: `${tag.tag} (${commit.slice(0, 12)}) is on ${branch} and passed staging at ${record.promotedAt} on ${record.testHosts.join(", ")}; record signed by key ${record.keyId}`,
    details: [
      ...record.artifacts.map((a) => `${a.sha256}  ${a.binary}`),
      ...record.reports.map((r) => `${r.step}: ${r.status} — ${r.summary} (report SHA-256 ${r.sha256})`),
    ],
  };
}

/** The tagged commit is on the protected branch and has a valid promotion record. */
export const promotionCheckStep: Step = {
  id: "promotion",
  title: "Promotion record",
  description: "the tagged commit is on the protected branch and staging promoted it: a record signed with the pinned release key",
  defaultTimeoutSeconds: 120,
  run: (context) => checkPromotion(context, needHost(context, "the promotion check")),
};
