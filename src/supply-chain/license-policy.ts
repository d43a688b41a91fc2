/**
 * The licence policy of the `[licenses]` config table and its evaluation,
 * with cargo-deny's semantics: an SPDX expression is accepted when the
 * licences it requires are allowed (OR: one branch, AND: every branch); a
 * `WITH` pair must be allowed as the exact pair; GNU ids match literally.
 * Pure: no I/O.
 */
import semver from "semver";
import parseSpdx from "spdx-expression-parse";
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";

/** A per-crate addition to the allow list. */
export interface LicenseException {
  readonly crate: string;
  /** Licence terms allowed for this crate only, e.g. `GPL-2.0-or-later`. */
  readonly allow: readonly string[];
  readonly reason: string;
}

/** A replacement for the licence a crate declares (or fails to declare). */
export interface LicenseClarification {
  readonly crate: string;
  /** Exact version the clarification applies to; `undefined` means every version. */
  readonly version: string | undefined;
  readonly expression: string;
  readonly reason: string;
}

/** The validated `[licenses]` table with every default applied. */
export interface LicensePolicy {
  /** Allowed licence terms: SPDX ids, `Id+`, or exact `Id WITH Exception` pairs. */
  readonly allow: readonly string[];
  /** Lifts the ban on GPL, LGPL and AGPL ids; they must still be in the allow list. */
  readonly allowGplFamily: boolean;
  readonly exceptions: readonly LicenseException[];
  readonly clarify: readonly LicenseClarification[];
  /** Skip the check for the workspace's own members. */
  readonly ignoreWorkspaceMembers: boolean;
}

/** What the policy says about one crate's licence. */
export interface LicenseVerdict {
  readonly accepted: boolean;
  /** The expression evaluated (the clarified one if any, legacy `/` rewritten); `undefined` when there is none. */
  readonly expression: string | undefined;
  /** Why: which branch satisfied the policy, or which licence ids were not allowed and why. */
  readonly reason: string;
}

/** The crate whose licence {@link evaluateLicense} judges. */
export interface LicenseInput {
  readonly crate: string;
  readonly version: string;
  /** The manifest's `license` field. */
  readonly license: string | undefined;
  /** The manifest's `license-file` field, named when no licence is declared. */
  readonly licenseFile?: string | undefined;
  /** Set for workspace members, which `ignore_workspace_members = true` exempts. */
  readonly isWorkspaceMember?: boolean | undefined;
}

/**
 * Permissive licences allowed by default. MPL-2.0 is weak (file-level)
 * copyleft, but linking to it imposes nothing on the rest of the program,
 * and cargo-deny users commonly allow it.
 */
const DEFAULT_ALLOW = [
  "MIT",
  "MIT-0",
  "Apache-2.0",
  "Apache-2.0 WITH LLVM-exception",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "ISC",
  "Zlib",
  "0BSD",
  "Unicode-3.0",
  "Unicode-DFS-2016",
  "Unlicense",
  "CC0-1.0",
  "BSL-1.0",
  "MPL-2.0",
] as const;

/**
 * GPL, AGPL and LGPL in every version and suffix (`-only`, `-or-later`, `+`,
 * the deprecated bare ids). LGPL is included because Rust crates are linked
 * statically, which triggers LGPL's relinking obligations for every
 * distributed binary.
 */
const GPL_FAMILY = /^(?:A|L)?GPL-\d/;

const CRATE_NAME = /^[A-Za-z0-9_-]+$/;

const EXCEPTIONS_TABLE = "[[licenses.exceptions]]";
const CLARIFY_TABLE = "[[licenses.clarify]]";

type SpdxNode = parseSpdx.Info;
type SpdxLicense = parseSpdx.LicenseInfo;

type Parsed = { ok: true; node: SpdxNode } | { ok: false; complaint: string };

