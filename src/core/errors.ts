/**
 * Errors a user can act on. Each is a {@link PipelineError}: its message says
 * what is wrong and where, its `exitCode` is what the CLI exits with, and its
 * `cause` keeps the underlying error. A step that throws one fails with its
 * message; anything else thrown is an internal error.
 */

/** An error a user can act on (exit code 1 unless a subclass says otherwise). */
export class PipelineError extends Error {
  override readonly name: string = "PipelineError";
  /** What the CLI exits with when this error ends a command: 1 a check or action failed, 2 usage or configuration. */
  readonly exitCode: number = 1;
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends PipelineError {
  override readonly name: string = "UsageError";
  override readonly exitCode: number = 2;
}

/** `source:` then the problems, on one line when there is one, else one indented line each. */
export function formatProblems(source: string, problems: readonly string[]): string {
  return `${source}:${problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join("\n  ")}`}`;
}

/** Problems found in one source (a file, an input, an option), one line each, each naming the key, field or line. */
export class ProblemsError extends PipelineError {
  override readonly name: string = "ProblemsError";

  /**
   * @param source The file (or input) the problems are in.
   * @param problems One line per problem, each naming the key, field or line where known.
   * @param options The underlying error, as `cause`.
   */
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(formatProblems(source, problems), options);
  }
}

/** A configuration or environment file, or a value in it, is invalid (exit code 2). */
export class ConfigError extends ProblemsError {
  override readonly name: string = "ConfigError";
  override readonly exitCode: number = 2;
}
