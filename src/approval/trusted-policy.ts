/**
 * The approval policy production trusts: the `[approval]` table of the pipeline config on the default branch
 * (a protected branch, changed only by reviewed merges), read with `git show <ref>:<file>`, never the tagged
 * checkout's, whose author controls every file in it. A tagged commit whose own table differs is reported.
 */
import { parseTomlText } from "../core/toml.js";
import { ApprovalError } from "./approval-error.js";
import { type ApprovalPolicy, parseApprovalTable } from "./policy.js";

/** The ref the policy is read from unless a trusted input (`--policy-ref`, `SHRIVEN_POLICY_REF`) names another. */
export const DEFAULT_POLICY_REF = "origin/main";

/** Runs git in the workspace: its exit code and output. */
export type GitRunner = (
  args: readonly string[],
) => Promise<{ readonly exitCode: number | null; readonly stdout: string; readonly stderr: string }>;

/** The trusted policy and where it came from. */
export interface TrustedPolicy {
  readonly policy: ApprovalPolicy;
  /** The ref it was read from, such as `origin/main`. */
  readonly ref: string;
  /** The commit that ref named. */
  readonly commit: string;
  /** How the tagged checkout's `[approval]` differs from the trusted one (empty when it does not). */
  readonly differences: readonly string[];
  /** `[release] github_api_url` at that ref, if set: where the approvals are read from (never the checkout's). */
  readonly githubApiUrl: string | undefined;
  /**
   * The branch a release must be on: `[release] protected_branch` at that ref, else the ref's own branch
   * (`origin/main` → `main`). Never the tagged checkout's, which would name a branch its author pushed.
   */
  readonly protectedBranch: string;
}

/** The branch a ref such as `origin/main`, `refs/remotes/origin/main` or `refs/heads/main` names. */
export function branchOfRef(ref: string): string {
  return ref.replace(/^refs\/(remotes\/[^/]+|heads)\//, "").replace(/^origin\//, "");
}

/** A ref git accepts and no option: branch names, `origin/main`, `refs/remotes/origin/main`. */
const REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,255}$/;

/**
 * Reads `[approval]` from `file` at `ref` (a missing table means the defaults) and compares it with the
 * checkout's; also the ref's `[release] github_api_url`, so the checkout cannot send the token and the reading of
 * approvals to a server of its choice.
 * @throws ApprovalError naming the ref and the file when the ref or the file cannot be read; ConfigError
 *   (naming `ref:file` and the key) when the table is invalid.
 */
export async function readTrustedPolicy(git: GitRunner, ref: string, file: string, checkout: ApprovalPolicy): Promise<TrustedPolicy> {
  const { commit, source, tables } = await readTrustedConfig(git, ref, file, "the approval policy");
  const policy = parseApprovalTable(tables.approval, source);
  const release = tables.release;
  const releaseTable = typeof release === "object" && release !== null ? (release as Record<string, unknown>) : {};
  const apiUrl = releaseTable.github_api_url;
  const branch = releaseTable.protected_branch;
  if (branch !== undefined && (typeof branch !== "string" || !REF.test(branch)))
    throw new ApprovalError(`${source}: [release] protected_branch ${JSON.stringify(branch)} is not a branch name`);
  return {
    policy,
    ref,
    commit,
    differences: policyDifferences(checkout, policy),
    githubApiUrl: typeof apiUrl === "string" ? apiUrl : undefined,
    protectedBranch: typeof branch === "string" ? branch : branchOfRef(ref),
  };
}

/** The pipeline config at a trusted ref: the commit it names, `ref:file` for messages, and its top-level tables. */
export interface TrustedConfig {
  readonly commit: string;
  readonly source: string;
  readonly tables: Readonly<Record<string, unknown>>;
}

/**
 * Reads `file` at `ref` with git (`rev-parse`, `show`), never from the working tree.
 * @param what What is read from it, for the messages ("the approval policy").
 * @throws ApprovalError naming the ref and the file when the ref or the file cannot be read; ConfigError when the
 *   file is not TOML.
 */
export async function readTrustedConfig(git: GitRunner, ref: string, file: string, what: string): Promise<TrustedConfig> {
  if (!REF.test(ref)) throw new ApprovalError(`the ${what.replace(/^the /, "")} ref ${JSON.stringify(ref)} is not a git ref name`);
  const resolved = await git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (resolved.exitCode !== 0) {
    throw new ApprovalError(
      `cannot read ${what}: ${ref} is not a commit in this checkout (fetch the default branch, e.g. actions/checkout with fetch-depth: 0, or name the trusted branch with --policy-ref)`,
    );
  }
  const commit = resolved.stdout.trim();
  const shown = await git(["show", `${commit}:${file}`]);
  if (shown.exitCode !== 0) {
    throw new ApprovalError(
      `cannot read ${what}: ${ref} (${commit.slice(0, 12)}) has no ${file} (${shown.stderr.trim() || "git show failed"})`,
    );
  }
  const source = `${ref}:${file}`;
  const document = parseTomlText(shown.stdout, source);
  const tables = typeof document === "object" && document !== null ? (document as Record<string, unknown>) : {};
  return { commit, source, tables };
}

/** What differs between the checkout's policy and the trusted one, one phrase each, trusted value last. */
export function policyDifferences(checkout: ApprovalPolicy, trusted: ApprovalPolicy): string[] {
  const out: string[] = [];
  if (checkout.required !== trusted.required) out.push(`required ${checkout.required} instead of ${trusted.required}`);
  if (checkout.waitMinutes !== trusted.waitMinutes) out.push(`wait_minutes ${checkout.waitMinutes} instead of ${trusted.waitMinutes}`);
  if (checkout.approvalsDir !== trusted.approvalsDir) out.push(`approvals_dir ${checkout.approvalsDir} instead of ${trusted.approvalsDir}`);
  const key = (a: ApprovalPolicy["approvers"][number]) =>
    `${a.name.toLowerCase()} ${Buffer.concat([a.publicKey.keyId, a.publicKey.publicKey]).toString("hex")} ${a.sshKey ?? ""}`;
  const theirs = new Set(checkout.approvers.map(key));
  const ours = new Set(trusted.approvers.map(key));
  const added = checkout.approvers.filter((a) => !ours.has(key(a))).map((a) => a.name);
  const removed = trusted.approvers.filter((a) => !theirs.has(key(a))).map((a) => a.name);
  if (added.length > 0) out.push(`approvers or keys not in the trusted policy: ${added.join(", ")}`);
  if (removed.length > 0) out.push(`trusted approvers or keys missing or changed: ${removed.join(", ")}`);
  if (checkout.githubEnvironments.join(",") !== trusted.githubEnvironments.join(",")) {
    out.push(`github_environments ${checkout.githubEnvironments.join(", ")} instead of ${trusted.githubEnvironments.join(", ")}`);
  }
  return out;
}
