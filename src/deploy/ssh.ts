/**
 * The OpenSSH transport of production deploys: talks only to hosts whose
 * host keys are pinned, and keeps the deploy key in a private temporary file
 * that only its path ever leaves.
 *
 * Every `ssh`, `scp` and `ssh-keyscan` runs through execa with an argv array
 * (no local shell), ignores user and system configuration (`-F /dev/null`,
 * `GlobalKnownHostsFile=/dev/null`), checks host keys strictly against a
 * known_hosts file holding only the pinned keys, forwards nothing, gets no
 * agent (`SSH_AUTH_SOCK` is not passed; `IdentityAgent=none`), and runs in its
 * own process group, which is killed on timeout, abort or {@link SshSession.close}.
 *
 * Files are copied with `scp -s -p`: scp over the SFTP protocol (OpenSSH 8.7
 * or later on this side, the `sftp` subsystem on the host). File names go in
 * the argv and the SFTP requests verbatim, so no remote shell ever parses a
 * path (legacy scp passes the remote path through the remote shell), and
 * names with spaces, quotes, newlines or glob characters need no batch-file
 * quoting (which `sftp -b` would, and which cannot express a newline).
 */

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { chmod, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { signalGroup, waitForGroupExit } from "../runners/process-group.js";

/** A deploy target and the host key it must present. */
export interface SshHost {
  /** Name used in messages. */
  readonly name: string;
  /** IP address or DNS name. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** The pinned host key: a known_hosts-style key ("ssh-ed25519 AAAAC3…", optionally with a comment) or an OpenSSH SHA256 fingerprint ("SHA256:base64-no-padding"). */
  readonly hostKey: string;
}

/** What a remote script did. */
export interface RemoteResult {
  /** The script's exit code; null when it was stopped (timeout, abort, session closed). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** True when `timeoutMs` ran out and the local ssh process group was killed. */
  readonly timedOut: boolean;
  /** True when the signal aborted (or the session closed) and the local ssh process group was killed. */
  readonly cancelled: boolean;
}

/** Connection, authentication, host-key or transfer problem; the message names the host. */
export class SshError extends Error {
  override readonly name: string = "SshError";
  /** Name of the host concerned, when there is one. */
  readonly host: string | undefined;

  constructor(message: string, options: { host?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.host = options.host;
  }
}

/** The host presented a key other than the pinned one; nothing was sent to it. */
export class HostKeyMismatch extends SshError {
  override readonly name: string = "HostKeyMismatch";

  /**
   * @param host The host whose key did not match.
   * @param presented SHA256 fingerprints of the keys it presented (empty when none could be read).
   * @param pinned SHA256 fingerprint of the pinned key.
   */
  constructor(
    host: SshHost,
    readonly presented: readonly string[],
    readonly pinned: string,
  ) {
    const seen = presented.length === 0 ? "no key that could be read" : presented.join(", ");
    super(`${host.name} (${host.address}:${host.port}): host key does not match the pin: presented ${seen}; pinned ${pinned}`, {
      host: host.name,
    });
  }
}

/** Options of {@link SshSession.run}. */
export interface RunOptions {
  /** Written to the script's stdin; without it the script reads end-of-file. */
  readonly input?: string | Buffer;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Options of {@link SshSession.upload} and {@link SshSession.download}. */
export interface TransferOptions {
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Default seconds to wait for the TCP connection and the SSH banner. */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** Time between SIGTERM and SIGKILL when stopping a process group. */
const KILL_GRACE_MS = 2000;
/** Longest wait for killed processes to disappear. */
const GROUP_EXIT_LIMIT_MS = 5000;
/** Longest part of ssh's own output quoted in an error. */
const DETAIL_LIMIT = 600;

/** Host key algorithms a pin may name. */
const KEY_TYPES = new Set(["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"]);
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
const FINGERPRINT_IN_TEXT = /SHA256:[A-Za-z0-9+/]{43}/g;
/** DNS names, IPv4 and IPv6 addresses; never starting with "-", so never an option. */
const ADDRESS = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
/** Characters that OpenSSH never expands (`~`, `%`) or splits (spaces) in file options. */
const PLAIN_PATH = /^[A-Za-z0-9/._-]+$/;

/** Environment variables ssh children get from ours; everything else (agent sockets, secrets) stays out. */
const PASSED_ENV = new Set(["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"]);

const HOST_KEY_FAILURE =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for .* requested strict checking|Host key for .* has changed/i;
const AUTH_FAILURE = /Permission denied \(|Too many authentication failures|No more authentication methods/i;
const CONNECT_FAILURE =
  /ssh: connect to host|Could not resolve hostname|Connection refused|Connection timed out|No route to host|Network is unreachable|kex_exchange_identification|banner exchange|Connection (?:closed|reset) by/i;

/** A pinned host as the session keeps it (and the container transport of the Dagger module). */
export interface Pinned {
  readonly host: SshHost;
  /** SHA256 fingerprint of the pinned key. */
  readonly fingerprint: string;
  /** `type base64` of the pinned key, when the pin was a key line. */
  readonly key: string | undefined;
}

/** What a finished (or stopped) local process did. */
interface Outcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
}

/** Temp dirs and process groups of sessions not closed yet: removed and killed if the process exits first. */
const openSessions = new Map<SshSession, { readonly dir: string; readonly active: ReadonlySet<number> }>();
let exitHookInstalled = false;

/**
 * An OpenSSH session over a fixed set of pinned hosts. Open with
 * {@link SshSession.open}; always {@link SshSession.close} in `finally`.
 * Calls may run concurrently; each is its own ssh process.
 */
export class SshSession {
  private pinned: ReadonlyMap<string, Pinned> = new Map();
  private readonly active = new Set<number>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly closer = new AbortController();
  private closing: Promise<void> | undefined;
  private logCount = 0;

  private constructor(
    private readonly dir: string,
    private readonly keyFile: string,
    private readonly knownHostsFile: string,
    private readonly connectTimeoutSeconds: number,
  ) {
    openSessions.set(this, { dir, active: this.active });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("exit", cleanUpAtExit);
    }
  }

  /** Writes the private key (from a secret: an OpenSSH private key text) to a file with mode 0600 in a fresh 0700 temp dir, and a UserKnownHostsFile with ONLY the pinned keys. Fingerprint-pinned hosts: fetch their keys with `ssh-keyscan` and keep only a key whose SHA256 fingerprint equals the pin, else throw HostKeyMismatch before anything is sent. */
  static async open(hosts: readonly SshHost[], privateKey: string, options: { connectTimeoutSeconds?: number } = {}): Promise<SshSession> {
    const connectTimeoutSeconds = options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_S;
    if (!Number.isInteger(connectTimeoutSeconds) || connectTimeoutSeconds < 1 || connectTimeoutSeconds > 600) {
      throw new TypeError(`connectTimeoutSeconds must be a whole number of seconds from 1 to 600, not ${connectTimeoutSeconds}`);
    }
    const pins = pinsOf(hosts);
    const key = normalisedPrivateKey(privateKey);

    const base = tmpdir();
    const dir = await mkdtemp(join(PLAIN_PATH.test(base) ? base : "/tmp", "shriven-ssh-"));
    await chmod(dir, 0o700);
    const keyFile = join(dir, "deploy_key");
    const knownHostsFile = join(dir, "known_hosts");
    const session = new SshSession(dir, keyFile, knownHostsFile, connectTimeoutSeconds);
    try {
      await writeFile(keyFile, key, { mode: 0o600, flag: "wx" });
      await chmod(keyFile, 0o600);
      await session.checkKeyLoads();
      const resolved = await Promise.all(pins.map((pin) => (pin.key === undefined ? session.pinByScan(pin) : pin)));
      const lines = resolved.map((pin) => `${knownHostsName(pin.host)} ${pin.key}`);
      await writeFile(knownHostsFile, `${lines.join("\n")}\n`, { mode: 0o600, flag: "wx" });
      session.pinned = new Map(resolved.map((pin) => [endpoint(pin.host), pin]));
      return session;
    } catch (error) {
      await session.close();
      throw error;
    }
  }

  /** Runs `script` with the remote POSIX sh as `sh -c <script> sh <args…>`: args are passed safely quoted (single-quote escaping), never interpolated into the script. Optional stdin. */
  async run(host: SshHost, script: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RemoteResult> {
    const pin = this.pinFor(host);
    const command = remoteCommand(host, script, args);
    const logFile = join(this.dir, `ssh-${++this.logCount}.log`);
    const argv = [...this.sshOptions(), "-E", logFile, "-p", String(host.port), "-l", host.user, "--", host.address, command];
    const outcome = await this.spawn("ssh", argv, options);
    const log = await readFile(logFile, "utf8").catch(() => "");
    await rm(logFile, { force: true });
    if (!outcome.timedOut && !outcome.cancelled && outcome.exitCode === 255 && log.trim() !== "") {
      throw await this.failure(host, pin, log, "running a script", REMOTE_SCRIPT_UNSURE);
    }
    return outcome;
  }

  /**
   * Uploads local files into an existing remote directory with `scp -s -p`
   * (SFTP protocol, modes and times kept), one connection for all files. Rejects with SshError on failure (a missing
   * directory included); honours signal/timeout (killing the whole process group).
   */
  async upload(host: SshHost, localFiles: readonly string[], remoteDir: string, options: TransferOptions = {}): Promise<void> {
    const pin = this.pinFor(host);
    if (remoteDir === "" || remoteDir.includes("\0"))
      throw new TypeError(`${host.name}: invalid remote directory ${JSON.stringify(remoteDir)}`);
    if (localFiles.length === 0) return;
    const sources = localFiles.map((file) => resolve(file));
    const names = new Set<string>();
    for (const source of sources) {
      const info = await stat(source).catch(() => undefined);
      if (info === undefined || !info.isFile()) throw new TypeError(`${host.name}: ${source} is not a local file`);
      if (names.has(basename(source))) throw new TypeError(`${host.name}: two files to upload are named ${basename(source)}`);
      names.add(basename(source));
    }
    // The trailing slash makes scp fail on a missing directory instead of writing a file named like it.
    const target = `${scpHost(host)}:${remoteDir.endsWith("/") ? remoteDir : `${remoteDir}/`}`;
    const what = `upload of ${sources.length} file${sources.length === 1 ? "" : "s"} to ${remoteDir}`;
    await this.copy(host, pin, [...sources, target], what, options);
  }

  /** Downloads a remote file to a local path (for re-verifying a retained release's signature) with `scp -s -p`; the local file appears only once complete. */
  async download(host: SshHost, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    const pin = this.pinFor(host);
    if (remotePath === "" || remotePath.includes("\0"))
      throw new TypeError(`${host.name}: invalid remote path ${JSON.stringify(remotePath)}`);
    const destination = resolve(localPath);
    const existing = await stat(destination).catch(() => undefined);
    if (existing?.isDirectory() === true) throw new TypeError(`${host.name}: download target ${destination} is a directory`);
    const partial = join(dirname(destination), `.${basename(destination)}.part-${randomBytes(6).toString("hex")}`);
    try {
      await this.copy(host, pin, [scpRemoteOperand(host, remotePath), partial], `download of ${remotePath}`, options);
      await rename(partial, destination);
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Removes the key file, known_hosts and the temp dir. Idempotent. Must be called in finally by users. Stops calls still running first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closer.abort();
      await Promise.allSettled([...this.running]);
      for (const pgid of this.active) signalGroup(pgid, "SIGKILL");
      await this.stopMasters();
      try {
        // Overwrite before unlinking, so the key bytes do not linger in freed blocks of simple filesystems.
        const size = (await stat(this.keyFile).catch(() => undefined))?.size ?? 0;
        if (size > 0) await writeFile(this.keyFile, Buffer.alloc(size));
      } finally {
        await rm(this.dir, { recursive: true, force: true });
        openSessions.delete(this);
      }
    })();
    return this.closing;
  }

  /** Stops the background master connection of every pinned host (`ssh -O exit`), bounded. */
  private async stopMasters(): Promise<void> {
    await Promise.allSettled(
      [...this.pinned.values()].map(({ host }) =>
        execa(
          "ssh",
          [
            "-F",
            "/dev/null",
            "-o",
            `ControlPath=${join(this.dir, "cm-%C")}`,
            "-p",
            String(host.port),
            "-l",
            host.user,
            "-O",
            "exit",
            "--",
            host.address,
          ],
          { reject: false, timeout: 5000, stdin: "ignore", env: childEnvironment(), extendEnv: false },
        ),
      ),
    );
  }

  private pinFor(host: SshHost): Pinned {
    if (this.closing !== undefined) throw new SshError(`${host.name}: the SSH session is closed`, { host: host.name });
    return pinnedFor(this.pinned, host);
  }

  /** Options every ssh and scp gets (scp passes them on to its ssh). */
  private sshOptions(): string[] {
    const options = sshClientOptions({
      knownHostsFile: this.knownHostsFile,
      connectTimeoutSeconds: this.connectTimeoutSeconds,
      controlPath: join(this.dir, "cm-%C"),
    });
    return ["-F", "/dev/null", "-i", this.keyFile, ...options.flatMap((option) => ["-o", option])];
  }

  /** Runs scp; `what` describes the transfer in errors. */
  private async copy(host: SshHost, pin: Pinned, paths: readonly string[], what: string, options: TransferOptions): Promise<void> {
    // No -q: it would silence ssh's own errors, which tell a host key mismatch from other failures. With stdout
    // a pipe, scp shows no progress meter anyway.
    const argv = ["-s", "-p", ...this.sshOptions(), "-P", String(host.port), "-o", `User=${host.user}`, "--", ...paths];
    const outcome = await this.spawn("scp", argv, options);
    if (outcome.timedOut) throw new SshError(`${host.name}: ${what} timed out after ${options.timeoutMs} ms`, { host: host.name });
    if (outcome.cancelled) throw new SshError(`${host.name}: ${what} was cancelled`, { host: host.name });
    if (outcome.exitCode !== 0) throw await this.failure(host, pin, outcome.stderr, what);
  }

  /**
   * Turns ssh's (or scp's) own messages into the error they mean; `unsure` is added to messages
   * of failures that may come after the remote side started.
   */
  private failure(host: SshHost, pin: Pinned, text: string, what: string, unsure = ""): Promise<SshError> {
    return sshFailure(host, pin, text, what, unsure, async () => (await this.scan(host)).map((key) => key.fingerprint));
  }

  /** Makes sure ssh can load the key without a passphrase, so a bad secret fails here and not as "Permission denied". */
  private async checkKeyLoads(): Promise<void> {
    const outcome = await this.spawn("ssh-keygen", ["-y", "-P", "", "-f", this.keyFile], { timeoutMs: 10_000 });
    if (outcome.exitCode !== 0) {
      throw new SshError(
        `the deploy key in ${this.keyFile} cannot be loaded (invalid, or protected by a passphrase): ${lastLines(outcome.stderr)}`,
      );
    }
  }

  /** Fetches the host's keys and keeps the one matching the fingerprint pin. */
  private async pinByScan(pin: Pinned): Promise<Pinned> {
    const keys = await this.scan(pin.host);
    const match = keys.find((key) => key.fingerprint === pin.fingerprint);
    if (match === undefined) throw new HostKeyMismatch(pin.host, [...new Set(keys.map((key) => key.fingerprint))], pin.fingerprint);
    return { ...pin, key: match.key };
  }

  /** The host keys `ssh-keyscan` reads from the host (no authentication, nothing sent but the key exchange). */
  private async scan(host: SshHost): Promise<{ key: string; fingerprint: string }[]> {
    const argv = ["-T", String(this.connectTimeoutSeconds), "-p", String(host.port), "--", host.address];
    const outcome = await this.spawn("ssh-keyscan", argv, { timeoutMs: (this.connectTimeoutSeconds + 5) * 1000 });
    return scannedKeysOf(host, outcome);
  }

  /**
   * Runs a program in its own process group; stops the group on timeout,
   * abort or close (SIGTERM, then SIGKILL), and waits until it is gone.
   */
  private async spawn(file: string, args: readonly string[], options: RunOptions): Promise<Outcome> {
    const stopped: Outcome = { exitCode: null, stdout: "", stderr: "", timedOut: false, cancelled: true };
    if (options.signal?.aborted === true || this.closer.signal.aborted) return stopped;
    const subprocess = execa(file, args, {
      env: childEnvironment(),
      extendEnv: false,
      detached: true,
      reject: false,
      input: options.input ?? "",
      stdout: "pipe",
      stderr: "pipe",
      stripFinalNewline: false,
      encoding: "utf8",
    });
    const pgid = subprocess.pid;
    if (pgid !== undefined) this.active.add(pgid);
    this.running.add(subprocess);

    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (pgid === undefined || killTimer !== undefined) return;
      signalGroup(pgid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(pgid, "SIGKILL"), KILL_GRACE_MS);
    };
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.closer.signal.addEventListener("abort", onAbort, { once: true });
    const timeoutTimer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);

    try {
      const result = await subprocess;
      if ((timedOut || cancelled) && pgid !== undefined) {
        signalGroup(pgid, "SIGKILL");
        await waitForGroupExit(pgid, GROUP_EXIT_LIMIT_MS);
      }
      if (result.exitCode === undefined && result.signal === undefined && !timedOut && !cancelled) {
        const reason = (result.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT" ? "not found on PATH" : result.shortMessage;
        throw new SshError(`cannot start ${file}: ${reason}`);
      }
      return {
        exitCode: timedOut || cancelled ? null : (result.exitCode ?? null),
        stdout: result.stdout ?? "",
        stderr: result.stderr ?? "",
        timedOut,
        cancelled: cancelled && !timedOut,
      };
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      this.closer.signal.removeEventListener("abort", onAbort);
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      this.running.delete(subprocess);
      if (pgid !== undefined) this.active.delete(pgid);
    }
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The pin a session holds for `host`, which must be the same host with the same pinned key it was opened with.
 * @throws SshError otherwise.
 */
export function pinnedFor(pinned: ReadonlyMap<string, Pinned>, host: SshHost): Pinned {
  const pin = pinned.get(endpoint(host));
  let fingerprint: string | undefined;
  try {
    fingerprint = parsePin(host).fingerprint;
  } catch {
    // Reported below as not pinned.
  }
  if (pin === undefined || pin.fingerprint !== fingerprint) {
    throw new SshError(`${host.name} (${host.address}:${host.port}) was not pinned with this host key when this SSH session was opened`, {
      host: host.name,
    });
  }
  return pin;
}

/**
 * The keys in `ssh-keyscan`'s output for `host`.
 * @throws SshError saying why, when it read none.
 */
export function scannedKeysOf(
  host: SshHost,
  outcome: { readonly stdout: string; readonly stderr: string; readonly timedOut: boolean },
): { key: string; fingerprint: string }[] {
  const keys = scannedHostKeys(outcome.stdout);
  if (keys.length > 0) return keys;
  const why = outcome.timedOut ? "timed out" : lastLines(outcome.stderr.replace(/^#.*$/gm, "")) || "no SSH server answered";
  throw new SshError(`${host.name}: cannot read the host keys of ${host.address}:${host.port} to check the pinned fingerprint: ${why}`, {
    host: host.name,
  });
}

/** Synchronous last resort when the process exits with sessions open. */
function cleanUpAtExit(): void {
  for (const { dir, active } of openSessions.values()) {
    for (const pgid of active) signalGroup(pgid, "SIGKILL");
    // Master connections (ControlPersist) run detached; their sockets are in `dir`.
    for (const socket of readdirSafe(dir).filter((f) => f.startsWith("cm-")))
      spawnSync("ssh", ["-F", "/dev/null", "-o", `ControlPath=${join(dir, socket)}`, "-O", "exit", "x"], {
        timeout: 2000,
        stdio: "ignore",
      });
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
}

/** Checks every host and parses its pin, before anything is written or started. */
export function pinsOf(hosts: readonly SshHost[]): Pinned[] {
  const pins = new Map<string, Pinned>();
  for (const host of hosts) {
    if (typeof host.name !== "string" || host.name.trim() === "") throw new SshError("an SSH host has no name");
    const problem = !ADDRESS.test(host.address)
      ? `address ${JSON.stringify(host.address)} is not a DNS name or IP address`
      : !Number.isInteger(host.port) || host.port < 1 || host.port > 65_535
        ? `port ${host.port} is not a TCP port`
        : !USER.test(host.user)
          ? `user ${JSON.stringify(host.user)} is not a plain user name`
          : undefined;
    if (problem !== undefined) throw new SshError(`${host.name}: ${problem}`, { host: host.name });
    const pin = parsePin(host);
    const previous = pins.get(endpoint(host));
    if (previous !== undefined && previous.fingerprint !== pin.fingerprint) {
      throw new SshError(
        `${host.name}: ${host.address}:${host.port} is pinned twice with different host keys (also as ${previous.host.name})`,
        {
          host: host.name,
        },
      );
    }
    if (previous === undefined || (previous.key === undefined && pin.key !== undefined)) pins.set(endpoint(host), pin);
  }
  return [...pins.values()];
}

/** A pin is a known_hosts key line (`type base64 [comment]`) or a SHA256 fingerprint. */
export function parsePin(host: SshHost): Pinned {
  const text = host.hostKey.trim();
  const fingerprint = FINGERPRINT.exec(text);
  if (fingerprint !== null) return { host, fingerprint: `SHA256:${fingerprint[1]}`, key: undefined };
  const [type, data] = text.split(/\s+/);
  if (!/[\r\n]/.test(text) && type !== undefined && data !== undefined && KEY_TYPES.has(type)) {
    const blob = keyBlob(type, data);
    if (blob !== undefined) return { host, fingerprint: fingerprintOf(blob), key: `${type} ${data}` };
  }
  throw new SshError(
    `${host.name}: the pinned host key is neither a single known_hosts key ("ssh-ed25519 AAAA…", "ecdsa-sha2-nistp256 …", "ssh-rsa …") nor a SHA256 fingerprint ("SHA256:…")`,
    { host: host.name },
  );
}

/** The decoded key, if `data` is canonical base64 of an SSH public key blob of that type. */
function keyBlob(type: string, data: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return undefined;
  const blob = Buffer.from(data, "base64");
  if (blob.toString("base64") !== data || blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1") === type ? blob : undefined;
}

/** OpenSSH's SHA256 fingerprint: base64 of the key blob's SHA-256, without padding. */
function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Checks the secret looks like a private key (without quoting it) and gives it the final newline OpenSSH needs. */
function normalisedPrivateKey(privateKey: string): string {
  const text = privateKey.replace(/\r\n?/g, "\n").trim();
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----\n[\s\S]+\n-----END [A-Z0-9 ]*PRIVATE KEY-----$/.test(text)) {
    throw new SshError("the deploy key is not a PEM-armoured private key (-----BEGIN OPENSSH PRIVATE KEY----- … -----END …)");
  }
  return `${text}\n`;
}

/** The environment of ssh children: only the harmless basics, so no agent socket or secret reaches them. */
function childEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (PASSED_ENV.has(name) || name.startsWith("LC_"))) env[name] = value;
  }
  return env;
}

/** How known_hosts names the host: the address for port 22, `[address]:port` otherwise. */
export function knownHostsName(host: SshHost): string {
  return host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
}

/** The host part of an scp operand; IPv6 addresses in brackets. */
function scpHost(host: SshHost): string {
  return host.address.includes(":") ? `[${host.address}]` : host.address;
}

/** The scp operand naming one remote file: scp globs the remote source; escaped, the path names exactly one file. */
export function scpRemoteOperand(host: SshHost, remotePath: string): string {
  return `${scpHost(host)}:${remotePath.replace(/[\\*?[\]]/g, "\\$&")}`;
}

/** What a failure of a remote script's connection may have left: added to its messages. */
export const REMOTE_SCRIPT_UNSURE = " (the script may have partly run)";

/**
 * The `-o` options of every ssh and scp (scp passes them on to its ssh), without the `-o`s: the host's
 * {@link SshSession} and the Dagger module's container transport both use this list, so they cannot drift.
 * Connection sharing (ControlMaster) only when a `controlPath` is given.
 */
export function sshClientOptions(settings: {
  readonly knownHostsFile: string;
  readonly connectTimeoutSeconds: number;
  readonly controlPath?: string;
}): string[] {
  return [
    "BatchMode=yes",
    "StrictHostKeyChecking=yes",
    `UserKnownHostsFile=${settings.knownHostsFile}`,
    "GlobalKnownHostsFile=/dev/null",
    "CheckHostIP=no",
    "UpdateHostKeys=no",
    "HashKnownHosts=no",
    "VerifyHostKeyDNS=no",
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "AddKeysToAgent=no",
    "PreferredAuthentications=publickey",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    "ForwardAgent=no",
    "ForwardX11=no",
    "ClearAllForwardings=yes",
    "PermitLocalCommand=no",
    "ProxyCommand=none",
    // SshSession: one authenticated connection per host, reused by every later ssh and scp of the session: a deploy
    // runs a dozen commands per host. The socket is in the session's 0700 folder; close() stops the masters.
    ...(settings.controlPath === undefined ? [] : ["ControlMaster=auto", `ControlPath=${settings.controlPath}`, "ControlPersist=300"]),
    "RequestTTY=no",
    `ConnectTimeout=${settings.connectTimeoutSeconds}`,
    "ServerAliveInterval=15",
    "ServerAliveCountMax=3",
    "LogLevel=ERROR",
  ];
}

/**
 * The remote command line of a script: `sh -c <script> sh <args…>`, every word single-quoted, so args are
 * never interpolated into the script.
 * @throws TypeError when the script or an argument contains a NUL character.
 */
export function remoteCommand(host: SshHost, script: string, args: readonly string[]): string {
  for (const text of [script, ...args]) {
    if (text.includes("\0")) throw new TypeError(`${host.name}: a remote script and its arguments cannot contain NUL characters`);
  }
  return ["sh", "-c", script, "sh", ...args].map(shellQuote).join(" ");
}

/** The host keys (`type base64`) and their SHA256 fingerprints in `ssh-keyscan` output; lines of unknown types or bad keys are skipped. */
export function scannedHostKeys(keyscanOutput: string): { key: string; fingerprint: string }[] {
  const keys: { key: string; fingerprint: string }[] = [];
  for (const line of keyscanOutput.split("\n")) {
    const [, type, data] = line.trim().split(/\s+/);
    if (type === undefined || data === undefined || !KEY_TYPES.has(type)) continue;
    const blob = keyBlob(type, data);
    if (blob !== undefined) keys.push({ key: `${type} ${data}`, fingerprint: fingerprintOf(blob) });
  }
  return keys;
}

/** Whether ssh's own messages say the connection failed (host key, authentication or network), as opposed to a remote exit 255. */
export function isSshFailure(text: string): boolean {
  return HOST_KEY_FAILURE.test(text) || AUTH_FAILURE.test(text) || CONNECT_FAILURE.test(text);
}

/**
 * Turns ssh's (or scp's) own messages into the error they mean; `unsure` is added to messages
 * of failures that may come after the remote side started. On a host key failure whose text names
 * no other key, `scan` is asked for the fingerprints the host presents (its failure counts as none).
 */
export async function sshFailure(
  host: SshHost,
  pin: Pinned,
  text: string,
  what: string,
  unsure: string,
  scan: () => Promise<readonly string[]>,
): Promise<SshError> {
  if (HOST_KEY_FAILURE.test(text)) {
    let presented = [...new Set(text.match(FINGERPRINT_IN_TEXT) ?? [])].filter((fp) => fp !== pin.fingerprint);
    if (presented.length === 0) {
      presented = [...(await scan().catch(() => []))];
    }
    return new HostKeyMismatch(host, presented, pin.fingerprint);
  }
  const detail = lastLines(text);
  if (AUTH_FAILURE.test(text)) {
    return new SshError(`${host.name}: authentication as ${host.user}@${host.address}:${host.port} with the deploy key failed: ${detail}`, {
      host: host.name,
    });
  }
  if (CONNECT_FAILURE.test(text)) {
    return new SshError(`${host.name}: cannot reach ${host.user}@${host.address}:${host.port} (${what}): ${detail}`, { host: host.name });
  }
  return new SshError(`${host.name}: ${what} on ${host.user}@${host.address}:${host.port} failed${unsure}: ${detail}`, {
    host: host.name,
  });
}

/** The key pins are kept under: address (lower case) and port. */
export function endpoint(host: SshHost): string {
  return `${host.address.toLowerCase()}:${host.port}`;
}

/** Single-quotes `text` for a POSIX shell: nothing inside is expanded; `'` becomes `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The last meaningful lines of ssh's output, short enough for a message. */
export function lastLines(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^@+$/.test(line));
  const tail = lines.slice(-3).join(" / ");
  return tail.length > DETAIL_LIMIT ? `…${tail.slice(-DETAIL_LIMIT)}` : tail;
}
