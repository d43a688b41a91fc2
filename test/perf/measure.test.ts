/**
 * The gate's measurement loop on the host with a stand-in bench command (a
 * shell script writing criterion's files and Bencher JSON as told), so each
 * rule is checked without building Rust: criterion read when no Bencher JSON
 * was written, the runs each input defaults to, results of earlier runs and
 * earlier pipeline runs ignored, both inputs merged, and the errors that
 * name what is missing. The real criterion build is criterion-gate.e2e.test.ts.
 */
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import type { StepContext } from "../../src/engine/step.js";
import { MeasurementError, measure } from "../../src/perf/measure.js";
import { perfPolicyFrom } from "../../src/perf/policy.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { tempDir } from "../helpers/temp.js";

/**
 * Writes what `mode` (a file beside it) says, one run at a time, and logs each
 * run with the CRITERION_HOME it was given: `criterion` two benchmarks,
 * `once` Bencher JSON and, in the first run only, a criterion benchmark, `bencher` Bencher JSON, `both`
 * one of each, `clash` both naming `parse`, `none` nothing.
 */
const BENCH_SH = `set -e
mode=$(cat mode)
echo "$CRITERION_HOME" >> runs.log
run=$(wc -l < runs.log)
result() {
  d="$CRITERION_HOME/$1/new"
  mkdir -p "$d"
  printf '{"group_id":"%s","function_id":null,"value_str":null,"throughput":null,"full_id":"%s","directory_name":"%s","title":"%s"}' "$1" "$1" "$1" "$1" > "$d/benchmark.json"
  e='{"confidence_interval":{"confidence_level":0.95,"lower_bound":1,"upper_bound":2},"point_estimate":1.5,"standard_error":0.1}'
  printf '{"mean":%s,"median":%s,"median_abs_dev":%s,"slope":null,"std_dev":%s}' "$e" "$e" "$e" "$e" > "$d/estimates.json"
  printf '{"sampling_mode":"Flat","iters":[4,4],"times":[%d,%d]}' $(( $2 * 4 )) $(( ($2 + run) * 4 )) > "$d/sample.json"
}
case $mode in
  criterion) result parse 10; result group/sort 20 ;;
  once) [ "$run" -gt 1 ] || result parse 10; printf '{"order_handling":{"latency":{"value":100}}}' > "$SHRIVEN_BENCH_JSON" ;;
  bencher) printf '{"order_handling":{"latency":{"value":%d,"upper_value":900}}}' $(( 100 + run )) > "$SHRIVEN_BENCH_JSON" ;;
  both) result parse 10; printf '{"order_handling":{"latency":{"value":100}}}' > "$SHRIVEN_BENCH_JSON" ;;
  clash) result parse 10; printf '{"parse":{"latency":{"value":100}}}' > "$SHRIVEN_BENCH_JSON" ;;
esac
`;

/** A workspace with the stand-in bench in `mode`. */
function benchWorkspace(mode: string): string {
  const root = tempDir("shriven-measure-");
  writeFileSync(join(root, "bench.sh"), BENCH_SH);
  writeFileSync(join(root, "mode"), mode);
  writeFileSync(join(root, "runs.log"), "");
  return root;
}

function runsLogged(root: string): string[] {
  return readFileSync(join(root, "runs.log"), "utf8")
    .split("\n")
    .filter((l) => l !== "");
}

function context(workspace: string): StepContext {
  const runner = new HostRunner({ workspace });
  return {
    exec: (command) => runner.exec(command),
    options: { extraArgs: [] },
    profileEnv: {},
    workspaceDir: workspace,
    signal: new AbortController().signal,
    policies: defaultPipelineConfig([]).policies,
    services: { advisoryDatabase: () => Promise.reject(new Error("not needed")), today: () => "2026-11-27" },
  };
}

const policy = (raw: Parameters<typeof perfPolicyFrom>[0] = {}) => perfPolicyFrom({ bench_command: ["sh", "bench.sh"], ...raw });

async function measurementError(workspace: string, raw: Parameters<typeof perfPolicyFrom>[0] = {}): Promise<MeasurementError> {
  const error = await measure(context(workspace), policy(raw)).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof MeasurementError)) throw new Error(`expected a MeasurementError, got ${String(error)}`);
  return error;
}

