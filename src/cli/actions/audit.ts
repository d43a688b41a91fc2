/**
 * `shriven-pipeline audit`: the RustSec audit of a Cargo.lock on its own,
 * outside a stage — a workspace's, or a lockfile outside any workspace.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { SYSTEM_CLOCK } from "../../core/clock.js";
import { UsageError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import { localAdvisoryCopy } from "../../pipeline/host-services.js";
import { allStepIds } from "../../stages/registry.js";
import { auditOutcome } from "../../steps/dev/audit.js";
import { AUDIT_STAGES, type AuditStage } from "../../supply-chain/advisory-age.js";
import { bundledSnapshotPath, defaultCacheDir, resolveAdvisoryDatabase } from "../../supply-chain/advisory-db-fetch.js";
import type { ParsedArgs } from "../args.js";
import { outputFormat, printOutcome } from "../gate-output.js";
import type { CliIo } from "../io.js";

export { runAudit as run };

function auditStage(value: string | undefined): AuditStage {
  if (value === undefined) return "dev";
  if ((AUDIT_STAGES as readonly string[]).includes(value)) return value as AuditStage;
  throw new UsageError(`--stage: expected ${AUDIT_STAGES.join(", ")}, got ${JSON.stringify(value)}`);
}

async function runAudit(args: ParsedArgs, io: CliIo): Promise<number> {
  const values = args.values as Record<string, string | undefined>;
  const as = outputFormat(values.format);
  const stage = auditStage(values.stage);
  if (values.source !== undefined && values.lockfile !== undefined) throw new UsageError("give --source or --lockfile, not both");
  if (values.db !== undefined && values["advisory-db"] !== undefined)
    throw new UsageError("give --advisory-db only (--db is its old name)");
  if (values.db !== undefined) io.stderr.write("shriven-pipeline: --db is deprecated; use --advisory-db\n");
  const source = values.lockfile === undefined ? resolve(io.cwd, values.source ?? ".") : undefined;
  const lockfile = values.lockfile === undefined ? join(source as string, "Cargo.lock") : resolve(io.cwd, values.lockfile);
  if (!existsSync(lockfile)) throw new UsageError(`${lockfile}: no such lockfile (run cargo generate-lockfile, or pass --lockfile FILE)`);
  // The audit policy (ignores, database, age limits) comes from the workspace's config, or the lockfile's folder.
  const policy = loadPipelineConfig({ workspace: source ?? dirname(lockfile), stepIds: allStepIds() }).policies.audit;
  const given = values["advisory-db"] ?? values.db;
  const localCopy = localAdvisoryCopy(source ?? dirname(lockfile), policy, given === undefined ? undefined : resolve(io.cwd, given));
  const database = await resolveAdvisoryDatabase({
    ...(localCopy === undefined ? {} : { localCopy }),
    url: policy.dbUrl,
    cacheDir: defaultCacheDir(io.env),
    snapshot: bundledSnapshotPath(),
  });
  const outcome = auditOutcome({
    lockfileText: readTextFile(lockfile),
    lockfileName: lockfile,
    database,
    policy,
    today: new Date((io.clock ?? SYSTEM_CLOCK).now()).toISOString().slice(0, 10),
    stage,
  });
  return printOutcome(io, "Security", outcome, as);
}
