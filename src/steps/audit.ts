import { ConfigError } from "../core/errors.js";
import type { AdvisoryDatabaseHandle, Step, StepContext, StepOutcome } from "../core/step.js";
import { databaseAge, loadAdvisories } from "../supply-chain/advisory-db.js";
import { type AuditPolicy, audit, auditJson, describeFinding } from "../supply-chain/audit.js";
import { parseLockfile } from "../supply-chain/cargo-lock.js";
import { plural } from "./cargo-messages.js";

/** Findings named in the one-line summary. */
const NAMED_IN_SUMMARY = 2;

/** Inputs of {@link auditOutcome}. */
export interface AuditInputs {
  readonly lockfileText: string;
  readonly lockfileName: string;
  readonly database: AdvisoryDatabaseHandle;
  readonly policy: AuditPolicy;
  /** YYYY-MM-DD, for ignore expiry. */
  readonly today: string;
}

/**
 * The audit as a step outcome: failed on any vulnerability, expired ignore or
 * unreadable advisory; warned on informational advisories, ignored findings
 * or a database that could not be refreshed. Shared by the step and the CLI.
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
  const advisories = loadAdvisories(inputs.database.root, names);
  const age = databaseAge(inputs.database.root, new Date(`${inputs.today}T00:00:00Z`));
  const result = audit(lockfile, advisories, inputs.policy, inputs.today);
  const database = `advisories up to ${age.newestDate} (${age.newestAdvisory}, ${age.days} days old) from ${inputs.database.origin}`;
  const details = [
    ...result.vulnerabilities.map((f) => `vulnerable: ${describeFinding(f)}`),
    ...result.expiredIgnores.map((e) => `expired ignore: ${e.id} (${e.reason}) expired on ${e.expires}; fix it or renew the ignore`),
    ...advisories.errors.map((e) => `unreadable advisory: ${e.message}`),
    ...result.warnings.map((f) => `warning: ${describeFinding(f)}`),
    ...result.ignored.map((f) => `ignored: ${describeFinding(f)} — ${f.ignoredBecause}`),
    ...(inputs.database.warning === undefined ? [] : [`database: ${inputs.database.warning}`]),
    `checked ${plural(result.checked, "crates.io package")} (${result.skipped} workspace, path, git or other-registry packages not checked) against ${database}`,
  ];
  const data = auditJson(result, lockfile, {
    advisoryCount: advisories.fileCount,
    newestAdvisory: age.newestAdvisory,
    newestDate: age.newestDate,
    ageDays: age.days,
  });
  const problems = result.vulnerabilities.length + result.expiredIgnores.length + advisories.errors.length;
  if (problems > 0) {
    const named = result.vulnerabilities.slice(0, NAMED_IN_SUMMARY).map(describeFinding);
    const more = result.vulnerabilities.length > NAMED_IN_SUMMARY ? `; and ${result.vulnerabilities.length - NAMED_IN_SUMMARY} more` : "";
    const headline =
      result.vulnerabilities.length > 0
        ? `${result.vulnerabilities.length} ${result.vulnerabilities.length === 1 ? "vulnerability" : "vulnerabilities"}: ${named.join("; ")}${more}`
        : result.expiredIgnores.length > 0
          ? `expired ignore ${result.expiredIgnores.map((e) => e.id).join(", ")}`
          : `${plural(advisories.errors.length, "advisory file")} could not be read`;
    return { status: "failed", summary: headline, details, data };
  }
  const warned = result.warnings.length + result.ignored.length > 0 || inputs.database.warning !== undefined;
  const notes = [
    result.warnings.length > 0 ? plural(result.warnings.length, "warning") : "",
    result.ignored.length > 0 ? `${result.ignored.length} ignored` : "",
  ].filter((n) => n !== "");
  const summary = `No vulnerabilities${notes.length > 0 ? `; ${notes.join(", ")}` : ""} (${plural(result.checked, "crate")}; advisories to ${age.newestDate}, ${age.days} days old)`;
  return { status: warned ? "warned" : "passed", summary, details, data };
}

/** RustSec audit of Cargo.lock with cargo-audit's semantics: the security scan. */
export const auditStep: Step = {
  id: "audit",
  title: "Security",
  description: "RustSec audit of Cargo.lock: no vulnerable dependencies",
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
    });
  },
};
