/** Errors a user can act on. The CLI maps them to exit codes. */

/** Bad command-line usage (exit code 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A configuration or environment file, or a value in it, is invalid (exit code 2). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  /**
   * @param source The file (or `process environment`) the bad value came from.
   * @param problems One line per problem, each naming the key (and line where known).
   */
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}:${problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join("\n  ")}`}`);
  }
}
