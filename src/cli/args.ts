/**
 * Command-line options of the subcommands: node's parseArgs, strict, no
 * positionals, with its errors turned into usage errors (exit code 2).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../core/errors.js";

/** Parsed option values; repeatable options are arrays. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Parses `args` strictly against `options`. @throws UsageError naming the bad option. */
export function parseOptions(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): OptionValues {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as OptionValues;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A string option's value, or undefined (also for a flag or a repeated option). */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
