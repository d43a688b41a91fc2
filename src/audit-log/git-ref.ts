/**
 * The audit log kept on a git ref, so it survives the CI run that wrote it: each publish fetches the ref,
 * rebases the local log's new entries onto the log it holds (rebase.ts), commits the result as the one file
 * `audit.jsonl` on top of the fetched commit and pushes it with a lease on that commit. A concurrent run that
 * pushed first makes the lease fail; the publisher then fetches again and retries, a bounded number of times.
 * Anyone with a clone reads it back with `git fetch` and verifies it (`audit-log verify --from-ref`).
 */
import { backoff, git, pipelineIdentity, REJECTED_PUSH } from "../adapters/git.js";
import { AuditLogError } from "./audit-log-error.js";
import { type LockOptions, withLock } from "./lock.js";
import { readLogFile } from "./log-lines.js";
import { rebaseAuditLog } from "./rebase.js";
import { replaceFile } from "./replace-file.js";

/** The ref the workflows keep the audit log on. */
export const DEFAULT_AUDIT_REF = "refs/shriven-pipeline/audit";

/** The file inside the ref's commits. */
export const AUDIT_REF_FILE = "audit.jsonl";

/** Where a fetched copy of the ref is kept in the local repository. */
const FETCHED_REF = "refs/shriven-pipeline/fetched-audit";

/** Where the shared log lives: a repository (a local checkout) and one of its remotes. */
export interface AuditRefLocation {
  /** The git checkout (or bare repository) to run git in. */
  readonly repoDir: string;
  /** A remote name or URL (default `origin`). */
  readonly remote?: string;
  /** The ref (default {@link DEFAULT_AUDIT_REF}). */
  readonly ref?: string;
}

/** Options of {@link publishAuditLog}. */
export interface PublishOptions extends AuditRefLocation, LockOptions {
  /** Fetch-rebase-push rounds before giving up (default 5). */
  readonly attempts?: number;
  /** Who commits (default `shriven-pipeline`). */
  readonly committer?: string;
}

/** What {@link publishAuditLog} did. */
export interface PublishResult {
  /** The commit the ref now names. */
  readonly commit: string;
  /** Local entries added to the shared log. */
  readonly added: number;
  /** Rounds it took (a rejected push starts another). */
  readonly attempts: number;
  /** Whether a new commit was pushed (false: the ref already had every local entry). */
  readonly pushed: boolean;
}

const REF_PATTERN = /^refs\/[A-Za-z0-9._/-]+$/;

function location(options: AuditRefLocation): { remote: string; ref: string } {
  const ref = options.ref ?? DEFAULT_AUDIT_REF;
  if (!REF_PATTERN.test(ref) || ref.includes("..") || ref.endsWith("/") || ref.endsWith(".lock"))
    throw new AuditLogError(ref, ["not a usable ref name: expected refs/… of letters, digits, '.', '_', '-' and '/'"]);
  const remote = options.remote ?? "origin";
  if (remote.startsWith("-")) throw new AuditLogError(remote, ["a remote may not start with '-'"]);
  return { remote, ref };
}

/**
 * Fetches the ref and reads the log it holds: its commit (undefined when the ref does not exist yet) and the
 * bytes of `audit.jsonl`.
 * @throws AuditLogError when git cannot reach the remote or the ref holds no audit log.
 */
