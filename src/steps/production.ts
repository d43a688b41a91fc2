/**
 * The steps only the production stage has, in the pipeline document's order:
 * pre-production validation of the tag and the profile, the hot-path gates
 * (allocations, memory), the approval gate, the deployment window, the deploy
 * to the pinned production hosts, post-deploy monitoring that rolls back by
 * itself, and the GitHub release. Every gate that can refuse runs before any
 * production host is touched.
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { appendAuditEntry } from "../audit/audit-log.js";
import { UsageError } from "../core/errors.js";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../core/step.js";
import type { DeployHost } from "../deploy/inventory.js";
import {
  type Approval,
  approvalsFromFiles,
  approvalsFromGitHub,
  decideApproval,
  type IgnoredApproval,
  type Rejection,
  recordApprovals,
  SELF_APPROVAL_REASON,
} from "../gates/approval.js";
import { checkDeployWindow, formatLocalTime, overrideDeployWindow } from "../gates/deploy-window.js";
import { monitorHosts } from "../gates/monitor.js";
import { buildAllocCounter, runAllocationGate } from "../perf/alloc-gate.js";
import { analyzeMemoryGrowth, measureCommandMemory } from "../perf/memory-growth.js";
import { publishRelease } from "../release/github-release.js";
import { RELEASED_FILE } from "../release/retention.js";
import { checkReleaseTag } from "../supply-chain/release-tag.js";
import { deployedTo, deployStep, findingLine, hostMetrics, rollBack } from "./deploy-steps.js";
import { auditLogOf, guarded, inventoryOf, needHost, notify, withSession } from "./host-steps.js";
import { perfStep } from "./perf-check.js";
import { builtRelease, signedReleaseStep } from "./signed-release.js";

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

const TAG = "production.tag";

function releaseTag(host: HostCapabilities): ReleaseTag | undefined {
  return host.shared.get(TAG) as ReleaseTag | undefined;
}

const failed = (summary: string, details?: readonly string[]): StepOutcome => ({
  status: "failed",
  summary,
  ...(details === undefined ? {} : { details }),
});

async function git(context: StepContext, args: string[]): Promise<{ ok: boolean; out: string }> {
  const result = await context.exec({ argv: ["git", ...args] });
  return { ok: result.exitCode === 0, out: result.stdout.trim() };
}

/** The profile rules a production run holds to, besides those the profile itself enforces. */
function profileProblem(host: HostCapabilities): string | undefined {
  const { profile } = host.environment;
  if (profile.ENVIRONMENT !== "production")
    return `the profile is ${profile.ENVIRONMENT}, not production: production never runs with another environment's profile`;
  const wanted = host.inputs.localRehearsal === true ? "paper" : "live";
  if (profile.TRADING_MODE !== wanted)
    return host.inputs.localRehearsal === true
      ? `TRADING_MODE is ${profile.TRADING_MODE}: a local rehearsal trades paper only`
      : `TRADING_MODE is ${profile.TRADING_MODE}: the production profile trades live`;
  return undefined;
}

async function validateTag(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = host.inputs.tag;
  if (tag === undefined) return failed("production needs the release tag: run production --tag vX.Y.Z");
  const profile = profileProblem(host);
  if (profile !== undefined) return failed(profile);
  const list = await git(context, ["tag", "--list"]);
  if (!list.ok) return failed("the workspace is not a git checkout: the release tag cannot be checked");
  const tags = list.out.split("\n").filter((t) => t !== "");
  if (!tags.includes(tag)) return failed(`${tag} is not a tag of this repository (git tag --list): create and push it first`);
  const verdict = checkReleaseTag(tag, tags, context.policies.release);
  if (!verdict.ok) return failed(verdict.reason);
  const format = "%(objecttype)%09%(taggername)%09%(taggeremail:trim)%09%(taggerdate:iso-strict)%09%(*objectname)";
  const ref = await git(context, ["for-each-ref", `--format=${format}`, `refs/tags/${tag}`]);
  const [type, tagger = "", email = "", date = "", target = ""] = ref.out.split("\t");
  if (!ref.ok || type !== "tag")
    return failed(`${tag} is a lightweight tag: production tags are annotated (git tag -a) so they record who tagged it and when`);
  const taggedAt = new Date(date);
  if (tagger === "" || Number.isNaN(taggedAt.getTime())) return failed(`${tag} has no tagger or tag date`);
  const head = await git(context, ["rev-parse", "HEAD"]);
  if (!head.ok || head.out !== target)
    return failed(`the workspace is at ${head.out.slice(0, 12) || "no commit"}, but ${tag} is ${target.slice(0, 12)}: check out the tag`);
  const pushedBy = host.ci.GITHUB_REF === `refs/tags/${tag}` && host.ci.GITHUB_ACTOR !== "" ? host.ci.GITHUB_ACTOR : undefined;
  const info: ReleaseTag = {
    tag,
    version: verdict.version,
    commit: target,
    tagger,
    taggerEmail: email,
    pushedBy,
    taggedAt,
    previous: verdict.previous,
  };
  host.shared.set(TAG, info);
  const mode = host.inputs.localRehearsal === true ? "paper (local rehearsal)" : "live";
  return {
    status: "passed",
    summary: `${tag} (${target.slice(0, 12)}) tagged by ${tagger} at ${taggedAt.toISOString()}; ${verdict.previous === undefined ? "the first release" : `after ${verdict.previous}`}; TRADING_MODE ${mode}`,
  };
}

