import { existsSync, mkdirSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { execa } from "execa";
import { GroupStopper } from "../adapters/process-group.js";
import type { Command, ExecOptions, ExecResult, Runner } from "../core/command.js";
import { workspaceEnv } from "../core/least-privilege-env.js";

/** Options of the {@link HostRunner}. */
export interface HostRunnerOptions {
  /** Absolute path of the workspace commands run in. */
  readonly workspace: string;
  /** Time between SIGTERM and SIGKILL when stopping a command. */
  readonly killGraceMs?: number;
  /**
   * Secret values by name (env files, the environment profile). A command gets
   * the ones it lists in `secretEnv`, from here or else from the process
   * environment, and no other secret (see {@link workspaceEnv}).
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** Longest wait for killed processes to disappear before reporting a cancelled command. */
const GROUP_EXIT_LIMIT_MS = 5000;

/** Exit code used when a program cannot be started, as shells do for "not found". */
const NOT_STARTED = 127;

/**
 * Runs commands on the local toolchain with execa. Each command leads its own
 * process group; cancelling or timing out signals the whole group, so no
 * `cargo`/`rustc` survives the step. A command's environment is explicit
 * ({@link workspaceEnv}): the toolchain's variables, its own, and the secrets
 * it names — never the whole process environment.
 */
export class HostRunner implements Runner {
  readonly name = "host";
  private readonly workspace: string;
  private readonly killGraceMs: number;
  private readonly secrets: Readonly<Record<string, string>>;

  constructor(options: HostRunnerOptions) {
    this.workspace = resolve(options.workspace);
    this.killGraceMs = options.killGraceMs ?? 2000;
    this.secrets = options.secrets ?? {};
  }

  async exec(command: Command, options: ExecOptions = {}): Promise<ExecResult> {
    const [file, ...args] = command.argv;
    if (file === undefined) throw new TypeError("Command.argv must name a program");
    const env = workspaceEnv({ ...command, secrets: this.secrets });
    const cwd = this.insideWorkspace(command.cwd ?? ".", "cwd");
    for (const cache of command.caches ?? []) {
      mkdirSync(this.insideWorkspace(cache.path, `cache ${cache.key}`), { recursive: true });
    }
    const started = performance.now();
    if (options.signal?.aborted) return notRun(started, "cancelled before start", { cancelled: true });

    const tee = {
      *transform(chunk: unknown) {
        options.log?.write(chunk as Uint8Array);
        yield chunk;
      },
      binary: true,
    };
    // Merged output must keep the order the program wrote in: two pipes read side by side do not (a test
    // binary's "Running …" line on stderr can arrive after its results on stdout), one pipe does.
    const [program, ...programArgs] = command.mergeOutput === true ? ["sh", "-c", 'exec "$@" 2>&1', "sh", file, ...args] : [file, ...args];
    const subprocess = execa(program as string, programArgs, {
      cwd,
      env,
      extendEnv: false,
      detached: true,
      reject: false,
      all: true,
      stdin: "ignore",
      stdout: [tee],
      stderr: [tee],
      stripFinalNewline: false,
      encoding: "utf8",
    });

    const stopper = new GroupStopper(subprocess.pid, this.killGraceMs, command.timeoutMs, [options.signal]);
    const result = await subprocess;
    // The leader is gone; make sure none of its children outlive it, and that they are gone before the step reports back.
    await stopper.settle(GROUP_EXIT_LIMIT_MS);
    const { timedOut, cancelled } = stopper;

    const durationMs = performance.now() - started;
    if (result.exitCode === undefined && result.signal === undefined && !timedOut && !cancelled) {
      const reason = (result.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT" ? "not found on PATH" : result.shortMessage;
      return notRun(started, `shriven-pipeline: cannot start ${file}: ${reason}\n`, {});
    }
    return {
      exitCode: result.exitCode ?? null,
      stdout: result.stdout ?? "",
      stderr: result.stderr ?? "",
      output: result.all ?? "",
      durationMs,
      timedOut,
      cancelled: cancelled && !timedOut,
      outputs: this.collectOutputs(command.outputs ?? []),
    };
  }

  private collectOutputs(paths: readonly string[]): Record<string, string> {
    const found: Record<string, string> = {};
    for (const path of paths) {
      const local = this.insideWorkspace(path, "output");
      if (existsSync(local)) found[path] = local;
    }
    return found;
  }

  private insideWorkspace(path: string, what: string): string {
    const full = resolve(this.workspace, path);
    const rel = relative(this.workspace, full);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new TypeError(`${what} ${JSON.stringify(path)} is outside the workspace ${this.workspace}`);
    }
    return full;
  }
}

function notRun(started: number, message: string, flags: { cancelled?: boolean }): ExecResult {
  const cancelled = flags.cancelled === true;
  const text = cancelled ? "" : message;
  return {
    exitCode: cancelled ? null : NOT_STARTED,
    stdout: "",
    stderr: text,
    output: text,
    durationMs: performance.now() - started,
    timedOut: false,
    cancelled,
    outputs: {},
  };
}
