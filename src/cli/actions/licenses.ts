/** `shriven-pipeline licenses`: the licences step on its own, outside a stage, on the host toolchain. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { allStepIds } from "../../stages/registry.js";
import { licensesStep } from "../../steps/dev/licenses.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliCommand } from "../command.js";
import { outputFormat, printOutcome } from "../gate-output.js";
import type { CliIo } from "../io.js";
import { runOneStep } from "../run-one-step.js";

/** Runs `licenses` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = async ({ values }: ParsedArgs, io: CliIo) => {
  const as = outputFormat(text(values.format));
  const source = resolve(io.cwd, text(values.source) ?? ".");
  if (!existsSync(join(source, "Cargo.toml"))) throw new UsageError(`${source}: no Cargo.toml; pass --source DIR`);
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  return printOutcome(io, "Licences", await runOneStep(licensesStep, { source, config }), as);
};
