/**
 * `shriven-pipeline alerts render|check`: the Prometheus alerting rules and the Alertmanager config generated from
 * `[monitor.thresholds]` (src/alerts/), written to a folder, and checked with promtool and amtool.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { checkAlerts, renderAlerts, writeAlerts } from "../../alerts/render.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { allStepIds } from "../../stages/registry.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliIo } from "../io.js";

/** Where `render` writes unless `--out` names a folder. */
export const DEFAULT_ALERTS_DIR = "target/shriven-pipeline/alerts";

export { runAlerts as run };

async function runAlerts({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  const [subcommand, ...extra] = positionals;
  if ((subcommand !== "render" && subcommand !== "check") || extra.length > 0)
    throw new UsageError(
      `alerts: expected render or check, got ${positionals.length === 0 ? "nothing" : JSON.stringify(positionals.join(" "))}`,
    );
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const thresholds = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.monitor.thresholds;
  const webhookFile = text(values["webhook-file"]);
  if (webhookFile !== undefined && (!webhookFile.startsWith("/") || /[\0\n]/.test(webhookFile)))
    throw new UsageError(
      `--webhook-file: expected the absolute path of the file holding the Slack webhook URL on the Alertmanager host, got ${JSON.stringify(webhookFile)}`,
    );
  const rendered = renderAlerts(thresholds, webhookFile);
  const out = text(values.out);
  if (subcommand === "render") {
    const dir = resolve(io.cwd, out ?? join(source, DEFAULT_ALERTS_DIR));
    const paths = writeAlerts(dir, rendered);
    const shown = (p: string) => relative(io.cwd, p) || p;
    io.stdout.write(
      `Wrote ${shown(paths.rules)} and ${shown(paths.alertmanager)} from [monitor.thresholds] (check them: shriven-pipeline alerts check)\n`,
    );
    return 0;
  }
  const dir = out === undefined ? mkdtempSync(join(tmpdir(), "shriven-alerts-")) : resolve(io.cwd, out);
  try {
    const reports = await checkAlerts(writeAlerts(dir, rendered));
    io.stdout.write(`${reports.map((r) => `✅ ${r.replaceAll("\n", "\n   ")}`).join("\n")}\n`);
    return 0;
  } finally {
    if (out === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
