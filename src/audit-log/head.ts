/**
 * The chain head: the last entry's seq and the SHA-256 of its line. The chain cannot show a change to its own
 * last line, so the head is published elsewhere (the stage report, the Slack notice, the release notes) to pin
 * the end of the log.
 */
import { readLastEntry } from "./append.js";

/** The last entry of a log and the SHA-256 of its line. */
export interface AuditChainHead {
  readonly seq: number;
  readonly sha256: string;
}

/**
 * The head of the log at `file`, reading only its tail; undefined for a missing or empty log.
 * @throws AuditLogError when the last line is not a valid entry.
 */
export function auditChainHead(file: string): AuditChainHead | undefined {
  const last = readLastEntry(file);
  return last === undefined ? undefined : { seq: last.seq, sha256: last.hash };
}
