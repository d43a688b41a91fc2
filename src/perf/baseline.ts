/**
 * Performance baselines: what a run measured, saved by name as plain JSON,
 * with an audit record of every save (who, when, why).
 */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { describeIssues } from "../core/zod-issues.js";

const measurementSchema = z
  .strictObject({
    /** Time per iteration, ns: one sample per run (Bencher JSON: the run's mean), or criterion's samples of every run. */
    samples: z
      .array(z.number().positive({ error: "expected times above 0" }), { error: "expected an array of numbers" })
      .min(2, { error: "expected at least 2 samples" }),
    /** How many of `samples` each run gave, in order (criterion results); absent, one sample per run. */
    runs: z
      .array(z.int({ error: "expected whole numbers" }).positive({ error: "expected counts above 0" }), {
        error: "expected an array of sample counts",
      })
      .min(1, { error: "expected at least one run" })
      .optional(),
    /** Median p99 over the runs, ns (when the benchmark reports one). */
    p99: z.number().positive().optional(),
  })
  .refine((m) => m.runs === undefined || m.runs.reduce((a, b) => a + b, 0) === m.samples.length, {
    error: "expected sample counts adding up to the number of samples",
    path: ["runs"],
  });

/** Schema of a baseline file. */
export const baselineSchema = z.strictObject({
  schemaVersion: z.literal(1, { error: "expected schemaVersion 1" }),
  name: z.string(),
  savedAt: z.iso.datetime({ error: "expected an ISO date-time" }),
  benchmarks: z.record(z.string(), measurementSchema, { error: "expected a table of benchmarks" }),
  /** Instructions executed (callgrind Ir) by the instructions command, when configured. */
  instructions: z.int().positive({ error: "expected a positive whole number" }).optional(),
});

/** A saved measurement. */
export type Baseline = z.output<typeof baselineSchema>;

/** What a run measured (a baseline without its name and date). */
export type PerfMeasurement = Pick<Baseline, "benchmarks" | "instructions">;

/** Parses a baseline file's text. */
export function parseBaseline(text: string, file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(file, describeIssues(parsed.error.issues));
  return parsed.data;
}

/** One line of the baselines' audit log. */
export interface BaselineRecord {
  readonly name: string;
  readonly savedAt: string;
  readonly by: string;
  readonly reason: string;
  readonly instructions: number | undefined;
  readonly benchmarks: Readonly<Record<string, number>>;
}

/**
 * Saves a baseline as `<dir>/<name>.json` (whole or not at all) and appends
 * who saved it, when and why to `<dir>/audit.jsonl`.
 */
export function saveBaseline(
  dir: string,
  name: string,
  measurement: PerfMeasurement,
  who: { by: string; reason: string },
  now: Date,
): string {
  if (who.reason.trim() === "") throw new ConfigError("--reason", ["saving a baseline needs a reason (it is recorded with who and when)"]);
  const baseline: Baseline = { schemaVersion: 1, name, savedAt: now.toISOString(), ...measurement };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(baseline, null, 2)}\n`);
  renameSync(temporary, file);
  const means = Object.fromEntries(
    Object.entries(measurement.benchmarks).map(([id, m]) => [id, m.samples.reduce((a, b) => a + b, 0) / m.samples.length]),
  );
  const record: BaselineRecord = {
    name,
    savedAt: baseline.savedAt,
    by: who.by,
    reason: who.reason,
    instructions: measurement.instructions,
    benchmarks: means,
  };
  appendFileSync(join(dir, "audit.jsonl"), `${JSON.stringify(record)}\n`);
  return file;
}
