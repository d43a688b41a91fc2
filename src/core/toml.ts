import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./errors.js";

/**
 * Parses TOML, turning a syntax error into a ConfigError with the file's
 * line and column.
 * @param firstLine The file line the text starts on (front matter inside a file starts below line 1).
 * @param what Where in the file the TOML is, for the message (e.g. "in the front matter").
 */
export function parseTomlText(text: string, file: string, options: { firstLine?: number; what?: string } = {}): unknown {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = (error.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
    const line = error.line + (options.firstLine ?? 1) - 1;
    throw new ConfigError(file, [
      `line ${line}, column ${error.column}: invalid TOML${options.what === undefined ? "" : ` ${options.what}`}: ${reason}`,
    ]);
  }
}
