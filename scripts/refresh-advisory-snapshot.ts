/**
 * Writes the RustSec advisory snapshot this package ships (data/rustsec-advisory-db/:
 * advisories.json.gz, the database's LICENSE.txt, a README naming the source)
 * from a database checkout. Every advisory file is read with the audit's own
 * parser; one bad file stops the script and nothing is written. The result is
 * read back through the snapshot validator before it replaces the old one.
 *
 * Usage: npx tsx scripts/refresh-advisory-snapshot.ts DB_DIR [--commit SHA --date YYYY-MM-DD] [--out DIR]
 *
 * DB_DIR is a clone of https://github.com/rustsec/advisory-db: its HEAD commit and that commit's date are read
 * with git. A copy without git history needs --commit and --date. Exit codes: 0 written, 1 the database or the
 * result is unusable, 2 usage.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomically } from "../src/core/atomic-file.js";
import { AdvisoryDatabaseError, assertDatabase, loadAdvisories } from "../src/supply-chain/advisory-db.js";
import { BUNDLED_SNAPSHOT, gitHead } from "../src/supply-chain/advisory-db-fetch.js";
import { encodeSnapshot, parseSnapshot } from "../src/supply-chain/advisory-snapshot.js";
import { ADVISORY_DB_URL } from "../src/supply-chain/audit.js";

const USAGE = "usage: npx tsx scripts/refresh-advisory-snapshot.ts DB_DIR [--commit SHA --date YYYY-MM-DD] [--out DIR]";

function fail(code: number, message: string): never {
  process.stderr.write(`refresh-advisory-snapshot: ${message}\n`);
  process.exit(code);
}

/** Writes `bytes` beside `path` and renames it into place, so a reader never sees half a file. */
function readArguments() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: { commit: { type: "string" }, date: { type: "string" }, out: { type: "string" } },
    });
  } catch (error) {
    return fail(2, `${(error as Error).message}\n${USAGE}`);
  }
}

const { values, positionals } = readArguments();
if (positionals.length !== 1) fail(2, USAGE);
const dbDir = resolve(positionals[0] as string);
const outDir = resolve(values.out ?? join(import.meta.dirname, "..", BUNDLED_SNAPSHOT, ".."));

try {
  assertDatabase(dbDir);
} catch (error) {
  if (error instanceof AdvisoryDatabaseError) fail(1, error.message);
  throw error;
}
const licence = join(dbDir, "LICENSE.txt");
if (!existsSync(licence)) fail(1, `${licence}: missing; the snapshot ships the database's licence with it`);
const head = await gitHead(dbDir);
const commit = values.commit ?? head?.commit;
const date = values.date ?? head?.date;
if (commit === undefined || date === undefined) fail(2, `${dbDir} is not a git checkout: give --commit SHA --date YYYY-MM-DD`);

const loaded = loadAdvisories(dbDir);
const unreadable = loaded.errors.length;
if (unreadable > 0)
  fail(
    1,
    `${unreadable} advisory ${unreadable === 1 ? "file" : "files"} cannot be read:\n  ${loaded.errors.map((e) => e.message).join("\n  ")}`,
  );
const advisories = [...loaded.byCrate.values()].flat();
const snapshotPath = join(outDir, "advisories.json.gz");
const bytes = encodeSnapshot(advisories, { repository: ADVISORY_DB_URL, commit, date });
let check: ReturnType<typeof parseSnapshot>;
try {
  check = parseSnapshot(bytes, snapshotPath);
} catch (error) {
  if (error instanceof AdvisoryDatabaseError) fail(1, error.message);
  throw error;
}
if (check.advisories.length !== advisories.length) fail(1, `read back ${check.advisories.length} of ${advisories.length} advisories`);

const readme = `# RustSec advisory database snapshot

\`advisories.json.gz\` is the audit's last resort: used when no \`--advisory-db\` copy is given and
neither a git fetch of ${ADVISORY_DB_URL} nor the cached clone is available. Each Security line
says which copy the audit used, its date and its age; past \`[audit.max_age_days]\` dev warns, staging
and production fail.

| | |
|---|---|
| source | ${ADVISORY_DB_URL} |
| commit | \`${commit}\` |
| commit date | ${date} |
| advisories | ${advisories.length.toLocaleString("en-US")} (${loaded.byCrate.size.toLocaleString("en-US")} crates) |
| size | ${bytes.length.toLocaleString("en-US")} bytes (sha256 \`${createHash("sha256").update(bytes).digest("hex")}\`) |

Format: gzip'd JSON, \`{ format, version, license, source: { repository, commit, date }, advisories: [...] }\`,
one entry per advisory with only what the audit reads (\`advisory\` id, package, date, url, cvss, aliases,
categories, informational, withdrawn, license; \`affected\` os and arch; \`versions\` patched and
unaffected; \`title\`). Every entry is checked by the same validator as an advisory file when read.

Licence: CC0-1.0, except advisories whose \`license\` field says \`CC-BY-4.0\` (content adapted from
GitHub's advisory database, attributed by their \`url\`); see LICENSE.txt, the database's own.

Refresh it from a clone:

    git clone --depth 1 ${ADVISORY_DB_URL} /tmp/advisory-db
    npx tsx scripts/refresh-advisory-snapshot.ts /tmp/advisory-db
`;

mkdirSync(outDir, { recursive: true });
writeFileAtomically(join(outDir, "LICENSE.txt"), readFileSync(licence));
writeFileAtomically(join(outDir, "README.md"), readme);
writeFileAtomically(snapshotPath, bytes);
process.stdout.write(
  `${snapshotPath}: ${advisories.length} advisories of ${loaded.byCrate.size} crates, commit ${commit} of ${date}, ${bytes.length} bytes\n`,
);
