/**
 * Who made a release tag, for the approval gate, as a verified identity: in GitHub Actions the login GitHub
 * records as the actor of the tag-push run (read from GitHub's API, not from the tag); elsewhere the approver
 * whose SSH key signed the tag (`git tag -s`, checked against the trusted policy's keys). A name the tagger
 * typed proves nothing: an unsigned tag, or one signed by a key no approver holds, has an unknown author and is
 * refused. Neither the author nor the tagger's names approve the release.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApprovalError } from "./approval-error.js";
import type { Approval, IgnoredApproval } from "./approvals.js";
import { SELF_APPROVAL_REASON } from "./decide.js";
import type { GitHubRun } from "./github-reviews.js";
import type { Approver } from "./policy.js";
import type { GitRunner } from "./trusted-policy.js";

/** The names a release tag records of who made it (unverified: the tagger types them). */
export interface TagAuthorship {
  readonly tag: string;
  /** The commit the tag points at. */
  readonly commit: string;
  /** Who tagged it (the annotated tag's tagger). */
  readonly tagger: string;
  readonly taggerEmail: string;
}

/** The tag's author, verified. */
export interface VerifiedAuthor {
  /** The GitHub login or the approver's name. */
  readonly name: string;
  /** How it was verified, for the step's details. */
  readonly how: string;
  /** Other verified people behind the run (who re-ran it), whose approvals do not count either. */
  readonly others: readonly string[];
}

/**
 * The author of a tag-push run as GitHub records it: the run's actor, after checking the run is the push of
 * this tag at this commit.
 * @throws ApprovalError when the run is not that push.
 */
export function authorFromGitHubRun(run: GitHubRun, tag: TagAuthorship, runId: number): VerifiedAuthor {
  if (run.event !== "push" || run.headBranch !== tag.tag || run.headSha.toLowerCase() !== tag.commit.toLowerCase()) {
    throw new ApprovalError(
      `run ${runId} is not the push of ${tag.tag} at ${tag.commit.slice(0, 12)} (GitHub says: ${run.event} of ${run.headBranch || "no ref"} at ${run.headSha.slice(0, 12)}): the tag's author cannot be verified`,
    );
  }
  const others = run.triggeringActor.toLowerCase() === run.actor.toLowerCase() ? [] : [run.triggeringActor];
  return { name: run.actor, how: `${run.actor} pushed ${tag.tag} (GitHub's record of run ${runId})`, others };
}

/**
 * The approver whose SSH key signed the tag: `git verify-tag` with the approvers' `ssh_key`s as the only
 * allowed signers.
 * @throws ApprovalError when the tag is unsigned, or signed by a key no approver holds.
 */
export async function authorFromSignedTag(git: GitRunner, tag: TagAuthorship, approvers: readonly Approver[]): Promise<VerifiedAuthor> {
  const signers = approvers.filter((a) => a.sshKey !== undefined);
  const how = `sign it with an SSH key listed as an approver's ssh_key in the trusted [approval] (git -c gpg.format=ssh tag -s ${tag.tag})`;
  if (signers.length === 0) {
    throw new ApprovalError(
      `the author of ${tag.tag} cannot be verified: no approver in the trusted [approval] has an ssh_key, so no signed tag can be checked; ${how}`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "shriven-allowed-signers-"));
  try {
    const file = join(dir, "allowed_signers");
    await writeFile(file, signers.map((a) => `${a.name} namespaces="git" ${a.sshKey}\n`).join(""), { mode: 0o600 });
    const verified = await git([
      "-c",
      "gpg.format=ssh",
      "-c",
      `gpg.ssh.allowedSignersFile=${file}`,
      "-c",
      "gpg.ssh.program=ssh-keygen",
      "-c",
      "gpg.ssh.revocationFile=",
      "verify-tag",
      "--raw",
      `refs/tags/${tag.tag}`,
    ]);
    const output = `${verified.stdout}\n${verified.stderr}`;
    const principal = /^Good "git" signature for (\S+) with /m.exec(output)?.[1];
    const signer = principal === undefined ? undefined : signers.find((a) => a.name === principal);
    if (verified.exitCode === 0 && signer !== undefined) {
      return { name: signer.name, how: `${tag.tag} is signed with ${signer.name}'s SSH key`, others: [] };
    }
    const why = /no signature found/i.test(output)
      ? "it is not signed"
      : /Good "git" signature/.test(output)
        ? "it is signed with a key no approver holds"
        : `its signature does not verify (${output.trim().split("\n").at(-1) ?? "git verify-tag failed"})`;
    throw new ApprovalError(
      `unknown author: ${tag.tag} (tagger "${tag.tagger}") is refused because ${why}; outside GitHub Actions a release tag's author is the approver whose key signed it: ${how}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * Leaves out the approvals given under the author's other names (who re-ran the run, the tagger, the local
 * part of the tagger's e-mail). The author's own approvals are left to the decision. Names are compared
 * ignoring case and surrounding space.
 */
export function withoutTaggerApprovals(
  approvals: readonly Approval[],
  tag: Pick<TagAuthorship, "tagger" | "taggerEmail">,
  author: VerifiedAuthor,
): { counted: Approval[]; ignored: IgnoredApproval[] } {
  const others = [...author.others, tag.tagger, tag.taggerEmail.replace(/@.*$/, "")].filter((n) => n !== "" && !sameName(n, author.name));
  const ignored: IgnoredApproval[] = [];
  const counted = approvals.filter((a) => {
    if (!others.some((name) => sameName(name, a.approver))) return true;
    ignored.push({ approver: a.approver, reason: SELF_APPROVAL_REASON });
    return false;
  });
  return { counted, ignored };
}
