/**
 * `shriven-pipeline perf`: measure the workspace's benchmarks (and
 * instruction counts), compare with a baseline, or save a new baseline with
 * an audit record of who saved it, when and why — also as criterion's
 * baseline of that name, or adopted from one (src/perf/criterion-baseline.ts).
 */
import { join, resolve } from "node:path";
import { execa } from "execa";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { saveBaseline } from "../../perf/baseline.js";
import { criterionHome, isCriterionBaselineName, readCriterionBaseline, saveCriterionBaseline } from "../../perf/criterion-baseline.js";
import type { MeasuredRun } from "../../perf/measure.js";
import { hostServices } from "../../pipeline/host-services.js";
import { stepLine } from "../../report/console.js";
import { allStepIds } from "../../stages/registry.js";
import { perfCheckStep } from "../../steps/dev/perf-check.js";
import type { CliCommand } from "../command.js";
import type { GateIo } from "../io.js";
import { runOneStep } from "../run-one-step.js";

/** The options of `perf`, as given. */
export interface PerfOptions {
  readonly source?: string | undefined;
  readonly baseline?: string | undefined;
  readonly "save-baseline"?: string | undefined;
  readonly reason?: string | undefined;
  readonly "from-criterion"?: string | undefined;
}

/** Runs `perf` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = ({ values }, io) => runPerf(values as PerfOptions, io);

async function whoAmI(cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const name = await execa("git", ["config", "user.name"], { cwd, reject: false });
  return name.exitCode === 0 && name.stdout.trim() !== "" ? name.stdout.trim() : (env.USER ?? "unknown");
}

/** @throws UsageError for a save without a reason or with a bad name, or a misused --from-criterion. */
function checkOptions(values: PerfOptions): void {
  if (values["save-baseline"] !== undefined && (values.reason ?? "").trim() === "") {
    throw new UsageError("--save-baseline needs --reason TEXT: every baseline update is recorded with who, when and why");
  }
  if (values["save-baseline"] !== undefined && !/^[A-Za-z0-9._-]+$/.test(values["save-baseline"])) {
    throw new UsageError(`--save-baseline: expected a name of letters, digits, . _ -, got ${JSON.stringify(values["save-baseline"])}`);
  }
  const fromCriterion = values["from-criterion"];
  if (fromCriterion !== undefined && values["save-baseline"] === undefined) {
    throw new UsageError(
      `--from-criterion ${fromCriterion} adopts criterion's saved baseline as the pipeline's: give --save-baseline NAME --reason TEXT with it`,
    );
  }
  if (fromCriterion !== undefined && !isCriterionBaselineName(fromCriterion)) {
    throw new UsageError(
      `--from-criterion: ${JSON.stringify(fromCriterion)} is not a criterion baseline name (new, change and report are criterion's own folders)`,
    );
  }
}

/** Runs `perf` with its options (also how a first local run records its baseline); returns the exit code. */
export async function runPerf(values: PerfOptions, io: GateIo): Promise<number> {
  checkOptions(values);
  const fromCriterion = values["from-criterion"];
  const source = resolve(io.cwd, values.source ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const perf = { ...config.policies.perf, ...(values.baseline === undefined ? {} : { baseline: values.baseline }) };
  const saveAs = values["save-baseline"];
  const save = async (measured: MeasuredRun): Promise<string> => {
    const file = saveBaseline(
      join(source, perf.baselineDir),
      saveAs as string,
      measured.measurement,
      { by: await whoAmI(source, io.env), reason: values.reason ?? "" },
      new Date(),
    );
    return `Saved baseline ${saveAs} to ${file} (recorded in ${join(source, perf.baselineDir, "audit.jsonl")})\n`;
  };
  const userHome = criterionHome(source, io.env);
  if (fromCriterion !== undefined) {
    const measured = { measurement: readCriterionBaseline(userHome, fromCriterion) };
    const count = Object.keys(measured.measurement.benchmarks).length;
    io.stdout.write(`Read criterion's baseline ${fromCriterion} under ${userHome}: ${count} benchmark(s), no benchmark run\n`);
    if (perf.instructionsCommand !== undefined)
      io.stdout.write("Criterion baselines hold no instruction count: the instructions gate compares nothing until a measured save.\n");
    io.stdout.write(await save(measured));
    return 0;
  }
  const step = await runOneStep(perfCheckStep, {
    source,
    config: { ...config, policies: { ...config.policies, perf } },
    services: hostServices({ workspace: source, audit: config.policies.audit, env: io.env }),
  });
  io.stdout.write(`${[stepLine(step), ...step.details.map((d) => `    ${d}`)].join("\n")}\n`);
  const measured = step.data as MeasuredRun | undefined;
  if (saveAs !== undefined) {
    if (measured?.measurement === undefined) {
      io.stdout.write("No baseline saved: nothing was measured.\n");
      return 1;
    }
    io.stdout.write(await save(measured));
    if (measured.criterion !== undefined) io.stdout.write(criterionSave(measured.criterion, userHome, saveAs));
  }
  return step.status === "failed" ? 1 : 0;
}

/** Saves criterion's baseline of the same name from the run's `new/` results, so `cargo bench -- --baseline NAME` agrees. */
function criterionSave(criterion: NonNullable<MeasuredRun["criterion"]>, home: string, name: string): string {
  if (!isCriterionBaselineName(name)) return `No criterion baseline saved: criterion keeps "${name}" for its own folders.\n`;
  try {
    const folders = saveCriterionBaseline(criterion.home, Object.values(criterion.directories), home, name);
    return `Saved criterion's baseline ${name} for ${folders.length} benchmark(s) under ${home} (cargo bench -- --baseline ${name} compares with it)\n`;
  } catch (error) {
    return `Criterion's baseline ${name} not saved under ${home}: ${(error as Error).message}\n`;
  }
}
