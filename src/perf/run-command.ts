/**
 * How the hot-path gates run their commands: through a step's runner, so the
 * step's abort signal and time limit apply and the output goes to the step's
 * log like every other command's.
 */
import type { Command, ExecResult } from "../core/command.js";
import { PipelineError } from "../core/errors.js";
import { HostRunner } from "../runners/host-runner.js";

/** Runs one command; a step passes its `context.exec`. */
export type RunCommand = (command: Command) => Promise<ExecResult>;

/** A hot-path gate could not run its command or read what it measured; the message says which command and why. */
export class GateRunError extends PipelineError {
  override readonly name: string = "GateRunError";
}

/**
 * `exec`, or when absent a {@link HostRunner} whose workspace is the current
 * directory (for callers outside a step: no abort signal, no log).
 */
export function commandRunner(exec: RunCommand | undefined): RunCommand {
  return exec ?? ((command) => new HostRunner({ workspace: process.cwd() }).exec(command));
}

/** A result the caller's runner stopped (a runner that reports rather than throws), as an error naming `program`. */
export function stoppedByRunner(result: ExecResult, program: string): GateRunError | undefined {
  if (result.cancelled) return new GateRunError(`${program} was cancelled`);
  if (result.timedOut) return new GateRunError(`${program} ran out of the step's time`);
  return undefined;
}

/** The last ten lines of `output`, introduced for an error message; empty when there is none. */
export function outputTail(output: string): string {
  const lines = output.trimEnd().split("\n").slice(-10).join("\n");
  return lines === "" ? "" : `; stderr:\n${lines}`;
}