/** cargo-deny reads the legacy `MIT/Apache-2.0` as `MIT OR Apache-2.0`; the parser only skips spaces. */
function normaliseExpression(expression: string): string {
  return expression
    .replace(/\s*\/\s*/g, " OR ")
    .replace(/\s+/g, " ")
    .trim();
}

function parseExpression(expression: string): Parsed {
  try {
    return { ok: true, node: parseSpdx(expression) };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { ok: false, complaint: explainParseError(error, expression) };
  }
}

/**
 * The parser's complaints give character offsets, which its unanchored
 * scanner miscounts; name the first word it could not have read instead.
 */
function explainParseError(error: Error, expression: string): string {
  const unknown = firstUnknownWord(expression);
  if (unknown !== undefined) return unknown;
  // The parser runs off the end of its token list (a TypeError or a bare Error) when an operand is missing.
  if (error instanceof TypeError || error.message === "") return "the expression ends where a licence id was expected";
  return /^Unexpected /.test(error.message) ? "syntax error" : error.message;
}

function firstUnknownWord(expression: string): string | undefined {
  for (const word of expression.match(/[^\s()+]+/g) ?? []) {
    if (/^(?:AND|OR|WITH)$/i.test(word)) continue;
    const stray = /[^A-Za-z0-9.:-]/.exec(word)?.[0];
    if (stray !== undefined) return `unexpected "${stray}" in "${word}"`;
    if (!isLicenceOrException(word))
      return `"${word}" is not an SPDX licence or exception id (ids are case-sensitive; see https://spdx.org/licenses/)`;
  }
  return undefined;
}

function isLicenceOrException(word: string): boolean {
  return [word, `MIT WITH ${word}`].some((candidate) => {
    try {
      parseSpdx(candidate);
      return true;
    } catch {
      return false;
    }
  });
}

/** A leaf as the allow list spells it: `+` kept literally, `WITH` as the exact pair. */
function termOf(leaf: SpdxLicense): string {
  const id = `${leaf.license}${leaf.plus === true ? "+" : ""}`;
  return leaf.exception === undefined ? id : `${id} WITH ${leaf.exception}`;
}

function isLeaf(node: SpdxNode): node is SpdxLicense {
  return "license" in node;
}

/** Why an allow-list entry is not one licence term, or `undefined` when it is. */
function termProblem(entry: string): string | undefined {
  const parsed = parseExpression(normaliseExpression(entry));
  if (!parsed.ok) return `"${entry}" is not a valid SPDX licence: ${parsed.complaint}`;
  if (!isLeaf(parsed.node)) return `"${entry}" is an expression; list each licence (or "Id WITH Exception" pair) as its own entry`;
  return undefined;
}

/** An allow-list entry in the form {@link termOf} produces, so spacing and `with` case do not matter. */
function canonicalTerm(entry: string): string {
  const parsed = parseExpression(normaliseExpression(entry));
  return parsed.ok && isLeaf(parsed.node) ? termOf(parsed.node) : entry.trim();
}

const nonEmptyReason = z
  .string({
    error: (issue) => (issue.input === undefined ? "missing: every entry needs a reason saying why it is acceptable" : "expected a string"),
  })
  .refine((s) => s.trim() !== "", { error: "expected a non-empty reason (say why this is acceptable)" });

const crateName = z.string({ error: "expected a string" }).regex(CRATE_NAME, { error: "expected a crate name (letters, digits, - and _)" });

const licenceTerm = z.string({ error: "expected a string" }).superRefine((entry, ctx) => {
  const problem = termProblem(entry);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

const licenceTerms = z.array(licenceTerm, { error: "expected an array of SPDX licence ids" });

const licenceExpression = z.string({ error: "expected a string" }).superRefine((expression, ctx) => {
  const parsed = parseExpression(normaliseExpression(expression));
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `"${expression}" is not a valid SPDX expression: ${parsed.complaint}` });
});

