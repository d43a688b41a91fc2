/**
 * Reading a database copy as the audit needs it, whichever form it has: a
 * folder of advisory files or a snapshot file. Both give the same advisories.
 */

import { type LoadedAdvisories, loadAdvisories, type NewestAdvisory, newestAdvisory } from "./advisory-db.js";
import type { AdvisoryDatabaseHandle } from "./advisory-handle.js";
import { readSnapshotFile, snapshotAdvisories, snapshotNewest } from "./advisory-snapshot.js";

/** What the audit reads from a copy. */
export interface CopyContents {
  /** The advisories of the crates asked for. */
  readonly loaded: LoadedAdvisories;
  /** The copy's newest advisory. */
  readonly newest: NewestAdvisory;
}

/**
 * The advisories of `crates` in the copy, and its newest advisory.
 * @throws AdvisoryDatabaseError when the copy is missing or (a snapshot) not valid.
 */
export function readAdvisoryCopy(copy: Pick<AdvisoryDatabaseHandle, "path" | "format">, crates: Iterable<string>): CopyContents {
  if (copy.format === "folder") return { loaded: loadAdvisories(copy.path, crates), newest: newestAdvisory(copy.path) };
  const snapshot = readSnapshotFile(copy.path);
  return { loaded: snapshotAdvisories(snapshot, crates), newest: snapshotNewest(snapshot) };
}
