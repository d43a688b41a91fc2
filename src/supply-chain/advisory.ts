/**
 * Reading one RustSec advisory file: TOML front matter in a ```toml fence,
 * then a Markdown title and description.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { parseTomlText } from "../core/toml.js";
import { describeIssues } from "../core/zod-issues.js";
import { overlaps, parseRequirement, type VersionInterval, VersionRequirementError } from "./version-req.js";

/** One advisory, as the audit needs it. */
export interface Advisory {
  readonly id: string;
  readonly package: string;
  readonly title: string;
  readonly date: string;
  readonly url: string | undefined;
  readonly cvss: string | undefined;
  readonly aliases: readonly string[];
  readonly categories: readonly string[];
  /** `unmaintained`, `unsound`, `notice`: a warning, not a vulnerability. */
  readonly informational: string | undefined;
  /** Date it was withdrawn; a withdrawn advisory never counts. */
  readonly withdrawn: string | undefined;
  /** Its own licence when it differs from the database's CC0-1.0 (`CC-BY-4.0`: content from GitHub's advisories, attributed by `url`). */
  readonly license: string | undefined;
  /** Operating systems / architectures it is limited to (empty = all). */
  readonly os: readonly string[];
  readonly arch: readonly string[];
  readonly patched: readonly string[];
  readonly unaffected: readonly string[];
  /** `patched` ∪ `unaffected` as intervals; a version in none of them is affected. */
  readonly safe: readonly VersionInterval[];
}

const ADVISORY_ID = /^(RUSTSEC|CVE|GHSA)-[0-9A-Za-z-]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const strings = z.array(z.string({ error: "expected a string" }), { error: "expected an array of strings" });

const frontMatterSchema = z.object({
  advisory: z.object(
    {
      id: z.string({ error: "expected a string" }).regex(ADVISORY_ID, { error: "expected an id such as RUSTSEC-2021-0072" }),
      package: z.string({ error: "expected a crate name" }).min(1, { error: "expected a crate name" }),
      date: z.string({ error: "expected a date" }).regex(DATE, { error: "expected a date YYYY-MM-DD" }),
      url: z.string({ error: "expected a URL" }).optional(),
      cvss: z.string({ error: "expected a CVSS vector" }).optional(),
      aliases: strings.optional(),
      categories: strings.optional(),
      informational: z.string({ error: "expected unmaintained, unsound or notice" }).optional(),
      withdrawn: z.string({ error: "expected a date" }).regex(DATE, { error: "expected a date YYYY-MM-DD" }).optional(),
      license: z.string({ error: "expected an SPDX licence id" }).min(1, { error: "expected an SPDX licence id" }).optional(),
    },
    { error: "expected an [advisory] table" },
  ),
  affected: z.object({ os: strings.optional(), arch: strings.optional() }, { error: "expected an [affected] table" }).optional(),
  versions: z.object({ patched: strings, unaffected: strings.optional() }, { error: "expected a [versions] table with patched = [...]" }),
});

/** The front matter's fields the audit reads, as TOML gives them (or a snapshot entry stores them). */
export type AdvisoryFields = z.input<typeof frontMatterSchema>;

/**
 * Parses an advisory file.
 * @param file Name used in errors (e.g. `crates/tokio/RUSTSEC-2021-0072.md`).
 * @throws ConfigError naming the file and what is wrong.
 */
export function parseAdvisory(text: string, file: string): Advisory {
  const fence = /^\s*```toml\r?\n([\s\S]*?)\r?\n```[ \t]*(?:\r?\n|$)/.exec(text);
  if (fence === null) throw new ConfigError(file, ["expected TOML front matter in a ```toml fence at the start"]);
  const raw = parseTomlText(fence[1] as string, file, { firstLine: 2, what: "in the front matter" });
  const title = /^#\s+(.+)$/m.exec(text.slice(fence[0].length))?.[1]?.trim();
  return advisoryFromFields(raw, title, file, "expected a '# Title' line after the front matter");
}

/**
 * Validates an advisory's fields and title, as read from a file's front matter or a snapshot entry: the
 * same schema and the same version-range checks for both.
 * @param file Name used in errors (a file, or a snapshot file and its entry).
 * @param noTitle The problem reported when `title` is missing.
 * @throws ConfigError naming `file` and what is wrong.
 */
export function advisoryFromFields(raw: unknown, title: string | undefined, file: string, noTitle = "title: expected a string"): Advisory {
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  const { advisory, affected, versions } = parsed.data;
  const unaffected = versions.unaffected ?? [];
  const safe = intervals([...versions.patched, ...unaffected], file);
  if (title === undefined || title.trim() === "") throw new ConfigError(file, [noTitle]);
  return {
    id: advisory.id,
    package: advisory.package,
    title,
    date: advisory.date,
    url: advisory.url,
    cvss: advisory.cvss,
    aliases: advisory.aliases ?? [],
    categories: advisory.categories ?? [],
    informational: advisory.informational,
    withdrawn: advisory.withdrawn,
    license: advisory.license,
    os: affected?.os ?? [],
    arch: affected?.arch ?? [],
    patched: versions.patched,
    unaffected,
    safe,
  };
}

function intervals(requirements: readonly string[], file: string): VersionInterval[] {
  const result: VersionInterval[] = [];
  for (const requirement of requirements) {
    try {
      result.push(parseRequirement(requirement));
    } catch (error) {
      if (error instanceof VersionRequirementError) throw new ConfigError(file, [`versions: ${error.message}`]);
      throw error;
    }
  }
  for (const [i, a] of result.entries()) {
    for (const b of result.slice(i + 1)) {
      if (overlaps(a, b))
        throw new ConfigError(file, [`versions: ${JSON.stringify(a.requirement)} and ${JSON.stringify(b.requirement)} overlap`]);
    }
  }
  return result;
}
