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

import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { GroupStopper, signalGroup } from "../process-group.js";
import { childEnvironment } from "./child-environment.js";
import { DEFAULT_CONNECT_TIMEOUT_S, sshClientOptions } from "./client-options.js";
import { HostKeyMismatch, SshError } from "./errors.js";
import { forgetOpenSession, registerOpenSession } from "./exit-cleanup.js";
import { lastLines, REMOTE_SCRIPT_UNSURE, sshFailure } from "./failure.js";
import { endpoint, knownHostsName, type SshHost } from "./host.js";
import { scannedKeysOf } from "./keyscan.js";
import { type Pinned, pinnedFor, pinsOf } from "./pins.js";
import { normalisedPrivateKey } from "./private-key.js";
import { remoteCommand } from "./remote-command.js";
import { scpHost, scpRemoteOperand } from "./scp-operand.js";
import type { RemoteResult, RunOptions, TransferOptions } from "./transport.js";

/** Time between SIGTERM and SIGKILL when stopping a process group. */
const KILL_GRACE_MS = 2000;
/** Longest wait for killed processes to disappear. */
const GROUP_EXIT_LIMIT_MS = 5000;
/** Characters that OpenSSH never expands (`~`, `%`) or splits (spaces) in file options. */
const PLAIN_PATH = /^[A-Za-z0-9/._-]+$/;

/** What a finished (or stopped) local process did. */
interface Outcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
}

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
    registerOpenSession(this, dir, this.active);
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
        forgetOpenSession(this);
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

    const stopper = new GroupStopper(pgid, KILL_GRACE_MS, options.timeoutMs, [options.signal, this.closer.signal]);
    try {
      const result = await subprocess;
      await stopper.settle(GROUP_EXIT_LIMIT_MS);
      const { timedOut, cancelled } = stopper;
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
      stopper.release();
      this.running.delete(subprocess);
      if (pgid !== undefined) this.active.delete(pgid);
    }
  }
}
