/**
 * The deploy transport of the Dagger module: `ssh`, `scp` and `ssh-keyscan`
 * run inside a container (the pinned toolchain image, without cargo's caches,
 * plus bookworm's current openssh-client), with the same OpenSSH options, host-key
 * pinning and remote quoting as {@link SshSession} on the host — shared code
 * from src/adapters/ssh/, so the two cannot drift.
 *
 * The deploy key never becomes plaintext in the module: it is a `Secret`
 * mounted as a 0600 file (`withMountedSecret`); only its secret id is ever in a
 * query. known_hosts holds only the pinned keys: key-line pins as written,
 * fingerprint pins resolved by `ssh-keyscan` in the container and kept only
 * when their SHA256 fingerprint (computed here) equals the pin.
 *
 * The remote hosts change under every exec, so no exec may be answered from
 * Dagger's cache: each one gets a fresh random `SHRIVEN_INVOCATION` variable.
 * No connection sharing (ControlMaster): every call is its own connection.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { type Container, ReturnType, type Secret } from "@dagger.io/dagger";
import { aptInstall } from "../../containers/debian-packages.js";
import { SSH_CLIENT_PACKAGES } from "../../containers/images.js";
import { toolchainImage } from "../../containers/rust-toolchain.js";
import { DEFAULT_CONNECT_TIMEOUT_S, sshClientOptions } from "../adapters/ssh/client-options.js";
import { HostKeyMismatch, SshError } from "../adapters/ssh/errors.js";
import { isSshFailure, lastLines, REMOTE_SCRIPT_UNSURE, sshFailure } from "../adapters/ssh/failure.js";
import { endpoint, knownHostsName, type SshHost } from "../adapters/ssh/host.js";
import { scannedKeysOf } from "../adapters/ssh/keyscan.js";
import { type Pinned, pinnedFor, pinsOf } from "../adapters/ssh/pins.js";
import { remoteCommand } from "../adapters/ssh/remote-command.js";
import { scpRemoteOperand } from "../adapters/ssh/scp-operand.js";
import type { RemoteResult, RunOptions, TransferOptions } from "../adapters/ssh/transport.js";
import type { RemoteTransport } from "../deploy/context.js";
import { execFailure } from "../runners/exec-failure.js";

/** Where the deploy key is mounted (a secret mount: never in a layer, never in a query). */
export const DEPLOY_KEY_PATH = "/run/shriven-ssh/deploy_key";

/** The known_hosts file with only the pinned host keys. */
export const KNOWN_HOSTS_PATH = "/etc/shriven-ssh/known_hosts";

/** Set to a fresh random value before every exec, so Dagger never answers one from its cache. */
export const INVOCATION_VARIABLE = "SHRIVEN_INVOCATION";

/** Where downloads land in the container before they are exported. */
const DOWNLOAD_DIR = "/tmp";

/** Grace `timeout` gives ssh after SIGTERM before SIGKILL, in seconds. */
const KILL_AFTER_SECONDS = 5;

/** Exit code of coreutils `timeout` when the command ran out of time (with `--verbose` it also says so on stderr). */
const TIMED_OUT = 124;
const TIMEOUT_NOTICE = /^timeout: sending signal /m;

/**
 * The toolchain image with openssh-client installed (a cached layer). No cargo cache is mounted: the
 * deploy transport has no use for the workspace's crates.
 */
export function sshClientContainer(): Container {
  return toolchainImage().withExec(aptInstall(SSH_CLIENT_PACKAGES));
}

/** What one exec in the container did. */
interface Executed {
  readonly container: Container;
  readonly outcome: RemoteResult;
}

/**
 * {@link RemoteTransport} over ssh run in a Dagger container. Open with
 * {@link ContainerSsh.open}; nothing to close (no local files, no master
 * connections). Calls may run concurrently; each is its own exec.
 */
export class ContainerSsh implements RemoteTransport {
  private constructor(
    private readonly container: Container,
    private readonly pinned: ReadonlyMap<string, Pinned>,
    private readonly connectTimeoutSeconds: number,
  ) {}

