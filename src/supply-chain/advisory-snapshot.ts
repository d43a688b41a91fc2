/**
 * A snapshot of the RustSec advisory database in one file: gzip'd JSON with a
 * header (format, licence, the repository, commit and date it was taken from)
 * and one entry per advisory holding only what matching and reporting read.
 * Every entry goes through the same validator as an advisory file; a bad
 * snapshot is refused whole, naming the file and the entry.
 */
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";
import { type Advisory, type AdvisoryFields, advisoryFromFields } from "./advisory.js";
import { AdvisoryDatabaseError, advisoryIdKey, type LoadedAdvisories, type NewestAdvisory } from "./advisory-db.js";

/** The header's `format`: what the file is. */
export const SNAPSHOT_FORMAT = "shriven-pipeline/rustsec-advisory-snapshot";

/** The header's `version`: the entry layout this code reads. */
export const SNAPSHOT_VERSION = 1;

/** The database's licence (advisories with their own `license` field keep it, e.g. CC-BY-4.0). */
export const SNAPSHOT_LICENSE = "CC0-1.0";

/** Where a snapshot was taken from. */
export interface SnapshotSource {
  /** The database's git repository. */
  readonly repository: string;
  /** The commit the snapshot holds (7 to 40 hex digits). */
  readonly commit: string;
  /** That commit's date (YYYY-MM-DD): the date the data's age is counted from. */
  readonly date: string;
}

/** A validated snapshot. */
export interface AdvisorySnapshot {
  /** The file it was read from, for messages. */
  readonly file: string;
  readonly source: SnapshotSource;
  readonly advisories: readonly Advisory[];
}

/** One snapshot entry: the front-matter fields the audit reads, and the title. */
type SnapshotEntry = AdvisoryFields & { readonly title: string };

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const headerSchema = closedObject({
  format: z.literal(SNAPSHOT_FORMAT, { error: `expected "${SNAPSHOT_FORMAT}"` }),
  version: z.literal(SNAPSHOT_VERSION, { error: `expected ${SNAPSHOT_VERSION} (the snapshot layout this version reads)` }),
  license: z.literal(SNAPSHOT_LICENSE, { error: `expected "${SNAPSHOT_LICENSE}" (the RustSec database's licence)` }),
  source: closedObject({
    repository: z.url({ error: "expected the URL of the database's git repository" }),
    commit: z.string({ error: "expected a commit id" }).regex(/^[0-9a-f]{7,40}$/, { error: "expected a commit id of 7 to 40 hex digits" }),
    date: z.string({ error: "expected a date" }).regex(DATE, { error: "expected the commit's date YYYY-MM-DD" }),
  }),
  advisories: z.array(z.unknown(), { error: "expected an array of advisories" }),
});

/** Problems listed in one error before the rest are counted. */
const LISTED_PROBLEMS = 5;

function entryOf(advisory: Advisory): SnapshotEntry {
  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  const list = <K extends string>(key: K, value: readonly string[]) =>
    value.length === 0 ? {} : ({ [key]: [...value] } as Record<K, string[]>);
  const affected = { ...list("os", advisory.os), ...list("arch", advisory.arch) };
  return {
    advisory: {
      id: advisory.id,
      package: advisory.package,
      date: advisory.date,
      ...optional("url", advisory.url),
      ...optional("cvss", advisory.cvss),
      ...list("aliases", advisory.aliases),
      ...list("categories", advisory.categories),
      ...optional("informational", advisory.informational),
      ...optional("withdrawn", advisory.withdrawn),
      ...optional("license", advisory.license),
    },
    ...(Object.keys(affected).length === 0 ? {} : { affected }),
    versions: { patched: [...advisory.patched], ...list("unaffected", advisory.unaffected) },
    title: advisory.title,
  };
}

/**
 * The snapshot file's bytes for `advisories` taken from `source`: entries ordered by crate, then id; the
 * same input always gives the same bytes.
 */
export function encodeSnapshot(advisories: readonly Advisory[], source: SnapshotSource): Buffer {
  const key = (a: Advisory) => `${a.package}\0${advisoryIdKey(a.id)}`;
  const ordered = [...advisories].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const document = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    license: SNAPSHOT_LICENSE,
    source: { repository: source.repository, commit: source.commit, date: source.date },
    advisories: ordered.map(entryOf),
  };
  return gzipSync(`${JSON.stringify(document)}\n`, { level: 9 });
}

