/**
 * The service on a host: its commands (start, stop, health, smoke) run in the
 * deploy root with `$SHRIVEN_CURRENT` and the service's variables set, and its
 * restart after a switch. With `[deploy.<env>] exchange_keys`, the start
 * command alone also gets the exchange keys of `secrets/exchange.env`
 * (exchange-keys.ts), exported with `set -a`; the stop, health, smoke and
 * metrics commands never do.
 */
import type { DeployContext, RemoteTransport, ServiceEnv } from "./context.js";
import { DeployRefused } from "./deploy-refused.js";
import { EXCHANGE_KEYS_FILE } from "./exchange-keys.js";
import type { DeployHost } from "./policy.js";

const SERVICE = `
root="$1"; keys="$2"; shift 2
cd "$root" || exit 40
SHRIVEN_CURRENT="$root/current"; export SHRIVEN_CURRENT
if [ "$keys" = load ]; then
  [ -f ./${EXCHANGE_KEYS_FILE} ] || { echo "no exchange keys in $root/${EXCHANGE_KEYS_FILE}: a deploy writes them" >&2; exit 42; }
  set -a; . ./${EXCHANGE_KEYS_FILE} || exit 42; set +a
fi
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do export "$1" || exit 41; shift; done
shift
exec "$@"`;

function serviceArgs(host: DeployHost, argv: readonly string[], env: ServiceEnv = {}, exchangeKeys = false): string[] {
  const assignments = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DeployRefused(`${JSON.stringify(name)} is not an environment variable name`);
    return `${name}=${value}`;
  });
  return [host.path, exchangeKeys ? "load" : "", ...assignments, "--", ...argv];
}

/**
 * Runs `argv` on `host` in its deploy root (with $SHRIVEN_CURRENT and `env` set), as the service commands run;
 * with `exchangeKeys`, the host's exchange keys are exported too (the start command only).
 */
export function runInDeployRoot(
  session: RemoteTransport,
  host: DeployHost,
  argv: readonly string[],
  timeoutMs: number,
  env?: ServiceEnv,
  exchangeKeys = false,
): ReturnType<RemoteTransport["run"]> {
  return session.run(host, SERVICE, serviceArgs(host, argv, env, exchangeKeys), { timeoutMs });
}

/** Stops and starts the host's service; why the start failed, or undefined when it started. */
export async function restart(context: DeployContext, host: DeployHost): Promise<string | undefined> {
  const { inventory, session } = context;
  await runInDeployRoot(session, host, inventory.stop, 60_000, context.serviceEnv);
  const started = await runInDeployRoot(session, host, inventory.start, 60_000, context.serviceEnv, inventory.exchangeKeys);
  return started.exitCode === 0 ? undefined : `start failed (exit ${started.exitCode}): ${started.stderr.trim().split("\n").at(-1) ?? ""}`;
}
