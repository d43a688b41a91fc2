/**
 * The audit decision, as cargo-audit makes it: a crates.io package is
 * affected by an advisory for its name when its version lies in none of the
 * advisory's `patched` ∪ `unaffected` intervals. Withdrawn advisories never
 * count; informational ones are warnings.
 */
import { SemVer } from "semver";
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";
import type { Advisory } from "./advisory.js";
import type { AuditStage } from "./advisory-age.js";
import type { LoadedAdvisories } from "./advisory-db.js";
import type { LockedPackage, Lockfile } from "./cargo-lock.js";
import { contains } from "./version-req.js";

/** An advisory the team has decided to accept for a while. */
export interface IgnoreEntry {
  readonly id: string;
  readonly reason: string;
  /** Last day the ignore holds (YYYY-MM-DD); after it the audit fails. */
  readonly expires: string;
}

const days = z.int({ error: "expected a whole number of days" }).min(1, { error: "expected a whole number of days, 1 or more" });

/** The `[audit]` table of shriven-pipeline.toml. */
export const auditPolicySchema = closedObject({
  ignore: z
    .array(
      closedObject({
        id: z
          .string({ error: "expected an advisory id" })
          .regex(/^(RUSTSEC|CVE|GHSA)-[0-9A-Za-z-]+$/, { error: "expected an advisory id such as RUSTSEC-2021-0072" }),
        reason: z.string({ error: "expected a reason" }).trim().min(1, { error: "a reason is required" }),
        expires: z.union([z.date(), z.string().regex(/^\d{4}-\d{2}-\d{2}$/)], { error: "expected an expiry date such as 2026-12-31" }),
      }),
      { error: "expected an array of { id, reason, expires }" },
    )
    .optional(),
  db: z.string({ error: "expected a path to a local advisory database folder or snapshot file" }).min(1).optional(),
  db_url: z.url({ error: "expected the URL of the advisory database's git repository" }).optional(),
  max_age_days: closedObject({ dev: days.optional(), staging: days.optional(), production: days.optional() }).optional(),
});

/** The audit settings, defaults applied. */
export interface AuditPolicy {
  readonly ignore: readonly IgnoreEntry[];
  /** A local database copy (folder or snapshot file) to use instead of fetching one. */
  readonly db: string | undefined;
  readonly dbUrl: string;
  /** How old the advisory data may be, per stage: past it dev warns, staging and production fail. */
  readonly maxAgeDays: Readonly<Record<AuditStage, number>>;
}

/** The default age limit of every stage: a week, as the issue that added the limit asks of production. */
export const DEFAULT_MAX_AGE_DAYS = 7;

/** Where the RustSec database is published. */
export const ADVISORY_DB_URL = "https://github.com/rustsec/advisory-db";

/** Applies defaults to the `[audit]` table. */
export function auditPolicyFrom(raw: z.output<typeof auditPolicySchema> | undefined): AuditPolicy {
  const day = (d: Date | string) => (typeof d === "string" ? d : d.toISOString().slice(0, 10));
  return {
    ignore: (raw?.ignore ?? []).map((e) => ({ id: e.id, reason: e.reason, expires: day(e.expires) })),
    db: raw?.db,
    dbUrl: raw?.db_url ?? ADVISORY_DB_URL,
    maxAgeDays: {
      dev: raw?.max_age_days?.dev ?? DEFAULT_MAX_AGE_DAYS,
      staging: raw?.max_age_days?.staging ?? DEFAULT_MAX_AGE_DAYS,
      production: raw?.max_age_days?.production ?? DEFAULT_MAX_AGE_DAYS,
    },
  };
}

/** One package matched by one advisory. */
export interface AuditFinding {
  readonly advisory: Advisory;
  readonly package: LockedPackage;
  /** Set when the advisory is on the ignore list (and the ignore has not expired). */
  readonly ignoredBecause?: string;
}

/** What an audit found. */
export interface AuditResult {
  /** Vulnerabilities that fail the gate. */
  readonly vulnerabilities: readonly AuditFinding[];
  /** Informational advisories (unmaintained, unsound, notice): warnings. */
  readonly warnings: readonly AuditFinding[];
  /** Vulnerabilities accepted by an ignore entry that has not expired. */
  readonly ignored: readonly AuditFinding[];
  /** Ignore entries past their expiry date: each fails the gate. */
  readonly expiredIgnores: readonly IgnoreEntry[];
  /** crates.io packages checked. */
  readonly checked: number;
  /** Packages not from crates.io (workspace, path, git, other registries): not checked. */
  readonly skipped: number;
}

/** True when `version` is affected by `advisory` (in none of its safe intervals). */
export function isAffected(advisory: Advisory, version: string): boolean {
  const parsed = new SemVer(version);
  return !advisory.safe.some((interval) => contains(interval, parsed));
}

/**
 * Audits a lockfile against loaded advisories.
 * @param today The date ignores are checked against (YYYY-MM-DD).
 */
