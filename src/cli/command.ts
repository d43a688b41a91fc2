/**
 * What a command of the `shriven-pipeline` CLI declares: its name, a summary,
 * its options and how the usage shows them, and what it runs. The dispatcher
 * (main.ts) parses a command's arguments with its option table and the
 * top-level usage (usage.ts) is generated from these declarations.
 */
import { type OptionTable, type ParsedArgs, parseArguments } from "./args.js";
import type { CliIo } from "./io.js";

/** One command: `shriven-pipeline <name> …`. */
export interface CliCommand {
  /** What the user types after `shriven-pipeline`. */
  readonly name: string;
  /** Its positional arguments as the usage shows them after the name (`<stage>`); absent when it takes none. */
  readonly operands?: string;
  /** What it does, in one sentence; the usage wraps it to its width. */
  readonly summary: string;
  /** Its options as the usage shows them under the summary, one entry per line. */
  readonly usage: readonly string[];
  /**
   * Its options, parsed strictly before it runs (a bad one is a usage error). Absent: it gets its arguments
   * unparsed, as positionals (a command with subcommands parses each one's options itself).
   */
  readonly options?: OptionTable;
  /**
   * What `--help` prints when its options have `help`: this text, or the top-level usage when absent
   * (without `help` among its options, `--help` is an unknown option).
   */
  readonly help?: string;
  /** Sections the top-level usage shows after the list of commands (run's options), each ending in a newline. */
  readonly usageSections?: readonly string[];
  /** Runs it with its parsed arguments; returns the exit code. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** A command's arguments parsed with its option table, or unparsed as positionals when it has none. */
export function parseCommandArgs(command: CliCommand, args: readonly string[]): ParsedArgs {
  if (command.options === undefined) return { values: {}, positionals: args };
  return parseArguments(args, command.options, command.operands !== undefined);
}

/**
 * A command's `run` that imports the module doing its work (src/cli/actions/<name>.ts) when it is called: the
 * bundled CLI holds each in a chunk of its own, so the usage, `--help` and `list` load only the declarations
 * (docs/architecture.md, test/cli/startup.e2e.test.ts).
 */
export function lazyRun(load: () => Promise<{ readonly run: CliCommand["run"] }>): CliCommand["run"] {
  return async (args, io) => (await load()).run(args, io);
}
