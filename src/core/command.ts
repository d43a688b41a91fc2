/**
 * What a step asks a runner to execute, and what comes back. Runners (host,
 * Dagger) implement {@link Runner}; steps only ever see these types.
 */

/** A persistent cache a command needs, e.g. cargo's target directory. */
export interface CacheMount {
  /** Stable name of the cache; runners derive their volume or folder from it. */
  readonly key: string;
  /** Where the cache lives, relative to the workspace root (e.g. `target`). */
  readonly path: string;
}

/** One process to run in the workspace. */
export interface Command {
  /** Program and arguments; never passed through a shell. */
  readonly argv: readonly string[];
  /** Extra environment variables for this process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory relative to the workspace root; defaults to the root. */
  readonly cwd?: string;
  /** Kill the process (and its children) after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Caches the command reads and writes. */
  readonly caches?: readonly CacheMount[];
  /** Files the command produces, relative to the workspace root, to hand back. */
  readonly outputs?: readonly string[];
  /**
   * Names of secret environment variables the command may need (e.g.
   * `CARGO_REGISTRY_TOKEN`). The step never sees their values: each runner
   * supplies the ones it holds (the host from env files, Dagger as `Secret`s).
   */
  readonly secretEnv?: readonly string[];
  /**
   * The step reads stdout and stderr as one stream in arrival order
   * (`ExecResult.output`); runners that cannot interleave them otherwise
   * merge them at the source.
   */
  readonly mergeOutput?: boolean;
}

/** The outcome of one {@link Command}. A non-zero exit is data, not an exception. */
export interface ExecResult {
  /** Exit code, or `null` when the process was killed by a signal. */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /**
   * stdout and stderr together: interleaved in arrival order when the command
   * asked for `mergeOutput` (or the runner always can), else stdout then stderr.
   */
  readonly output: string;
  readonly durationMs: number;
  /** The command ran past its `timeoutMs` and was killed. */
  readonly timedOut: boolean;
  /** The command was stopped by its abort signal. */
  readonly cancelled: boolean;
  /** Produced files that exist, keyed by their workspace-relative path, valued by a local path. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** A sink for a step's live output (its log file). */
export interface OutputSink {
  write(chunk: string | Uint8Array): void;
}

/** Per-call options a runner receives next to the command. */
export interface ExecOptions {
  /** Aborting kills the whole process tree of the command. */
  readonly signal?: AbortSignal;
  /** Where to stream output as it arrives. */
  readonly log?: OutputSink;
}

/** Executes commands for steps. Adding a step never touches a runner. */
export interface Runner {
  /** Short name shown in reports (`host`, `dagger`). */
  readonly name: string;
  exec(command: Command, options?: ExecOptions): Promise<ExecResult>;
}

/** Renders argv as a shell-like line for logs (for display only, never executed). */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w./=:@,+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(" ");
}
