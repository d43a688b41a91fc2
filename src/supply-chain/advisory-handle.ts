/** Which link of the fallback chain gave the advisory data: a given copy, git, the cache, or the package's own snapshot. */
export type AdvisorySource = "local copy" | "fetched" | "cached clone" | "bundled snapshot";

/** A readable copy of the RustSec advisory database, and how old its data is. */
export interface AdvisoryDatabaseHandle {
  /** A database folder (`crates/<name>/RUSTSEC-*.md`) or a snapshot file. */
  readonly path: string;
  readonly format: "folder" | "snapshot";
  readonly source: AdvisorySource;
  /** Where it came from (a path, a URL, or the command-line argument). */
  readonly origin: string;
  /** The data's date (YYYY-MM-DD), which its age is counted from. */
  readonly date: string;
  /** What `date` is: the newest commit's date, the date a snapshot records, or (a folder without git history) the newest advisory's. */
  readonly dateOf: "commit" | "snapshot" | "newest advisory";
  /** The commit the data is from, when known. */
  readonly commit?: string;
  /** Why a fresher copy could not be had, when it could not. */
  readonly warning?: string;
}
