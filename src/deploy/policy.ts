/**
 * Where releases go: `[deploy.test]` and `[deploy.production]` in
 * shriven-pipeline.toml. Every host is pinned by its host key; the release key
 * the binaries must be signed with is pinned too. Validated before anything runs.
 *
 * ```toml
 * [deploy.production]
 * public_key = "keys/minisign.pub"   # only binaries signed by this key are deployed
 * binary = "shriven-quant"           # the workspace binary that is the service
 * retain = 5                         # releases kept per host (never `current` or its predecessor)
 * start = ["sh", "-c", "systemctl --user restart shriven-quant"]
 * stop = ["sh", "-c", "systemctl --user stop shriven-quant"]
 * health = { command = ["./current/shriven-quant", "--version"], timeout_seconds = 5, retries = 10, interval_seconds = 1 }
 *
 * exchange_keys = true               # default with hosts: PROD_ZERODHA_API_KEY … delivered to each host (exchange-keys.ts)
 *
 * [[deploy.production.hosts]]
 * name = "prod-1"
 * address = "10.0.0.5"
 * port = 22
 * user = "deploy"
 * host_key = "ssh-ed25519 AAAAC3Nza…"   # or "SHA256:…" (ssh-keygen -lf)
 * path = "/opt/shrivenquant"
 * ```
 *
 * An environment without hosts deploys to local targets on this machine
 * instead (see local-targets.ts): only in a local run (`run … --local`, which
 * `scripts/deploy/local-deploy.sh` uses), or for staging when `targets` is set
 * explicitly; never in a production run that is not the `--local` rehearsal.
 *
 * ```toml
 * [deploy.test]
 * binary = "shriven-quant"
 * smoke = ["sh", "-c", "./current/shriven-quant demo --events 2000 >/dev/null"]
 * [deploy.test.local]
 * targets = 2            # default 1; set explicitly, staging may use them outside a local run
 * serve = ["./shriven-quant", "serve", "--listen", "127.0.0.1:{port}"]   # run in the target's current/
 * health_path = "/health"
 * metrics_path = "/metrics"
 * ```
 */
import { z } from "zod";
import type { SshHost } from "../adapters/ssh/host.js";
import { UsageError } from "../core/errors.js";
import { closedObject } from "../core/zod-issues.js";

const argv = z
  .array(
    z.string({ error: "expected a string" }).refine((s) => !s.includes("\0"), { error: "contains a NUL byte" }),
    {
      error: "expected a command as an array of strings",
    },
  )
  .min(1, { error: "expected a command" });

const HOST_KEY =
  /^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$|^SHA256:[A-Za-z0-9+/]{43}$/;

const hostSchema = closedObject({
  name: z.string({ error: "expected a name" }).regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "expected a name of letters, digits, . _ -" }),
  address: z
    .string({ error: "expected an address" })
    .regex(/^[A-Za-z0-9.:_-]{1,253}$/, { error: "expected an IP address or DNS name" })
    .refine((a) => !a.startsWith("-"), { error: "must not start with -" }),
  port: z
    .int({ error: "expected a port number" })
    .min(1, { error: "expected 1–65535" })
    .max(65535, { error: "expected 1–65535" })
    .optional(),
  user: z.string({ error: "expected a user name" }).regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: "expected a POSIX user name" }),
  host_key: z
    .string({ error: "expected the pinned host key" })
    .regex(HOST_KEY, { error: 'expected a public key line ("ssh-ed25519 AAAA…") or a fingerprint ("SHA256:…")' }),
  path: z
    .string({ error: "expected an absolute path" })
    .regex(/^\/[A-Za-z0-9._/-]*$/, { error: "expected an absolute path of letters, digits, . _ - /" })
    .refine((p) => !p.split("/").includes(".."), { error: "must not contain .." })
    .refine((p) => p !== "/", { error: "must not be /" }),
});

const seconds = (max: number) =>
  z
    .number({ error: "expected seconds" })
    .positive({ error: "expected seconds above 0" })
    .max(max, { error: `expected at most ${max}` });

