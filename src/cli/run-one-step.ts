/**
 * One step on its own, for the commands that run a single gate outside a
 * stage (licenses, perf, clippy-baseline): a stage of that one step, run by
 * the host runner.
 */
import { availableParallelism } from "node:os";
import type { PipelineConfig } from "../config/pipeline-config.js";
import { runStage } from "../engine/stage.js";
import type { Step, StepResult, StepServices } from "../engine/step.js";
import { HostRunner } from "../runners/host-runner.js";

/** Runs one step on the host toolchain in `source`, as a stage of its own (for the gate commands). */
export async function runOneStep(
  step: Step,
  options: { source: string; config: PipelineConfig; services?: StepServices },
): Promise<StepResult> {
  const outcome = await runStage({
    stage: { name: "dev", environment: "development", description: step.description, groups: [[step]] },
    runner: new HostRunner({ workspace: options.source }),
    workspaceDir: options.source,
    jobs: availableParallelism(),
    policies: options.config.policies,
    ...(options.services === undefined ? {} : { services: options.services }),
  });
  const [result] = outcome.steps;
  if (result === undefined) throw new Error(`step ${step.id} did not run`);
  return result;
}
