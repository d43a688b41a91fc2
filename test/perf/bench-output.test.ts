/**
 * The perf gate's listing of what one bench run wrote, run for real (POSIX
 * `sh` and `find` on the host) over criterion folders a test lays out: only
 * results newer than the run's start count, a benchmark half rewritten is
 * refused, links are not followed, and odd names survive the byte framing.
 */
import { mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { BenchOutputError, parseBenchOutput } from "../../src/perf/bench-output.js";
import { benchRunPaths, collectBenchOutput, markRunStart } from "../helpers/bench-output.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";

const STARTED = Date.now() - 60_000;
const EARLIER = STARTED - 3_600_000;

const estimate = (point: number) => ({
  confidence_interval: { confidence_level: 0.95, lower_bound: point * 0.9, upper_bound: point * 1.1 },
  point_estimate: point,
  standard_error: 0.1,
});

/** Criterion's three files of one benchmark, as criterion 0.3–0.5 write them. */
function criterionFiles(fullId: string, groupId: string, functionId: string | null, nsPerIter: number): Record<string, string> {
  return {
    "benchmark.json": JSON.stringify({
      group_id: groupId,
      function_id: functionId,
      value_str: null,
      throughput: null,
      full_id: fullId,
      directory_name: fullId,
      title: fullId,
    }),
    "estimates.json": JSON.stringify({
      mean: estimate(nsPerIter),
      median: estimate(nsPerIter),
      median_abs_dev: estimate(0.1),
      slope: estimate(nsPerIter),
      std_dev: estimate(0.2),
    }),
    "sample.json": JSON.stringify({ sampling_mode: "Linear", iters: [10, 20], times: [10 * nsPerIter, 20 * nsPerIter] }),
  };
}

/** Writes `<home>/<folder>/<baseline>/<file>` for each file, dated `atMs`. */
function writeResult(home: string, folder: string, baseline: string, files: Record<string, string>, atMs: number): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(home, folder, baseline, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    utimesSync(path, atMs / 1000, atMs / 1000);
  }
}

/** A workspace whose run started at STARTED. */
function workspace() {
  const root = tempDir("shriven-bench-output-");
  const paths = benchRunPaths(root);
  markRunStart(paths, STARTED);
  return { root, paths, home: paths.criterionHome };
}

