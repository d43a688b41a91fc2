/**
 * Criterion's named baselines next to the pipeline's, on synthetic criterion
 * folders: where a hand-run `cargo bench` writes, copying a run's `new/`
 * results to a named baseline as criterion does, reading a hand-saved one,
 * and the `perf` options that do both.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { criterionHome, readCriterionBaseline, saveCriterionBaseline } from "../../src/perf/criterion-baseline.js";
import { runCli } from "../helpers/cli.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";

const estimate = {
  confidence_interval: { confidence_level: 0.95, lower_bound: 9, upper_bound: 11 },
  point_estimate: 10,
  standard_error: 0.5,
};

/** Criterion's files of benchmark `id` under `<home>/<id>/<baseline>/`, with per-iteration times `times`. */
function result(home: string, id: string, baseline: string, times: number[]): void {
  const files: Record<string, string> = {
    "benchmark.json": JSON.stringify({
      group_id: id,
      function_id: null,
      value_str: null,
      throughput: null,
      full_id: id,
      directory_name: id,
      title: id,
    }),
    "estimates.json": JSON.stringify({ mean: estimate, median: estimate, median_abs_dev: estimate, slope: null, std_dev: estimate }),
    "sample.json": JSON.stringify({ sampling_mode: "Flat", iters: times.map(() => 2), times: times.map((t) => 2 * t) }),
    "tukey.json": "[1,2,3,4]",
  };
  for (const [name, text] of Object.entries(files)) {
    const path = join(home, id, baseline, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

describe("criterion's folder of a hand-run cargo bench", () => {
  it("is $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else the workspace's target/criterion; relative ones from the workspace", () => {
    expect(criterionHome("/ws", {})).toBe("/ws/target/criterion");
    expect(criterionHome("/ws", { CARGO_TARGET_DIR: "/fast/target" })).toBe("/fast/target/criterion");
    expect(criterionHome("/ws", { CARGO_TARGET_DIR: "out" })).toBe("/ws/out/criterion");
    expect(criterionHome("/ws", { CARGO_TARGET_DIR: "/fast/target", CRITERION_HOME: "/benches" })).toBe("/benches");
    expect(criterionHome("/ws", { CRITERION_HOME: "" })).toBe("/ws/target/criterion");
  });
});

describe("saving criterion's baseline from a run", () => {
  it("copies each measured benchmark's new/ files to <name>/ at the same place under the user's folder, as --save-baseline does", () => {
    const from = join(tempDir(), "target", "criterion");
    const to = join(tempDir(), "criterion");
    result(from, "group/parse", "new", [10, 11]);
    result(from, "untouched", "new", [5, 5]);
    const written = saveCriterionBaseline(from, [join(from, "group/parse")], to, "main");
    expect(written).toEqual([join(to, "group/parse/main")]);
    for (const file of ["benchmark.json", "estimates.json", "sample.json", "tukey.json"])
      expect(readFileSync(join(to, "group/parse/main", file), "utf8")).toBe(readFileSync(join(from, "group/parse/new", file), "utf8"));
    expect(existsSync(join(to, "group/parse/main/raw.csv"))).toBe(false);
    expect(existsSync(join(to, "untouched"))).toBe(false);
  });

  it("refuses criterion's own folder names and folders outside the run's criterion folder", () => {
    const from = join(tempDir(), "criterion");
    result(from, "a", "new", [1, 2]);
    for (const name of ["new", "change", "report", ".."])
      expect(configError(() => saveCriterionBaseline(from, [join(from, "a")], from, name)).message).toContain(
        "a folder criterion keeps for itself",
      );
    expect(configError(() => saveCriterionBaseline(from, [tempDir()], from, "main")).message).toContain(
      `is not a benchmark folder under ${from}`,
    );
  });
});

describe("reading a baseline saved by hand", () => {
  it("gives each benchmark's per-iteration times as one run", () => {
    const home = tempDir();
    result(home, "a", "handmade", [10, 12, 11]);
    result(home, "b/c", "handmade", [3, 4]);
    result(home, "a", "new", [99, 99]);
    expect(readCriterionBaseline(home, "handmade")).toEqual({
      benchmarks: { a: { samples: [10, 12, 11], runs: [3] }, "b/c": { samples: [3, 4], runs: [2] } },
    });
  });

  it("names what is wrong: no such baseline, criterion's own folders, a single sample, a malformed file", () => {
    const home = tempDir();
    result(home, "a", "main", [10]);
    expect(configError(() => readCriterionBaseline(home, "nope")).message).toContain(`no results for baseline "nope" under ${home}`);
    expect(configError(() => readCriterionBaseline(home, "new")).message).toContain('"new" is a folder criterion keeps for itself');
    expect(configError(() => readCriterionBaseline(home, "main")).message).toBe(`${home}: a: 1 sample (at least 2 expected)`);
    writeFileSync(join(home, "a", "main", "sample.json"), '{"iters":[1,2],"times":[1]}');
    expect(configError(() => readCriterionBaseline(home, "main")).message).toBe(
      `${join(home, "a", "main", "sample.json")}: iters, times: lengths differ (2 iters, 1 times)`,
    );
  });
});

describe("perf --from-criterion", () => {
  it("adopts a hand-saved criterion baseline as the pipeline's, with who and why, running nothing", async () => {
    const workspace = tempDir();
    result(join(workspace, "target", "criterion"), "parse", "handmade", [10, 11]);
    const run = await runCli([
      "perf",
      "--source",
      workspace,
      "--from-criterion",
      "handmade",
      "--save-baseline",
      "main",
      "--reason",
      "adopt",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const baselines = join(workspace, ".shriven-pipeline", "baselines");
    expect(JSON.parse(readFileSync(join(baselines, "main.json"), "utf8")).benchmarks).toEqual({ parse: { samples: [10, 11], runs: [2] } });
    expect(JSON.parse(readFileSync(join(baselines, "audit.jsonl"), "utf8"))).toMatchObject({ name: "main", reason: "adopt" });
  });

  it.each([
    [
      ["--from-criterion", "main"],
      "--from-criterion main adopts criterion's saved baseline as the pipeline's: give --save-baseline NAME --reason TEXT with it",
    ],
    [["--from-criterion", "new", "--save-baseline", "main", "--reason", "x"], '--from-criterion: "new" is not a criterion baseline name'],
  ])("refuses %j", async (args, message) => {
    const run = await runCli(["perf", "--source", tempDir(), ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
