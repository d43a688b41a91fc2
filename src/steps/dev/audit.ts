import { plural } from "../../cargo/messages.js";
import { ConfigError } from "../../core/errors.js";
import type { Step, StepContext, StepOutcome } from "../../engine/step.js";
import { type AuditStage, checkFreshness, describeAge, describeData } from "../../supply-chain/advisory-age.js";
import { type CopyContents, readAdvisoryCopy } from "../../supply-chain/advisory-copy.js";
import { AdvisoryDatabaseError } from "../../supply-chain/advisory-db.js";
import type { AdvisoryDatabaseHandle } from "../../supply-chain/advisory-handle.js";
import { type AuditPolicy, audit, auditJson, describeFinding } from "../../supply-chain/audit.js";
import { parseLockfile } from "../../supply-chain/cargo-lock.js";

/** Findings named in the one-line summary. */
const NAMED_IN_SUMMARY = 2;

/** Inputs of {@link auditOutcome}. */
export interface AuditInputs {
  readonly lockfileText: string;
  readonly lockfileName: string;
  readonly database: AdvisoryDatabaseHandle;
  readonly policy: AuditPolicy;
  /** YYYY-MM-DD on the run's clock: ignore expiry, and the advisory data's age. */
  readonly today: string;
  /** The stage the audit gates: its age limit, and whether older data warns (dev) or fails. */
  readonly stage: AuditStage;
}

/**
 * The audit as a step outcome: failed on any vulnerability, expired ignore, unreadable advisory, or (staging,
 * production) advisory data older than the stage allows; warned on informational advisories, ignored
 * findings, a database that could not be refreshed, or (dev) old data. Shared by the step and the CLI.
 */
