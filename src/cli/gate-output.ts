/** How the gate commands print their outcome: as text (icon, summary, details) or as its JSON data. */
import { UsageError } from "../core/errors.js";
import type { StepOutcome, StepResult } from "../engine/step.js";
import { STATUS_ICON } from "../report/report.js";
import type { GateIo } from "./io.js";

/** The output formats of a gate command's `--format`. */
export type OutputFormat = "text" | "json";

/** `--format text|json` (text when not given). @throws UsageError for any other value. */
export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(`--format: expected text or json, got ${JSON.stringify(value)}`);
}

/** Prints an outcome as text (icon, summary, details) or as its JSON data; returns the exit code. */
export function printOutcome(io: GateIo, title: string, outcome: StepOutcome | StepResult, as: OutputFormat): number {
  if (as === "json")
    io.stdout.write(`${JSON.stringify({ status: outcome.status, summary: outcome.summary, ...(outcome.data as object) }, null, 2)}\n`);
  else
    io.stdout.write(
      `${[`${STATUS_ICON[outcome.status]} ${title}: ${outcome.summary}`, ...(outcome.details ?? []).map((d) => `    ${d}`)].join("\n")}\n`,
    );
  return outcome.status === "failed" ? 1 : 0;
}
