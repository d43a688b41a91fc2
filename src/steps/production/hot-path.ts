/** The hot-path gates: no allocation per iteration under an allocation counter, and memory constant over an engine run. */
import { join, resolve } from "node:path";
import type { HostCapabilities, Step, StepContext, StepOutcome } from "../../engine/step.js";
import { buildAllocCounter, runAllocationGate } from "../../perf/alloc-gate.js";
import { measureCommandMemory } from "../../perf/memory-command.js";
import { analyzeMemoryGrowth } from "../../perf/memory-growth.js";
import { GateRunError, type RunCommand } from "../../perf/run-command.js";
import { needHost } from "../shared/host.js";
import { failed } from "./failed.js";

async function hotPath(context: StepContext, host: HostCapabilities): Promise<StepOutcome> {
  const policy = context.policies.perf;
  const missing = [
    policy.allocCommand === undefined ? "[perf] alloc_command (the hot path at {iterations} iterations)" : "",
    policy.memoryCommand === undefined ? "[perf] memory_command (a run of the engine whose memory is sampled)" : "",
  ].filter((m) => m !== "");
  if (missing.length > 0) return failed(`production needs ${missing.join(" and ")}`);
  const built = await context.exec({ argv: [...policy.buildCommand], mergeOutput: true });
  if (built.exitCode !== 0) return failed(`${policy.buildCommand.join(" ")} failed (exit ${built.exitCode})`, [built.output.slice(-2000)]);
  const exec: RunCommand = (command) => context.exec(command);
  const library = await buildAllocCounter(join(host.workspace, "target", "shriven-pipeline", "alloc"), { exec });
  const absolute = (argv: readonly string[]) => argv.map((a, i) => (i === 0 && a.includes("/") ? resolve(host.workspace, a) : a));
  const allocations = await runAllocationGate(absolute(policy.allocCommand ?? []), {
    iterations: policy.allocIterations,
    library,
    exec,
    timeoutMs: 300_000,
  });
  const memoryRun = await measureCommandMemory(absolute(policy.memoryCommand ?? []), {
    intervalMs: 100,
    timeoutMs: policy.memoryTimeoutMs,
    exec,
  });
  const memory = analyzeMemoryGrowth(memoryRun.samples);
  const details = [`allocations: ${allocations.message}`, `memory: ${memory.reason}`];
  if (memoryRun.exitCode !== 0)
    return failed(`${policy.memoryCommand?.join(" ")} exited with ${memoryRun.exitCode ?? "a signal"}`, details);
  if (!allocations.ok || memory.verdict === "fail") {
    const why = [allocations.ok ? "" : allocations.message, memory.verdict === "fail" ? `memory ${memory.reason}` : ""];
    return failed(why.filter((w) => w !== "").join("; "), details);
  }
  if (memory.verdict === "insufficient") return failed(`memory not assessed: ${memory.reason}`, details);
  return {
    status: memory.verdict === "warn" ? "warned" : "passed",
    summary: `${allocations.perIteration.toFixed(4)} allocations per iteration; memory ${memory.growthPercent >= 0 ? "+" : ""}${memory.growthPercent.toFixed(1)} %`,
    details,
  };
}

/** Zero allocations per iteration in the hot path; memory constant over a run. */
export const hotPathStep: Step = {
  id: "hot-path",
  title: "Allocations and memory",
  description: "the hot path at N and 2N iterations under an allocation counter; RSS growth of an engine run",
  defaultTimeoutSeconds: 900,
  run: async (context) => {
    const host = needHost(context, "the allocation and memory gates");
    try {
      return await hotPath(context, host);
    } catch (error) {
      if (!(error instanceof GateRunError)) throw error;
      return failed(`not measured: ${error.message}`);
    }
  },
};
