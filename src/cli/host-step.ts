import { availableParallelism } from "node:os";
import type { PipelineConfig } from "../config/pipeline-config.js";
import type { Step, StepResult, StepServices } from "../core/step.js";
import { HostRunner } from "../runners/host-runner.js";
import { runStage } from "../stages/stage.js";

/** Runs one step on the host toolchain in `source`, as a stage of its own (for the gate commands). */
export async function runHostStep(
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