describe("measuring with criterion's own output", () => {
  it("reads criterion's results when no Bencher JSON was written: 3 runs by default, samples kept per run, an absolute CRITERION_HOME", async () => {
    const root = benchWorkspace("criterion");
    const { measurement, criterion } = await measure(context(root), policy());
    const home = join(root, "target", "criterion");
    expect(runsLogged(root)).toEqual([home, home, home]);
    expect(measurement.benchmarks).toEqual({
      "group/sort": { samples: [20, 21, 20, 22, 20, 23], runs: [2, 2, 2] },
      parse: { samples: [10, 11, 10, 12, 10, 13], runs: [2, 2, 2] },
    });
    expect(criterion).toEqual({
      home,
      directories: { "group/sort": join(home, "group/sort"), parse: join(home, "parse") },
      notRun: [],
      savedBaselines: [],
    });
  });

  it("ignores a benchmark criterion measured in an earlier run, and names it", async () => {
    const root = benchWorkspace("criterion");
    const old = join(root, "target", "criterion", "retired", "new");
    mkdirSync(old, { recursive: true });
    for (const file of ["benchmark.json", "estimates.json", "sample.json"]) {
      writeFileSync(join(old, file), "{}");
      utimesSync(join(old, file), 1_000_000, 1_000_000);
    }
    const { measurement, criterion } = await measure(context(root), policy({ repeats: 2 }));
    expect(Object.keys(measurement.benchmarks).sort()).toEqual(["group/sort", "parse"]);
    expect(criterion?.notRun).toEqual(["retired"]);
    expect(runsLogged(root)).toHaveLength(2);
  });

  it("keeps Bencher JSON as it was: 10 runs by default, one sample each, p99 from upper_value", async () => {
    const root = benchWorkspace("bencher");
    const { measurement, criterion } = await measure(context(root), policy());
    expect(runsLogged(root)).toHaveLength(10);
    expect(measurement.benchmarks).toEqual({ order_handling: { samples: [101, 102, 103, 104, 105, 106, 107, 108, 109, 110], p99: 900 } });
    expect(criterion).toBeUndefined();
  });

  it("merges both inputs of one run, and refuses one id from both", async () => {
    const both = await measure(context(benchWorkspace("both")), policy({ repeats: 2 }));
    expect(Object.keys(both.measurement.benchmarks).sort()).toEqual(["order_handling", "parse"]);
    expect(both.measurement.benchmarks.parse?.runs).toEqual([2, 2]);
    expect((await measurementError(benchWorkspace("clash"))).message).toBe(
      "parse: measured both by criterion and in the Bencher JSON; rename one of them",
    );
  });

  it("never reads the Bencher JSON an earlier pipeline run left, and says what it looked for", async () => {
    const root = benchWorkspace("none");
    const perf = join(root, "target", "shriven-pipeline", "perf");
    mkdirSync(perf, { recursive: true });
    writeFileSync(join(perf, "bench-1.json"), '{"order_handling":{"latency":{"value":100}}}');
    const old = join(root, "target", "criterion", "retired", "new");
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, "benchmark.json"), "{}");
    utimesSync(join(old, "benchmark.json"), 1_000_000, 1_000_000);
    expect((await measurementError(root)).message).toBe(
      "benchmark run 1 (sh bench.sh) wrote no results: no Bencher JSON at $SHRIVEN_BENCH_JSON (target/shriven-pipeline/perf/bench-1.json) and no criterion results newer than the run's start under target/criterion (1 benchmark folder(s) there hold results of earlier runs only)",
    );
  });

  it("names criterion's flags that write no results", async () => {
    const error = await measurementError(benchWorkspace("none"), { bench_command: ["sh", "bench.sh", "--", "--discard-baseline"] });
    expect(error.message).toMatch(/; criterion writes none with --discard-baseline$/);
  });

  it("refuses a later run that wrote no criterion results though the first did (a benchmark went missing)", async () => {
    const error = await measurementError(benchWorkspace("once"), { repeats: 2 });
    expect(error.message).toBe("benchmark run 2 wrote no criterion results, though run 1 did");
  });
});