export function audit(lockfile: Lockfile, advisories: LoadedAdvisories, policy: AuditPolicy, today: string): AuditResult {
  const expiredIgnores = policy.ignore.filter((entry) => entry.expires < today);
  const activeIgnores = new Map(policy.ignore.filter((e) => e.expires >= today).map((e) => [e.id, e]));
  const vulnerabilities: AuditFinding[] = [];
  const warnings: AuditFinding[] = [];
  const ignored: AuditFinding[] = [];
  const cratesIo = lockfile.packages.filter((p) => p.origin === "crates.io");
  for (const pkg of cratesIo) {
    for (const advisory of advisories.byCrate.get(pkg.name) ?? []) {
      if (advisory.withdrawn !== undefined || !isAffected(advisory, pkg.version)) continue;
      const ignore = [advisory.id, ...advisory.aliases].map((id) => activeIgnores.get(id)).find((e) => e !== undefined);
      if (advisory.informational !== undefined) warnings.push({ advisory, package: pkg });
      else if (ignore !== undefined) ignored.push({ advisory, package: pkg, ignoredBecause: `${ignore.reason} (until ${ignore.expires})` });
      else vulnerabilities.push({ advisory, package: pkg });
    }
  }
  return {
    vulnerabilities,
    warnings,
    ignored,
    expiredIgnores,
    checked: cratesIo.length,
    skipped: lockfile.packages.length - cratesIo.length,
  };
}

/** `RUSTSEC-2021-0072 tokio 1.8.0: Task dropped in wrong thread … (patched: >= 1.8.1; only on windows)` */
export function describeFinding(finding: AuditFinding): string {
  const { advisory, package: pkg } = finding;
  const patched = advisory.patched.length === 0 ? "no patched version" : `patched: ${advisory.patched.join(" | ")}`;
  const platform = [
    advisory.os.length > 0 ? `only on ${advisory.os.join(", ")}` : "",
    advisory.arch.length > 0 ? `only on ${advisory.arch.join(", ")}` : "",
  ].filter((s) => s !== "");
  const kind = advisory.informational === undefined ? "" : ` [${advisory.informational}]`;
  return `${advisory.id} ${pkg.name} ${pkg.version}${kind}: ${advisory.title} (${[patched, ...platform].join("; ")})`;
}

/** The parts of a database copy a JSON report describes. */
export interface DatabaseInfo {
  /** Advisories read for the lockfile's crates. */
  readonly advisoryCount: number;
  readonly newestAdvisory: string;
  /** The data's date (YYYY-MM-DD) and what it is (`commit`, `snapshot`, `newest advisory`). */
  readonly date: string;
  readonly dateOf: string;
  readonly commit: string | undefined;
  /** Which link of the fallback chain gave it, and from where. */
  readonly source: string;
  readonly origin: string;
  readonly ageDays: number;
  readonly maxAgeDays: number;
  readonly stale: boolean;
}

function advisoryJson(finding: AuditFinding) {
  const { advisory, package: pkg } = finding;
  return {
    advisory: {
      id: advisory.id,
      package: advisory.package,
      title: advisory.title,
      date: advisory.date,
      url: advisory.url ?? null,
      cvss: advisory.cvss ?? null,
      aliases: advisory.aliases,
      categories: advisory.categories,
      informational: advisory.informational ?? null,
      withdrawn: advisory.withdrawn ?? null,
    },
    versions: { patched: advisory.patched, unaffected: advisory.unaffected },
    affected: advisory.os.length + advisory.arch.length === 0 ? null : { os: advisory.os, arch: advisory.arch },
    package: { name: pkg.name, version: pkg.version, source: pkg.source ?? null },
  };
}

/** A JSON report with the fields of `cargo audit --json`'s entries. */
export function auditJson(result: AuditResult, lockfile: Lockfile, database: DatabaseInfo) {
  const byKind = (kind: string) => result.warnings.filter((w) => w.advisory.informational === kind).map(advisoryJson);
  return {
    database: {
      "advisory-count": database.advisoryCount,
      "newest-advisory": database.newestAdvisory,
      "last-commit": database.commit ?? null,
      "last-updated": database.date,
      "date-of": database.dateOf,
      source: database.source,
      origin: database.origin,
      "age-days": database.ageDays,
      "max-age-days": database.maxAgeDays,
      stale: database.stale,
    },
    lockfile: { "dependency-count": lockfile.packages.length, "checked-count": result.checked },
    vulnerabilities: {
      found: result.vulnerabilities.length > 0,
      count: result.vulnerabilities.length,
      list: result.vulnerabilities.map(advisoryJson),
    },
    ignored: result.ignored.map((f) => ({ ...advisoryJson(f), reason: f.ignoredBecause })),
    "expired-ignores": result.expiredIgnores,
    warnings: { unmaintained: byKind("unmaintained"), unsound: byKind("unsound"), notice: byKind("notice") },
  };
}
