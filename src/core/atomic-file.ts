/** Replacing a file whole or not at all: a reader sees the old content or the new, never half of it. */
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";

/** How a file is written. */
export interface AtomicWriteOptions {
  /** The file's mode (default 0644, before the umask). */
  readonly mode?: number;
  /** Flush the data to disk before the rename, for records that must survive a crash (default false). */
  readonly fsync?: boolean;
}

/**
 * Writes `data` to a temporary file beside `path`, then renames it over
 * `path`. On any failure the temporary file is removed and the error thrown;
 * `path` is left as it was.
 */
export function writeFileAtomically(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const temporary = `${path}.${process.pid}.tmp`;
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  try {
    const fd = openSync(temporary, "w", options.mode ?? 0o644);
    try {
      if (options.mode !== undefined) fchmodSync(fd, options.mode);
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      if (options.fsync === true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Never made, or already renamed.
    }
    throw error;
  }
}
