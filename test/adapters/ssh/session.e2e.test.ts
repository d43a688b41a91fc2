/**
 * The deploy transport against two real OpenSSH servers on 127.0.0.1: scripts
 * and their arguments arrive verbatim, files go up and come back intact, only
 * pinned host keys are accepted (by key line or by SHA256 fingerprint), bad
 * keys and dead ports fail fast with the host named, timeouts and aborts kill
 * the local ssh process group, and the deploy key never leaves its 0600 file.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupAlive } from "../../../src/adapters/process-group.js";
import { HostKeyMismatch, SshError } from "../../../src/adapters/ssh/errors.js";
import type { SshHost } from "../../../src/adapters/ssh/host.js";
import { SshSession } from "../../../src/adapters/ssh/session.js";
import { livePids } from "../../helpers/processes.js";
import { freePort, generateKeyPair, startSshd, stopSshdsAfter, type TestHost, testClientKey } from "../../helpers/sshd.js";
import { tempDir } from "../../helpers/temp.js";
import { needs } from "../../helpers/tools.js";

/** Every wait in this file polls at most this long. */
const POLL_LIMIT_MS = 10_000;

/** Polls `probe` every 20 ms until it returns a value, at most {@link POLL_LIMIT_MS}. */
async function pollFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = performance.now() + POLL_LIMIT_MS;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** argv of every process we may read, by pid. */
function allCommandLines(): Map<number, string[]> {
  const found = new Map<number, string[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (raw !== "") found.set(Number(entry), raw.replace(/\0$/, "").split("\0"));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** The local ssh process whose command line carries `marker`, and its process group. */
function localSsh(marker: string): { pid: number; pgid: number; argv: string[] } | undefined {
  for (const [pid, argv] of allCommandLines()) {
    if (argv[0] !== "ssh" || !argv.some((arg) => arg.includes(marker))) continue;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    return { pid, pgid, argv };
  }
  return undefined;
}

/** The value following `flag`, or of `-o Name=value`, in an ssh argv. */
function optionOf(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length - 1; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i] === "-o" && argv[i + 1]?.startsWith(`${name}=`)) return argv[i + 1]?.slice(name.length + 1);
  }
  return undefined;
}

/** Every piece of the key a leak would show: the whole text, and every 40-character window of it and of its joined base64 body. */
function keyFragments(privateKey: string): string[] {
  const body = privateKey
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("-----"))
    .join("");
  const fragments = new Set<string>([privateKey.trim()]);
  for (const text of [privateKey, body]) {
    for (let i = 0; i + 40 <= text.length; i++) fragments.add(text.slice(i, i + 40));
  }
  return [...fragments];
}

function leaks(text: string, fragments: readonly string[]): string[] {
  return fragments.filter((fragment) => text.includes(fragment));
}

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

