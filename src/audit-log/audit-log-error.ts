/**
 * The one error the audit log raises: the file (or lock file) and what is wrong with it, line by line.
 */

import { ProblemsError } from "../core/errors.js";
import { readFailure } from "../core/read-text-file.js";

/** The audit log cannot be read, appended to or pruned; the message names the file (and line). */
export class AuditLogError extends ProblemsError {
  override readonly name: string = "AuditLogError";
}

/** An {@link AuditLogError} for a failed file-system call on `file` while `doing` something. */
export function fsError(file: string, error: unknown, doing: string): AuditLogError {
  return new AuditLogError(file, [readFailure(error, doing)]);
}
