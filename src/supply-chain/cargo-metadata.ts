/**
 * Reading the JSON that `cargo metadata --format-version 1` prints: every
 * package of the build graph with its declared licence. Only the fields the
 * licence check uses are validated; the rest of the (large) document is ignored.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { describeIssues } from "../core/zod-issues.js";

/** One package of the metadata, as the licence check needs it. */
export interface CratePackage {
  /** Cargo's package id, unique within the metadata. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  /** The `license` field of the manifest: an SPDX expression, possibly with legacy `/`. */
  readonly license: string | undefined;
  /** The `license-file` field of the manifest, as an absolute path. */
  readonly licenseFile: string | undefined;
  /** Where the package comes from; `undefined` for path dependencies and workspace members. */
  readonly source: string | undefined;
  /** Whether the package is one of the workspace's own members. */
  readonly isWorkspaceMember: boolean;
}

/** An error callback for zod that says what was expected and what was found instead. */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing (expected ${what})` : `expected ${what}, found ${describeValue(issue.input)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" ? "an object" : `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

const text = () => z.string({ error: expected("a string") });
const nullableText = () => z.string({ error: expected("a string or null") }).nullable();

const packageSchema = z.object(
  {
    id: text(),
    name: text(),
    version: text(),
    license: nullableText(),
    license_file: nullableText(),
    source: nullableText(),
    manifest_path: text(),
  },
  { error: expected("an object") },
);

const metadataSchema = z.object(
  {
    packages: z.array(packageSchema, { error: expected("an array of packages") }),
    workspace_members: z.array(text(), { error: expected("an array of package ids") }),
  },
  { error: expected("an object (the output of cargo metadata --format-version 1)") },
);

/**
 * Parses and validates `cargo metadata --format-version 1` output.
 * @param json The command's standard output.
 * @param origin Where the JSON came from (a command line or file), named in errors.
 * @throws ConfigError naming `origin` and each wrong field, e.g. `packages.3.version: expected a string, found a number`.
 */
export function readCargoMetadata(json: string, origin: string): CratePackage[] {
  const raw = parseJson(json, origin);
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      origin,
      describeIssues(parsed.error.issues).map((problem) => namePackage(problem, raw)),
    );
  const members = new Set(parsed.data.workspace_members);
  return parsed.data.packages.map((p) => ({
    id: p.id,
    name: p.name,
    version: p.version,
    license: p.license ?? undefined,
    licenseFile: p.license_file ?? undefined,
    source: p.source ?? undefined,
    isWorkspaceMember: members.has(p.id),
  }));
}

function parseJson(json: string, origin: string): unknown {
  if (json.trim() === "") throw new ConfigError(origin, ["empty output: expected the JSON of cargo metadata --format-version 1"]);
  try {
    return JSON.parse(json);
  } catch (error) {
    if (error instanceof SyntaxError) throw new ConfigError(origin, [`not valid JSON (truncated output?): ${error.message}`]);
    throw error;
  }
}

/** Appends the package's name to a problem inside `packages.N`, so the error names the crate. */
function namePackage(problem: string, raw: unknown): string {
  const match = /^packages\.(\d+)[.:]/.exec(problem);
  if (match === null) return problem;
  const entry = (raw as { packages?: unknown[] }).packages?.[Number(match[1])];
  const name = typeof entry === "object" && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === "string" ? `${problem} (package ${name})` : problem;
}
