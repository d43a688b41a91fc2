/**
 * rollback in the Dagger module, run by the real SDK against the recording
 * GraphQL endpoint on 127.0.0.1: never cached, ssh and scp run in the pinned
 * container with SshSession's options and only the pinned host keys, the
 * deploy key only ever a mounted Secret, every exec kept out of the cache,
 * the retained release re-verified before anything is switched.
 *
 * No host is contacted: the fake engine answers every exec; the hosts are
 * documentation addresses (192.0.2.0/24).
 */
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { connection, dag } from "@dagger.io/dagger";
import { Kind, type OperationDefinitionNode, parse, valueFromASTUntyped } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUST_IMAGE, SSH_CLIENT_PACKAGES } from "../../containers/images.js";
import { formatPublicKey, loadSigningKey, signFile } from "../../src/adapters/minisign.js";
import { sshClientOptions } from "../../src/adapters/ssh/client-options.js";
import { UsageError } from "../../src/core/errors.js";
import { DEPLOY_KEY_PATH, INVOCATION_VARIABLE, KNOWN_HOSTS_PATH } from "../../src/dagger/container-ssh.js";
import { UNKNOWN_ACTOR } from "../../src/dagger/rollback-in-dagger.js";
import { ShrivenPipeline } from "../../src/index.js";
import { type ExecAnswer, execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { tempDir } from "../helpers/temp.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const SEED = randomBytes(32).toString("hex");
const SIGNING_KEY = loadSigningKey(SEED, "seed");
/** What the secret holds; it must never appear in a query. */
const SSH_KEY_TEXT = `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
const ROOT = "/opt/shrivenquant";

/** An ed25519 host key as known_hosts writes it, and its OpenSSH SHA256 fingerprint. */
function hostKey(): { line: string; fingerprint: string } {
  const raw = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x as string, "base64url");
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]);
  return {
    line: `ssh-ed25519 ${blob.toString("base64")}`,
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

const PROD_1 = { name: "prod-1", address: "192.0.2.10", key: hostKey() };
const PROD_2 = { name: "prod-2", address: "192.0.2.11", port: 2222, key: hostKey() };

/** prod-1 pinned by its key line, prod-2 (on port 2222) by its fingerprint only. */
const CONFIG = `[deploy.production]
public_key = "keys/minisign.pub"
binary = "app"
start = ["./current/app", "start"]
stop = ["./current/app", "stop"]
health = { command = ["./current/app", "health"], retries = 1 }

[[deploy.production.hosts]]
name = "prod-1"
address = "${PROD_1.address}"
user = "deploy"
host_key = "${PROD_1.key.line} root@prod-1"
path = "${ROOT}"

[[deploy.production.hosts]]
name = "prod-2"
address = "${PROD_2.address}"
port = ${PROD_2.port}
user = "deploy"
host_key = "${PROD_2.key.fingerprint}"
path = "${ROOT}"
`;

/** The retained release 1.1.9 as each host holds it: the binary and its signature; `tampered` hosts hold another binary. */
function retained(tampered: readonly string[] = []): (path: string, argv: readonly string[]) => string | undefined {
  const dir = tempDir();
  const binary = Buffer.from("\x7fELF retained shriven-quant 1.1.9");
  writeFileSync(join(dir, "app"), binary);
  writeFileSync(
    join(dir, "app.minisig"),
    signFile(binary, SIGNING_KEY, { trustedComment: "timestamp:1764201600\tfile:app\tversion:1.1.9" }),
  );
  writeFileSync(join(dir, "app.tampered"), Buffer.concat([binary, Buffer.from(" + implant")]));
  return (_path, argv) => {
    const source = argv.find((word) => word.includes(`:${ROOT}/releases/1.1.9/`));
    if (argv[4] !== "scp" || source === undefined) return undefined;
    const host = [PROD_1, PROD_2].find((h) => source.startsWith(`${h.address}:`));
    const name = source.endsWith(".minisig") ? "app.minisig" : tampered.includes(host?.name ?? "") ? "app.tampered" : "app";
    return join(dir, name);
  };
}

/** The remote command of an ssh exec (its last word), or undefined for other execs. */
const remote = (argv: readonly string[]): string | undefined => (argv.includes("ssh") ? argv.at(-1) : undefined);
const isSwitch = (argv: readonly string[]) => remote(argv)?.includes("ln -sfn") === true;
const isLock = (argv: readonly string[]) => remote(argv)?.includes('mkdir "$root/.deploy-lock"') === true;
const isUnlock = (argv: readonly string[]) => remote(argv)?.includes('lock="$1/.deploy-lock"') === true;
const onHost = (argv: readonly string[], host: { address: string }) => argv.includes(host.address);

/** The hosts as the tests want them: switch answers the release it replaced, keyscan presents prod-2's key. */
function hosts(overrides: (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer | undefined = () => undefined) {
  return (argv: readonly string[], env: Readonly<Record<string, string>>): ExecAnswer => {
    const special = overrides(argv, env);
    if (special !== undefined) return special;
    if (argv.includes("ssh-keyscan"))
      return {
        exitCode: 0,
        stdout: `[${PROD_2.address}]:${PROD_2.port} ${PROD_2.key.line}\n`,
        stderr: `# ${PROD_2.address}:${PROD_2.port} SSH-2.0-OpenSSH_9.2\n`,
      };
    if (isSwitch(argv)) return { exitCode: 0, stdout: "releases/1.2.0" };
    return { exitCode: 0 };
  };
}

