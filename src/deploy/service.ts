/**
 * The service on a host: its commands (start, stop, health, smoke) run in the
 * deploy root with `$SHRIVEN_CURRENT` and the service's variables set, and its
 * restart after a switch.
 */
import type { DeployContext, RemoteTransport, ServiceEnv } from "./context.js";
import { DeployRefused } from "./deploy-refused.js";
import type { DeployHost } from "./policy.js";

const SERVICE = `
root="$1"; shift
cd "$root" || exit 40
SHRIVEN_CURRENT="$root/current"; export SHRIVEN_CURRENT
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do export "$1" || exit 41; shift; done
shift
exec "$@"`;

function serviceArgs(host: DeployHost, argv: readonly string[], env: ServiceEnv = {}): string[] {
  const assignments = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DeployRefused(`${JSON.stringify(name)} is not an environment variable name`);
    return `${name}=${value}`;
  });
  return [host.path, ...assignments, "--", ...argv];
}

/** Runs `argv` on `host` in its deploy root (with $SHRIVEN_CURRENT and `env` set), as the service commands run. */
export function runInDeployRoot(
  session: RemoteTransport,
  host: DeployHost,
  argv: readonly string[],
  timeoutMs: number,
  env?: ServiceEnv,
): ReturnType<RemoteTransport["run"]> {
  return session.run(host, SERVICE, serviceArgs(host, argv, env), { timeoutMs });
}

/** Stops and starts the host's service; why the start failed, or undefined when it started. */
export async function restart(context: DeployContext, host: DeployHost): Promise<string | undefined> {
  const { inventory, session } = context;
  await runInDeployRoot(session, host, inventory.stop, 60_000, context.serviceEnv);
  const started = await runInDeployRoot(session, host, inventory.start, 60_000, context.serviceEnv);
  return started.exitCode === 0 ? undefined : `start failed (exit ${started.exitCode}): ${started.stderr.trim().split("\n").at(-1) ?? ""}`;
}