describe("SshSession against real OpenSSH servers", needs("sshd"), () => {
  stopSshdsAfter("all");
  let alpha: TestHost;
  let beta: TestHost;
  let privateKey: string;
  let fragments: string[];
  /** Every error and result a test saw, checked for the key at the end. */
  const seen: unknown[] = [];

  beforeAll(async () => {
    [alpha, beta] = await Promise.all([startSshd({ name: "alpha" }), startSshd({ name: "beta" })]);
    privateKey = (await testClientKey()).privateKey;
    fragments = keyFragments(privateKey);
  });

  afterAll(() => {
    if (fragments === undefined) return;
    const found = seen.flatMap((value) => leaks(`${inspect(value, { depth: 5 })} ${JSON.stringify(value) ?? ""}`, fragments));
    expect(found).toEqual([]);
  });

  async function withSession<T>(hosts: readonly SshHost[], use: (session: SshSession) => Promise<T>, key = privateKey): Promise<T> {
    const session = await SshSession.open(hosts, key, { connectTimeoutSeconds: 5 });
    try {
      return await use(session);
    } finally {
      await session.close();
    }
  }

  async function rejection(promise: Promise<unknown>): Promise<Error> {
    const error = await promise.then(
      () => new Error("expected a rejection"),
      (e: unknown) => e,
    );
    seen.push(error);
    if (!(error instanceof Error)) throw new Error(`rejected with a non-Error: ${String(error)}`);
    return error;
  }

  it("passes awkward arguments verbatim, never interpolating them into the script", async () => {
    const dir = alpha.dir;
    const args = [
      "with space",
      "it's \"quoted\" 'twice'",
      `$(touch ${dir}/pwned-subst)`,
      `\`touch ${dir}/pwned-backtick\``,
      `a; touch ${dir}/pwned-semicolon`,
      "line one\nline two",
      "ünïcødé ✓ 日本語",
      "",
      "-n",
      "*",
      "back\\slash $HOME $PATH",
      "'",
    ];
    const result = await withSession([alpha.host], (s) => s.run(alpha.host, "printf '%s\\n' \"$@\"", args));
    seen.push(result);
    expect(result).toEqual({ exitCode: 0, stdout: args.map((arg) => `${arg}\n`).join(""), stderr: "", timedOut: false, cancelled: false });
    for (const name of ["pwned-subst", "pwned-backtick", "pwned-semicolon"]) expect(existsSync(join(dir, name))).toBe(false);
  });

  it("test hosts give sessions a HOME of their own, so the runner's dotfiles never run on them", async () => {
    const result = await withSession([alpha.host, beta.host], async (s) => [
      await s.run(alpha.host, 'printf %s "$HOME"'),
      await s.run(beta.host, 'printf %s "$HOME"'),
    ]);
    seen.push(result);
    const [homeAlpha, homeBeta] = result.map((r) => r.stdout);
    expect(homeAlpha).toMatch(/shriven-sshd-[^/]+\/home$/);
    expect(homeBeta).toMatch(/shriven-sshd-[^/]+\/home$/);
    expect(homeAlpha).not.toBe(homeBeta);
    expect(homeAlpha).not.toBe(process.env.HOME);
  });

  it("feeds stdin, and returns exit codes and stderr (255 from the script is not an ssh failure)", async () => {
    await withSession([alpha.host], async (s) => {
      const text = await s.run(alpha.host, 'cat; echo "to stderr: $1" >&2; exit 7', ["x y"], { input: "line one\nline two\n" });
      expect(text).toEqual({ exitCode: 7, stdout: "line one\nline two\n", stderr: "to stderr: x y\n", timedOut: false, cancelled: false });
      const binary = randomBytes(1 << 20);
      const counted = await s.run(alpha.host, "wc -c; sha256sum | cut -d' ' -f1", [], { input: binary });
      expect(counted.stdout.split("\n")[0]?.trim()).toBe(String(1 << 20));
      const noInput = await s.run(alpha.host, "cat; echo eof", []);
      expect(noInput.stdout).toBe("eof\n");
      const quiet255 = await s.run(alpha.host, "exit 255");
      expect(quiet255).toMatchObject({ exitCode: 255, stderr: "" });
      const loud255 = await s.run(alpha.host, "echo 'Permission denied (publickey).' >&2; exit 255");
      expect(loud255).toMatchObject({ exitCode: 255, stderr: "Permission denied (publickey).\n" });
      seen.push(text, counted, noInput, quiet255, loud255);
    });
  });

  it("uploads files (one of 20 MB) with modes kept, checks them remotely, and downloads them back intact", async () => {
    const local = tempDir();
    const big = join(local, "engine v1 (it's) *.bin");
    const small = join(local, "SHA256SUMS");
    const bigData = randomBytes(20 * 1024 * 1024);
    const smallData = Buffer.from(`${sha256(bigData)}  engine.bin\n`);
    writeFileSync(big, bigData);
    writeFileSync(small, smallData);
    chmodSync(big, 0o750);
    chmodSync(small, 0o640);
    const remoteDir = join(beta.dir, "releases", "v1 [new]");

    await withSession([beta.host], async (s) => {
      expect((await s.run(beta.host, 'mkdir -p "$1"', [remoteDir])).exitCode).toBe(0);
      const started = performance.now();
      await s.upload(beta.host, [big, small], remoteDir, { timeoutMs: 60_000 });
      const uploadMs = performance.now() - started;
      const check = await s.run(
        beta.host,
        'cd "$1" && shift && for f; do wc -c < "$f"; sha256sum < "$f" | cut -d" " -f1; stat -c %a "$f"; done',
        [remoteDir, "engine v1 (it's) *.bin", "SHA256SUMS"],
      );
      seen.push(check);
      expect(check.stdout.split("\n")).toEqual([
        String(bigData.length),
        sha256(bigData),
        "750",
        String(smallData.length),
        sha256(smallData),
        "640",
        "",
      ]);

      const back = tempDir();
      await s.download(beta.host, join(remoteDir, "engine v1 (it's) *.bin"), join(back, "engine.bin"), { timeoutMs: 60_000 });
      await s.download(beta.host, join(remoteDir, "SHA256SUMS"), join(back, "SHA256SUMS"));
      expect(readFileSync(join(back, "engine.bin")).equals(bigData)).toBe(true);
      expect(readFileSync(join(back, "SHA256SUMS")).equals(smallData)).toBe(true);
      expect(readdirSync(back).sort()).toEqual(["SHA256SUMS", "engine.bin"]);
      expect(uploadMs).toBeLessThan(30_000);
    });
  });

  it("rejects transfers to a missing directory or of a missing file with an SshError, leaving nothing behind", async () => {
    const local = tempDir();
    writeFileSync(join(local, "a.txt"), "a");
    await withSession([beta.host], async (s) => {
      const missingDir = join(beta.dir, "no-such-dir");
      const up = await rejection(s.upload(beta.host, [join(local, "a.txt")], missingDir));
      expect(up).toBeInstanceOf(SshError);
      expect(up.message).toContain("beta");
      expect(existsSync(missingDir)).toBe(false);

      const down = await rejection(s.download(beta.host, join(beta.dir, "no-such-file*"), join(local, "got.txt")));
      expect(down).toBeInstanceOf(SshError);
      expect(down.message).toMatch(/beta.*no-such-file/);
      expect(readdirSync(local)).toEqual(["a.txt"]);

      const marker = `shriven-upload-${randomBytes(6).toString("hex")}`;
      // Large enough that even over an open master connection the copy outlasts 30 ms.
      writeFileSync(join(local, marker), randomBytes(64 << 20));
      const slow = await rejection(s.upload(beta.host, [join(local, marker)], beta.dir, { timeoutMs: 30 }));
      expect(slow).toBeInstanceOf(SshError);
      expect(slow.message).toMatch(/beta: upload of 1 file to .* timed out after 30 ms/);
      const leftover = [...allCommandLines()].filter(([, argv]) => argv.some((arg) => arg.includes(marker)));
      expect(livePids(leftover.map(([pid]) => pid))).toEqual([]);
      const aborted = await rejection(s.download(beta.host, join(beta.dir, "x"), join(local, "x"), { signal: AbortSignal.abort() }));
      expect(aborted.message).toMatch(/beta: download of .* was cancelled/);
      expect(existsSync(join(local, "x"))).toBe(false);
    });
  });

  it("talks to a host pinned by SHA256 fingerprint only and to one pinned by a known_hosts key line", async () => {
    const byFingerprint = { ...alpha.host, hostKey: alpha.fingerprint };
    const byKeyLine = { ...beta.host, hostKey: `${beta.host.hostKey.split(" ").slice(0, 2).join(" ")} a comment` };
    await withSession([byFingerprint, byKeyLine], async (s) => {
      expect((await s.run(byFingerprint, "echo alpha says hi")).stdout).toBe("alpha says hi\n");
      expect((await s.run(byKeyLine, "echo beta says hi")).stdout).toBe("beta says hi\n");
      const stranger = { ...alpha.host, name: "stranger", port: beta.host.port };
      expect(await rejection(s.run(stranger, "true"))).toBeInstanceOf(SshError);
    });
  });

  it("refuses a host pinned with another host's key line: HostKeyMismatch names both fingerprints, nothing runs or lands there", async () => {
    const impostor = { ...beta.host, hostKey: alpha.host.hostKey };
    const local = tempDir();
    writeFileSync(join(local, "payload.txt"), "payload");
    await withSession([impostor], async (s) => {
      const ran = await rejection(s.run(impostor, 'touch "$1"', [join(beta.dir, "executed")]));
      expect(ran).toBeInstanceOf(HostKeyMismatch);
      expect(ran.message).toContain("beta");
      expect(ran.message).toContain(`presented ${beta.fingerprint}`);
      expect(ran.message).toContain(`pinned ${alpha.fingerprint}`);
      expect(ran).toMatchObject({ presented: [beta.fingerprint], pinned: alpha.fingerprint, host: "beta" });

      const sent = await rejection(s.upload(impostor, [join(local, "payload.txt")], beta.dir));
      expect(sent).toBeInstanceOf(HostKeyMismatch);
      expect(sent.message).toContain(beta.fingerprint);
    });
    expect(existsSync(join(beta.dir, "executed"))).toBe(false);
    expect(existsSync(join(beta.dir, "payload.txt"))).toBe(false);
  });

  it("refuses a host pinned with another host's fingerprint at open, before anything is sent", async () => {
    const impostor = { ...beta.host, hostKey: alpha.fingerprint };
    const error = await rejection(SshSession.open([alpha.host, impostor], privateKey, { connectTimeoutSeconds: 5 }));
    expect(error).toBeInstanceOf(HostKeyMismatch);
    expect(error.message).toContain("beta");
    expect(error.message).toContain(beta.fingerprint);
    expect(error.message).toContain(alpha.fingerprint);
  });

  it("fails fast with an SshError naming host and user when the server does not accept the key", async () => {
    const stranger = await generateKeyPair("not-authorised");
    const started = performance.now();
    const error = await withSession(
      [alpha.host],
      (s) => rejection(s.run(alpha.host, `touch ${join(alpha.dir, "wrong-key")}`)),
      stranger.privateKey,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(SshError);
    expect(error).not.toBeInstanceOf(HostKeyMismatch);
    expect(error.message).toContain("alpha");
    expect(error.message).toContain(`${alpha.host.user}@127.0.0.1`);
    expect(error.message).toMatch(/authentication/);
    expect(existsSync(join(alpha.dir, "wrong-key"))).toBe(false);
    expect(leaks(inspect(error), keyFragments(stranger.privateKey))).toEqual([]);
  });

  it("fails quickly with an SshError for a port nobody listens on", async () => {
    const port = await freePort();
    const dead = { ...alpha.host, name: "gamma", port };
    const started = performance.now();
    const error = await withSession([dead], (s) => rejection(s.run(dead, "true")));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(SshError);
    expect(error.message).toMatch(/gamma.*cannot reach.*Connection refused/);

    const scanned = await rejection(SshSession.open([{ ...dead, hostKey: alpha.fingerprint }], privateKey, { connectTimeoutSeconds: 2 }));
    expect(scanned).toBeInstanceOf(SshError);
    expect(scanned).not.toBeInstanceOf(HostKeyMismatch);
    expect(scanned.message).toContain("gamma");
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  for (const how of ["timeout", "abort"] as const) {
    it(`on ${how}, kills the local ssh process group, and the remote command ends once it writes to the lost connection`, async () => {
      const marker = `shriven-${how}-${randomBytes(6).toString("hex")}`;
      const pidFile = join(alpha.dir, `${marker}.pid`);
      const controller = new AbortController();
      await withSession([alpha.host], async (s) => {
        const started = performance.now();
        const running = s.run(alpha.host, 'echo $$ > "$1"; while :; do echo tick; sleep 0.1; done', [pidFile, marker], {
          timeoutMs: how === "timeout" ? 3000 : undefined,
          signal: controller.signal,
        });
        const ssh = await pollFor("the local ssh process", () => localSsh(marker));
        expect(ssh.pgid).toBe(ssh.pid);
        // The shell creates the file before it writes the pid: wait for the whole line, not just the file.
        const remotePid = await pollFor("the remote pid", () => {
          const line = existsSync(pidFile) ? readFileSync(pidFile, "utf8") : "";
          return /^\d+\n$/.test(line) ? Number(line) : undefined;
        });
        expect(livePids([remotePid])).toEqual([remotePid]);
        if (how === "abort") setTimeout(() => controller.abort(), 300);
        const result = await running;
        seen.push(result);
        expect(result).toMatchObject({ exitCode: null, timedOut: how === "timeout", cancelled: how === "abort" });
        expect(result.stdout).toMatch(/^(tick\n)+$/);
        expect(performance.now() - started).toBeLessThan(8000);
        expect(groupAlive(ssh.pgid)).toBe(false);
        expect(livePids([ssh.pid])).toEqual([]);
        await pollFor("the remote command to end", () => (livePids([remotePid]).length === 0 ? true : undefined));
      });
    });
  }

  it("keeps the deploy key in a 0600 file in a 0700 dir, out of every argv, environment, error and result, and removes it on close", async () => {
    const before = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = "/tmp/agent-of-the-parent.sock";
    const byFingerprint = { ...beta.host, hostKey: beta.fingerprint };
    const session = await SshSession.open([alpha.host, byFingerprint], privateKey, { connectTimeoutSeconds: 5 });
    let keyFile = "";
    try {
      const marker = `shriven-key-${randomBytes(6).toString("hex")}`;
      const running = session.run(alpha.host, 'sleep 1.5; env; echo "$1"', [marker]);
      const ssh = await pollFor("the local ssh process", () => localSsh(marker));

      keyFile = optionOf(ssh.argv, "-i") ?? "";
      const knownHosts = optionOf(ssh.argv, "UserKnownHostsFile") ?? "";
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(statSync(join(keyFile, "..")).mode & 0o777).toBe(0o700);
      expect(readFileSync(keyFile, "utf8")).toBe(privateKey);
      expect(readFileSync(knownHosts, "utf8")).toBe(
        [alpha.host, beta.host].map((h) => `[127.0.0.1]:${h.port} ${h.hostKey.split(" ").slice(0, 2).join(" ")}\n`).join(""),
      );
      for (const [option, value] of [
        ["-F", "/dev/null"],
        ["BatchMode", "yes"],
        ["StrictHostKeyChecking", "yes"],
        ["GlobalKnownHostsFile", "/dev/null"],
        ["IdentitiesOnly", "yes"],
        ["ForwardAgent", "no"],
        ["ForwardX11", "no"],
        ["ClearAllForwardings", "yes"],
        ["ConnectTimeout", "5"],
        ["LogLevel", "ERROR"],
        ["-p", String(alpha.host.port)],
      ]) {
        expect(optionOf(ssh.argv, option as string), option).toBe(value);
      }

      const commandLines = [...allCommandLines().values()].map((argv) => argv.join("\0")).join("\n");
      expect(commandLines).toContain(keyFile);
      expect(leaks(commandLines, fragments)).toEqual([]);
      const environ = readFileSync(`/proc/${ssh.pid}/environ`, "utf8");
      expect(environ.split("\0").some((entry) => entry.startsWith("SSH_AUTH_SOCK="))).toBe(false);
      expect(leaks(environ, fragments)).toEqual([]);

      const result = await running;
      seen.push(result);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain(marker);
      expect(result.stdout).not.toContain("SSH_AUTH_SOCK");
      expect(leaks(JSON.stringify(result), fragments)).toEqual([]);
    } finally {
      await session.close();
      if (before === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = before;
    }
    expect(keyFile).not.toBe("");
    expect(existsSync(keyFile)).toBe(false);
    expect(existsSync(join(keyFile, ".."))).toBe(false);
    await session.close();
    expect(await rejection(session.run(alpha.host, "true"))).toBeInstanceOf(SshError);
  });

  it("close() stops a run still in flight (its ssh process group is gone) and the run reports cancelled", async () => {
    const marker = `shriven-close-${randomBytes(6).toString("hex")}`;
    const session = await SshSession.open([alpha.host], privateKey, { connectTimeoutSeconds: 5 });
    const running = session.run(alpha.host, 'sleep 30; echo "$1"', [marker]);
    const ssh = await pollFor("the local ssh process", () => localSsh(marker));
    const started = performance.now();
    await session.close();
    expect(performance.now() - started).toBeLessThan(5000);
    expect(groupAlive(ssh.pgid)).toBe(false);
    expect(await running).toMatchObject({ exitCode: null, cancelled: true, timedOut: false });
  });

  it("refuses a secret that is not a private key, and bad pins, without quoting the secret", async () => {
    const notAKey = await rejection(SshSession.open([alpha.host], "hunter2-not-a-key-secret"));
    expect(notAKey).toBeInstanceOf(SshError);
    expect(inspect(notAKey)).not.toContain("hunter2");
    const badPin = await rejection(SshSession.open([{ ...alpha.host, hostKey: "ssh-ed25519 not-base64!" }], privateKey));
    expect(badPin.message).toMatch(/alpha: the pinned host key is neither/);
    const badAddress = await rejection(SshSession.open([{ ...alpha.host, address: "-oProxyCommand=touch /tmp/x" }], privateKey));
    expect(badAddress.message).toMatch(/alpha: address/);
    const twice = await rejection(SshSession.open([alpha.host, { ...alpha.host, name: "alias", hostKey: beta.fingerprint }], privateKey));
    expect(twice.message).toMatch(/alias: 127\.0\.0\.1:\d+ is pinned twice with different host keys \(also as alpha\)/);

    const locked = tempDir();
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", join(locked, "id")]);
    const lockedKey = readFileSync(join(locked, "id"), "utf8");
    const passphrase = await rejection(SshSession.open([alpha.host], lockedKey));
    expect(passphrase).toBeInstanceOf(SshError);
    expect(passphrase.message).toMatch(/cannot be loaded \(invalid, or protected by a passphrase\)/);
    expect(leaks(inspect(passphrase), keyFragments(lockedKey))).toEqual([]);
  });
});
