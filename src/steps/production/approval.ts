/**
 * The approval gate: the policy from the default branch (never the tagged commit), the tag's verified author
 * (GitHub's record of the tag push, or the approver whose key signed the tag), two distinct approvers besides
 * them from signed approval files and the run's GitHub reviews of the approval environments, and the wait timer
 * from a time the pipeline records. The decision is recorded in the audit log.
 */
import { resolve } from "node:path";
import type { Approval, IgnoredApproval, Rejection } from "../../approval/approvals.js";
import { decideApproval } from "../../approval/decide.js";
import { approvalsFromGitHub, type GitHubRun, workflowRunFromGitHub } from "../../approval/github-reviews.js";
import { recordApprovals } from "../../approval/record-approvals.js";
import { approvalsFromFiles } from "../../approval/signed-files.js";
import { authorFromGitHubRun, authorFromSignedTag, type VerifiedAuthor, withoutTaggerApprovals } from "../../approval/tag-author.js";
import { DEFAULT_POLICY_REF, type GitRunner, readTrustedPolicy, type TrustedPolicy } from "../../approval/trusted-policy.js";
import { waitStart } from "../../approval/wait-start.js";
import { CONFIG_FILE_NAME } from "../../config/pipeline-config.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import type { ReleaseTag } from "../../release/release-tag.js";
import { auditLogOf, needHost } from "../shared/host.js";
import { failed } from "./failed.js";
import { releaseTag } from "./release-tag.js";

/** The GitHub run of this stage, when it runs in GitHub Actions with a token. */
interface GitHubContext {
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  readonly runId: number;
  readonly baseUrl: string | undefined;
}

/** The run's GitHub API: the CI's GITHUB_API_URL, else the trusted ref's `[release] github_api_url` (never the checkout's). */
function githubContext(host: HostCapabilities, trusted: TrustedPolicy): GitHubContext | undefined {
  const { GITHUB_RUN_ID: runId, GITHUB_REPOSITORY: repository } = host.ci;
  const token = host.secret("GITHUB_TOKEN");
  if (runId === undefined || repository === undefined || token === undefined) return undefined;
  const [owner = "", repo = ""] = repository.split("/");
  return { token, owner, repo, runId: Number(runId), baseUrl: host.ci.GITHUB_API_URL ?? trusted.githubApiUrl };
}

/** GitHub's record of the tag push in CI; elsewhere the approver whose SSH key signed the tag. */
async function verifiedAuthor(
  git: GitRunner,
  tag: ReleaseTag,
  trusted: TrustedPolicy,
  github: { run: GitHubRun; runId: number } | undefined,
) {
  if (github !== undefined) return authorFromGitHubRun(github.run, tag, github.runId);
  return authorFromSignedTag(git, tag, trusted.policy.approvers);
}

async function approvalGate(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = releaseTag(host);
  if (tag === undefined) return failed("pre-production validation did not pass: no release tag to approve");
  const git: GitRunner = (args) => context.exec({ argv: ["git", ...args] });
  const ref = host.inputs.policyRef ?? host.ci.SHRIVEN_POLICY_REF ?? DEFAULT_POLICY_REF;
  const trusted = await readTrustedPolicy(git, ref, CONFIG_FILE_NAME, context.policies.approval);
  const policy = trusted.policy;
  const github = githubContext(host, trusted);
  const run = github === undefined ? undefined : await workflowRunFromGitHub(github);
  const author: VerifiedAuthor = await verifiedAuthor(
    git,
    tag,
    trusted,
    run === undefined || github === undefined ? undefined : { run, runId: github.runId },
  );

  const files = await approvalsFromFiles(resolve(host.workspace, policy.approvalsDir), policy, tag);
  const approvals: Approval[] = [...files.approvals];
  const rejections: Rejection[] = [];
  const sources = [`${files.approvals.length + files.invalid.length} approval file(s) in ${policy.approvalsDir}`];
  if (github !== undefined) {
    const reviews = await approvalsFromGitHub({ ...github, environments: policy.githubEnvironments, now: new Date(host.clock.now()) });
    approvals.push(...reviews.approvals);
    rejections.push(...reviews.rejections);
    sources.push(
      `${reviews.approvals.length + reviews.rejections.length} review(s) of run ${github.runId} (${policy.githubEnvironments.join(", ")})`,
    );
  }
  const { counted, ignored } = withoutTaggerApprovals(approvals, tag, author);
  const invalid: IgnoredApproval[] = [...files.invalid, ...ignored];
  const wait = waitStart({
    ...(host.inputs.waitStartsAt === undefined ? {} : { given: host.inputs.waitStartsAt }),
    ...(run === undefined ? {} : { pushedAt: run.createdAt }),
    runStartedAt: host.startedAt ?? new Date(host.clock.now()),
  });
  const decision = decideApproval({
    approvals: counted,
    rejections,
    invalid,
    tagAuthor: author.name,
    waitStartsAt: wait.at,
    now: new Date(host.clock.now()),
    policy,
  });
  recordApprovals(auditLogOf(host), decision, { tag: tag.tag, actor: host.who, commit: tag.commit });
  if (decision.approved) host.state.approvers = decision.counted.map((c) => c.approver);
  const policyLine = `policy: ${trusted.ref} (${trusted.commit.slice(0, 12)}): ${policy.required} approvals, ${policy.waitMinutes} minutes' wait`;
  const differs =
    trusted.differences.length > 0
      ? `the tagged commit's [approval] differs from ${trusted.ref}'s and is not used: ${trusted.differences.join("; ")}`
      : undefined;
  const details = [
    policyLine,
    ...(differs === undefined ? [] : [`warning: ${differs}`]),
    `author: ${author.how}`,
    `wait started at ${wait.at.toISOString()}: ${wait.from}`,
    `sources: ${sources.join("; ")}`,
    ...decision.counted.map((c) => `counted: ${c.approver} (${c.source}, ${c.at.toISOString()})`),
    ...decision.ignored.map((i) => `ignored: ${i.approver || "(no name)"}: ${i.reason}${i.file === undefined ? "" : ` (${i.file})`}`),
    ...decision.rejections.map((r) => `rejected by ${r.approver} (${r.source})`),
  ];
  if (!decision.approved) return failed(`not approved: ${decision.reason}`, details);
  return differs === undefined
    ? { status: "passed", summary: decision.reason, details }
    : { status: "warned", summary: `${decision.reason}; ${differs}`, details };
}

/** The trusted policy, a verified author, two distinct approvers besides them, and the recorded wait. */
export const approvalStep: Step = {
  id: "approval",
  title: "Approval gate",
  description: "the default branch's [approval] policy, a verified tag author, two distinct approvers besides them, the wait from the push",
  defaultTimeoutSeconds: 120,
  run: (context) => approvalGate(context, needHost(context, "the approval gate")),
};
