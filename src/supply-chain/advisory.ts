/**
 * Reading one RustSec advisory file: TOML front matter in a ```toml fence,
 * then a Markdown title and description.
 */
import { z } from "zod";
import { parseTomlText } from "../config/toml.js";
import { describeIssues } from "../config/zod-issues.js";
import { ConfigError } from "../core/errors.js";
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
    },
    { error: "expected an [advisory] table" },
  ),
  affected: z.object({ os: strings.optional(), arch: strings.optional() }, { error: "expected an [affected] table" }).optional(),
  versions: z.object({ patched: strings, unaffected: strings.optional() }, { error: "expected a [versions] table with patched = [...]" }),
});

/**
 * Parses an advisory file.
 * @param file Name used in errors (e.g. `crates/tokio/RUSTSEC-2021-0072.md`).
 * @throws ConfigError naming the file and what is wrong.
 */
export function parseAdvisory(text: string, file: string): Advisory {
  const fence = /^\s*```toml\r?\n([\s\S]*?)\r?\n```[ \t]*(?:\r?\n|$)/.exec(text);
  if (fence === null) throw new ConfigError(file, ["expected TOML front matter in a ```toml fence at the start"]);
  const raw = parseTomlText(fence[1] as string, file, { firstLine: 2, what: "in the front matter" });
  const parsed = frontMatterSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  const { advisory, affected, versions } = parsed.data;
  const unaffected = versions.unaffected ?? [];
  const safe = intervals([...versions.patched, ...unaffected], file);
  const title = /^#\s+(.+)$/m.exec(text.slice(fence[0].length))?.[1]?.trim();
  if (title === undefined) throw new ConfigError(file, ["expected a '# Title' line after the front matter"]);
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