/** The tag (semver, annotated, newer than every release, checked out) and the production profile. */
export const preValidationStep: Step = {
  id: "pre-validation",
  title: "Pre-production validation",
  description: "the release tag is semver, annotated, newer than the last release and checked out; the profile is production",
  defaultTimeoutSeconds: 120,
  run: (context) => guarded(() => validateTag(context, needHost(context, "pre-production validation"))),
};

/** The optimized production build, signed, versioned from the tag. */
export const productionReleaseStep: Step = signedReleaseStep(
  "optimized release build (LTO, one codegen unit, target CPU) of the tagged commit, signed",
  (host, commit) => {
    const tag = releaseTag(host);
    if (tag === undefined) return { refused: "pre-production validation did not pass: no release tag" };
    if (tag.commit !== commit) return { refused: `the workspace moved off ${tag.tag} (${tag.commit.slice(0, 12)})` };
    return { version: tag.version, ref: `refs/tags/${tag.tag}` };
  },
);

/** Benchmarks within 5 % of the baseline and the latency limits. */
export const performanceStep: Step = perfStep("production", {
  id: "performance",
  title: "Performance validation",
  description: "benchmarks against the baseline: fail past 5 %, a p99 over its limit, or no baseline",
});

async function hotPath(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const policy = context.policies.perf;
  const missing = [
    policy.allocCommand === undefined ? "[perf] alloc_command (the hot path at {iterations} iterations)" : "",
    policy.memoryCommand === undefined ? "[perf] memory_command (a run of the engine whose memory is sampled)" : "",
  ].filter((m) => m !== "");
  if (missing.length > 0) return failed(`production needs ${missing.join(" and ")}`);
  const built = await context.exec({ argv: [...policy.buildCommand], mergeOutput: true });
  if (built.exitCode !== 0) return failed(`${policy.buildCommand.join(" ")} failed (exit ${built.exitCode})`, [built.output.slice(-2000)]);
  const library = await buildAllocCounter(join(host.workspace, "target", "shriven-pipeline", "alloc"));
  const absolute = (argv: readonly string[]) => argv.map((a, i) => (i === 0 && a.includes("/") ? resolve(host.workspace, a) : a));
  const allocations = await runAllocationGate(absolute(policy.allocCommand ?? []), {
    iterations: policy.allocIterations,
    library,
    cwd: host.workspace,
    timeoutMs: 300_000,
  });
  const memoryRun = await measureCommandMemory(absolute(policy.memoryCommand ?? []), {
    intervalMs: 100,
    timeoutMs: policy.memoryTimeoutMs,
    cwd: host.workspace,
  });
  const memory = analyzeMemoryGrowth(memoryRun.samples);
  const details = [`allocations: ${allocations.message}`, `memory: ${memory.reason}`];
  if (memoryRun.exitCode !== 0)
    return failed(`${policy.memoryCommand?.join(" ")} exited with ${memoryRun.exitCode ?? "a signal"}`, details);
  if (!allocations.ok || memory.verdict === "fail") {
    const why = [allocations.ok ? "" : allocations.message, memory.verdict === "fail" ? `memory ${memory.reason}` : ""];
    return failed(why.filter((w) => w !== "").join("; "), details);
  }
  if (memory.verdict === "insufficient") return failed(`memory not assessed: ${memory.reason}`, details);
  return {
    status: memory.verdict === "warn" ? "warned" : "passed",
    summary: `${allocations.perIteration.toFixed(4)} allocations per iteration; memory ${memory.growthPercent >= 0 ? "+" : ""}${memory.growthPercent.toFixed(1)} %`,
    details,
  };
}

