/**
 * The RustSec advisory database on disk (`crates/<crate>/RUSTSEC-*.md`):
 * reading the advisories of the crates a lockfile uses, and how old the copy is.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../core/errors.js";
import { type Advisory, parseAdvisory } from "./advisory.js";

/** Advisories by crate name, and every file that could not be read. */
export interface LoadedAdvisories {
  readonly byCrate: ReadonlyMap<string, readonly Advisory[]>;
  /** One error per bad file; the other files are still loaded. */
  readonly errors: readonly ConfigError[];
  /** How many advisory files were read. */
  readonly fileCount: number;
}

/** How current a database copy is. */
export interface DatabaseAge {
  /** The newest advisory in the copy. */
  readonly newestAdvisory: string;
  /** Its date (YYYY-MM-DD). */
  readonly newestDate: string;
  /** Whole days from that date to `now`. */
  readonly days: number;
}

/** The database is missing or unusable; the audit must fail, never pass. */
export class AdvisoryDatabaseError extends Error {
  override readonly name = "AdvisoryDatabaseError";
}

/** Checks that `root` looks like an advisory database. */
export function assertDatabase(root: string): void {
  const crates = join(root, "crates");
  if (!existsSync(crates) || !statSync(crates).isDirectory()) {
    throw new AdvisoryDatabaseError(`${root}: not a RustSec advisory database (no crates/ folder)`);
  }
}

/**
 * Reads the advisories of the given crates (all crates when `crates` is
 * undefined). A bad file is reported in `errors` and never hides the others.
 */
export function loadAdvisories(root: string, crates?: Iterable<string>): LoadedAdvisories {
  assertDatabase(root);
  const names = crates === undefined ? readdirSync(join(root, "crates")) : [...new Set(crates)];
  const byCrate = new Map<string, Advisory[]>();
  const errors: ConfigError[] = [];
  let fileCount = 0;
  for (const name of names) {
    const dir = join(root, "crates", name);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith(".md"))
      .sort()) {
      fileCount++;
      const label = `crates/${name}/${file}`;
      try {
        const advisory = parseAdvisory(readFileSync(join(dir, file), "utf8"), label);
        if (advisory.package !== name)
          throw new ConfigError(label, [`advisory.package is ${JSON.stringify(advisory.package)} but the file is under crates/${name}/`]);
        if (`${advisory.id}.md` !== file) throw new ConfigError(label, [`advisory.id is ${advisory.id} but the file is named ${file}`]);
        byCrate.set(name, [...(byCrate.get(name) ?? []), advisory]);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        errors.push(error);
      }
    }
  }
  return { byCrate, errors, fileCount };
}

/** The newest advisory by id (year, then number) and its age on `now`. */
export function databaseAge(root: string, now: Date): DatabaseAge {
  assertDatabase(root);
  let newest: { id: string; path: string } | undefined;
  const key = (id: string) => id.replace(/^RUSTSEC-(\d{4})-(\d+)$/, (_, y: string, n: string) => `${y}-${n.padStart(6, "0")}`);
  for (const crate of readdirSync(join(root, "crates"))) {
    for (const file of readdirSync(join(root, "crates", crate))) {
      const id = file.replace(/\.md$/, "");
      if (!/^RUSTSEC-\d{4}-\d+$/.test(id)) continue;
      if (newest === undefined || key(id) > key(newest.id)) newest = { id, path: join(root, "crates", crate, file) };
    }
  }
  if (newest === undefined) throw new AdvisoryDatabaseError(`${root}: the database holds no advisories`);
  const advisory = parseAdvisory(readFileSync(newest.path, "utf8"), newest.path);
  const days = Math.floor((now.getTime() - Date.parse(`${advisory.date}T00:00:00Z`)) / 86_400_000);
  return { newestAdvisory: advisory.id, newestDate: advisory.date, days };
}