  /**
   * Mounts the key (a Secret holding an unencrypted OpenSSH private key) as a 0600 file, checks that ssh can
   * load it, and writes known_hosts with ONLY the pinned keys. Fingerprint-pinned hosts: their keys are read
   * with `ssh-keyscan` in the container and only a key whose SHA256 fingerprint equals the pin is kept, else
   * HostKeyMismatch before anything is sent.
   */
  static async open(
    hosts: readonly SshHost[],
    privateKey: Secret,
    options: { connectTimeoutSeconds?: number } = {},
  ): Promise<ContainerSsh> {
    const connectTimeoutSeconds = options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_S;
    if (!Number.isInteger(connectTimeoutSeconds) || connectTimeoutSeconds < 1 || connectTimeoutSeconds > 600) {
      throw new TypeError(`connectTimeoutSeconds must be a whole number of seconds from 1 to 600, not ${connectTimeoutSeconds}`);
    }
    const pins = pinsOf(hosts);
    const client = sshClientContainer().withMountedSecret(DEPLOY_KEY_PATH, privateKey, { mode: 0o600 });
    const opening = new ContainerSsh(client, new Map(), connectTimeoutSeconds);
    await opening.checkKeyLoads();
    const resolved = await Promise.all(pins.map((pin) => (pin.key === undefined ? opening.pinByScan(pin) : pin)));
    const lines = resolved.map((pin) => `${knownHostsName(pin.host)} ${pin.key}`);
    return new ContainerSsh(
      client.withNewFile(KNOWN_HOSTS_PATH, `${lines.join("\n")}\n`, { permissions: 0o644 }),
      new Map(resolved.map((pin) => [endpoint(pin.host), pin])),
      connectTimeoutSeconds,
    );
  }

