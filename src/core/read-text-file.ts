import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.js";

/** Largest configuration file we accept; anything bigger is not a config file. */
const MAX_BYTES = 1024 * 1024;

/**
 * Reads a UTF-8 text file, turning every way it can fail into a
 * {@link ConfigError} that names the file.
 */
export function readTextFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ConfigError(path, [readFailure(error)]);
  }
  if (bytes.length > MAX_BYTES) throw new ConfigError(path, [`file is ${bytes.length} bytes; at most ${MAX_BYTES} expected`]);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(path, ["is not valid UTF-8 text"]);
  }
}

/**
 * Why reading a file failed, in words: "file not found", "is a directory,
 * expected a file", or `<doing>: permission denied` / `<doing>: <message>`.
 */
export function readFailure(error: unknown, doing = "cannot read the file"): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "file not found";
  if (code === "EISDIR") return "is a directory, expected a file";
  if (code === "EACCES" || code === "EPERM") return `${doing}: permission denied`;
  return `${doing}: ${(error as Error).message}`;
}
