/**
 * Runs step commands in a Dagger container: the same argv as on the host,
 * with the workspace mounted, cache volumes for the caches a command names,
 * secrets as `Secret`s, and non-zero exits returned as data. Each command's
 * environment is the toolchain image's, the variables it sets, and only the
 * secrets it names in `secretEnv`.
 */
import { posix } from "node:path";
import { type CacheVolume, type Container, type Directory, ReturnType, type Secret } from "@dagger.io/dagger";
import type { CacheMount, Command, ExecOptions, ExecResult, Runner } from "../core/command.js";
import { checkCommandEnv } from "../core/least-privilege-env.js";
import { execFailure } from "./exec-failure.js";

/** Where produced files are copied to, out of any cache mount, before they are handed back. */
export const OUTPUT_DIR = "/shriven-outputs";

/** Grace `timeout` gives a command after SIGTERM before SIGKILL, in seconds. */
const KILL_AFTER_SECONDS = 10;

/** Exit code of coreutils `timeout` when the command ran out of time. */
const TIMED_OUT = 124;

/** Options of the {@link DaggerRunner}. */
export interface DaggerRunnerOptions {
  /** The toolchain container with the workspace mounted at {@link workdir}. */
  readonly base: Container;
  /** Where the workspace is mounted (absolute). */
  readonly workdir: string;
  /** The cache volume for a cache a command names. */
  readonly cacheVolume: (cache: CacheMount) => CacheVolume;
  /** Secrets by environment variable name; a command gets those it lists in `secretEnv`. */
  readonly secrets?: Readonly<Record<string, Secret>>;
  /**
   * Work that must be done before `command` runs (e.g. the one dependency download the build commands read
   * offline), or undefined when there is none. When it fails, the command is not run and fails with its message.
   */
  readonly before?: (command: Command) => Promise<void> | undefined;
}

/** The argv actually executed: the step's argv, wrapped for a timeout and merged output when asked. */
export function containerArgv(command: Command): string[] {
  let argv = [...command.argv];
  if (command.timeoutMs !== undefined) {
    argv = ["timeout", `--kill-after=${KILL_AFTER_SECONDS}`, String(Math.max(1, Math.ceil(command.timeoutMs / 1000))), ...argv];
  }
  if (command.mergeOutput === true) argv = ["sh", "-c", 'exec "$@" 2>&1', "sh", ...argv];
  return argv;
}

/** Implements {@link Runner} on a Dagger container. */
export class DaggerRunner implements Runner {
  readonly name = "dagger";
  private readonly options: DaggerRunnerOptions;
  private produced: Directory | undefined;

  constructor(options: DaggerRunnerOptions) {
    this.options = options;
  }

  /** The files commands produced (under their workspace-relative paths), or `undefined` when none asked to. */
  outputs(): Directory | undefined {
    return this.produced;
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const started = performance.now();
    if (options.signal?.aborted) return cancelledResult(started);
    try {
      await this.options.before?.(command);
    } catch (error) {
      return this.logged(notRunResult(started, `${(error as Error).message}\n`), options);
    }
    const executed = this.prepare(command).withExec(containerArgv(command), { expect: ReturnType.Any });
    const finished = this.collect(executed, command, started);
    const { signal } = options;
    if (signal === undefined) return this.logged(await finished, options);
    // The engine stops the exec when the session ends; the step does not wait for it.
    let onAbort = (): void => {};
    const aborted = new Promise<ExecResult>((resolve) => {
      onAbort = () => resolve(cancelledResult(started));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return this.logged(await Promise.race([finished, aborted]), options);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private logged(result: ExecResult, options: ExecOptions): ExecResult {
    if (!result.cancelled) options.log?.write(result.output);
    return result;
  }

  private prepare(command: Command): Container {
    checkCommandEnv(command);
    const { workdir, secrets = {} } = this.options;
    let container = this.options.base;
    for (const cache of command.caches ?? []) {
      container = container.withMountedCache(inside(workdir, cache.path, `cache ${cache.key}`), this.options.cacheVolume(cache));
    }
    if (command.cwd !== undefined) container = container.withWorkdir(inside(workdir, command.cwd, "cwd"));
    for (const [name, value] of Object.entries(command.env ?? {})) container = container.withEnvVariable(name, value);
    for (const name of command.secretEnv ?? []) {
      const secret = secrets[name];
      if (secret !== undefined) container = container.withSecretVariable(name, secret);
    }
    return container;
  }

  private async collect(executed: Container, command: Command, started: number): Promise<ExecResult> {
    let exitCode: number;
    let stdout: string;
    let stderr: string;
    try {
      exitCode = await executed.exitCode();
      stdout = await executed.stdout();
      stderr = await executed.stderr();
    } catch (error) {
      // Exit codes 128–191 (killed by a signal) are not "any" to the engine: it reports them as an ExecError.
      const failure = execFailure(error);
      if (failure === undefined) throw error;
      ({ exitCode, stdout, stderr } = failure);
    }
    const outputs = await this.copyOutputs(executed, command);
    const timedOut = command.timeoutMs !== undefined && exitCode === TIMED_OUT;
    return {
      exitCode: timedOut ? null : exitCode,
      stdout,
      stderr,
      output: command.mergeOutput === true ? stdout : stdout + stderr,
      durationMs: performance.now() - started,
      timedOut,
      cancelled: false,
      outputs,
    };
  }

  /** Copies produced files out of the workspace and its cache mounts, so they can be exported. */
  private async copyOutputs(executed: Container, command: Command): Promise<Record<string, string>> {
    const wanted = command.outputs ?? [];
    if (wanted.length === 0) return {};
    for (const path of wanted) inside(this.options.workdir, path, "output");
    const copied = executed
      .withExec([
        "sh",
        "-c",
        `for f; do [ -f "$f" ] && mkdir -p "${OUTPUT_DIR}/$(dirname "$f")" && cp -p "$f" "${OUTPUT_DIR}/$f"; done; true`,
        "sh",
        ...wanted,
      ])
      .directory(OUTPUT_DIR);
    const present = new Set(await copied.glob("**/*"));
    this.produced = this.produced === undefined ? copied : this.produced.withDirectory(".", copied);
    return Object.fromEntries(wanted.filter((p) => present.has(posix.normalize(p))).map((p) => [p, posix.join(OUTPUT_DIR, p)]));
  }
}

function inside(workdir: string, path: string, what: string): string {
  const full = posix.resolve(workdir, path);
  if (full !== workdir && !full.startsWith(`${workdir}/`)) {
    throw new TypeError(`${what} ${JSON.stringify(path)} is outside the workspace ${workdir}`);
  }
  return full;
}

function cancelledResult(started: number): ExecResult {
  return {
    exitCode: null,
    stdout: "",
    stderr: "",
    output: "",
    durationMs: performance.now() - started,
    timedOut: false,
    cancelled: true,
    outputs: {},
  };
}

/** A command that never ran because the work before it failed: exit 1, the failure as its output. */
function notRunResult(started: number, message: string): ExecResult {
  return {
    exitCode: 1,
    stdout: "",
    stderr: message,
    output: message,
    durationMs: performance.now() - started,
    timedOut: false,
    cancelled: false,
    outputs: {},
  };
}
