/**
 * Instruction counts from `valgrind --tool=callgrind`: the `summary:` (or
 * `totals:`) line of a callgrind output file, whose first event is Ir.
 */
import { ConfigError } from "../core/errors.js";

/** Reads the total instructions executed (Ir) from callgrind output. */
export function readCallgrindInstructions(text: string, file: string): number {
  const events = /^events:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  if (events === undefined) throw new ConfigError(file, ["no 'events:' line: not a callgrind output file"]);
  const column = events.indexOf("Ir");
  if (column < 0) throw new ConfigError(file, [`events are ${events.join(" ")}; expected Ir (run callgrind without --collect-atstart=no)`]);
  const totals = /^(?:summary|totals):\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  if (totals === undefined) throw new ConfigError(file, ["no 'summary:' or 'totals:' line: the run did not finish"]);
  const value = Number(totals[column]);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new ConfigError(file, [`summary Ir is ${JSON.stringify(totals[column])}; expected a positive whole number`]);
  return value;
}

/** The argv that runs `argv` under callgrind, writing its output to `outFile`. */
export function callgrindArgv(argv: readonly string[], outFile: string): string[] {
  return ["valgrind", "--tool=callgrind", "--quiet", `--callgrind-out-file=${outFile}`, ...argv];
}
