/**
 * The deploy lock of each host (`.deploy-lock/`, taken with an atomic mkdir,
 * its holder recorded): one deploy or rollback at a time, taken on every host
 * before anything is written and released on every path.
 */
import { randomBytes } from "node:crypto";
import type { DeployContext, HeldLock } from "./context.js";
import { DeployRefused } from "./deploy-refused.js";
import type { DeployHost } from "./policy.js";

export type { HeldLock } from "./context.js";

/** Takes the lock, or prints how old the held one is (seconds, by the host's clock) and its holder. */
const LOCK = `
root="$1"; holder="$2"
mkdir -p "$root/releases" || exit 3
if mkdir "$root/.deploy-lock" 2>/dev/null; then printf '%s\\n' "$holder" > "$root/.deploy-lock/holder.json"; exit 0; fi
now=$(date +%s)
made=$(stat -c %Y "$root/.deploy-lock" 2>/dev/null || stat -f %m "$root/.deploy-lock" 2>/dev/null || echo "$now")
echo "age $((now - made))"
cat "$root/.deploy-lock/holder.json" 2>/dev/null
exit 10`;
const UNLOCK = `
lock="$1/.deploy-lock"
[ -d "$lock" ] || exit 0
grep -qF -- "$2" "$lock/holder.json" 2>/dev/null || exit 11
rm -rf -- "$lock"`;
/** Breaks the lock only if it is still older than `$2` seconds (moved aside first, so a new lock is never removed). */
const BREAK_STALE_LOCK = `
lock="$1/.deploy-lock"
[ -d "$lock" ] || exit 0
now=$(date +%s)
made=$(stat -c %Y "$lock" 2>/dev/null || stat -f %m "$lock" 2>/dev/null || echo "$now")
[ $((now - made)) -gt "$2" ] || exit 12
mv -- "$lock" "$lock.broken-$3" && rm -rf -- "$lock.broken-$3"`;

/** The held lock a refused LOCK script printed. */
function heldLock(host: DeployHost, stdout: string, staleAfterSeconds: number): HeldLock {
  const [first = "", ...rest] = stdout.trim().split("\n");
  const age = /^age (-?\d+)$/.exec(first.trim());
  const holder = (age === null ? [first, ...rest] : rest).join("\n").trim();
  return {
    host: host.name,
    holder: holder === "" ? "(no holder recorded)" : holder,
    ageSeconds: age === null ? undefined : Math.max(0, Number(age[1])),
    staleAfterSeconds,
  };
}

/** `held by {…} for 120 s (stale after 3600 s)`. */
export function describeHeldLock(lock: HeldLock): string {
  const age = lock.ageSeconds === undefined ? "for an unknown time" : `for ${lock.ageSeconds} s`;
  return `held by ${lock.holder} ${age} (stale after lock_stale_seconds = ${lock.staleAfterSeconds} s)`;
}

const isStale = (lock: HeldLock): boolean => lock.ageSeconds !== undefined && lock.ageSeconds > lock.staleAfterSeconds;

/**
 * Checks every host answers, then locks them one by one. A held lock is reported with its holder and age; it is
 * broken (and `onLockBroken` told, so it is audit-logged) only when `breakLock` says so and it is older than the
 * inventory's `lock_stale_seconds`: a live lock is never broken.
 * @returns The holder record, the nonce that names this deploy, and the hosts locked.
 * @throws DeployRefused when a host does not answer or another deploy holds its lock (the locks taken are released).
 */
export async function takeLocks(
  context: DeployContext,
  version: string,
  action: string,
): Promise<{ holder: string; nonce: string; locked: DeployHost[] }> {
  const nonce = randomBytes(8).toString("hex");
  const holder = JSON.stringify({ who: context.who, at: (context.now?.() ?? new Date()).toISOString(), action, version, nonce });
  // Every host answers with its pinned key before anything is written anywhere.
  for (const host of context.inventory.hosts) {
    try {
      const probe = await context.session.run(host, "true", [], { timeoutMs: 30_000 });
      if (probe.exitCode !== 0) throw new Error(`exit ${probe.exitCode}: ${probe.stderr.trim()}`);
    } catch (error) {
      throw new DeployRefused(`${host.name}: ${(error as Error).message}; nothing was written on any host`);
    }
  }
  const locked: DeployHost[] = [];
  for (const host of context.inventory.hosts) {
    try {
      await lockHost(context, host, holder, nonce);
    } catch (error) {
      await releaseLocks(context, locked, nonce);
      throw error instanceof DeployRefused ? error : new DeployRefused(`${host.name}: ${(error as Error).message}`);
    }
    locked.push(host);
  }
  return { holder, nonce, locked };
}

/** Locks one host, breaking a stale lock when allowed. @throws DeployRefused when it cannot. */
async function lockHost(context: DeployContext, host: DeployHost, holder: string, nonce: string): Promise<void> {
  const staleAfterSeconds = Math.round(context.inventory.lockStaleMs / 1000);
  let result = await context.session.run(host, LOCK, [host.path, holder], { timeoutMs: 30_000 });
  if (result.exitCode === 10) {
    const held = heldLock(host, result.stdout, staleAfterSeconds);
    if (!isStale(held))
      throw new DeployRefused(
        `${host.name}: another deploy holds the lock, ${describeHeldLock(held)}: wait for it${context.breakLock === true ? "; --break-lock never breaks a live lock" : ""}`,
      );
    if (context.breakLock !== true)
      throw new DeployRefused(`${host.name}: a stale deploy lock, ${describeHeldLock(held)}: rerun with --break-lock to break it`);
    const broken = await context.session.run(host, BREAK_STALE_LOCK, [host.path, String(staleAfterSeconds), nonce], {
      timeoutMs: 30_000,
    });
    if (broken.exitCode !== 0)
      throw new DeployRefused(`${host.name}: the stale deploy lock was not broken (exit ${broken.exitCode}): ${broken.stderr.trim()}`);
    context.onLockBroken?.(held);
    result = await context.session.run(host, LOCK, [host.path, holder], { timeoutMs: 30_000 });
    if (result.exitCode === 10)
      throw new DeployRefused(
        `${host.name}: another deploy took the lock meanwhile, ${describeHeldLock(heldLock(host, result.stdout, staleAfterSeconds))}`,
      );
  }
  if (result.exitCode !== 0)
    throw new DeployRefused(`${host.name}: cannot take the deploy lock (exit ${result.exitCode}): ${result.stderr.trim()}`);
}

/** Releases the locks this deploy (named by `nonce`) holds on `hosts`; a lock another deploy holds is left alone. */
export async function releaseLocks(context: DeployContext, hosts: readonly DeployHost[], nonce: string): Promise<void> {
  for (const host of hosts) await context.session.run(host, UNLOCK, [host.path, nonce], { timeoutMs: 30_000 }).catch(() => undefined);
}

/** The audit-log entry of a stale deploy lock a run broke: the gate it overrode, the host, the holder, its age. */
export function brokenLockAuditEntry(
  lock: HeldLock,
  environment: string,
  actor: string,
  extra: Readonly<Record<string, string>> = {},
): { kind: "override"; actor: string; data: Record<string, string | number | null> } {
  return {
    kind: "override",
    actor,
    data: {
      gate: "deploy-lock",
      environment,
      host: lock.host,
      holder: lock.holder,
      ageSeconds: lock.ageSeconds ?? null,
      staleAfterSeconds: lock.staleAfterSeconds,
      ...extra,
    },
  };
}