const exactVersion = z
  .string({ error: "expected a string" })
  .refine((v) => semver.valid(v) === v, { error: "expected an exact version such as 1.2.3 (leave it out to match every version)" });

const exceptionSchema = closedObject({
  crate: crateName,
  allow: licenceTerms.min(1, { error: "expected at least one licence id" }),
  reason: nonEmptyReason,
});

const clarifySchema = closedObject({
  crate: crateName,
  version: exactVersion.optional(),
  expression: licenceExpression,
  reason: nonEmptyReason,
});

/** Schema of the `[licenses]` table of the config file; unknown keys are errors. */
export const licensePolicySchema = closedObject({
  allow: licenceTerms.optional(),
  allow_gpl_family: z.boolean({ error: "expected true or false" }).optional(),
  exceptions: z.array(exceptionSchema, { error: "expected an array of tables ([[licenses.exceptions]])" }).optional(),
  clarify: z.array(clarifySchema, { error: "expected an array of tables ([[licenses.clarify]])" }).optional(),
  ignore_workspace_members: z.boolean({ error: "expected true or false" }).optional(),
});

/**
 * The policy a validated `[licenses]` table describes, with defaults for what it leaves out.
 * An `allow` list replaces the default list rather than extending it.
 * @param raw The table as {@link licensePolicySchema} parsed it, or `undefined` when the config has none.
 */
export function licensePolicyFrom(raw: z.output<typeof licensePolicySchema> | undefined): LicensePolicy {
  return {
    allow: (raw?.allow ?? DEFAULT_ALLOW).map(canonicalTerm),
    allowGplFamily: raw?.allow_gpl_family ?? false,
    exceptions: (raw?.exceptions ?? []).map((e) => ({ crate: e.crate, allow: e.allow.map(canonicalTerm), reason: e.reason })),
    clarify: (raw?.clarify ?? []).map((c) => ({ crate: c.crate, version: c.version, expression: c.expression, reason: c.reason })),
    ignoreWorkspaceMembers: raw?.ignore_workspace_members ?? false,
  };
}

/** The policy of a config without a `[licenses]` table. */
export const DEFAULT_LICENSE_POLICY: LicensePolicy = licensePolicyFrom(undefined);

/** The allow lists and ban that apply to one crate. */
interface CrateRules {
  readonly crate: string;
  readonly allowed: ReadonlySet<string>;
  readonly crateAllowed: ReadonlySet<string>;
  readonly crateReasons: readonly string[];
  readonly allowGplFamily: boolean;
}

/** The outcome of a (sub)expression: the terms that satisfied it, or why each failing term failed. */
interface Outcome {
  readonly accepted: boolean;
  readonly satisfiedBy: readonly string[];
  readonly denied: readonly string[];
}

/**
 * Judges one crate's licence against the policy.
 * Clarifications replace the declared licence; per-crate exceptions extend the allow list for that crate only.
 */
export function evaluateLicense(input: LicenseInput, policy: LicensePolicy): LicenseVerdict {
  if (policy.ignoreWorkspaceMembers && input.isWorkspaceMember === true) {
    return {
      accepted: true,
      expression: declared(input.license),
      reason: "workspace member, not checked (ignore_workspace_members = true)",
    };
  }
  const clarification = policy.clarify.find((c) => c.crate === input.crate && (c.version === undefined || c.version === input.version));
  const written = clarification?.expression ?? declared(input.license);
  if (written === undefined) return { accepted: false, expression: undefined, reason: noLicenceReason(input, policy) };
  const expression = normaliseExpression(written);
  const verdict = evaluateExpression(expression, rulesFor(input.crate, policy));
  if (clarification === undefined) return verdict;
  return {
    ...verdict,
    reason: `clarified by ${CLARIFY_TABLE} as "${clarification.expression}" (${clarification.reason}); ${verdict.reason}`,
  };
}

function declared(license: string | undefined): string | undefined {
  return license === undefined || license.trim() === "" ? undefined : license;
}