const healthSchema = closedObject({
  command: argv.optional(),
  url: z.url({ error: "expected an http(s) URL" }).optional(),
  timeout_seconds: seconds(600).optional(),
  retries: z.int({ error: "expected a whole number" }).min(1).max(1000).optional(),
  interval_seconds: seconds(600).optional(),
}).refine((h) => (h.command === undefined) !== (h.url === undefined), { error: "expected exactly one of command or url" });

const urlPath = z
  .string({ error: "expected a URL path" })
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, { error: 'expected a URL path starting with "/"' });

/** Most local targets of one environment. */
export const MAX_LOCAL_TARGETS = 8;

const localSchema = closedObject({
  targets: z
    .int({ error: "expected a whole number" })
    .min(1, { error: "expected at least 1" })
    .max(MAX_LOCAL_TARGETS, { error: `expected at most ${MAX_LOCAL_TARGETS}` })
    .optional(),
  serve: argv.refine((a) => a.some((arg) => arg.includes("{port}")), {
    error: "expected {port} in an argument (the free port of 127.0.0.1 the service listens on)",
  }),
  health_path: urlPath.optional(),
  metrics_path: urlPath.optional(),
});

/** What only hosts have: with hosts they are required, without them (local targets) the pipeline supplies them. */
const HOST_ONLY = ["public_key", "start", "stop", "health"] as const;

const environmentSchema = closedObject({
  public_key: z.string({ error: "expected the path of the release public key (minisign.pub)" }).min(1).optional(),
  binary: z.string({ error: "expected a binary name" }).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, { error: "expected a plain file name" }),
  retain: z
    .int({ error: "expected a whole number" })
    .min(2, { error: "expected at least 2 (current and its predecessor)" })
    .max(100)
    .optional(),
  start: argv.optional(),
  stop: argv.optional(),
  health: healthSchema.optional(),
  smoke: argv.optional(),
  lock_stale_seconds: seconds(7 * 24 * 3600).optional(),
  exchange_keys: z.boolean({ error: "expected true or false" }).optional(),
  hosts: z
    .array(hostSchema, { error: "expected [[hosts]] tables" })
    .min(1, { error: "expected at least one host (leave hosts out to deploy to local targets)" })
    .optional(),
  local: localSchema.optional(),
}).superRefine((e, issues) => {
  const problem = (path: string, message: string) => issues.addIssue({ code: "custom", path: [path], message });
  if (e.hosts === undefined) {
    if (e.local === undefined)
      problem("hosts", "expected [[hosts]] tables, or a [local] table for local targets on this machine (see local-targets.ts)");
    for (const key of ["start", "stop", "health"] as const)
      if (e[key] !== undefined) problem(key, "only hosts take it: a local target's service is started from [local] serve");
    return;
  }
  for (const key of HOST_ONLY) if (e[key] === undefined) problem(key, "required with [[hosts]]");
  if (e.local !== undefined) problem("local", "expected [[hosts]] or [local], not both: an environment deploys to one kind of target");
  if (new Set(e.hosts.map((h) => h.name)).size !== e.hosts.length) problem("hosts", "host names must be unique");
});

/** Schema of `[deploy]`: one table per environment that deploys. */
export const deploySchema = closedObject({
  test: environmentSchema.optional(),
  production: environmentSchema.optional(),
});

/** A host of the inventory, with its deploy root. */
export interface DeployHost extends SshHost {
  readonly path: string;
  /**
   * Set on a local target only (a folder and a process on this machine, reached without SSH): where its
   * service answers. Its SSH fields are placeholders that no SSH session accepts.
   */
  readonly local?: { readonly healthUrl: string; readonly metricsUrl: string };
}

/** `[deploy.<env>.local]`, defaults applied: the local targets that stand in for hosts. */
export interface LocalTargetsPolicy {
  readonly targets: number;
  /** `targets` was written in the config: staging may use the local targets outside a local run. */
  readonly explicit: boolean;
  /** The service, run in a target's `current/`; `{port}` is the free port of 127.0.0.1 it listens on. */
  readonly serve: readonly string[];
  readonly healthPath: string;
  readonly metricsPath: string;
}

