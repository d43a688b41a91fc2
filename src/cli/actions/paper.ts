/**
 * `shriven-pipeline paper`: paper trading on its own, outside a stage — replay
 * market data through the workspace's engine and gate on the outcome.
 */
import { relative, resolve } from "node:path";
import { readEnvFiles, resolveEnvironment } from "../../config/env-profile.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { MarketDataError } from "../../market/types.js";
import { PaperSetupError, runPaperJob } from "../../paper/run-paper.js";
import { allStepIds } from "../../stages/registry.js";
import { type ParsedArgs, text, texts } from "../args.js";
import { outputFormat } from "../gate-output.js";
import type { CliIo } from "../io.js";

export { runPaper as run };

async function runPaper({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const format = outputFormat(text(values.format));
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const config = loadPipelineConfig({ workspace: source, stepIds: allStepIds() });
  const environment = resolveEnvironment({
    environment: "test",
    envFiles: readEnvFiles((texts(values["env-file"]) ?? []).map((f) => resolve(io.cwd, f))),
    processEnv: io.env,
  });
  const outDir = resolve(io.cwd, text(values.out) ?? resolve(source, "target/shriven-pipeline/paper"));
  const data = texts(values.data);
  let result: Awaited<ReturnType<typeof runPaperJob>>;
  try {
    result = await runPaperJob({
      source,
      policy: config.policies.paper,
      ...(data === undefined ? {} : { data: data.map((d) => resolve(io.cwd, d)) }),
      environment,
      build: values["no-build"] !== true,
      outDir,
      progress: (line) => {
        if (format === "text") io.stderr.write(`${line}\n`);
      },
    });
  } catch (error) {
    if (error instanceof PaperSetupError || error instanceof MarketDataError) {
      io.stderr.write(`shriven-pipeline: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const { report, files } = result;
  if (format === "json") io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const icon = report.verdict === "passed" ? "✅" : report.verdict === "warned" ? "⚠️" : "❌";
    io.stdout.write(
      [
        `${icon} Paper trading: ${report.summary}`,
        ...report.gates.map((g) => `    ${g.id}: ${g.status} — ${g.detail}`),
        `    report: ${relative(io.cwd, files.json) || files.json}, ${relative(io.cwd, files.markdown) || files.markdown}`,
      ].join("\n"),
    );
    io.stdout.write("\n");
  }
  return report.verdict === "failed" ? 1 : 0;
}
