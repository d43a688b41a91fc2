/**
 * Local targets: an environment without hosts (`[deploy.<env>.local]`) is
 * deployed to folders on this machine, each a deploy root with the layout of a
 * host's (`releases/<version>`, `current`, `.deploy-lock`, retention) and a
 * service process started from `current/` on a free port of 127.0.0.1. The
 * deploy, switch, health check, smoke tests, monitoring and rollback are the
 * hosts' own code (deploy-release.ts, rollback.ts), run over the local transport instead of SSH.
 *
 *     .shriven-pipeline/local-targets/<environment>/local-<n>/
 *         port                   the service's port in this run
 *         service.pid            the running service (removed when it stops)
 *         service.log            its output
 *
 * Who may use them: a local run (`run … --local`, which
 * `scripts/deploy/local-deploy.sh` passes) always; a staging run also when
 * `[deploy.test.local] targets` is written in the config; a production run
 * never, unless it is the `--local` rehearsal (TRADING_MODE forced to paper).
 * So nothing reports a "deploy to production" that only reached this machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { DeployHost, Inventory } from "./policy.js";

/** Where the local targets of a workspace live, relative to it. */
export const LOCAL_TARGETS_DIR = ".shriven-pipeline/local-targets";

/**
 * Starts the service (the arguments, `{port}` replaced by the port file's
 * number) in the background in `current/`, records its pid, and fails with
 * the end of its log when it exits at once. Run in the deploy root.
 */
const START = `
root=$(pwd -P)
port=$(cat "$root/port") || { echo "no port file in $root" >&2; exit 41; }
n=$#
while [ "$n" -gt 0 ]; do
  arg=$1; shift
  while :; do
    case $arg in *"{port}"*) arg="\${arg%%"{port}"*}$port\${arg#*"{port}"}" ;; *) break ;; esac
  done
  set -- "$@" "$arg"; n=$((n - 1))
done
if [ -f service.pid ] && kill -0 "$(cat service.pid)" 2>/dev/null; then
  echo "a service is still running (pid $(cat service.pid)): stop it first" >&2; exit 43
fi
cd current || exit 42
nohup "$@" </dev/null >"$root/service.log" 2>&1 &
echo "$!" >"$root/service.pid"
sleep 0.2
kill -0 "$!" 2>/dev/null || { tail -n 5 "$root/service.log" >&2; rm -f "$root/service.pid"; exit 44; }`;

/**
 * Stops the recorded service (TERM, KILL after 5 s) and waits until it is
 * gone. A pid whose process does not run in this deploy root (a stale file
 * after a reboot, where /proc shows it) is not ours and is left alone.
 */
const STOP = `
root=$(pwd -P)
[ -f service.pid ] || exit 0
pid=$(cat service.pid)
case $pid in ''|*[!0-9]*) rm -f service.pid; exit 0 ;; esac
if [ -d "/proc/$pid" ]; then
  case $(readlink "/proc/$pid/cwd" 2>/dev/null) in "$root"/*) ;; *) rm -f service.pid; exit 0 ;; esac
fi
if kill "$pid" 2>/dev/null; then
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    case $(ps -o stat= -p "$pid" 2>/dev/null) in Z*) break ;; esac
    i=$((i + 1))
    [ "$i" -eq 100 ] && kill -9 "$pid" 2>/dev/null
    [ "$i" -ge 200 ] && { echo "pid $pid did not stop" >&2; exit 1; }
    sleep 0.05
  done
fi
rm -f service.pid`;

/** One local target of a run. */
export interface LocalTarget {
  readonly name: string;
  /** Its deploy root (absolute). */
  readonly root: string;
  /** The free port of 127.0.0.1 its service listens on in this run. */
  readonly port: number;
}

/**
 * Why this run may not deploy to the environment's local targets (in the
 * config, or resolved by the run), or undefined when it may (or when the
 * environment has hosts).
 * @param localRun The run was started with `--local` (the local entry).
 */
export function localTargetsRefusal(inventory: Inventory, localRun: boolean): string | undefined {
  const local = inventory.hosts.length === 0 || inventory.hosts.some((h) => h.local !== undefined);
  if (!local || localRun) return undefined;
  const env = `deploy.${inventory.environment}`;
  if (inventory.environment === "production")
    return `[${env}] has no hosts, only local targets ([${env}.local]): a production run deploys to pinned [[${env}.hosts]]; local targets are for the rehearsal (run production --local, scripts/deploy/local-deploy.sh prod), which trades paper only`;
  if (inventory.local?.explicit === true) return undefined;
  return `[${env}] has no hosts and [${env}.local] targets is not set: its local targets are deployed to by a local run (scripts/deploy/local-deploy.sh test, run staging --local); set [${env}.local] targets = N to use them in every run, or add [[${env}.hosts]]`;
}

/** `count` distinct free TCP ports of 127.0.0.1 (held together while they are picked, so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => {
              const address = server.address();
              if (address === null || typeof address === "string") reject(new Error("no TCP port was assigned"));
              else resolve(address.port);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/**
 * Creates the deploy roots of the environment's local targets under
 * `workspace`, each with the port its service will use in this run.
 */
export function prepareLocalTargets(workspace: string, environment: string, ports: readonly number[]): LocalTarget[] {
  return ports.map((port, index) => {
    const name = `local-${index + 1}`;
    const root = join(workspace, LOCAL_TARGETS_DIR, environment, name);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "port"), `${port}\n`);
    return { name, root, port };
  });
}

/**
 * The inventory a run deploys with: the local targets as its hosts, the
 * service commands of [local] serve, health and metrics by URL on each
 * target's port, and `publicKey` (relative to the workspace) pinned (none
 * when the run has no key to sign with: its release build fails first).
 */
export function localInventory(inventory: Inventory, targets: readonly LocalTarget[], publicKey: string | undefined): Inventory {
  const local = inventory.local;
  if (local === undefined) throw new TypeError(`[deploy.${inventory.environment}] has no [local] table`);
  const hosts: DeployHost[] = targets.map((t) => ({
    name: t.name,
    // Placeholders no SSH session accepts (an empty host key never pins): a local target is never reached over SSH.
    address: "127.0.0.1",
    port: 0,
    user: "local",
    hostKey: "",
    path: t.root,
    local: {
      healthUrl: `http://127.0.0.1:${t.port}${local.healthPath}`,
      metricsUrl: `http://127.0.0.1:${t.port}${local.metricsPath}`,
    },
  }));
  return {
    ...inventory,
    publicKey,
    start: ["sh", "-c", START, "local-start", ...local.serve],
    stop: ["sh", "-c", STOP],
    // A local service answers within a second of its start; allow ten on a loaded machine.
    health: { command: undefined, url: undefined, timeoutMs: 2000, retries: 50, intervalMs: 200 },
    hosts,
  };
}
