/**
 * `shriven-pipeline audit` and `shriven-pipeline licenses`: the supply-chain
 * gates on their own, outside a stage, with text or JSON output. Licences run
 * the licences step itself; the audit also takes a lockfile outside any workspace.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { readTextFile } from "../config/read-text-file.js";
import { UsageError } from "../core/errors.js";
import type { StepOutcome, StepResult } from "../core/step.js";
import { STATUS_ICON } from "../report/report.js";
import { allStepIds } from "../stages/registry.js";
import { auditOutcome } from "../steps/audit.js";
import { licensesStep } from "../steps/licenses.js";
import { defaultCacheDir, fetchAdvisoryDatabase } from "../supply-chain/advisory-db-fetch.js";
import { parseOptions } from "./args.js";
import { runHostStep } from "./host-step.js";
import type { TextOut } from "./progress.js";

/** What a gate command needs from the CLI. */
export interface GateIo {
  readonly stdout: TextOut;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

function format(value: string | undefined): "text" | "json" {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(`--format: expected text or json, got ${JSON.stringify(value)}`);
}

/** Prints an outcome as text (icon, summary, details) or as its JSON data; returns the exit code. */
function report(io: GateIo, title: string, outcome: StepOutcome | StepResult, as: "text" | "json"): number {
  if (as === "json")
    io.stdout.write(`${JSON.stringify({ status: outcome.status, summary: outcome.summary, ...(outcome.data as object) }, null, 2)}\n`);
  else
    io.stdout.write(
      `${[`${STATUS_ICON[outcome.status]} ${title}: ${outcome.summary}`, ...(outcome.details ?? []).map((d) => `    ${d}`)].join("\n")}\n`,
    );
  return outcome.status === "failed" ? 1 : 0;
}

/** `audit [--source DIR | --lockfile FILE] [--db DIR] [--format text|json]` */
export async function auditCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    source: { type: "string" },
    lockfile: { type: "string" },
    db: { type: "string" },
    format: { type: "string" },
  }) as Record<string, string | undefined>;
  const as = format(values.format);
  if (values.source !== undefined && values.lockfile !== undefined) throw new UsageError("give --source or --lockfile, not both");
  const source = values.lockfile === undefined ? resolve(io.cwd, values.source ?? ".") : undefined;
  const lockfile = values.lockfile === undefined ? join(source as string, "Cargo.lock") : resolve(io.cwd, values.lockfile);
  if (!existsSync(lockfile)) throw new UsageError(`${lockfile}: no such lockfile (run cargo generate-lockfile, or pass --lockfile FILE)`);
  // The audit policy (ignores, database) comes from the workspace's config, or the lockfile's folder.
  const policy = loadPipelineConfig({ workspace: source ?? dirname(lockfile), stepIds: allStepIds() }).policies.audit;
  const dbOption = values.db ?? (policy.db === undefined || source === undefined ? undefined : resolve(source, policy.db));
  const database = await fetchAdvisoryDatabase({
    ...(dbOption === undefined ? {} : { localCopy: resolve(io.cwd, dbOption) }),
    url: policy.dbUrl,
    cacheDir: defaultCacheDir(io.env),
  });
  const outcome = auditOutcome({
    lockfileText: readTextFile(lockfile),
    lockfileName: lockfile,
    database,
    policy,
    today: new Date().toISOString().slice(0, 10),
  });
  return report(io, "Security", outcome, as);
}

/** `licenses [--source DIR] [--format text|json]`: the licences step on the host toolchain. */
export async function licensesCommand(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, { source: { type: "string" }, format: { type: "string" } }) as Record<string, string | undefined>;
  const as = format(values.format);
  const source = resolve(io.cwd, values.source ?? ".");
  if (!existsSync(join(source, "Cargo.toml"))) throw new UsageError(`${source}: no Cargo.toml; pass --source DIR`);
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  return report(io, "Licences", await runHostStep(licensesStep, { source, config }), as);
}
