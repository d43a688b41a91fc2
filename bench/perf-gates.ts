/**
 * How often the performance gates cry wolf and how often they catch a real
 * regression, on the example engine on this machine, for both measures:
 * - wall time: separate `cargo bench` runs of the same build (alternating with
 *   runs of the slower build, so slow spells of the machine hit both) split at random
 *   into N-against-N comparisons (A/A), and against a build made 10 % slower
 *   per event (tick_to_trade, sized on wall time), each decided by the
 *   bootstrap interval at 5 %, comparing means and comparing fastest runs;
 * - instructions: repeated callgrind counts of `shriven-quant hotpath`, same
 *   build (A/A) and the slower build.
 *
 * Usage: npx tsx bench/perf-gates.ts [--runs N] [--trials N] [--per-side N]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readBencherJson } from "../src/perf/bench-results.js";
import { readCallgrindInstructions } from "../src/perf/callgrind.js";
import { bootstrapChange, decideChange, instructionChange } from "../src/perf/regression.js";
import { copyExample } from "../test/helpers/example.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "40" },
    trials: { type: "string", default: "200" },
    "per-side": { type: "string", default: "10" },
  },
});
const runs = Number(values.runs);
const trials = Number(values.trials);
const perSide = Number(values["per-side"]);
const HOOK = "        self.stats.events += 1;\n";
const scratch = mkdtempSync(join(tmpdir(), "shriven-perf-bench-"));

function copyWithSpin(extra: number): string {
  const copy = copyExample(mkdtempSync(join(scratch, "c-")));
  const lib = join(copy, "crates/engine/src/lib.rs");
  if (extra > 0)
    writeFileSync(
      lib,
      readFileSync(lib, "utf8").replace(
        HOOK,
        `${HOOK}        for i in 0..std::hint::black_box(${extra}u32) {\n            std::hint::black_box(i);\n        }\n`,
      ),
    );
  execFileSync("cargo", ["build", "--release", "--offline", "-p", "engine"], { cwd: copy, stdio: "ignore" });
  return copy;
}

function wallRuns(copy: string, n: number): number[] {
  const out = join(copy, "bmf.json");
  return Array.from({ length: n }, () => {
    execFileSync("cargo", ["bench", "--offline", "-p", "engine"], {
      cwd: copy,
      stdio: "ignore",
      env: { ...process.env, SHRIVEN_BENCH_JSON: out, SHRIVEN_BENCH_ITERS: "200000" },
    });
    return readBencherJson(readFileSync(out, "utf8"), out).find((m) => m.id === "tick_to_trade")?.pointEstimate as number;
  });
}

function instructions(copy: string): number {
  const out = join(copy, "cg.out");
  execFileSync(
    "valgrind",
    ["--tool=callgrind", "--quiet", `--callgrind-out-file=${out}`, "target/release/shriven-quant", "hotpath", "--iterations", "20000"],
    { cwd: copy, stdio: "ignore" },
  );
  return readCallgrindInstructions(readFileSync(out, "utf8"), out);
}

function pick(values: readonly number[], k: number, seed: number): number[] {
  const out = [...values];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out.slice(0, k);
}

const rate = (n: number) => `${((100 * n) / trials).toFixed(1)} %`;

try {
  const base = copyWithSpin(0);
  const baseIr = instructions(base);
  const probe = copyWithSpin(200);
  const perSpinIr = (instructions(probe) - baseIr) / 200;
  const spins = Math.round((0.1 * baseIr) / perSpinIr);
  const slow = copyWithSpin(spins);

  const irA = Array.from({ length: 10 }, () => instructions(base));
  const irB = Array.from({ length: 10 }, () => instructions(slow));
  let irFalse = 0;
  let irCaught = 0;
  for (let t = 0; t < trials; t++) {
    if (decideChange(instructionChange(irA[t % 10] as number, irA[(t + 1) % 10] as number), 5) === "regressed") irFalse++;
    if (decideChange(instructionChange(irA[t % 10] as number, irB[t % 10] as number), 5) === "regressed") irCaught++;
  }

  // Wall time gets its own injection, sized on wall time to +10 % of the fastest run by bisection on the number of
  // spins (their cost is far from linear: out-of-order execution hides part of it), in alternating runs.
  const fastestApart = (copy: string, rounds: number): number => {
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      a.push(...wallRuns(base, 1));
      b.push(...wallRuns(copy, 1));
    }
    return (100 * (Math.min(...b) - Math.min(...a))) / Math.min(...a);
  };
  let wallSpins = spins;
  let [tooFew, tooMany] = [0, Number.POSITIVE_INFINITY];
  let slowWall = copyWithSpin(wallSpins);
  for (let attempt = 0; attempt < 12; attempt++) {
    const apart = fastestApart(slowWall, 10);
    if (Math.abs(apart - 10) <= 0.75) break;
    if (apart < 10) tooFew = wallSpins;
    else tooMany = wallSpins;
    wallSpins = Number.isFinite(tooMany) ? Math.round((tooFew + tooMany) / 2) : wallSpins * 2;
    slowWall = copyWithSpin(wallSpins);
  }
  const wallA: number[] = [];
  const wallB: number[] = [];
  for (let r = 0; r < runs; r++) {
    wallA.push(...wallRuns(base, 1));
    wallB.push(...wallRuns(slowWall, 1));
  }
  const wall = { mean: { false: 0, caught: 0 }, min: { false: 0, caught: 0 } };
  for (const statistic of ["mean", "min"] as const) {
    for (let t = 0; t < trials; t++) {
      const a = pick(wallA, 2 * perSide, 2 * t + 1);
      if (decideChange(bootstrapChange(a.slice(0, perSide), a.slice(perSide), { seed: t, statistic }), 5) === "regressed")
        wall[statistic].false++;
      const slowed = bootstrapChange(pick(wallA, perSide, 4 * t + 3), pick(wallB, perSide, 4 * t + 5), { seed: t, statistic });
      if (decideChange(slowed, 5) === "regressed") wall[statistic].caught++;
    }
  }
  console.log(
    `injected slowdown: ${spins} spins per event = ${((100 * (instructions(slow) - baseIr)) / baseIr).toFixed(1)} % more instructions`,
  );
  console.log(
    `instructions: A/A spread ${(((Math.max(...irA) - Math.min(...irA)) / baseIr) * 100).toFixed(4)} %; false alarms ${rate(irFalse)}, detection ${rate(irCaught)} (${trials} trials)`,
  );
  console.log(
    `wall time (tick_to_trade, ${runs} alternating runs each): base ${Math.min(...wallA).toFixed(1)}–${Math.max(...wallA).toFixed(1)} ns; ${wallSpins} spins per event injected: ${Math.min(...wallB).toFixed(1)}–${Math.max(...wallB).toFixed(1)} ns, fastest runs ${((100 * (Math.min(...wallB) - Math.min(...wallA))) / Math.min(...wallA)).toFixed(1)} % apart`,
  );
  for (const statistic of ["mean", "min"] as const) {
    console.log(
      `wall time, ${statistic} of the runs: false alarms ${rate(wall[statistic].false)}, detection ${rate(wall[statistic].caught)} (${trials} random ${perSide}-vs-${perSide} splits)`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
