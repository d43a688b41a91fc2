/**
 * The audit log's writer lock: appends and pruning hold an exclusive lock file (`<log>.lock`, made with
 * `O_CREAT|O_EXCL`) while they read and write the log; a lock older than {@link STALE_LOCK_MS} is stale.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { AuditLogError, fsError } from "./audit-log-error.js";

/** How long to wait for, and whether to break, another writer's lock. */
export interface LockOptions {
  /** Give up waiting for the lock after this long (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** Remove a lock file older than {@link STALE_LOCK_MS} instead of reporting it (default false). */
  readonly breakStaleLock?: boolean;
}

/** A lock file older than this is stale: its writer died. */
export const STALE_LOCK_MS = 30_000;

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

let sleeper: Int32Array | undefined;

/** Blocks the thread for `ms` (appends are synchronous; the wait is bounded by the lock timeout). */
function sleep(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Runs `action` holding `<file>.lock`, created exclusively; waits a bounded time for another holder.
 * @throws AuditLogError when the lock is stale (and not to be broken), cannot be had within the timeout, or
 *   cannot be created.
 */
export function withLock<T>(file: string, options: LockOptions, action: () => T): T {
  const lock = `${file}.lock`;
  const timeout = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeout;
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(lock, "wx", 0o600);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(lock, error, "cannot create the lock file");
    }
    let holder: { ino: number; ageMs: number; who: string };
    try {
      const stat = statSync(lock);
      const who = readFileSync(lock, "utf8").trim();
      holder = { ino: stat.ino, ageMs: Date.now() - stat.mtimeMs, who: who === "" ? "holder unknown" : who };
    } catch {
      continue; // released meanwhile
    }
    if (holder.ageMs > STALE_LOCK_MS) {
      if (options.breakStaleLock !== true) {
        throw new AuditLogError(lock, [
          `stale lock, ${Math.round(holder.ageMs / 1000)} s old (${holder.who}); if no append or prune is running, remove it or break it explicitly (breakStaleLock, CLI --break-stale-lock)`,
        ]);
      }
      breakLock(lock, holder.ino);
      continue;
    }
    if (Date.now() >= deadline) throw new AuditLogError(lock, [`timed out after ${timeout} ms waiting for the lock (${holder.who})`]);
    sleep(2 + Math.floor(Math.random() * 8));
  }
  const own = fstatSync(fd).ino;
  try {
    writeSync(fd, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`);
    return action();
  } finally {
    closeSync(fd);
    try {
      if (statSync(lock).ino === own) unlinkSync(lock);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes a stale lock whose inode is `ino`: moves it aside first, so that of several writers breaking it at
 * once only one succeeds, and puts back a fresh lock moved by mistake.
 */
function breakLock(lock: string, ino: number): void {
  const aside = `${lock}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(lock, aside);
  } catch {
    return; // someone else broke or released it
  }
  try {
    if (statSync(aside).ino !== ino) linkSync(aside, lock);
  } catch {
    // a new lock was made meanwhile: it stands
  }
  unlinkSync(aside);
}
