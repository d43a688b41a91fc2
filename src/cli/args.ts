/**
 * Command-line options: node's parseArgs, strict, with its errors turned into
 * usage errors (exit code 2).
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../core/errors.js";

/** A command's option table, as node:util parseArgs takes it. */
export type OptionTable = NonNullable<ParseArgsConfig["options"]>;

/** Parsed option values; repeatable options are arrays. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Arguments parsed against an option table: the options' values and the positional arguments. */
export interface ParsedArgs {
  readonly values: OptionValues;
  readonly positionals: readonly string[];
}

/** Parses `args` strictly against `options`, positionals allowed or not. @throws UsageError naming the bad option. */
export function parseArguments(args: readonly string[], options: OptionTable, allowPositionals: boolean): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals });
    return { values: values as OptionValues, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Parses `args` strictly against `options`, no positionals. @throws UsageError naming the bad option. */
export function parseOptions(args: readonly string[], options: OptionTable): OptionValues {
  return parseArguments(args, options, false).values;
}

/** A string option's value, or undefined (also for a flag or a repeated option). */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A repeatable string option's values, or undefined when it is not given. */
export function texts(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : undefined;
}
