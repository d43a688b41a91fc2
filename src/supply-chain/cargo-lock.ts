/**
 * Reading Cargo.lock, versions 1 to 4: the packages a build resolves to, with
 * where each comes from. Only crates.io packages can have RustSec advisories.
 */
import semver from "semver";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { parseTomlText } from "../core/toml.js";
import { describeIssues } from "../core/zod-issues.js";

/** The two spellings of the crates.io index in a lockfile's `source`. */
export const CRATES_IO_SOURCES = ["registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/"] as const;

/** Where a locked package comes from. */
export type PackageOrigin = "crates.io" | "workspace" | "path-or-git" | "other-registry";

/** One `[[package]]` of a lockfile. */
export interface LockedPackage {
  readonly name: string;
  readonly version: string;
  readonly source: string | undefined;
  readonly origin: PackageOrigin;
}

/** A parsed lockfile. */
export interface Lockfile {
  /** Format version: 1 (no `version` key, `[metadata]` checksums), 2, 3 or 4. */
  readonly formatVersion: 1 | 2 | 3 | 4;
  readonly packages: readonly LockedPackage[];
}

const CRATE_NAME = /^[A-Za-z0-9_-]+$/;

const packageSchema = z.object({
  name: z.string({ error: "expected a string" }).regex(CRATE_NAME, { error: "expected a crate name (letters, digits, - and _)" }),
  version: z
    .string({ error: "expected a string" })
    .refine((v) => semver.valid(v) === v, { error: "expected an exact SemVer version such as 1.2.3" }),
  source: z.string({ error: "expected a string" }).optional(),
  checksum: z.string({ error: "expected a string" }).optional(),
  dependencies: z.array(z.string({ error: "expected a string" }), { error: "expected an array of strings" }).optional(),
});

const lockfileSchema = z.object({
  version: z.union([z.literal(3), z.literal(4)], { error: "expected 3 or 4 (versions 1 and 2 have no version key)" }).optional(),
  package: z.array(packageSchema, { error: "expected [[package]] tables" }).optional(),
  /** Format 1 written by old cargo kept the root package apart. */
  root: packageSchema.optional(),
  metadata: z.record(z.string(), z.string(), { error: "expected a table of strings" }).optional(),
});

function originOf(source: string | undefined): PackageOrigin {
  if (source === undefined) return "workspace";
  if ((CRATES_IO_SOURCES as readonly string[]).includes(source)) return "crates.io";
  if (source.startsWith("path+") || source.startsWith("git+")) return "path-or-git";
  return "other-registry";
}

/**
 * Parses Cargo.lock text.
 * @param file Name used in errors.
 * @throws ConfigError naming the file and the package or key that is wrong.
 */
export function parseLockfile(text: string, file: string): Lockfile {
  const raw = parseTomlText(text, file);
  const parsed = lockfileSchema.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      file,
      describeIssues(parsed.error.issues).map((p) => namePackage(p, raw)),
    );
  const packages = [...(parsed.data.root === undefined ? [] : [parsed.data.root]), ...(parsed.data.package ?? [])];
  if (packages.length === 0) throw new ConfigError(file, ["no [[package]] entries: not a Cargo.lock"]);
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const p of packages) {
    const key = `${p.name} ${p.version} ${p.source ?? ""}`;
    if (seen.has(key)) problems.push(`package ${p.name} ${p.version} is listed twice`);
    seen.add(key);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  const formatVersion = parsed.data.version ?? (parsed.data.metadata !== undefined || parsed.data.root !== undefined ? 1 : 2);
  return {
    formatVersion,
    packages: packages.map((p) => ({ name: p.name, version: p.version, source: p.source, origin: originOf(p.source) })),
  };
}

/** `package.3.version: …` → `package.3 (serde).version: …`, so the error names the crate. */
function namePackage(problem: string, raw: unknown): string {
  const match = /^package\.(\d+)\./.exec(problem);
  if (match === null) return problem;
  const entry = (raw as { package?: { name?: unknown }[] }).package?.[Number(match[1])];
  return typeof entry?.name === "string" ? problem.replace(/^package\.(\d+)\./, `package.$1 (${entry.name}).`) : problem;
}
