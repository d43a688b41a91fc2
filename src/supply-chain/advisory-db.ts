/**
 * The RustSec advisory database on disk (`crates/<crate>/RUSTSEC-*.md`):
 * reading the advisories of the crates a lockfile uses, and its newest advisory.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, PipelineError } from "../core/errors.js";
import { type Advisory, parseAdvisory } from "./advisory.js";

/** Advisories by crate name, and every file that could not be read. */
export interface LoadedAdvisories {
  readonly byCrate: ReadonlyMap<string, readonly Advisory[]>;
  /** One error per bad file; the other files are still loaded. */
  readonly errors: readonly ConfigError[];
  /** How many advisory files were read. */
  readonly fileCount: number;
}

/** The newest advisory of a copy: by id (year, then number). */
export interface NewestAdvisory {
  readonly id: string;
  /** Its date (YYYY-MM-DD). */
  readonly date: string;
}

/** The database is missing or unusable; the audit must fail, never pass. */
export class AdvisoryDatabaseError extends PipelineError {
  override readonly name: string = "AdvisoryDatabaseError";
}

/** True when `root` looks like an advisory database (it has a `crates/` folder). */
export function isDatabase(root: string): boolean {
  const crates = join(root, "crates");
  return existsSync(crates) && statSync(crates).isDirectory();
}

/** Checks that `root` looks like an advisory database. */
export function assertDatabase(root: string): void {
  if (!isDatabase(root)) throw new AdvisoryDatabaseError(`${root}: not a RustSec advisory database (no crates/ folder)`);
}

/** Sort key of an advisory id: `RUSTSEC-2021-0072` → `2021-000072`, so ids compare by year, then number. */
export function advisoryIdKey(id: string): string {
  return id.replace(/^RUSTSEC-(\d{4})-(\d+)$/, (_, y: string, n: string) => `${y}-${n.padStart(6, "0")}`);
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

/**
 * The newest advisory of the database at `root`, by id (year, then number), and its date.
 * @throws AdvisoryDatabaseError when the folder holds no advisory; ConfigError when that file is unreadable.
 */
export function newestAdvisory(root: string): NewestAdvisory {
  assertDatabase(root);
  let newest: { id: string; path: string } | undefined;
  for (const crate of readdirSync(join(root, "crates"))) {
    for (const file of readdirSync(join(root, "crates", crate))) {
      const id = file.replace(/\.md$/, "");
      if (!/^RUSTSEC-\d{4}-\d+$/.test(id)) continue;
      if (newest === undefined || advisoryIdKey(id) > advisoryIdKey(newest.id)) newest = { id, path: join(root, "crates", crate, file) };
    }
  }
  if (newest === undefined) throw new AdvisoryDatabaseError(`${root}: the database holds no advisories`);
  const advisory = parseAdvisory(readFileSync(newest.path, "utf8"), newest.path);
  return { id: advisory.id, date: advisory.date };
}
