import { readFileSync } from "node:fs";
import { ConfigError } from "../core/errors.js";

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
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "file not found"
        : code === "EISDIR"
          ? "is a directory, expected a file"
          : code === "EACCES" || code === "EPERM"
            ? "cannot read the file: permission denied"
            : `cannot read the file: ${(error as Error).message}`;
    throw new ConfigError(path, [reason]);
  }
  if (bytes.length > MAX_BYTES) throw new ConfigError(path, [`file is ${bytes.length} bytes; at most ${MAX_BYTES} expected`]);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(path, ["is not valid UTF-8 text"]);
  }
}