function source(config: string = CONFIG) {
  return {
    entries: ["Cargo.toml", "shriven-pipeline.toml", "keys"],
    files: { "shriven-pipeline.toml": config, "keys/minisign.pub": formatPublicKey(SIGNING_KEY) },
    secrets: { "ssh-key-id": SSH_KEY_TEXT },
  };
}

async function rollback(options: { breakLock?: boolean; actor?: string | null } = {}): Promise<string> {
  let result = "";
  await connection(async () => {
    result = await new ShrivenPipeline().rollback(
      dag.loadDirectoryFromID("workspace-directory-id" as never),
      "production",
      "v1.1.9",
      dag.loadSecretFromID("ssh-key-id" as never),
      options.breakLock,
      options.actor === null ? undefined : (options.actor ?? "asha"),
    );
  });
  return result;
}

/** The fields of a query's chain, from the root to the leaf (every query here is one chain). */
function chain(query: string): { name: string; args: Record<string, unknown> }[] {
  const operation = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fields: { name: string; args: Record<string, unknown> }[] = [];
  let selection = operation.selectionSet.selections[0];
  while (selection?.kind === Kind.FIELD) {
    const args = Object.fromEntries((selection.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
    fields.push({ name: selection.name.value, args });
    selection = selection.selectionSet?.selections[0];
  }
  return fields;
}

/**
 * The cache policy of every function of the module, as the SDK's own introspector reads `@func({ cache })`
 * offline. Read from its live objects: their JSON form (what test/helpers/dagger-scan.ts returns) leaves
 * the policy out.
 */
async function cachePolicies(): Promise<Record<string, string | undefined>> {
  const sdk = resolve(import.meta.dirname, "../../node_modules/@dagger.io/dagger/dist/src");
  const src = resolve(import.meta.dirname, "../../src");
  const client = join(tempDir(), "client.gen.ts");
  copyFileSync(join(sdk, "api/client.gen.d.ts"), client);
  const { scan } = (await import(pathToFileURL(join(sdk, "module/introspector/index.js")).href)) as {
    scan: (
      files: string[],
      name: string,
      load: boolean,
    ) => Promise<{ objects: Record<string, { methods: Record<string, { cache?: string }> }> }>;
  };
  const files = readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(src, file));
  const module = await scan([...files, client], "shriven-pipeline", false);
  return Object.fromEntries(Object.entries(module.objects.ShrivenPipeline?.methods ?? {}).map(([name, fn]) => [name, fn.cache]));
}

/** Each argv once (the SDK asks for exit code, stdout and stderr of an exec in three queries). */
const distinct = (argvs: readonly string[][]): string[][] =>
  [...new Set(argvs.map((argv) => JSON.stringify(argv)))].map((a) => JSON.parse(a));

/** The program an exec runs (every exec that talks to a host runs under `timeout --verbose --kill-after=5 N`). */
const program = (argv: readonly string[]) => (argv[0] === "timeout" ? argv[4] : argv[0]);
const TALKS_TO_HOSTS = new Set(["ssh", "scp", "ssh-keyscan", "ssh-keygen"]);

describe("rollback in Dagger (real SDK, recorded on 127.0.0.1)", () => {
  it("is a function whose calls are never cached", async () => {
    // Every function's policy against the documented table: test/dagger/runtime-replay.e2e.test.ts.
    expect((await cachePolicies()).rollback).toBe("never");
  });

  it("rolls both hosts back to 1.1.9 over ssh in the pinned container, the key only a mounted Secret", async () => {
    engine.reset({ ...source(), exec: hosts(), containerFiles: retained() });
    const output = await rollback();

    expect(output).toContain("✅ Rollback of production to 1.1.9: deployed — rolled back to 1.1.9 on prod-1, prod-2");
    expect(output).toContain("    prod-1: deployed — current → releases/1.1.9 (was releases/1.2.0)");
    expect(output).toContain("    prod-2: deployed — current → releases/1.1.9 (was releases/1.2.0)");
    const record = JSON.parse(output.trim().split("\n").at(-1) as string);
    expect(record).toMatchObject({
      kind: "rollback",
      actor: "asha",
      data: {
        environment: "production",
        version: "1.1.9",
        status: "deployed",
        hosts: [
          { host: "prod-1", result: "deployed", previous: "releases/1.2.0" },
          { host: "prod-2", result: "deployed", previous: "releases/1.2.0" },
        ],
      },
    });
    expect(Number.isNaN(Date.parse(record.at))).toBe(false);

    const queries = engine.allQueries();
    const argvs = execArgvs(queries);
    // The pinned toolchain image plus bookworm's openssh-client (no version pin Debian could drop), no cargo cache.
    expect(fieldCalls(queries, "from")).toContainEqual({ address: RUST_IMAGE });
    expect(argvs).toContainEqual([
      "sh",
      "-c",
      `apt-get update && apt-get install -y --no-install-recommends ${SSH_CLIENT_PACKAGES.join(" ")} && rm -rf /var/lib/apt/lists/*`,
    ]);
    expect(SSH_CLIENT_PACKAGES).toEqual(["openssh-client"]);
    expect(fieldCalls(queries, "withMountedCache")).toEqual([]);

    // Every ssh and scp carries exactly SshSession's options (without connection sharing) and the mounted key.
    const expected = sshClientOptions({ knownHostsFile: KNOWN_HOSTS_PATH, connectTimeoutSeconds: 10 });
    const transports = argvs.filter((argv) => argv.includes("ssh") || argv.includes("scp"));
    expect(transports.length).toBeGreaterThan(0);
    for (const argv of transports) {
      expect(argv.slice(0, 4)).toEqual(["timeout", "--verbose", "--kill-after=5", argv[3]]);
      expect(argv.filter((_, i) => argv[i - 1] === "-o" && !argv[i]?.startsWith("User="))).toEqual(expected);
      const first = argv[4] === "scp" ? 7 : 5;
      expect(argv.slice(first, first + 4)).toEqual(["-F", "/dev/null", "-i", DEPLOY_KEY_PATH]);
      expect(argv).toContain("StrictHostKeyChecking=yes");
      expect(argv).toContain("BatchMode=yes");
      expect(argv).toContain(`UserKnownHostsFile=${KNOWN_HOSTS_PATH}`);
      expect(argv.join(" ")).not.toMatch(/ControlMaster|ControlPath/);
    }
    // ssh runs the scripts on the right endpoints; scp downloads with the SFTP protocol.
    const ssh = argvs.filter((argv) => argv[4] === "ssh");
    expect(ssh.some((argv) => argv.join(" ").endsWith(`-p 22 -l deploy -- ${PROD_1.address} 'sh' '-c' 'true' 'sh'`))).toBe(true);
    expect(ssh.some((argv) => argv.join(" ").endsWith(`-p 2222 -l deploy -- ${PROD_2.address} 'sh' '-c' 'true' 'sh'`))).toBe(true);
    const scp = argvs.filter((argv) => argv[4] === "scp");
    expect(scp.map((argv) => argv.slice(4, 7))).toContainEqual(["scp", "-s", "-p"]);
    expect(scp.some((argv) => argv.includes(`${PROD_2.address}:${ROOT}/releases/1.1.9/app.minisig`) && argv.includes("2222"))).toBe(true);

    // The key: a secret mount by id, mode 0600; its text is in no query, and never asked for.
    const mounts = fieldCalls(queries, "withMountedSecret");
    expect(mounts.length).toBeGreaterThan(0);
    for (const mount of mounts) expect(mount).toEqual({ path: DEPLOY_KEY_PATH, source: "ssh-key-id", mode: 0o600 });
    expect(queries).not.toContain(SSH_KEY_TEXT.split("\n")[1]);
    expect(queries).not.toContain("PRIVATE KEY");
    expect(fieldCalls(queries, "plaintext")).toEqual([]);
    expect(fieldCalls(queries, "withSecretVariable")).toEqual([]);

    // known_hosts: only the pins; prod-2's fingerprint resolved to the key ssh-keyscan read in the container.
    expect(argvs.some((argv) => argv.includes("ssh-keyscan") && argv.includes(PROD_2.address) && argv.includes("2222"))).toBe(true);
    const knownHosts = fieldCalls(queries, "withNewFile").filter((call) => call.path === KNOWN_HOSTS_PATH);
    expect(knownHosts.length).toBeGreaterThan(0);
    for (const call of knownHosts) {
      expect(call.contents).toBe(`${PROD_1.address} ${PROD_1.key.line}\n[${PROD_2.address}]:${PROD_2.port} ${PROD_2.key.line}\n`);
    }

    // Cache busting: a fresh random SHRIVEN_INVOCATION right before every exec that talks to a host.
    const invocations = new Set<string>();
    for (const query of engine.queries) {
      const fields = chain(query);
      const at = fields.findIndex((f) => f.name === "withExec" && TALKS_TO_HOSTS.has(program(f.args.args as string[]) ?? ""));
      if (at === -1) continue;
      expect(fields[at - 1]?.name).toBe("withEnvVariable");
      expect(fields[at - 1]?.args.name).toBe(INVOCATION_VARIABLE);
      expect(String(fields[at - 1]?.args.value)).toMatch(/^[0-9a-f-]{36}$/);
      invocations.add(String(fields[at - 1]?.args.value));
    }
    const distinctExecs = new Set(argvs.filter((argv) => TALKS_TO_HOSTS.has(program(argv) ?? "")).map((argv) => JSON.stringify(argv)));
    expect(invocations.size).toBeGreaterThanOrEqual(distinctExecs.size);

    // The order on each host: switch, stop, start, health; both locks released at the end.
    expect(distinct(argvs.filter(isSwitch))).toHaveLength(2);
    expect(
      distinct(argvs.filter(isUnlock)).map((argv) => (onHost(argv, PROD_1) ? "prod-1" : onHost(argv, PROD_2) ? "prod-2" : "?")),
    ).toEqual(["prod-1", "prod-2"]);
  });

  it("--break-lock: the second lock attempt is a new exec (fresh SHRIVEN_INVOCATION), not the held one from the cache", async () => {
    const lockInvocations: string[] = [];
    engine.reset({
      ...source(),
      exec: hosts((argv, env) => {
        if (!isLock(argv) || !onHost(argv, PROD_1)) return undefined;
        const invocation = env[INVOCATION_VARIABLE] as string;
        if (!lockInvocations.includes(invocation)) lockInvocations.push(invocation);
        return lockInvocations.indexOf(invocation) === 0
          ? { exitCode: 10, stdout: 'age 7200\n{"who":"alice","action":"deploy","version":"1.2.0"}\n' }
          : { exitCode: 0 };
      }),
      containerFiles: retained(),
    });
    const output = await rollback({ breakLock: true });
    expect(output).toMatch(
      /^⚠️ prod-1: broke the stale deploy lock, held by \{"who":"alice","action":"deploy","version":"1\.2\.0"\} for 7200 s \(stale after lock_stale_seconds = 3600 s\)\n/,
    );
    expect(output).toContain("rolled back to 1.1.9 on prod-1, prod-2");
    expect(lockInvocations).toHaveLength(2);
  });

  it("refuses a retained binary that does not verify, naming the host, and switches nothing", async () => {
    engine.reset({ ...source(), exec: hosts(), containerFiles: retained(["prod-2"]) });
    await expect(rollback()).rejects.toThrow(/^prod-2: the retained 1\.1\.9 binary does not verify: /);
    const argvs = execArgvs(engine.allQueries());
    expect(argvs.filter(isSwitch)).toEqual([]);
    expect(argvs.some((argv) => remote(argv)?.includes("SHRIVEN_CURRENT") === true)).toBe(false);
    // Both hosts were locked, and both locks were released.
    expect(argvs.filter(isLock).some((argv) => onHost(argv, PROD_2))).toBe(true);
    expect(argvs.filter(isUnlock).some((argv) => onHost(argv, PROD_1))).toBe(true);
    expect(argvs.filter(isUnlock).some((argv) => onHost(argv, PROD_2))).toBe(true);
  });

  it("maps ssh's 'Host key verification failed' to a host key mismatch, before anything is written", async () => {
    const other = hostKey();
    engine.reset({
      ...source(),
      exec: hosts((argv) => {
        if (argv.includes("ssh-keyscan") && onHost(argv, PROD_1)) return { exitCode: 0, stdout: `${PROD_1.address} ${other.line}\n` };
        if (argv[4] === "ssh" && onHost(argv, PROD_1))
          return {
            exitCode: 255,
            stderr: `No ED25519 host key is known for ${PROD_1.address} and you have requested strict checking.\nHost key verification failed.\n`,
          };
        return undefined;
      }),
      containerFiles: retained(),
    });
    await expect(rollback()).rejects.toThrow(
      `prod-1: prod-1 (${PROD_1.address}:22): host key does not match the pin: presented ${other.fingerprint}; pinned ${PROD_1.key.fingerprint}; nothing was written on any host`,
    );
    expect(execArgvs(engine.allQueries()).filter(isLock)).toEqual([]);
  });

  it("refuses a fingerprint pin that the host's keys do not match, before any ssh", async () => {
    const other = hostKey();
    engine.reset({
      ...source(),
      exec: hosts((argv) =>
        argv.includes("ssh-keyscan") ? { exitCode: 0, stdout: `[${PROD_2.address}]:2222 ${other.line}\n` } : undefined,
      ),
      containerFiles: retained(),
    });
    await expect(rollback()).rejects.toThrow(
      `prod-2 (${PROD_2.address}:2222): host key does not match the pin: presented ${other.fingerprint}`,
    );
    expect(execArgvs(engine.allQueries()).filter((argv) => argv[4] === "ssh")).toEqual([]);
  });

  it("refuses a workspace without [deploy.production] before any exec", async () => {
    engine.reset({ ...source("# no [deploy] tables\n"), exec: hosts(), containerFiles: retained() });
    const error = await rollback().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe("no [deploy.production] inventory in shriven-pipeline.toml");
    expect(execArgvs(engine.allQueries())).toEqual([]);
  });

  it("records who rolled back: the --actor given, or says it is unknown; the lock on each host names them too", async () => {
    engine.reset({ ...source(), exec: hosts(), containerFiles: retained() });
    const named = await rollback({ actor: "github-actions[bot]" });
    expect(JSON.parse(named.trim().split("\n").at(-1) as string).actor).toBe("github-actions[bot]");
    expect(engine.allQueries()).toContain("github-actions[bot]");
    engine.reset({ ...source(), exec: hosts(), containerFiles: retained() });
    const anonymous = await rollback({ actor: null });
    expect(JSON.parse(anonymous.trim().split("\n").at(-1) as string).actor).toBe(UNKNOWN_ACTOR);
  });

  it.each([
    ["a newline", "asha\nkind: deploy"],
    ["a shell command", "asha$(id)"],
    ["a quote and a semicolon", 'asha"; rm -rf /'],
    ["nothing", ""],
    ["too long a name", "a".repeat(101)],
  ])("refuses an actor with %s before any exec", async (_, actor) => {
    engine.reset({ ...source(), exec: hosts(), containerFiles: retained() });
    const error = await rollback({ actor }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^actor: expected a GitHub login or a name/);
    expect(engine.queries).toEqual([]);
  });
});