function noLicenceReason(input: LicenseInput, policy: LicensePolicy): string {
  const file = input.licenseFile === undefined ? "" : ` (license_file: ${input.licenseFile})`;
  const versions = policy.clarify.filter((c) => c.crate === input.crate).map((c) => c.version);
  const mismatch = versions.length === 0 ? "" : ` (its ${CLARIFY_TABLE} entries apply to version ${versions.join(", ")} only)`;
  return `no licence declared${file}; clarify it in ${CLARIFY_TABLE}${mismatch}`;
}

function rulesFor(crate: string, policy: LicensePolicy): CrateRules {
  const exceptions = policy.exceptions.filter((e) => e.crate === crate);
  return {
    crate,
    allowed: new Set(policy.allow),
    crateAllowed: new Set(exceptions.flatMap((e) => e.allow)),
    crateReasons: exceptions.map((e) => e.reason),
    allowGplFamily: policy.allowGplFamily,
  };
}

function evaluateExpression(expression: string, rules: CrateRules): LicenseVerdict {
  const parsed = parseExpression(expression);
  if (!parsed.ok) {
    return { accepted: false, expression, reason: `"${expression}" is not a valid SPDX expression: ${parsed.complaint}` };
  }
  const outcome = evaluateNode(parsed.node, rules);
  const reason = outcome.accepted
    ? `accepted: ${outcome.satisfiedBy.join("; ")}`
    : `"${expression}" is not accepted: ${[...new Set(outcome.denied)].join("; ")}`;
  return { accepted: outcome.accepted, expression, reason };
}

function evaluateNode(node: SpdxNode, rules: CrateRules): Outcome {
  if (isLeaf(node)) return evaluateTerm(node, rules);
  const left = evaluateNode(node.left, rules);
  const right = evaluateNode(node.right, rules);
  if (node.conjunction === "or") {
    if (left.accepted) return left;
    if (right.accepted) return right;
  } else if (left.accepted && right.accepted) {
    return { accepted: true, satisfiedBy: [...left.satisfiedBy, ...right.satisfiedBy], denied: [] };
  }
  return { accepted: false, satisfiedBy: [], denied: [...left.denied, ...right.denied] };
}

function evaluateTerm(leaf: SpdxLicense, rules: CrateRules): Outcome {
  const term = termOf(leaf);
  if (rules.crateAllowed.has(term)) {
    const why = `${term} is allowed for ${rules.crate} by ${EXCEPTIONS_TABLE} (${rules.crateReasons.join("; ")})`;
    return { accepted: true, satisfiedBy: [why], denied: [] };
  }
  if (GPL_FAMILY.test(leaf.license) && !rules.allowGplFamily) return { accepted: false, satisfiedBy: [], denied: [gplDenial(term, rules)] };
  if (rules.allowed.has(term)) return { accepted: true, satisfiedBy: [`${term} is in the allow list`], denied: [] };
  return { accepted: false, satisfiedBy: [], denied: [notAllowed(leaf, term, rules)] };
}

function gplDenial(term: string, rules: CrateRules): string {
  const denial = `${term} is in the GPL family, which is denied (allow it for this crate in ${EXCEPTIONS_TABLE})`;
  return rules.crateAllowed.size === 0 ? denial : `${denial}; ${rules.crate}'s exceptions allow only ${[...rules.crateAllowed].join(", ")}`;
}

function notAllowed(leaf: SpdxLicense, term: string, rules: CrateRules): string {
  const denial = `${term} is not in the allow list`;
  const id = `${leaf.license}${leaf.plus === true ? "+" : ""}`;
  if (leaf.exception === undefined || !(rules.allowed.has(id) || rules.crateAllowed.has(id))) return denial;
  return `${denial} (a WITH exception must be allowed as the exact pair "${term}"; ${id} alone is not enough)`;
}