describe("the gate's listing of a bench run", () => {
  it("counts only results newer than the run's start; earlier ones are named as not run", async () => {
    const { root, home } = workspace();
    writeResult(home, "sum_1000", "new", criterionFiles("sum_1000", "sum_1000", null, 310), Date.now());
    writeResult(home, "retired", "new", criterionFiles("retired", "retired", null, 50), EARLIER);
    writeResult(home, "group/sort", "new", criterionFiles("group/sort", "group", "sort", 90), Date.now());
    const output = (await collectBenchOutput(root)).parse();
    expect(output.criterion.map((r) => [r.measurement.id, r.measurement.samples, r.directory])).toEqual([
      ["group/sort", [90, 90], join(home, "group/sort")],
      ["sum_1000", [310, 310], join(home, "sum_1000")],
    ]);
    expect(output.notRun).toEqual(["retired"]);
    expect(output.bencher).toBeUndefined();
  });

  it("refuses a benchmark this run rewrote only in part, naming the file left from the earlier run", async () => {
    const { root, home } = workspace();
    const files = criterionFiles("parse", "parse", null, 12);
    writeResult(home, "parse", "new", { "benchmark.json": files["benchmark.json"] as string }, EARLIER);
    writeResult(
      home,
      "parse",
      "new",
      { "estimates.json": files["estimates.json"] as string, "sample.json": files["sample.json"] as string },
      Date.now(),
    );
    const error = configError((await collectBenchOutput(root)).parse);
    expect(error.message).toBe(
      "target/criterion/parse/new/benchmark.json: is from an earlier run, while estimates.json, sample.json are from this one: criterion stopped before finishing this benchmark",
    );
  });

  it("lists criterion's saved baselines (base and --save-baseline names), not its change/ folder; a benchmark with no new/ is not counted", async () => {
    const { root, home } = workspace();
    const files = criterionFiles("a", "a", null, 5);
    writeResult(home, "a", "new", files, Date.now());
    writeResult(home, "a", "base", files, Date.now());
    writeResult(home, "a", "main", files, EARLIER);
    writeResult(home, "a", "change", { "estimates.json": "{}" }, Date.now());
    writeResult(home, "only-saved", "main", criterionFiles("only-saved", "only-saved", null, 5), EARLIER);
    const output = (await collectBenchOutput(root)).parse();
    expect(output.criterion.map((r) => r.measurement.id)).toEqual(["a"]);
    expect(output.savedBaselines).toEqual(["base", "main"]);
    expect(output.notRun).toEqual([]);
  });

  it("reads a benchmark group named new, and names with spaces, quotes and non-ASCII letters", async () => {
    const { root, home } = workspace();
    writeResult(home, "new/fn", "new", criterionFiles("new/fn", "new", "fn", 7), Date.now());
    writeResult(home, "new/fn", "base", criterionFiles("new/fn", "new", "fn", 7), Date.now());
    const odd = "prix α β/l'ordre «1»";
    writeResult(home, odd, "new", criterionFiles(odd, "prix α β", "l'ordre «1»", 8), Date.now());
    const output = (await collectBenchOutput(root)).parse();
    expect(output.criterion.map((r) => [r.measurement.id, r.directory])).toEqual([
      ["new/fn", join(home, "new/fn")],
      [odd, join(home, odd)],
    ]);
  });

  it("refuses two folders that report one benchmark id in the same run", async () => {
    const { root, home } = workspace();
    writeResult(home, "a", "new", criterionFiles("same", "same", null, 5), Date.now());
    writeResult(home, "b", "new", criterionFiles("same", "same", null, 6), Date.now());
    const error = configError((await collectBenchOutput(root)).parse);
    expect(error.message).toBe(
      "target/criterion: same: benchmark id written to both target/criterion/a and target/criterion/b in this run",
    );
  });

  it("does not follow links below the criterion folder: a loop does not hang it, a linked result file is refused", async () => {
    const { root, home } = workspace();
    writeResult(home, "real", "new", criterionFiles("real", "real", null, 5), Date.now());
    symlinkSync(".", join(home, "loop"));
    symlinkSync("..", join(home, "real", "up"));
    expect((await collectBenchOutput(root)).parse().criterion.map((r) => r.measurement.id)).toEqual(["real"]);
    const elsewhere = tempDir("shriven-elsewhere-");
    writeFileSync(join(elsewhere, "sample.json"), criterionFiles("x", "x", null, 5)["sample.json"] as string);
    writeResult(home, "linked", "new", criterionFiles("linked", "linked", null, 5), Date.now());
    const linked = join(home, "linked", "new", "sample.json");
    rmSync(linked);
    symlinkSync(join(elsewhere, "sample.json"), linked);
    expect(configError((await collectBenchOutput(root)).parse).message).toContain(
      "target/criterion/linked/new/sample.json: is a symbolic link; criterion writes plain files and folders here",
    );
  });

  it("follows a criterion folder that is itself a link (target/ on another disk)", async () => {
    const { root, paths } = workspace();
    const disk = tempDir("shriven-disk-");
    writeResult(disk, "a", "new", criterionFiles("a", "a", null, 5), Date.now());
    symlinkSync(disk, paths.criterionHome);
    expect((await collectBenchOutput(root)).parse().criterion.map((r) => r.measurement.id)).toEqual(["a"]);
  });

  it("hands over the Bencher JSON the run wrote, and nothing when there is no criterion folder", async () => {
    const { root, paths } = workspace();
    writeFileSync(paths.bencherFile, '{"order_handling":{"latency":{"value":180}}}');
    const output = (await collectBenchOutput(root)).parse();
    expect(output.bencher).toEqual({ path: paths.bencherFile, text: '{"order_handling":{"latency":{"value":180}}}' });
    expect(output.criterion).toEqual([]);
  });

  it("refuses a huge Bencher JSON by name without reading it", async () => {
    const { root, paths } = workspace();
    writeFileSync(paths.bencherFile, " ".repeat(2 * 1024 * 1024));
    const { stdout, parse } = await collectBenchOutput(root);
    expect(stdout.length).toBeLessThan(1000);
    expect(configError(parse).message).toBe(
      "target/shriven-pipeline/perf/bench-1.json: file is 2097152 bytes; at most 1048576 expected (benchmark results take a few KB)",
    );
  });

  it("refuses a listing cut short instead of reading part of it", async () => {
    const { root, paths, home } = workspace();
    writeResult(home, "a", "new", criterionFiles("a", "a", null, 5), Date.now());
    const { stdout } = await collectBenchOutput(root);
    for (const cut of [stdout.length - 3, stdout.length - 40, 5]) {
      expect(() => parseBenchOutput(stdout.slice(0, cut), paths, (p) => p)).toThrow(BenchOutputError);
    }
  });
});
