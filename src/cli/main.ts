import { ConfigError, PipelineError, UsageError } from "../core/errors.js";
import { toolVersion } from "../pipeline/version.js";
import { parseCommandArgs } from "./command.js";
import type { CliIo } from "./io.js";
import { COMMANDS, commandNamed, OFFERED_NAMES } from "./registry.js";
import { renderUsage } from "./usage.js";

/** Runs the CLI with `args` (without `node` and the script). */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  try {
    return await dispatch(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`shriven-pipeline: ${error.message}\nRun 'shriven-pipeline --help' for usage.\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`shriven-pipeline: configuration error in ${error.message}\nNo step was run.\n`);
      return 2;
    }
    if (error instanceof PipelineError) {
      io.stderr.write(`shriven-pipeline: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), handleSignals: true };
}

async function dispatch(args: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(renderUsage(COMMANDS));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`shriven-pipeline ${toolVersion()}\n`);
    return 0;
  }
  const command = commandNamed(name);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}; expected ${OFFERED_NAMES.join(", ")} or help`);
  const parsed = parseCommandArgs(command, rest);
  if (parsed.values.help === true) {
    io.stdout.write(command.help ?? renderUsage(COMMANDS));
    return 0;
  }
  return command.run(parsed, io);
}