export function auditOutcome(inputs: AuditInputs): StepOutcome {
  let lockfile: ReturnType<typeof parseLockfile>;
  try {
    lockfile = parseLockfile(inputs.lockfileText, inputs.lockfileName);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { status: "failed", summary: `${inputs.lockfileName} cannot be read: ${error.problems[0]}`, details: [...error.problems] };
  }
  const names = lockfile.packages.filter((p) => p.origin === "crates.io").map((p) => p.name);
  const { database, stage } = inputs;
  let copy: CopyContents;
  try {
    copy = readAdvisoryCopy(database, names);
  } catch (error) {
    if (!(error instanceof AdvisoryDatabaseError)) throw error;
    return { status: "failed", summary: `no advisory database: ${error.message}` };
  }
  const advisories = copy.loaded;
  const result = audit(lockfile, advisories, inputs.policy, inputs.today);
  const freshness = checkFreshness(database.date, inputs.today, stage, inputs.policy.maxAgeDays[stage]);
  const data = describeData(database);
  const age = describeAge(freshness.ageDays);
  const limit = `${stage} allows ${plural(freshness.maxAgeDays, "day")} ([audit.max_age_days] ${stage})`;
  const provenance = [database.commit === undefined ? "" : `commit ${database.commit.slice(0, 12)}`, database.origin].filter(
    (p) => p !== "",
  );
  const details = [
    ...result.vulnerabilities.map((f) => `vulnerable: ${describeFinding(f)}`),
    ...result.expiredIgnores.map((e) => `expired ignore: ${e.id} (${e.reason}) expired on ${e.expires}; fix it or renew the ignore`),
    ...advisories.errors.map((e) => `unreadable advisory: ${e.message}`),
    ...(freshness.verdict === "stale-failure"
      ? [
          `advisory data too old: ${data} is ${age}; ${limit}. Refresh it (git access to ${inputs.policy.dbUrl}) or pass a recent copy with --advisory-db`,
        ]
      : freshness.verdict === "stale-warning"
        ? [`old advisory data: ${data} is ${age}; ${limit}. Advisories published since may be missing`]
        : []),
    ...result.warnings.map((f) => `warning: ${describeFinding(f)}`),
    ...result.ignored.map((f) => `ignored: ${describeFinding(f)} — ${f.ignoredBecause}`),
    ...(database.warning === undefined ? [] : [`database: ${database.warning}`]),
    `checked ${plural(result.checked, "crates.io package")} (${result.skipped} workspace, path, git or other-registry packages not checked) against the ${data} (${provenance.join(", ")}), ${age}; newest advisory ${copy.newest.id} of ${copy.newest.date}`,
  ];
  const json = auditJson(result, lockfile, {
    advisoryCount: advisories.fileCount,
    newestAdvisory: copy.newest.id,
    date: database.date,
    dateOf: database.dateOf,
    commit: database.commit,
    source: database.source,
    origin: database.origin,
    ageDays: freshness.ageDays,
    maxAgeDays: freshness.maxAgeDays,
    stale: freshness.verdict !== "fresh",
  });
  const stale = freshness.verdict === "stale-failure" ? 1 : 0;
  const problems = result.vulnerabilities.length + result.expiredIgnores.length + advisories.errors.length + stale;
  if (problems > 0) {
    const named = result.vulnerabilities.slice(0, NAMED_IN_SUMMARY).map(describeFinding);
    const more = result.vulnerabilities.length > NAMED_IN_SUMMARY ? `; and ${result.vulnerabilities.length - NAMED_IN_SUMMARY} more` : "";
    const headline =
      result.vulnerabilities.length > 0
        ? `${result.vulnerabilities.length} ${result.vulnerabilities.length === 1 ? "vulnerability" : "vulnerabilities"}: ${named.join("; ")}${more}`
        : result.expiredIgnores.length > 0
          ? `expired ignore ${result.expiredIgnores.map((e) => e.id).join(", ")}`
          : advisories.errors.length > 0
            ? `${plural(advisories.errors.length, "advisory file")} could not be read`
            : `advisory data too old: ${data} is ${age}; ${limit}`;
    return { status: "failed", summary: headline, details, data: json };
  }
  const warned =
    result.warnings.length + result.ignored.length > 0 || database.warning !== undefined || freshness.verdict === "stale-warning";
  const notes = [
    result.warnings.length > 0 ? plural(result.warnings.length, "warning") : "",
    result.ignored.length > 0 ? `${result.ignored.length} ignored` : "",
  ].filter((n) => n !== "");
  const overLimit = freshness.verdict === "stale-warning" ? `, over ${stage}'s ${freshness.maxAgeDays}-day limit` : "";
  const summary = `No vulnerabilities${notes.length > 0 ? `; ${notes.join(", ")}` : ""} (${plural(result.checked, "crate")}; ${data}, ${age}${overLimit})`;
  return { status: warned ? "warned" : "passed", summary, details, data: json };
}

/**
 * RustSec audit of Cargo.lock with cargo-audit's semantics, the security scan of `stage`: its
 * `[audit.max_age_days]` limit applies, past which dev warns and staging and production fail.
 */
export function auditStep(stage: AuditStage): Step {
  return {
    id: "audit",
    title: "Security",
    description: "RustSec audit of Cargo.lock: no vulnerable dependencies, advisory data recent enough",
    defaultTimeoutSeconds: 300,
    async run(context: StepContext): Promise<StepOutcome> {
      const lock = await context.exec({ argv: ["cat", "Cargo.lock"] });
      if (lock.exitCode !== 0) {
        return {
          status: "failed",
          summary: "no Cargo.lock at the workspace root: commit it (cargo generate-lockfile) so the audit checks what you ship",
        };
      }
      let database: AdvisoryDatabaseHandle;
      try {
        database = await context.services.advisoryDatabase();
      } catch (error) {
        return { status: "failed", summary: `no advisory database: ${(error as Error).message}` };
      }
      return auditOutcome({
        lockfileText: lock.stdout,
        lockfileName: "Cargo.lock",
        database,
        policy: context.policies.audit,
        today: context.services.today(),
        stage,
      });
    },
  };
}
