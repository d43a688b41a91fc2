/**
 * A host's `current` symlink: switched atomically to a release (a new symlink
 * renamed over it), or removed with the service stopped when a host has no
 * release to go back to.
 */
import type { DeployContext } from "./context.js";
import type { DeployHost } from "./policy.js";
import { runInDeployRoot } from "./service.js";

const SWITCH = `
root="$1"; target="$2"
[ -d "$root/$target" ] || { echo "no $target"; exit 30; }
prev=$(readlink "$root/current" 2>/dev/null || true)
ln -sfn -- "$target" "$root/.current.tmp" && mv -T -- "$root/.current.tmp" "$root/current" || exit 31
printf '%s' "$prev"`;
const CLEAR = `
prev=$(readlink "$1/current" 2>/dev/null || true)
rm -f -- "$1/current" || exit 50
printf '%s' "$prev"`;

/** The detail of a host stopped because it had no release to go back to. */
export const STOPPED = "no previous release: service stopped and current removed";

/**
 * Points `current` at `target` (`releases/<version>`); what it pointed to before, if anything.
 * @throws Error naming the host when it cannot.
 */
export async function switchTo(context: DeployContext, host: DeployHost, target: string): Promise<string | undefined> {
  const result = await context.session.run(host, SWITCH, [host.path, target], { timeoutMs: 30_000 });
  if (result.exitCode !== 0)
    throw new Error(`${host.name}: cannot switch current to ${target}: ${result.stdout.trim() || result.stderr.trim()}`);
  return result.stdout === "" ? undefined : result.stdout;
}

/**
 * Puts a host with no release to go back to where it was before its first deploy: service stopped, `current`
 * removed (the release stays retained). What `current` pointed to, or the problem.
 */
export async function stopAndClear(context: DeployContext, host: DeployHost): Promise<{ previous: string | undefined; problem?: string }> {
  const stopped = await runInDeployRoot(context.session, host, context.inventory.stop, 60_000, context.serviceEnv);
  const cleared = await context.session.run(host, CLEAR, [host.path], { timeoutMs: 30_000 });
  const previous = cleared.stdout === "" ? undefined : cleared.stdout;
  if (stopped.exitCode !== 0)
    return { previous, problem: `stop failed (exit ${stopped.exitCode}): ${stopped.stderr.trim().split("\n").at(-1) ?? ""}` };
  if (cleared.exitCode !== 0) return { previous, problem: `cannot remove current (exit ${cleared.exitCode}): ${cleared.stderr.trim()}` };
  return { previous };
}
