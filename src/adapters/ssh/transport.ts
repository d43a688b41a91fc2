/**
 * What a call of an SSH transport takes and gives: the OpenSSH session on the
 * host and the Dagger module's container transport alike.
 */

/** What a remote script did. */
export interface RemoteResult {
  /** The script's exit code; null when it was stopped (timeout, abort, session closed). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when `timeoutMs` ran out and the local ssh process group was killed. */
  readonly timedOut: boolean;
  /** True when the signal aborted (or the session closed) and the local ssh process group was killed. */
  readonly cancelled: boolean;
}

/** Options of a transport's `run`. */
export interface RunOptions {
  /** Written to the script's stdin; without it the script reads end-of-file. */
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Options of a transport's `upload` and `download`. */
export interface TransferOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}
