/**
 * Atomic replacement of the audit log, for pruning.
 */
import { writeFileAtomically } from "../core/atomic-file.js";
import { fsError } from "./audit-log-error.js";

/** Replaces `file` whole or not at all (temporary file, fsync, rename), mode 0640. */
export function replaceFile(file: string, bytes: Buffer): void {
  try {
    writeFileAtomically(file, bytes, { mode: 0o640, fsync: true });
  } catch (error) {
    throw fsError(file, error, "cannot rewrite the audit log");
  }
}