/** True when `bytes` start like gzip data (the magic number 1f 8b). */
export function looksLikeGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function problemList(file: string, problems: readonly string[]): string {
  const listed = problems.slice(0, LISTED_PROBLEMS);
  const more = problems.length > listed.length ? [`and ${problems.length - listed.length} more`] : [];
  return `${file}: not a usable advisory snapshot:\n  ${[...listed, ...more].join("\n  ")}`;
}

/**
 * Reads a snapshot from its bytes: gunzip, JSON, header, then every entry through the advisory validator.
 * @param file Name used in errors.
 * @throws AdvisoryDatabaseError naming `file` and each bad field or entry (`advisories[12] (RUSTSEC-…)`).
 */
export function parseSnapshot(bytes: Uint8Array, file: string): AdvisorySnapshot {
  if (!looksLikeGzip(bytes)) throw new AdvisoryDatabaseError(`${file}: not a snapshot file (not gzip data)`);
  let text: string;
  try {
    text = gunzipSync(bytes).toString("utf8");
  } catch (error) {
    throw new AdvisoryDatabaseError(`${file}: truncated or corrupt gzip data (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AdvisoryDatabaseError(`${file}: not valid JSON inside the gzip data (${(error as Error).message})`);
  }
  const header = headerSchema.safeParse(json);
  if (!header.success) throw new AdvisoryDatabaseError(problemList(file, describeIssues(header.error.issues)));
  const advisories: Advisory[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  header.data.advisories.forEach((entry, index) => {
    const id = (entry as { advisory?: { id?: unknown } } | null)?.advisory?.id;
    const label = `advisories[${index}]${typeof id === "string" ? ` (${id})` : ""}`;
    try {
      const title = (entry as { title?: unknown } | null)?.title;
      const advisory = advisoryFromFields(entry, typeof title === "string" ? title : undefined, label, "title: expected a string");
      const earlier = seen.get(advisory.id);
      if (earlier !== undefined) throw new ConfigError(label, [`advisory.id: ${advisory.id} is also advisories[${earlier}]`]);
      seen.set(advisory.id, index);
      advisories.push(advisory);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => `${label}: ${problem}`));
    }
  });
  if (problems.length > 0) throw new AdvisoryDatabaseError(problemList(file, problems));
  if (advisories.length === 0) throw new AdvisoryDatabaseError(`${file}: the snapshot holds no advisories`);
  return { file, source: header.data.source, advisories };
}

/**
 * Reads and validates the snapshot file at `path`.
 * @throws AdvisoryDatabaseError when it cannot be read or is not a valid snapshot.
 */
export function readSnapshotFile(path: string): AdvisorySnapshot {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new AdvisoryDatabaseError(`${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return parseSnapshot(bytes, path);
}

/** The snapshot's advisories of the given crates (all crates when `crates` is undefined), as a database folder gives them. */
export function snapshotAdvisories(snapshot: AdvisorySnapshot, crates?: Iterable<string>): LoadedAdvisories {
  const wanted = crates === undefined ? undefined : new Set(crates);
  const byCrate = new Map<string, Advisory[]>();
  for (const advisory of snapshot.advisories) {
    if (wanted !== undefined && !wanted.has(advisory.package)) continue;
    byCrate.set(advisory.package, [...(byCrate.get(advisory.package) ?? []), advisory]);
  }
  const fileCount = [...byCrate.values()].reduce((n, list) => n + list.length, 0);
  return { byCrate, errors: [], fileCount };
}

/** The snapshot's newest RUSTSEC advisory by id (year, then number), as a database folder's is found. */
export function snapshotNewest(snapshot: AdvisorySnapshot): NewestAdvisory {
  const rustsec = snapshot.advisories.filter((a) => /^RUSTSEC-\d{4}-\d+$/.test(a.id));
  const newest = (rustsec.length > 0 ? rustsec : snapshot.advisories).reduce((a, b) => (advisoryIdKey(b.id) > advisoryIdKey(a.id) ? b : a));
  return { id: newest.id, date: newest.date };
}