export async function fetchAuditRef(options: AuditRefLocation): Promise<{ commit?: string; bytes: Buffer }> {
  const { remote, ref } = location(options);
  const fetched = await git(options.repoDir, ["fetch", "--quiet", "--no-tags", "--", remote, `+${ref}:${FETCHED_REF}`]);
  if (!fetched.ok) {
    if (/couldn't find remote ref|no such ref/i.test(fetched.stderr)) return { bytes: Buffer.alloc(0) };
    throw new AuditLogError(`${remote} ${ref}`, [`git fetch failed: ${fetched.stderr}`]);
  }
  const commit = (await git(options.repoDir, ["rev-parse", "--verify", `${FETCHED_REF}^{commit}`])).stdout.toString().trim();
  const blob = await git(options.repoDir, ["cat-file", "blob", `${commit}:${AUDIT_REF_FILE}`]);
  if (!blob.ok) throw new AuditLogError(`${remote} ${ref}`, [`commit ${commit} has no ${AUDIT_REF_FILE}: ${blob.stderr}`]);
  return { commit, bytes: blob.stdout };
}

/** A commit of `bytes` as `audit.jsonl`, on top of `parent`. */
async function commitLog(repoDir: string, bytes: Buffer, parent: string | undefined, message: string, who: string): Promise<string> {
  const fail = (what: string, stderr: string): never => {
    throw new AuditLogError(repoDir, [`${what} failed: ${stderr}`]);
  };
  const blob = await git(repoDir, ["hash-object", "-w", "--stdin"], bytes);
  if (!blob.ok) fail("git hash-object", blob.stderr);
  const tree = await git(repoDir, ["mktree"], `100644 blob ${blob.stdout.toString().trim()}\t${AUDIT_REF_FILE}\n`);
  if (!tree.ok) fail("git mktree", tree.stderr);
  const identity = pipelineIdentity(who);
  const args = ["commit-tree", tree.stdout.toString().trim(), ...(parent === undefined ? [] : ["-p", parent]), "-m", message];
  const commit = await git(repoDir, args, undefined, identity);
  if (!commit.ok) fail("git commit-tree", commit.stderr);
  return commit.stdout.toString().trim();
}

/**
 * Publishes the local log at `file` to the ref: fetch, rebase the local-only entries onto the shared log,
 * commit, push with a lease on the fetched commit; a rejected push (another run was first) starts another
 * round, up to `attempts`. On success the local file is replaced by the published log, so its head is the
 * ref's head.
 * @throws AuditLogError when a log does not parse, git fails otherwise, or every round was rejected.
 */
export async function publishAuditLog(file: string, options: PublishOptions): Promise<PublishResult> {
  const { remote, ref } = location(options);
  const attempts = options.attempts ?? 5;
  const who = options.committer ?? "shriven-pipeline";
  const rejections: string[] = [];
  for (let round = 1; round <= attempts; round++) {
    const shared = await fetchAuditRef(options);
    const local = readLogFile(file);
    const rebased = rebaseAuditLog(shared.bytes, local, { shared: `${remote} ${ref}:${AUDIT_REF_FILE}`, local: file });
    if (!rebased.changed && shared.commit !== undefined) {
      replaceLocal(file, local, rebased.bytes, options);
      return { commit: shared.commit, added: 0, attempts: round, pushed: false };
    }
    const message = `audit log: ${rebased.added} entr${rebased.added === 1 ? "y" : "ies"} added`;
    const commit = await commitLog(options.repoDir, rebased.bytes, shared.commit, message, who);
    const lease = `--force-with-lease=${ref}:${shared.commit ?? ""}`;
    const pushed = await git(options.repoDir, ["push", "--quiet", "--no-verify", lease, "--", remote, `${commit}:${ref}`]);
    if (pushed.ok) {
      replaceLocal(file, local, rebased.bytes, options);
      return { commit, added: rebased.added, attempts: round, pushed: true };
    }
    if (!REJECTED_PUSH.test(pushed.stderr)) throw new AuditLogError(`${remote} ${ref}`, [`git push failed: ${pushed.stderr}`]);
    rejections.push(pushed.stderr.split("\n")[0] ?? "rejected");
    await backoff(round);
  }
  throw new AuditLogError(`${remote} ${ref}`, [
    `the push was rejected ${attempts} times (other runs kept publishing first); the local log is unchanged, publish it again`,
    ...rejections,
  ]);
}

/** Replaces the local log with the published one, unless someone appended to it meanwhile. */
function replaceLocal(file: string, before: Buffer, published: Buffer, options: LockOptions): void {
  withLock(file, options, () => {
    if (!readLogFile(file).equals(before))
      throw new AuditLogError(file, ["the local log changed while it was being published; publish it again"]);
    replaceFile(file, published);
  });
}
