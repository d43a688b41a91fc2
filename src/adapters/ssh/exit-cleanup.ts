/**
 * The last resort for SSH sessions still open when the process exits: their
 * process groups are killed, their master connections stopped and their temp
 * dirs (with the deploy key) removed, synchronously.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { signalGroup } from "../process-group.js";

/** Temp dirs and process groups of sessions not closed yet: removed and killed if the process exits first. */
const openSessions = new Map<object, { readonly dir: string; readonly active: ReadonlySet<number> }>();
let exitHookInstalled = false;

/** Records an open session's temp dir and live process groups, for clean-up should the process exit before it is closed. */
export function registerOpenSession(session: object, dir: string, active: ReadonlySet<number>): void {
  openSessions.set(session, { dir, active });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", cleanUpAtExit);
  }
}

/** Forgets a session once it is closed. */
export function forgetOpenSession(session: object): void {
  openSessions.delete(session);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Synchronous last resort when the process exits with sessions open. */
function cleanUpAtExit(): void {
  for (const { dir, active } of openSessions.values()) {
    for (const pgid of active) signalGroup(pgid, "SIGKILL");
    // Master connections (ControlPersist) run detached; their sockets are in `dir`.
    for (const socket of readdirSafe(dir).filter((f) => f.startsWith("cm-")))
      spawnSync("ssh", ["-F", "/dev/null", "-o", `ControlPath=${join(dir, socket)}`, "-O", "exit", "x"], {
        timeout: 2000,
        stdio: "ignore",
      });
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
}