  /**
   * Runs `script` with the remote POSIX sh as `sh -c <script> sh <args…>` (args single-quoted, never
   * interpolated). `input` is passed as the exec's stdin (as UTF-8 text: Dagger's stdin is a string).
   * `timeoutMs` runs ssh under coreutils `timeout`. An abort stops waiting; the engine ends the exec with the session.
   */
  async run(host: SshHost, script: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RemoteResult> {
    const pin = this.pinFor(host);
    const command = remoteCommand(host, script, args);
    const argv = ["ssh", ...this.sshOptions(), "-p", String(host.port), "-l", host.user, "--", host.address, command];
    const { outcome } = await this.exec(argv, options);
    // ssh's own messages share stderr with the script's: only those that say the connection failed are errors.
    if (!outcome.timedOut && !outcome.cancelled && outcome.exitCode === 255 && isSshFailure(outcome.stderr)) {
      throw await this.failure(host, pin, outcome.stderr, "running a script", REMOTE_SCRIPT_UNSURE);
    }
    return outcome;
  }

  /** Not needed by rollbacks (they only download): deploys upload from the host with the CLI. */
  async upload(host: SshHost, _localFiles: readonly string[], _remoteDir: string, _options: TransferOptions = {}): Promise<void> {
    throw new SshError(`${host.name}: uploads are not supported in the Dagger rollback; deploy with the shriven-pipeline CLI`, {
      host: host.name,
    });
  }

  /** Downloads a remote file with `scp -s -p` into the container, then exports it to `localPath` in the module. */
  async download(host: SshHost, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    const pin = this.pinFor(host);
    if (remotePath === "" || remotePath.includes("\0"))
      throw new TypeError(`${host.name}: invalid remote path ${JSON.stringify(remotePath)}`);
    const destination = resolve(localPath);
    if (statSync(destination, { throwIfNoEntry: false })?.isDirectory() === true)
      throw new TypeError(`${host.name}: download target ${destination} is a directory`);
    const what = `download of ${remotePath}`;
    const inContainer = `${DOWNLOAD_DIR}/shriven-download-${randomUUID()}`;
    const argv = [
      "scp",
      "-s",
      "-p",
      ...this.sshOptions(),
      "-P",
      String(host.port),
      "-o",
      `User=${host.user}`,
      "--",
      scpRemoteOperand(host, remotePath),
      inContainer,
    ];
    const { container, outcome } = await this.exec(argv, options);
    if (outcome.timedOut) throw new SshError(`${host.name}: ${what} timed out after ${options.timeoutMs} ms`, { host: host.name });
    if (outcome.cancelled) throw new SshError(`${host.name}: ${what} was cancelled`, { host: host.name });
    if (outcome.exitCode !== 0) throw await this.failure(host, pin, outcome.stderr, what);
    await container.file(inContainer).export(destination);
  }

  /** The options of every ssh and scp: the same list as SshSession's, without connection sharing. */
  private sshOptions(): string[] {
    const options = sshClientOptions({ knownHostsFile: KNOWN_HOSTS_PATH, connectTimeoutSeconds: this.connectTimeoutSeconds });
    return ["-F", "/dev/null", "-i", DEPLOY_KEY_PATH, ...options.flatMap((option) => ["-o", option])];
  }

  private pinFor(host: SshHost): Pinned {
    return pinnedFor(this.pinned, host);
  }

  private failure(host: SshHost, pin: Pinned, text: string, what: string, unsure = ""): Promise<SshError> {
    return sshFailure(host, pin, text, what, unsure, async () => (await this.scan(host)).map((key) => key.fingerprint));
  }

  /** Makes sure ssh can load the key without a passphrase, so a bad secret fails here and not as "Permission denied". */
  private async checkKeyLoads(): Promise<void> {
    const { outcome } = await this.exec(["ssh-keygen", "-y", "-P", "", "-f", DEPLOY_KEY_PATH], { timeoutMs: 10_000 });
    if (outcome.exitCode !== 0) {
      throw new SshError(
        `the deploy key cannot be loaded (invalid, protected by a passphrase, or missing its final newline): ${lastLines(outcome.stderr)}`,
      );
    }
  }

  /** Reads the host's keys and keeps the one matching the fingerprint pin. */
  private async pinByScan(pin: Pinned): Promise<Pinned> {
    const keys = await this.scan(pin.host);
    const match = keys.find((key) => key.fingerprint === pin.fingerprint);
    if (match === undefined) throw new HostKeyMismatch(pin.host, [...new Set(keys.map((key) => key.fingerprint))], pin.fingerprint);
    return { ...pin, key: match.key };
  }

  /** The host keys `ssh-keyscan` reads from the host in the container (no authentication, nothing sent but the key exchange). */
  private async scan(host: SshHost): Promise<{ key: string; fingerprint: string }[]> {
    const argv = ["ssh-keyscan", "-T", String(this.connectTimeoutSeconds), "-p", String(host.port), "--", host.address];
    const { outcome } = await this.exec(argv, { timeoutMs: (this.connectTimeoutSeconds + 5) * 1000 });
    return scannedKeysOf(host, outcome);
  }

  /** Runs argv in the container, never from the cache; a non-zero exit is data. */
  private async exec(argv: readonly string[], options: RunOptions): Promise<Executed> {
    const stopped: RemoteResult = { exitCode: null, stdout: "", stderr: "", timedOut: false, cancelled: true };
    if (options.signal?.aborted === true) return { container: this.container, outcome: stopped };
    const timed =
      options.timeoutMs === undefined
        ? [...argv]
        : ["timeout", "--verbose", `--kill-after=${KILL_AFTER_SECONDS}`, String(Math.max(1, Math.ceil(options.timeoutMs / 1000))), ...argv];
    const input = options.input === undefined ? undefined : options.input.toString();
    const container = this.container
      .withEnvVariable(INVOCATION_VARIABLE, randomUUID())
      .withExec(timed, { expect: ReturnType.Any, ...(input === undefined ? {} : { stdin: input }) });
    const finished = collect(container, options.timeoutMs !== undefined);
    const { signal } = options;
    if (signal === undefined) return { container, outcome: await finished };
    let onAbort = (): void => {};
    const aborted = new Promise<RemoteResult>((resolve) => {
      onAbort = () => resolve(stopped);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return { container, outcome: await Promise.race([finished, aborted]) };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** The exit code and output of an exec; exits 128–191 (killed by a signal) come back from the engine as an ExecError. */
async function collect(container: Container, timed: boolean): Promise<RemoteResult> {
  let exitCode: number;
  let stdout: string;
  let stderr: string;
  try {
    exitCode = await container.exitCode();
    stdout = await container.stdout();
    stderr = await container.stderr();
  } catch (error) {
    const failure = execFailure(error);
    if (failure === undefined) throw error;
    ({ exitCode, stdout, stderr } = failure);
  }
  const timedOut = timed && exitCode === TIMED_OUT && TIMEOUT_NOTICE.test(stderr);
  return { exitCode: timedOut ? null : exitCode, stdout, stderr, timedOut, cancelled: false };
}
