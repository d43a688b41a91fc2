/**
 * RustSec version requirements with cargo-audit's exact semantics (the
 * `rustsec` crate's `UnaffectedRange`): each requirement string is one
 * interval; versions compare by plain SemVer precedence, prereleases
 * included. npm `semver` is used to parse and order versions only; its range
 * syntax means something else.
 */
import semver, { SemVer } from "semver";
import { PipelineError } from "../core/errors.js";

/** One end of an interval; `undefined` version means unbounded. */
export interface Bound {
  readonly version: SemVer | undefined;
  readonly inclusive: boolean;
}

/** An interval of versions that a requirement string describes. */
export interface VersionInterval {
  /** The requirement as written, e.g. `>= 1.5.1, < 1.6.0`. */
  readonly requirement: string;
  readonly start: Bound;
  readonly end: Bound;
}

/** A requirement that cargo-audit would refuse to load. */
export class VersionRequirementError extends PipelineError {
  override readonly name: string = "VersionRequirementError";
}

const UNBOUNDED: Bound = { version: undefined, inclusive: false };

/** `op major[.minor[.patch[-pre]]][+build]`, as the semver crate reads a comparator. */
const COMPARATOR = /^(=|>=|<=|>|<|~|\^)?\s*(\d+)(?:\.(\d+)(?:\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?)?)?$/;

interface Comparator {
  readonly op: "=" | ">" | ">=" | "<" | "<=" | "~" | "^";
  readonly major: number;
  readonly minor: number | undefined;
  readonly patch: number | undefined;
  readonly pre: string | undefined;
}

function parseComparator(text: string, requirement: string): Comparator {
  const match = COMPARATOR.exec(text.trim());
  if (match === null) {
    const why = /[*xX]/.test(text)
      ? "wildcards are not supported in advisories"
      : "expected an operator (=, >, >=, <, <=, ~, ^) and a version";
    throw new VersionRequirementError(`${JSON.stringify(requirement)}: ${JSON.stringify(text.trim())}: ${why}`);
  }
  const number = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  return {
    op: (match[1] ?? "^") as Comparator["op"],
    major: Number(match[2]),
    minor: number(match[3]),
    patch: number(match[4]),
    pre: match[5],
  };
}

/** The comparator's version with missing parts as 0 (rustsec's `comp_to_ver`). */
function toVersion(c: Comparator): SemVer {
  return new SemVer(`${c.major}.${c.minor ?? 0}.${c.patch ?? 0}${c.pre === undefined ? "" : `-${c.pre}`}`);
}

/** The lowest prerelease of a version: `2.0.0-0`, below every `2.0.0-…`. */
function lowestPrerelease(major: number, minor: number, patch: number): SemVer {
  return new SemVer(`${major}.${minor}.${patch}-0`);
}

function caretEnd(c: Comparator): SemVer {
  if (c.major > 0) return lowestPrerelease(c.major + 1, 0, 0);
  if (c.minor === undefined) return lowestPrerelease(1, 0, 0);
  if (c.minor === 0 && c.patch !== undefined) return lowestPrerelease(0, 0, c.patch + 1);
  return lowestPrerelease(0, c.minor + 1, 0);
}

function tildeEnd(c: Comparator): SemVer {
  return c.minor === undefined ? lowestPrerelease(c.major + 1, 0, 0) : lowestPrerelease(c.major, c.minor + 1, 0);
}

/**
 * Parses one requirement string (comma = AND) into an interval.
 * @throws VersionRequirementError for syntax cargo-audit rejects: more than
 *   two comparators, two lower or two upper bounds, `=`/`^`/`~` not alone,
 *   wildcards, an empty interval.
 */
export function parseRequirement(requirement: string): VersionInterval {
  const parts = requirement.split(",");
  if (parts.length > 2)
    throw new VersionRequirementError(`${JSON.stringify(requirement)}: too many comparators (at most a lower and an upper bound)`);
  let start = UNBOUNDED;
  let end = UNBOUNDED;
  const comparators = parts.map((part) => parseComparator(part, requirement));
  for (const c of comparators) {
    const alone = (what: string) => {
      if (comparators.length !== 1)
        throw new VersionRequirementError(`${JSON.stringify(requirement)}: ${what} must be alone in its requirement`);
    };
    switch (c.op) {
      case ">":
      case ">=":
        if (start.version !== undefined) throw new VersionRequirementError(`${JSON.stringify(requirement)}: more than one lower bound`);
        start = { version: toVersion(c), inclusive: c.op === ">=" };
        break;
      case "<":
      case "<=":
        if (end.version !== undefined) throw new VersionRequirementError(`${JSON.stringify(requirement)}: more than one upper bound`);
        end = { version: toVersion(c), inclusive: c.op === "<=" };
        break;
      case "=":
        alone("an exact version (=)");
        start = { version: toVersion(c), inclusive: true };
        end = { version: toVersion(c), inclusive: true };
        break;
      case "^":
        alone("a caret requirement (^ or a bare version)");
        start = { version: toVersion(c), inclusive: true };
        end = { version: caretEnd(c), inclusive: false };
        break;
      case "~":
        alone("a tilde requirement (~)");
        start = { version: toVersion(c), inclusive: true };
        end = { version: tildeEnd(c), inclusive: false };
        break;
    }
  }
  if (!startNotAfterEnd(start, end)) throw new VersionRequirementError(`${JSON.stringify(requirement)}: the interval is empty`);
  return { requirement, start, end };
}

/** rustsec's `Bound::less_or_equal`: start ≤ end, and equal only when both are inclusive. */
function startNotAfterEnd(start: Bound, end: Bound): boolean {
  if (start.version === undefined || end.version === undefined) return true;
  const order = semver.compare(start.version, end.version);
  return order < 0 || (order === 0 && start.inclusive && end.inclusive);
}

/** True when `version` lies in the interval (plain SemVer precedence, prereleases included). */
export function contains(interval: VersionInterval, version: SemVer): boolean {
  const { start, end } = interval;
  if (start.version !== undefined) {
    const order = semver.compare(version, start.version);
    if (order < 0 || (order === 0 && !start.inclusive)) return false;
  }
  if (end.version !== undefined) {
    const order = semver.compare(version, end.version);
    if (order > 0 || (order === 0 && !end.inclusive)) return false;
  }
  return true;
}

/** True when two intervals share a version (rustsec refuses advisories whose ranges overlap). */
export function overlaps(a: VersionInterval, b: VersionInterval): boolean {
  return startNotAfterEnd(a.start, b.end) && startNotAfterEnd(b.start, a.end);
}

/** `[1.5.1, 1.6.0-0)` — an interval in the notation rustsec prints. */
export function formatInterval(interval: VersionInterval): string {
  const { start, end } = interval;
  const left = start.version === undefined ? "[0" : `${start.inclusive ? "[" : "("}${start.version.version}`;
  const right = end.version === undefined ? "∞)" : `${end.version.version}${end.inclusive ? "]" : ")"}`;
  return `${left}, ${right}`;
}
