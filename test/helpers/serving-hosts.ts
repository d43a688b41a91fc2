/**
 * Service commands for test hosts that run the example's `shriven-quant serve`
 * from their deploy root: its port comes from the file `port`, extra flags
 * (fault injection) from `serve-flags`; start returns once it listens, stop
 * once it is gone.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import type { TestHost } from "./sshd.js";

/** Starts the engine in the background and waits until it listens. */
export const START_SERVE = `nohup ./current/shriven-quant serve --listen 127.0.0.1:$(cat port) --max-seconds 900 $(cat serve-flags 2>/dev/null) >serve.log 2>&1 &
echo $! >serve.pid
for i in $(seq 200); do grep -q listening serve.log && exit 0; sleep 0.05; done
cat serve.log >&2; exit 1`;

/** Stops the engine and waits until it is gone, so the next start can bind the port. */
export const STOP_SERVE = `[ -f serve.pid ] || exit 0
pid=$(cat serve.pid); kill "$pid" 2>/dev/null
for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
rm -f serve.pid`;

/** The `start`, `stop` and `health` lines of a `[deploy.<env>]` table for these commands. */
export const SERVE_COMMANDS = `start = ["sh", "-c", ${JSON.stringify(START_SERVE)}]
stop = ["sh", "-c", ${JSON.stringify(STOP_SERVE)}]
health = { command = ["sh", "-c", "kill -0 $(cat serve.pid)"], retries = 3, interval_seconds = 0.2 }`;

/** Makes `root` a deploy root whose engine will listen on `port`. */
export function prepareServingRoot(root: string, port: number): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, "port"), String(port));
}

/** Stops the engine a deploy root started, if any. */
export async function stopServing(root: string): Promise<void> {
  await execa("sh", ["-c", STOP_SERVE], { cwd: root, reject: false });
}

/** The engine's metrics on `port`. */
export async function servedMetrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The `[[deploy.<environment>.hosts]]` tables of `hosts`, pinned by fingerprint, deploy roots from `root`. */
export function hostsToml(environment: string, hosts: readonly TestHost[], root: (host: TestHost) => string): string {
  return hosts
    .map(
      (h) => `
[[deploy.${environment}.hosts]]
name = "${h.host.name}"
address = "127.0.0.1"
port = ${h.host.port}
user = "${h.host.user}"
host_key = "${h.fingerprint}"
path = "${root(h)}"
`,
    )
    .join("");
}

/**
 * Exchange keys of both environments, as the run's variables, for deploys to test hosts (which deliver them:
 * `[deploy.<env>] exchange_keys` is on with hosts). Each environment's own, with the shape the preflight expects.
 */
export const EXCHANGE_KEY_VARIABLES: Readonly<Record<string, string>> = {
  TEST_ZERODHA_API_KEY: "testzerodhakey01",
  TEST_ZERODHA_API_SECRET: "testzerodhasecret000000000000001",
  TEST_BINANCE_API_KEY: "T".repeat(64),
  TEST_BINANCE_API_SECRET: "t".repeat(64),
  PROD_ZERODHA_API_KEY: "prodzerodhakey01",
  PROD_ZERODHA_API_SECRET: "prodzerodhasecret000000000000001",
  PROD_BINANCE_API_KEY: "P".repeat(64),
  PROD_BINANCE_API_SECRET: "p".repeat(64),
};

/**
 * A pipeline config with one pinned `[deploy.<environment>]` host that is never reached (192.0.2.1, TEST-NET-1):
 * for tests in which a deploy must stop before it connects.
 */
export function unreachableHostConfig(environment: "test" | "production"): string {
  const name = environment === "test" ? "test-1" : "prod-1";
  return `[deploy.${environment}]
public_key = "minisign.pub"
binary = "app"
start = ["./current/app", "start"]
stop = ["./current/app", "stop"]
health = { command = ["./current/app", "health"] }

[[deploy.${environment}.hosts]]
name = "${name}"
address = "192.0.2.1"
user = "deploy"
host_key = "SHA256:${"A".repeat(43)}"
path = "/srv/shriven"
`;
}
