/**
 * The deploy transport of local targets: the same scripts a deploy sends to
 * a host over SSH, run here with `sh -c <script> sh <args…>` in the target's
 * deploy root; uploads and downloads are copies. So a local target runs the
 * hosts' own deploy, switch, health-check and rollback code.
 *
 * Each script runs in its own process group with a small environment (no
 * secret of the pipeline reaches it), and is stopped as a group on timeout or
 * abort. Only the targets the transport was made for are accepted, and files
 * only move inside their deploy roots.
 */
import { randomBytes } from "node:crypto";
import { copyFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { execa } from "execa";
import { signalGroup, waitForGroupExit } from "../adapters/process-group.js";
import type { SshHost } from "../adapters/ssh/host.js";
import type { RemoteResult, RunOptions, TransferOptions } from "../adapters/ssh/transport.js";
import { PipelineError } from "../core/errors.js";
import type { RemoteTransport } from "./context.js";
import type { DeployHost } from "./policy.js";

/** A local target was misused (not one of the run's, a path outside its root) or a copy failed; the message names it. */
export class LocalTargetError extends PipelineError {
  override readonly name: string = "LocalTargetError";
}

/** Variables a local script gets from the pipeline's environment; everything else (secrets included) stays out. */
const PASSED_ENV = new Set(["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"]);
/** Time between SIGTERM and SIGKILL when a script is stopped. */
const KILL_GRACE_MS = 2000;
/** Longest wait for a stopped script's processes to disappear. */
const GROUP_EXIT_LIMIT_MS = 5000;

function localEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && (PASSED_ENV.has(name) || name.startsWith("LC_"))) env[name] = value;
  return env;
}

/** Runs deploy scripts on, and copies files to and from, the local targets it was made for. */
export class LocalTransport implements RemoteTransport {
  private readonly roots: ReadonlyMap<string, string>;

  /** @throws LocalTargetError when a host is not a local target. */
  constructor(targets: readonly DeployHost[]) {
    for (const target of targets)
      if (target.local === undefined) throw new LocalTargetError(`${target.name} is a host, not a local target: it is reached over SSH`);
    this.roots = new Map(targets.map((t) => [t.name, resolve(t.path)]));
  }

  /** Runs `script` as `sh -c <script> sh <args…>` in the target's deploy root, like a host's `run` over SSH. */
  async run(host: SshHost, script: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RemoteResult> {
    const root = this.rootOf(host);
    const stopped: RemoteResult = { exitCode: null, stdout: "", stderr: "", timedOut: false, cancelled: true };
    if (options.signal?.aborted === true) return stopped;
    const subprocess = execa("sh", ["-c", script, "sh", ...args], {
      cwd: root,
      env: localEnvironment(),
      extendEnv: false,
      detached: true,
      reject: false,
      input: options.input ?? "",
      stripFinalNewline: false,
      encoding: "utf8",
    });
    const pgid = subprocess.pid;
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
    const timer =
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
      if (result.exitCode === undefined && result.signal === undefined && !timedOut && !cancelled)
        throw new LocalTargetError(`${host.name}: cannot start sh: ${result.shortMessage}`);
      return {
        exitCode: timedOut || cancelled ? null : (result.exitCode ?? null),
        stdout: result.stdout ?? "",
        stderr: result.stderr ?? "",
        timedOut,
        cancelled: cancelled && !timedOut,
      };
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
      clearTimeout(killTimer);
    }
  }

  /** Copies local files (modes kept) into an existing directory of the target, as `scp` does to a host. */
  async upload(host: SshHost, localFiles: readonly string[], remoteDir: string, options: TransferOptions = {}): Promise<void> {
    const dir = this.inside(host, remoteDir);
    const info = await stat(dir).catch(() => undefined);
    if (info?.isDirectory() !== true)
      throw new LocalTargetError(`${host.name}: upload of ${localFiles.length} file(s) to ${dir}: no such directory`);
    const names = new Set<string>();
    for (const file of localFiles) {
      const source = await stat(file).catch(() => undefined);
      if (source?.isFile() !== true) throw new LocalTargetError(`${host.name}: ${file} is not a local file`);
      if (names.has(basename(file))) throw new LocalTargetError(`${host.name}: two files to upload are named ${basename(file)}`);
      names.add(basename(file));
    }
    for (const file of localFiles) {
      if (options.signal?.aborted === true) throw new LocalTargetError(`${host.name}: upload to ${dir} was cancelled`);
      await copyFile(file, join(dir, basename(file)));
    }
  }

  /** Copies a file of the target to a local path, which appears only once complete. */
  async download(host: SshHost, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<void> {
    const source = this.inside(host, remotePath);
    if (options.signal?.aborted === true) throw new LocalTargetError(`${host.name}: download of ${source} was cancelled`);
    const destination = resolve(localPath);
    const partial = join(dirname(destination), `.${basename(destination)}.part-${randomBytes(6).toString("hex")}`);
    try {
      await copyFile(source, partial);
      await rename(partial, destination);
    } catch (error) {
      throw new LocalTargetError(`${host.name}: download of ${source} failed: ${(error as Error).message}`);
    } finally {
      await rm(partial, { force: true });
    }
  }

  private rootOf(host: SshHost): string {
    const root = this.roots.get(host.name);
    if (root === undefined) throw new LocalTargetError(`${host.name} is not a local target of this run`);
    return root;
  }

  /** `path` resolved, which must lie inside the target's deploy root. */
  private inside(host: SshHost, path: string): string {
    const root = this.rootOf(host);
    const resolved = resolve(root, path);
    const within = relative(root, resolved);
    if (within === "" || within === ".." || within.startsWith(`..${sep}`) || isAbsolute(within))
      throw new LocalTargetError(`${host.name}: ${path} is outside its deploy root ${root}`);
    return resolved;
  }
}
