/**
 * Dev stage on the example workspace: `shriven-pipeline run dev --only
 * fmt,check,test,clippy` (the four cargo steps; the supply-chain steps have no
 * plain-script equivalent) against the same four commands run one after
 * another by bench/dev-sequential.sh,
 * measured alternately in the same run and reported as ratios of medians.
 *
 * Scenarios (caches warm in all of them):
 * - rerun: nothing changed since the last run;
 * - edit:  one source file of the `risk` crate changed before each run, so
 *          cargo rebuilds risk and the crates that depend on it;
 * - jobs=1: the pipeline with one step at a time, to separate what overlap
 *          pays from what the pipeline process itself costs;
 * - cold:  an empty target directory before each run (fewer repeats).
 *
 * Usage: npm run bench [-- --repeats N]
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { copyExample } from "../test/helpers/example.js";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin/shriven-pipeline.js");
const SCRIPT = join(ROOT, "bench/dev-sequential.sh");

const { values } = parseArgs({ options: { repeats: { type: "string", default: "7" } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected a whole number ≥ 1, got ${values.repeats}`);

const scratch = mkdtempSync(join(tmpdir(), "shriven-bench-"));
const source = copyExample(scratch);
const reportDir = join(scratch, "report");
const editFile = join(source, "crates/risk/src/lib.rs");
let edits = 0;

function timed(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

const pipeline =
  (extra: string[] = []) =>
  () =>
    execFileSync(
      process.execPath,
      [BIN, "run", "dev", "--source", source, "--report-dir", reportDir, "--only", "fmt,check,test,clippy", ...extra],
      {
        stdio: "ignore",
        env: { ...process.env, CI: "true" },
      },
    );
const sequential = () => execFileSync("sh", [SCRIPT, source], { stdio: "ignore" });
const edit = () => appendFileSync(editFile, `// bench edit ${++edits}\n`);
const clean = () => rmSync(join(source, "target"), { recursive: true, force: true });

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs `a` and `b` alternately `repeats` times, each after `before`, and returns their medians. */
function compare(before: () => void, a: () => void, b: () => void, times = repeats): { a: number; b: number; aRuns: number[] } {
  const aRuns: number[] = [];
  const bRuns: number[] = [];
  for (let i = 0; i < times; i++) {
    before();
    aRuns.push(timed(a));
    before();
    bRuns.push(timed(b));
  }
  return { a: median(aRuns), b: median(bRuns), aRuns };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

try {
  console.log(`dev stage bench: example workspace copy in ${source}, ${repeats} alternating repeats per scenario`);
  const cold = compare(clean, pipeline(), sequential, Math.min(repeats, 3));
  const nothing = () => {};
  const rerun = compare(nothing, pipeline(), sequential);
  const edited = compare(edit, pipeline(), sequential);
  const overlap = compare(edit, pipeline(), pipeline(["--jobs", "1"]));

  const rows = [
    ["rerun, nothing changed", rerun.a, rerun.b, "sequential script"],
    ["one file edited", edited.a, edited.b, "sequential script"],
    ["one file edited", overlap.a, overlap.b, "pipeline --jobs 1"],
    ["cold target dir", cold.a, cold.b, "sequential script"],
  ] as const;
  console.log("");
  console.log("scenario                 pipeline    baseline    ratio   baseline is");
  for (const [name, a, b, what] of rows) {
    console.log(`${name.padEnd(24)} ${fmt(a).padStart(9)}  ${fmt(b).padStart(9)}    ${(a / b).toFixed(2)}    ${what}`);
  }
  console.log("");
  console.log(`rerun with nothing changed: median ${fmt(rerun.a)}, worst ${fmt(Math.max(...rerun.aRuns))} (target ≤ 2 s)`);
  console.log(`ratio pipeline / sequential script, one file edited: ${(edited.a / edited.b).toFixed(2)} (target ≤ 0.8)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
