/**
 * git run from this process on a repository folder, for the records kept on refs (the audit log, promotion
 * records): no terminal prompt, a timeout, bytes in and out, the exit status as a value.
 */
import { execa } from "execa";

const GIT_TIMEOUT_MS = 120_000;

/** What a git command gave back. */
export interface GitResult {
  readonly ok: boolean;
  readonly stdout: Buffer;
  /** Its standard error, trimmed. */
  readonly stderr: string;
}

/** Runs `git -C repoDir …args` with `input` on its stdin; never throws on a failing exit. */
export async function git(
  repoDir: string,
  args: readonly string[],
  input?: Buffer | string,
  env: Record<string, string> = {},
): Promise<GitResult> {
  const result = await execa("git", ["-C", repoDir, ...args], {
    reject: false,
    timeout: GIT_TIMEOUT_MS,
    encoding: "buffer",
    stripFinalNewline: false,
    env: { GIT_TERMINAL_PROMPT: "0", ...env },
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  return {
    ok: result.exitCode === 0,
    stdout: Buffer.from(result.stdout ?? Buffer.alloc(0)),
    stderr: Buffer.from(result.stderr ?? Buffer.alloc(0))
      .toString("utf8")
      .trim(),
  };
}

/** The committer identity of records the pipeline commits itself. */
export function pipelineIdentity(who: string): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: who,
    GIT_AUTHOR_EMAIL: "shriven-pipeline@localhost",
    GIT_COMMITTER_NAME: who,
    GIT_COMMITTER_EMAIL: "shriven-pipeline@localhost",
  };
}

/** A push another writer beat: the lease is stale or the remote moved on (retry after fetching again). */
export const REJECTED_PUSH = /stale info|rejected|non-fast-forward|fetch first|failed to (update|lock)|cannot lock ref/i;

/** Waits a little, more each round, with jitter (two racing runs should not retry in lockstep). */
export const backoff = (round: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, 50 * round + Math.floor(Math.random() * 100)));