/** Zero allocations per iteration in the hot path; memory constant over a run. */
export const hotPathStep: Step = {
  id: "hot-path",
  title: "Allocations and memory",
  description: "the hot path at N and 2N iterations under an allocation counter; RSS growth of an engine run",
  defaultTimeoutSeconds: 900,
  run: (context) =>
    guarded(async () => {
      const host = needHost(context, "the allocation and memory gates");
      try {
        return await hotPath(context, host);
      } catch (error) {
        return failed(`not measured: ${(error as Error).message}`);
      }
    }),
};

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

async function approvalGate(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = releaseTag(host);
  if (tag === undefined) return failed("pre-production validation did not pass: no release tag to approve");
  const policy = context.policies.approval;
  const files = await approvalsFromFiles(resolve(host.workspace, policy.approvalsDir), policy, tag);
  const approvals: Approval[] = [...files.approvals];
  const rejections: Rejection[] = [];
  const { GITHUB_RUN_ID: runId, GITHUB_REPOSITORY: repository } = host.ci;
  const token = host.secret("GITHUB_TOKEN");
  const sources = [`${files.approvals.length + files.invalid.length} approval file(s) in ${policy.approvalsDir}`];
  if (runId !== undefined && repository !== undefined && token !== undefined) {
    const [owner = "", repo = ""] = repository.split("/");
    const reviews = await approvalsFromGitHub({
      token,
      owner,
      repo,
      runId: Number(runId),
      environment: "production",
      baseUrl: context.policies.release.githubApiUrl,
      now: new Date(host.clock.now()),
    });
    approvals.push(...reviews.approvals);
    rejections.push(...reviews.rejections);
    sources.push(`${reviews.approvals.length + reviews.rejections.length} review(s) of run ${runId}`);
  }
  // The tag's author is whoever pushed it, and also whoever tagged it: neither approves their own release.
  const author = tag.pushedBy ?? tag.tagger;
  const others = [tag.tagger, tag.taggerEmail.replace(/@.*$/, "")].filter((n) => n !== "" && !sameName(n, author));
  const invalid: IgnoredApproval[] = [...files.invalid];
  const counted = approvals.filter((a) => {
    if (!others.some((name) => sameName(name, a.approver))) return true;
    invalid.push({ approver: a.approver, reason: SELF_APPROVAL_REASON });
    return false;
  });
  const decision = decideApproval({
    approvals: counted,
    rejections,
    invalid,
    tagAuthor: author,
    tagCreatedAt: tag.taggedAt,
    now: new Date(host.clock.now()),
    policy,
  });
  recordApprovals(auditLogOf(host), decision, { tag: tag.tag, actor: host.who, commit: tag.commit });
  const details = [
    `sources: ${sources.join("; ")}`,
    ...decision.counted.map((c) => `counted: ${c.approver} (${c.source}, ${c.at.toISOString()})`),
    ...decision.ignored.map((i) => `ignored: ${i.approver || "(no name)"}: ${i.reason}${i.file === undefined ? "" : ` (${i.file})`}`),
    ...decision.rejections.map((r) => `rejected by ${r.approver} (${r.source})`),
  ];
  return decision.approved ? { status: "passed", summary: decision.reason, details } : failed(`not approved: ${decision.reason}`, details);
}

/** Two distinct approvers besides the tag's author, and the wait timer from the tag. */
export const approvalStep: Step = {
  id: "approval",
  title: "Approval gate",
  description: "two distinct approvers (signed approval files or the run's GitHub reviews), not the tag author; the wait timer",
  defaultTimeoutSeconds: 120,
  run: (context) => guarded(() => approvalGate(context, needHost(context, "the approval gate"))),
};

function windowGate(context: StepContext, host: HostCapabilities): StepOutcome {
  const window = context.policies.deployWindow;
  const now = new Date(host.clock.now());
  const check = checkDeployWindow(now, window);
  if (check.allowed) return { status: "passed", summary: check.reason };
  const reason = host.inputs.overrideWindow;
  if (reason === undefined) return failed(`${check.reason} (emergency: --override-window "REASON")`);
  let override: ReturnType<typeof overrideDeployWindow>;
  try {
    override = overrideDeployWindow(check, { reason, who: host.who, at: now });
  } catch (error) {
    if (error instanceof UsageError) return failed(`override refused: ${error.message}`);
    throw error;
  }
  appendAuditEntry(auditLogOf(host), {
    kind: "override",
    actor: host.who,
    data: {
      gate: "deploy-window",
      reason: override.override.reason,
      at: now.toISOString(),
      local: formatLocalTime(now, window.timeZone),
      overridden: check.reason,
      ...(host.inputs.tag === undefined ? {} : { tag: host.inputs.tag }),
      ...(host.runUrl === undefined ? {} : { run: host.runUrl }),
    },
  });
  return { status: "warned", summary: override.reason };
}

