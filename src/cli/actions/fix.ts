/**
 * `shriven-pipeline fix [--clippy] [--source DIR]`: the workspace rewritten so
 * the fmt step (and with --clippy the clippy step) passes, on the host
 * toolchain, all or nothing (see fix-workspace.ts).
 */
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { formatArgv } from "../../core/command.js";
import { HostRunner } from "../../runners/host-runner.js";
import { allStepIds } from "../../stages/registry.js";
import type { FixKind } from "../../steps/dev/fix.js";
import { type ParsedArgs, text } from "../args.js";
import { fixWorkspace, renderFixRun } from "../fix-workspace.js";
import type { CliIo } from "../io.js";
import { workspaceDir } from "../workspace-dir.js";

export { runFix as run };

async function runFix({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const workspace = workspaceDir(text(values.source), io.cwd);
  const kind: FixKind = values.clippy === true ? "clippy" : "fmt";
  const config = loadPipelineConfig({ workspace, stepIds: allStepIds() });

  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  if (io.handleSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  try {
    const run = await fixWorkspace({
      workspace,
      kind,
      steps: config.steps,
      runner: new HostRunner({ workspace }),
      signal: controller.signal,
      onCommand: (fix) => io.stdout.write(`$ ${formatArgv(fix.command.argv)}\n`),
    });
    io.stdout.write(renderFixRun(run));
    return run.status === "fixed" ? 0 : run.status === "failed" ? 1 : 130;
  } finally {
    if (io.handleSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}
