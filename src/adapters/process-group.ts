/**
 * Signalling a whole process group, so that stopping `cargo` also stops the
 * `rustc`, linker and test processes it started.
 */

/** Sends `signal` to every process in the group led by `pgid`; a group that is already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until no process of the group is left (bounded), polling every 20 ms. */
export async function waitForGroupExit(pgid: number, limitMs: number): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (groupAlive(pgid)) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/**
 * Stops a process group when its time runs out or a signal aborts it: SIGTERM
 * to the whole group, then SIGKILL after a grace period. Once the group's
 * leader has exited, {@link GroupStopper.settle} makes sure nothing of a
 * stopped group is left.
 */
export class GroupStopper {
  /** The time limit ran out. */
  timedOut = false;
  /** One of the abort signals fired. */
  cancelled = false;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly timeoutTimer: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => {
    this.cancelled = true;
    this.stop();
  };

  /**
   * @param pgid The group (its leader's pid); undefined when the process never started.
   * @param graceMs Time between SIGTERM and SIGKILL.
   * @param timeoutMs The time limit, if any.
   * @param signals Abort signals that stop the group.
   */
  constructor(
    private readonly pgid: number | undefined,
    private readonly graceMs: number,
    timeoutMs: number | undefined,
    private readonly signals: readonly (AbortSignal | undefined)[],
  ) {
    for (const signal of signals) signal?.addEventListener("abort", this.onAbort, { once: true });
    this.timeoutTimer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            this.timedOut = true;
            this.stop();
          }, timeoutMs);
  }

  /** Stops watching: clears the timers and the abort listeners (safe to call more than once). */
  release(): void {
    for (const signal of this.signals) signal?.removeEventListener("abort", this.onAbort);
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
  }

  private stop(): void {
    const pgid = this.pgid;
    if (pgid === undefined || this.killTimer !== undefined) return;
    signalGroup(pgid, "SIGTERM");
    this.killTimer = setTimeout(() => signalGroup(pgid, "SIGKILL"), this.graceMs);
  }

  /**
   * Call once the leader has exited: clears the timers and listeners and, when
   * the group was stopped, kills what is left of it and waits (at most
   * `limitMs`) until it is gone, so no child outlives the command.
   */
  async settle(limitMs: number): Promise<void> {
    this.release();
    if ((this.timedOut || this.cancelled) && this.pgid !== undefined) {
      signalGroup(this.pgid, "SIGKILL");
      await waitForGroupExit(this.pgid, limitMs);
    }
  }
}
