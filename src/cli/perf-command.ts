/**
 * `shriven-pipeline perf`: measure the workspace's benchmarks (and
 * instruction counts), compare with a baseline, or save a new baseline with
 * an audit record of who saved it, when and why.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { loadPipelineConfig } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { type PerfMeasurement, saveBaseline } from "../perf/baseline.js";
import { hostServices } from "../pipeline/host-services.js";
import { stepLine } from "../report/console.js";
import { allStepIds } from "../stages/registry.js";
import { perfCheckStep } from "../steps/perf-check.js";
import type { GateIo } from "./gate-commands.js";
import { runHostStep } from "./host-step.js";

async function whoAmI(cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const name = await execa("git", ["config", "user.name"], { cwd, reject: false });
  return name.exitCode === 0 && name.stdout.trim() !== "" ? name.stdout.trim() : (env.USER ?? "unknown");
}

/** `perf [--source DIR] [--baseline NAME] [--save-baseline NAME --reason TEXT]` */
export async function perfCommand(args: readonly string[], io: GateIo): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      options: {
        source: { type: "string" },
        baseline: { type: "string" },
        "save-baseline": { type: "string" },
        reason: { type: "string" },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values["save-baseline"] !== undefined && (values.reason ?? "").trim() === "") {
    throw new UsageError("--save-baseline needs --reason TEXT: every baseline update is recorded with who, when and why");
  }
  if (values["save-baseline"] !== undefined && !/^[A-Za-z0-9._-]+$/.test(values["save-baseline"])) {
    throw new UsageError(`--save-baseline: expected a name of letters, digits, . _ -, got ${JSON.stringify(values["save-baseline"])}`);
  }
  const source = resolve(io.cwd, values.source ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const perf = { ...config.policies.perf, ...(values.baseline === undefined ? {} : { baseline: values.baseline }) };
  const step = await runHostStep(perfCheckStep, {
    source,
    config: { ...config, policies: { ...config.policies, perf } },
    services: hostServices({ workspace: source, audit: config.policies.audit, env: io.env }),
  });
  io.stdout.write(`${[stepLine(step), ...step.details.map((d) => `    ${d}`)].join("\n")}\n`);
  const measurement = (step.data as { measurement?: PerfMeasurement } | undefined)?.measurement;
  if (values["save-baseline"] !== undefined) {
    if (measurement === undefined) {
      io.stdout.write("No baseline saved: nothing was measured.\n");
      return 1;
    }
    const file = saveBaseline(
      join(source, perf.baselineDir),
      values["save-baseline"],
      measurement,
      { by: await whoAmI(source, io.env), reason: values.reason ?? "" },
      new Date(),
    );
    io.stdout.write(
      `Saved baseline ${values["save-baseline"]} to ${file} (recorded in ${join(source, perf.baselineDir, "audit.jsonl")})\n`,
    );
  }
  return step.status === "failed" ? 1 : 0;
}
