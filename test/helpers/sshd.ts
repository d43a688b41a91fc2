/**
 * Real OpenSSH servers for the deploy transport tests: each one is
 * `/usr/sbin/sshd -D -e` on 127.0.0.1 and a free port, with its own fresh
 * ed25519 host key, key-only login for one client key pair shared by every
 * test host of the file, no forwarding of any kind, and a scratch folder a
 * test can use as a deploy root.
 *
 * Each server gives its sessions a HOME of their own (`SetEnv HOME=…`, an
 * empty folder), as a deploy user on a real host has: the login shell sshd
 * starts for every command then reads that folder's dotfiles, never those of
 * the user running the tests. A CI machine's root `.bashrc` that runs
 * `pyenv rehash` made each session take a lock; a session killed by a test
 * left it behind and every later session waited 60 s for it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, afterEach } from "vitest";
import { signalGroup, waitForGroupExit } from "../../src/adapters/process-group.js";
import type { SshHost } from "../../src/adapters/ssh/host.js";

/** Where Debian's openssh-server puts the daemon. */
export const SSHD_PATH = "/usr/sbin/sshd";

/** True when the OpenSSH server is installed (`.ci/run` installs openssh-server). */
export const SSHD_AVAILABLE = existsSync(SSHD_PATH);

/** A running test server. */
export interface TestHost {
  /** How to reach it; `hostKey` is the server's public host key line. */
  readonly host: SshHost;
  /** The OpenSSH SHA256 fingerprint of its host key (`SHA256:…`). */
  readonly fingerprint: string;
  /** A scratch folder, writable over SSH, usable as a deploy root. */
  readonly dir: string;
  /** Stops the server and every session process it started, then removes its folders. Idempotent. */
  stop(): Promise<void>;
}

/** Longest wait for a server to accept connections. */
const READY_LIMIT_MS = 10_000;
/** Attempts when another process takes the chosen port first. */
const PORT_ATTEMPTS = 3;

const running = new Set<TestHost>();
let clientKey: Promise<{ privateKey: string; publicKey: string }> | undefined;

/** The one client key pair (ed25519, no passphrase) every test host of this file authorises; made on first use. */
export function testClientKey(): Promise<{ privateKey: string; publicKey: string }> {
  clientKey ??= generateKeyPair("deploy-test-client");
  return clientKey;
}

/** A fresh ed25519 key pair made with ssh-keygen; its files are removed once read. */
export async function generateKeyPair(comment: string): Promise<{ privateKey: string; publicKey: string }> {
  const dir = await mkdtemp(join(tmpdir(), "shriven-sshkey-"));
  try {
    const file = join(dir, "id_ed25519");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
    return { privateKey: await readFile(file, "utf8"), publicKey: (await readFile(`${file}.pub`, "utf8")).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Registers a hook in the calling test file that stops every server
 * {@link startSshd} started and has not stopped yet: after all tests of the
 * file (default) or after each test.
 */
export function stopSshdsAfter(when: "all" | "each" = "all"): void {
  const stopAll = async (): Promise<void> => {
    await Promise.all([...running].map((server) => server.stop()));
  };
  if (when === "all") afterAll(stopAll);
  else afterEach(stopAll);
}

/** Starts an OpenSSH server on 127.0.0.1 with its own host key, ready to accept connections. */
export async function startSshd(options: { name?: string } = {}): Promise<TestHost> {
  if (!SSHD_AVAILABLE) throw new Error(`${SSHD_PATH} is missing: install openssh-server (.ci/run does)`);
  const name = options.name ?? "test-host";
  const { publicKey } = await testClientKey();
  const base = await mkdtemp(join(tmpdir(), "shriven-sshd-"));
  try {
    const config = join(base, "sshd");
    const dir = join(base, "root");
    const home = join(base, "home");
    mkdirSync(config);
    mkdirSync(dir);
    mkdirSync(home);
    const hostKeyFile = join(config, "ssh_host_ed25519_key");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hostKeyFile]);
    const hostKey = (await readFile(`${hostKeyFile}.pub`, "utf8")).trim();
    const fingerprint = fingerprintOf(hostKey);
    await writeFile(join(config, "authorized_keys"), `${publicKey}\n`, { mode: 0o600 });
    ensurePrivilegeSeparationDir();

    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const configFile = join(config, "sshd_config");
      await writeFile(configFile, sshdConfig(config, hostKeyFile, port, home));
      const daemon = execa(SSHD_PATH, ["-D", "-e", "-f", configFile], {
        detached: true,
        reject: false,
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        encoding: "utf8",
      });
      const log: string[] = [];
      daemon.stderr?.on("data", (chunk: string) => {
        if (log.length < 200) log.push(chunk);
      });
      const ready = await waitUntilReady(daemon, port);
      if (ready === "ready") {
        const user = userInfo().username;
        const server: TestHost = {
          host: { name, address: "127.0.0.1", port, user, hostKey },
          fingerprint,
          dir,
          stop: onceOnly(async () => {
            running.delete(server);
            await stopDaemon(daemon);
            await rm(base, { recursive: true, force: true });
          }),
        };
        running.add(server);
        return server;
      }
      await stopDaemon(daemon);
      const text = log.join("");
      if (attempt < PORT_ATTEMPTS && /Address already in use/.test(text)) continue;
      throw new Error(`sshd for ${name} did not start (${ready}):\n${text}`);
    }
  } catch (error) {
    await rm(base, { recursive: true, force: true });
    throw error;
  }
}