/** Deploys only while the market is closed; an emergency override needs its own reason and is audit-logged. */
export const deployWindowStep: Step = {
  id: "deploy-window",
  title: "Deployment window",
  description: "deploys only while the market is closed ([deploy_window]); an emergency override is audit-logged",
  defaultTimeoutSeconds: 60,
  run: (context) => guarded(async () => windowGate(context, needHost(context, "the deployment window"))),
};

/** The signed release to the pinned production hosts. */
export const deployProductionStep: Step = deployStep("production", {
  id: "deploy-production",
  title: "Deploy to production",
  description: "the signed release to the pinned production hosts: lock, upload, checksum, switch, health check",
});

async function monitor(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const deployed = deployedTo(host, "production");
  if (deployed === undefined) return failed("nothing was deployed in this run");
  const inventory = inventoryOf(context, "production");
  const policy = context.policies.monitor;
  const start = host.clock.now();
  const findings: string[] = [];
  const outcome = await withSession(host, inventory, (session) =>
    monitorHosts<DeployHost>({
      hosts: inventory.hosts,
      policy,
      clock: host.clock,
      fetchMetrics: hostMetrics(context, host, session),
      onFinding: (finding) => findings.push(`${finding.level}: ${findingLine(finding, start)}`),
    }),
  );
  if (outcome.verdict === "critical")
    return rollBack(host, inventory, deployed, `critical on ${findingLine(outcome, start)}`, findings, ` at poll ${outcome.poll}`);
  const minutes = (policy.durationMs / 60_000).toFixed(policy.durationMs % 60_000 === 0 ? 0 : 1);
  const warned = outcome.verdict === "warning";
  const undelivered = warned
    ? await notify(host, { kind: "monitor-warning", environment: "production", version: deployed.version, findings })
    : undefined;
  return {
    status: warned ? "warned" : "passed",
    summary: `${outcome.polls} poll(s) of ${inventory.hosts.length} host(s) over ${minutes} min: ${warned ? `${outcome.warnings.length} warning(s), no rollback` : "no findings"}`,
    details: [...findings, ...(undelivered === undefined ? [] : [undelivered])],
  };
}

/** Polls every host's metrics after the deploy; a critical finding rolls every host back. */
export const monitoringStep: Step = {
  id: "monitoring",
  title: "Post-deploy monitoring",
  description: "every host's metrics for [monitor] duration_minutes: critical rolls back at once, warnings are reported",
  defaultTimeoutSeconds: 24 * 3600,
  run: (context) => guarded(() => monitor(context, needHost(context, "post-deploy monitoring"))),
};

async function publish(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const tag = releaseTag(host);
  const release = builtRelease(host);
  if (tag === undefined || release === undefined) return failed("no release was built in this run");
  if (host.inputs.localRehearsal === true)
    return { status: "warned", summary: `${tag.tag}: local rehearsal: not published (the signed release is in ${release.dir})` };
  const token = host.secret("GITHUB_TOKEN");
  if (token === undefined)
    return { status: "warned", summary: `${tag.tag} not published: no GITHUB_TOKEN secret (the signed release is in ${release.dir})` };
  const repository = context.policies.release.githubRepository ?? host.ci.GITHUB_REPOSITORY;
  if (repository === undefined) return failed("publishing needs [release] github_repository or $GITHUB_REPOSITORY");
  const [owner = "", repo = ""] = repository.split("/");
  const assets = readdirSync(release.dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== RELEASED_FILE && !e.name.endsWith(".tmp"))
    .map((e) => ({ path: join(release.dir, e.name), name: e.name }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const published = await publishRelease({
    token,
    owner,
    repo,
    tag: tag.tag,
    notes: [
      `Release ${tag.tag} (${tag.commit}), signed with minisign key ${release.keyId}.`,
      "",
      "Verify: `minisign -Vm FILE -p minisign.pub` and `sha256sum -c SHA256SUMS`.",
    ].join("\n"),
    targetCommitish: tag.commit,
    baseUrl: context.policies.release.githubApiUrl,
    assets,
  });
  return {
    status: "passed",
    summary: `${published.htmlUrl} (${published.created ? "created" : "reused"}; uploaded ${published.uploaded.length}, already there ${published.skipped.length})`,
  };
}

/** The GitHub release of the tag with the signed artifacts (idempotent). */
export const githubReleaseStep: Step = {
  id: "github-release",
  title: "GitHub release",
  description: "the GitHub release of the tag: binaries, signatures, SHA256SUMS, provenance (idempotent)",
  defaultTimeoutSeconds: 900,
  run: (context) => guarded(() => publish(context, needHost(context, "the GitHub release"))),
};
