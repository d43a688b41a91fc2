import type { Command, ExecResult, Runner } from "../../src/core/command.js";

/** A runner that only records what it is asked to run, answering success with no output. */
export class RecordingRunner implements Runner {
  readonly name = "recording";
  readonly commands: Command[] = [];

  async exec(command: Command): Promise<ExecResult> {
    this.commands.push(command);
    return { exitCode: 0, stdout: "", stderr: "", output: "", durationMs: 0, timedOut: false, cancelled: false, outputs: {} };
  }
}
