/**
 * The memory gate's measurement: a command run through the step's runner
 * under the supervisor (supervised-command.ts), which samples the program's
 * resident set size from `/proc/<pid>/status` while it runs. The step's abort
 * signal and time limit apply, and the program's output goes to its log.
 */
import type { RssSample } from "./memory-growth.js";
import { commandRunner, GateRunError, type RunCommand } from "./run-command.js";
import { readSupervisedRun, supervisedCommand } from "./supervised-command.js";

/** Options of {@link measureCommandMemory}. */
export interface MeasureCommandOptions {
  /** Pause between two RSS readings, in ms. */
  readonly intervalMs: number;
  /** The command is stopped (SIGTERM, then SIGKILL after 2 s) when it runs longer. */
  readonly timeoutMs: number;
  /** Runs the command; a step passes `context.exec`. Default: on the host, in the current directory. */
  readonly exec?: RunCommand;
  /** The command's own variables (the environment profile's), on top of the toolchain's (the runner's workspace environment). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Outcome of {@link measureCommandMemory}. */
export interface CommandMemory {
  /** Exit code, or null when the command was killed by a signal (e.g. on timeout). */
  readonly exitCode: number | null;
  /** RSS samples taken while it ran. */
  readonly samples: RssSample[];
}

/**
 * Runs `argv` (no shell of its own, through `exec`) and samples its RSS every
 * `intervalMs` until it exits. Feed the samples to `analyzeMemoryGrowth`.
 * Only the process itself is sampled, not its children.
 *
 * @throws GateRunError when the command cannot be started; Error for invalid options.
 */
export async function measureCommandMemory(argv: string[], options: MeasureCommandOptions): Promise<CommandMemory> {
  const [file] = argv;
  if (file === undefined || file === "") throw new Error("measureCommandMemory: argv must name a command (argv[0])");
  const command = supervisedCommand(argv, {
    intervalMs: options.intervalMs,
    timeoutMs: options.timeoutMs,
    sampleRss: true,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const run = readSupervisedRun(await commandRunner(options.exec)(command), file);
  if (run.notStarted !== undefined) {
    throw new GateRunError(`cannot start ${file}: not found or not executable (check that it exists and is executable)`);
  }
  return { exitCode: run.exitCode, samples: run.samples };
}
