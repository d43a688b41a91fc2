/**
 * Start-up of the CLI: whole `node` processes of `--help` and `list` against a bare `node -e 0`, run
 * alternately (one of each per round) so a slow spell of the machine hits all three. Reports each one's
 * median wall time and its ratio to the bare process; the target is ≤ 1.5 for both, which holds when they
 * load only the CLI's entry (dist/cli.js), not the pipeline (test/cli/startup.e2e.test.ts pins that).
 *
 * Usage: npx tsx bench/startup.ts [--repeats N]   (builds dist/ first when it is missing or stale)
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { repeats: { type: "string", default: "15" } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected a whole number ≥ 1, got ${values.repeats}`);

const BIN = resolve(import.meta.dirname, "../bin/shriven-pipeline.js");
const TARGET = 1.5;
const SCENARIOS = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "--help", args: [BIN, "--help"] },
  { name: "list", args: [BIN, "list"] },
] as const;

/** Wall time (ms) of one whole process; throws when it fails. */
function timed(args: readonly string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(" ")}: exit ${run.status}: ${run.stderr.toString()}`);
  return ms;
}

function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

timed([BIN, "--version"]); // builds dist/ when needed, outside the measurement
const samples: number[][] = SCENARIOS.map(() => []);
for (let round = 0; round < repeats; round++) {
  SCENARIOS.forEach((scenario, i) => {
    samples[i]?.push(timed(scenario.args));
  });
}

const bare = median(samples[0] ?? []);
console.log(`CLI start-up, medians of ${repeats} alternating whole-process runs (target ≤ ${TARGET}× node -e 0):`);
SCENARIOS.forEach((scenario, i) => {
  const ms = median(samples[i] ?? []);
  const ratio = ms / bare;
  const verdict = i === 0 ? "" : ratio <= TARGET ? "  within target" : "  OVER TARGET";
  console.log(`  ${scenario.name.padEnd(10)} ${ms.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}×${verdict}`);
});
