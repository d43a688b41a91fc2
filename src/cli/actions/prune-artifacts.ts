/** `shriven-pipeline prune-artifacts`: the retention rule for build artifacts; releases are kept. */
import { join, relative, resolve } from "node:path";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { DEFAULT_ARTIFACTS_DIR, planPrune, prune } from "../../release/retention.js";
import { allStepIds } from "../../stages/registry.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliIo } from "../io.js";

export { runPrune as run };

async function runPrune({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const daysText = text(values.days);
  const days = daysText === undefined ? config.policies.release.retentionDays : Number(daysText);
  if (!Number.isInteger(days) || days < 1)
    throw new UsageError(`--days: expected a whole number of days ≥ 1, got ${JSON.stringify(daysText)}`);
  const dir = resolve(io.cwd, text(values.dir) ?? join(source, DEFAULT_ARTIFACTS_DIR));
  const plan = planPrune(dir, { now: new Date(), maxAgeDays: days });
  const dry = values["dry-run"] === true;
  const removed = dry ? plan.remove : prune(plan, dir);
  io.stdout.write(
    [
      `${dry ? "Would remove" : "Removed"} ${removed.length} build${removed.length === 1 ? "" : "s"} older than ${days} days from ${relative(io.cwd, dir) || dir}; releases are kept:`,
      ...removed.map((r) => `    - ${r.folder} (built ${r.builtAt}, ${Math.floor(r.ageDays)} days, ${r.bytes} bytes)`),
      ...plan.keep.map((k) => `    kept ${k.folder} (${k.reason})`),
      ...plan.problems.map((p) => `    ⚠️ ${p}`),
      "",
    ].join("\n"),
  );
  return 0;
}
