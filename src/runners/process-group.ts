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