/** How a host's service is checked after a switch. */
export interface HealthCheck {
  readonly command: readonly string[] | undefined;
  readonly url: string | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly intervalMs: number;
}

/** One environment's inventory, defaults applied. */
export interface Inventory {
  readonly environment: "test" | "production";
  /**
   * Path of the pinned release public key (relative to the workspace); always set with hosts. Local targets
   * without one pin the public key of the key the run signs with.
   */
  readonly publicKey: string | undefined;
  readonly binary: string;
  readonly retain: number;
  readonly start: readonly string[];
  readonly stop: readonly string[];
  readonly health: HealthCheck;
  /** Smoke tests run on each host after a staging deploy (in the deploy root); none when absent. */
  readonly smoke: readonly string[] | undefined;
  readonly lockStaleMs: number;
  /**
   * `exchange_keys`: a deploy writes the environment's exchange keys to each host (`secrets/exchange.env`, see
   * exchange-keys.ts) and the start command reads them. Default: on with hosts (their engine trades with the
   * keys the secrets preflight requires), off for local targets.
   */
  readonly exchangeKeys: boolean;
  /** The pinned hosts; none in the config when the environment deploys to local targets (until a run resolves them). */
  readonly hosts: readonly DeployHost[];
  /** `[deploy.<env>.local]`: set when the environment deploys to local targets instead of hosts. */
  readonly local: LocalTargetsPolicy | undefined;
  /**
   * Resolved local targets only: the public keys (paths relative to the workspace) earlier local runs pinned
   * for them, which a rollback to a release they retain accepts besides `publicKey`.
   */
  readonly formerKeys?: readonly string[];
}

/** The inventories that are configured. */
export type DeployPolicy = Readonly<Partial<Record<"test" | "production", Inventory>>>;

/** Applies defaults to `[deploy]`. */
export function deployPolicyFrom(raw: z.output<typeof deploySchema> | undefined): DeployPolicy {
  const out: Partial<Record<"test" | "production", Inventory>> = {};
  for (const environment of ["test", "production"] as const) {
    const table = raw?.[environment];
    if (table === undefined) continue;
    const local = table.local;
    out[environment] = {
      environment,
      publicKey: table.public_key,
      binary: table.binary,
      retain: table.retain ?? 5,
      // Without hosts, the run that resolves the local targets supplies the service commands.
      start: table.start ?? [],
      stop: table.stop ?? [],
      health: {
        command: table.health?.command,
        url: table.health?.url,
        timeoutMs: (table.health?.timeout_seconds ?? 5) * 1000,
        retries: table.health?.retries ?? 10,
        intervalMs: (table.health?.interval_seconds ?? 1) * 1000,
      },
      smoke: table.smoke,
      lockStaleMs: (table.lock_stale_seconds ?? 3600) * 1000,
      exchangeKeys: table.exchange_keys ?? table.hosts !== undefined,
      local:
        local === undefined
          ? undefined
          : {
              targets: local.targets ?? 1,
              explicit: local.targets !== undefined,
              serve: local.serve,
              healthPath: local.health_path ?? "/health",
              metricsPath: local.metrics_path ?? "/metrics",
            },
      hosts: (table.hosts ?? []).map((h) => ({
        name: h.name,
        address: h.address,
        port: h.port ?? 22,
        user: h.user,
        hostKey: h.host_key,
        path: h.path,
      })),
    };
  }
  return out;
}

/**
 * The inventory of an environment that is deployed to its pinned hosts, as the `deploy` and `rollback`
 * commands need it.
 * @param where The config file, for the message.
 * @throws UsageError when it has no hosts: its local targets exist only within a local run of a stage.
 */
export function withHosts(inventory: Inventory, where: string): Inventory & { readonly publicKey: string } {
  const { publicKey } = inventory;
  if (inventory.hosts.length === 0 || publicKey === undefined)
    throw new UsageError(
      `[deploy.${inventory.environment}] in ${where} has no hosts: its local targets are deployed to only by a local run of a stage (scripts/deploy/local-deploy.sh, run … --local)`,
    );
  return { ...inventory, publicKey };
}
