/**
 * The audit log's settings: where it lives and how long its entries are kept.
 */

/** Where the audit log lives, relative to the workspace. */
export const DEFAULT_AUDIT_LOG = ".shriven-pipeline/audit/audit.jsonl";

/** Pruning removes the entries older than this many days unless told otherwise. */
export const DEFAULT_MAX_AGE_DAYS = 90;

/** The line after which a stage run in the Dagger module prints the audit records it appended. */
export const AUDIT_RECORDS_HEADER = "Audit records of this run";