/** The OpenSSH SHA256 fingerprint of a public key line (`type base64 [comment]`). */
export function fingerprintOf(keyLine: string): string {
  const blob = Buffer.from(keyLine.trim().split(/\s+/)[1] ?? "", "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

function sshdConfig(config: string, hostKeyFile: string, port: number, home: string): string {
  const root = process.getuid?.() === 0;
  const lines = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${hostKeyFile}`,
    `PidFile ${join(config, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(config, "authorized_keys")}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    root ? "PermitRootLogin prohibit-password" : `AllowUsers ${userInfo().username}`,
    "AllowAgentForwarding no",
    "AllowTcpForwarding no",
    "X11Forwarding no",
    "PermitUserEnvironment no",
    `SetEnv HOME=${home}`,
    "PermitTunnel no",
    "UseDNS no",
    "PrintMotd no",
    "PrintLastLog no",
    "LogLevel INFO",
    // scp -s talks the SFTP protocol.
    "Subsystem sftp internal-sftp",
  ];
  return `${lines.join("\n")}\n`;
}

/** sshd refuses to start without its privilege separation folder. */
function ensurePrivilegeSeparationDir(): void {
  try {
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  } catch (error) {
    // Not root: sshd then runs without privilege separation and does not need it.
    if ((error as NodeJS.ErrnoException).code !== "EACCES") throw error;
  }
}

/** A TCP port on 127.0.0.1 nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until the server sends its SSH banner, it exits, or {@link READY_LIMIT_MS} pass. */
async function waitUntilReady(daemon: ResultPromise, port: number): Promise<string> {
  let exited = false;
  void daemon.then(() => {
    exited = true;
  });
  const deadline = performance.now() + READY_LIMIT_MS;
  for (let attempt = 0; attempt < 500 && performance.now() < deadline; attempt++) {
    if (exited) return "it exited";
    if (await sendsBanner(port)) return "ready";
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return exited ? "it exited" : `no SSH banner within ${READY_LIMIT_MS} ms`;
}

/** True when something on the port answers with an SSH-2.0 banner within a second. */
function sendsBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), 1000);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (received.includes("\n")) finish(received.startsWith("SSH-2.0-"));
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}

/**
 * Stops the daemon and the per-connection processes it forked (those run in
 * their own sessions, so signalling the daemon's group alone would miss them).
 */
async function stopDaemon(daemon: ResultPromise): Promise<void> {
  const pid = daemon.pid;
  if (pid === undefined) return;
  const descendants = descendantsOf(pid);
  signalGroup(pid, "SIGTERM");
  for (const child of descendants) signalPid(child, "SIGKILL");
  const gone = await Promise.race([daemon.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
  if (!gone) signalGroup(pid, "SIGKILL");
  await daemon;
  await waitForGroupExit(pid, 3000);
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Every live descendant of `pid`, read from /proc. */
function descendantsOf(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // Exited while we looked.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    for (const [child, parent] of parents) {
      if (parent === queue[i] && !found.includes(child)) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

function onceOnly(action: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= action();
    return done;
  };
}
