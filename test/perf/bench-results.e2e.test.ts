/**
 * Benchmark result readers: criterion's output as written by a real
 * criterion 0.3 build (from Debian's librust-criterion-dev directory
 * registry, since crates.io is out of reach), synthetic criterion layouts,
 * and Bencher Metric Format, with the malformed files each must refuse.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Measurement, readBencherJson, readCriterionDirectory } from "../../src/perf/bench-results.js";
import { benchRunPaths, collectBenchOutput, markRunStart } from "../helpers/bench-output.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";
import { DEBIAN_CARGO_REGISTRY, needs } from "../helpers/tools.js";

const CRITERION_CRATE = existsSync(DEBIAN_CARGO_REGISTRY)
  ? readdirSync(DEBIAN_CARGO_REGISTRY).find((name) => /^criterion-0\.3\./.test(name))
  : undefined;

const CARGO_TOML = `[package]
name = "bench-results-probe"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
bench = false

[dev-dependencies]
criterion = "0.3"

[[bench]]
name = "b"
harness = false
`;

const CARGO_CONFIG = `[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "${DEBIAN_CARGO_REGISTRY}"

[net]
offline = true
`;

/** criterion 0.3 takes whole seconds on the command line, so the short times are set in code. */
const BENCH_RS = `use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

fn sum_1000(c: &mut Criterion) {
    let v: Vec<u64> = (0..1000).collect();
    c.bench_function("sum_1000", |b| b.iter(|| black_box(&v).iter().sum::<u64>()));
}

fn sort_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("group");
    let data: Vec<u64> = (0..100u64).rev().collect();
    group.bench_with_input(BenchmarkId::new("sort", 100), &data, |b, d| {
        b.iter(|| {
            let mut v = d.clone();
            v.sort_unstable();
            v
        })
    });
    group.finish();
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = quick();
    targets = sum_1000, sort_group
}
criterion_main!(benches);
`;

const EXPECTED_IDS = ["group/sort/100", "sum_1000"];

/** Writes `files` (relative path → text or bytes) under `root`, creating folders. */
function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
}

describe("real criterion 0.3 output", needs("criterion"), () => {
  let project = "";
  let criterionDir = "";

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), "shriven-criterion-"));
    criterionDir = join(project, "target", "criterion");
    writeTree(project, { "Cargo.toml": CARGO_TOML, ".cargo/config.toml": CARGO_CONFIG, "src/lib.rs": "", "benches/b.rs": BENCH_RS });
    const options = { cwd: project, env: { CARGO_TARGET_DIR: join(project, "target"), CARGO_TERM_COLOR: "never" } };
    const started = Date.now();
    await execa("cargo", ["bench", "--offline", "--bench", "b", "--no-run"], options);
    const built = Date.now();
    await execa("cargo", ["bench", "--offline", "--bench", "b", "--", "--sample-size", "10"], options);
    await execa("cargo", ["bench", "--offline", "--bench", "b", "--", "--sample-size", "10", "--save-baseline", "main"], options);
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    console.info(
      `real criterion (${CRITERION_CRATE}): build ${seconds(built - started)} s, two bench runs ${seconds(Date.now() - built)} s, total ${seconds(Date.now() - started)} s`,
    );
  }, 600_000);

  afterAll(() => {
    if (project !== "") rmSync(project, { recursive: true, force: true });
  });

  it("reads the latest run (new/): both benchmarks, criterion's full_id, 10 positive samples, mean within the samples", () => {
    const results = readCriterionDirectory(criterionDir, "new");
    expect(results.map((m) => m.id)).toEqual(EXPECTED_IDS);
    for (const m of results) {
      const written = JSON.parse(readFileSync(join(criterionDir, m.id, "new", "benchmark.json"), "utf8")) as { full_id: string };
      expect(m.id).toBe(written.full_id);
      expect(m.unit).toBe("ns");
      expect(m.samples).toHaveLength(10);
      for (const s of m.samples) expect(s).toBeGreaterThan(0);
      expect(m.pointEstimate).toBeGreaterThanOrEqual(Math.min(...m.samples));
      expect(m.pointEstimate).toBeLessThanOrEqual(Math.max(...m.samples));
      expect(m.lower).toBeGreaterThan(0);
      expect(m.lower as number).toBeLessThanOrEqual(m.upper as number);
      expect(Object.keys(m.extra ?? {})).toEqual(expect.arrayContaining(["median", "median_abs_dev", "std_dev"]));
    }
  });

  it("reads a baseline saved with --save-baseline main, which matches that run's new/", () => {
    const main = readCriterionDirectory(criterionDir, "main");
    expect(main.map((m) => m.id)).toEqual(EXPECTED_IDS);
    expect(main).toEqual(readCriterionDirectory(criterionDir, "new"));
  });

  it("reads the automatic base/ baseline of the first run", () => {
    const base = readCriterionDirectory(criterionDir, "base");
    expect(base.map((m) => m.id)).toEqual(EXPECTED_IDS);
    for (const m of base) expect(m.samples).toHaveLength(10);
  });

  it("names the baseline and folder when the baseline was never saved", () => {
    const error = configError(() => readCriterionDirectory(criterionDir, "nope"));
    expect(error.message).toContain(`no results for baseline "nope" under ${criterionDir}`);
  });
});

const BENCHMARK_JSON = JSON.stringify({
  group_id: "parse",
  function_id: "order",
  value_str: "64",
  throughput: { Bytes: 64 },
  full_id: "parse/order/64",
  directory_name: "parse/order/64",
  title: "parse/order/64",
});

const estimate = (point: number, lower: number, upper: number) => ({
  confidence_interval: { confidence_level: 0.95, lower_bound: lower, upper_bound: upper },
  point_estimate: point,
  standard_error: 0.5,
});

const ESTIMATES = {
  mean: estimate(10, 9, 11),
  median: estimate(9.5, 9, 10),
  median_abs_dev: estimate(1, 0.5, 1.5),
  slope: null,
  std_dev: estimate(1.2, 1, 2),
};
const ESTIMATES_JSON = JSON.stringify(ESTIMATES);
const SAMPLE_JSON = JSON.stringify({ sampling_mode: "Linear", iters: [1, 2, 4], times: [10, 22, 36] });

type CriterionFile = "benchmark.json" | "estimates.json" | "sample.json";

/** A `target/criterion`-like folder (`root`, a fresh one by default) with one benchmark under `which`; `null` leaves a file out. */
function criterionTree(
  overrides: Partial<Record<CriterionFile, string | Uint8Array | null>> = {},
  which = "new",
  benchDir = "parse/order/64",
  root = tempDir("shriven-criterion-"),
): string {
  const files: Record<CriterionFile, string | Uint8Array | null> = {
    "benchmark.json": BENCHMARK_JSON,
    "estimates.json": ESTIMATES_JSON,
    "sample.json": SAMPLE_JSON,
    ...overrides,
  };
  for (const [name, text] of Object.entries(files)) {
    if (text !== null) writeTree(root, { [`${benchDir}/${which}/${name}`]: text });
  }
  writeTree(root, { "report/index.html": "<html></html>", [`${benchDir}/report/index.html`]: "<html></html>" });
  return root;
}

describe("readCriterionDirectory on synthetic layouts", () => {
  it("turns total sample times into per-iteration times and takes the mean's estimate and interval", () => {
    const root = criterionTree();
    const expected: Measurement = {
      id: "parse/order/64",
      unit: "ns",
      samples: [10, 11, 9],
      pointEstimate: 10,
      lower: 9,
      upper: 11,
      extra: { median: 9.5, median_abs_dev: 1, std_dev: 1.2 },
    };
    expect(readCriterionDirectory(root, "new")).toEqual([expected]);
  });

  it("keeps the slope estimate as extra when criterion wrote one, and accepts flat sampling", () => {
    const root = criterionTree({
      "estimates.json": JSON.stringify({ ...ESTIMATES, slope: estimate(9.8, 9.5, 10.1) }),
      "sample.json": JSON.stringify({ sampling_mode: "Flat", iters: [5, 5], times: [50, 55] }),
    });
    const [m] = readCriterionDirectory(root, "new");
    expect(m?.extra?.slope).toBe(9.8);
    expect(m?.samples).toEqual([10, 11]);
  });

  it("finds a benchmark whose own folder has the baseline's name", () => {
    const root = criterionTree({}, "new", "group/new");
    expect(readCriterionDirectory(root, "new").map((m) => m.id)).toEqual(["parse/order/64"]);
  });

  it("returns nothing when one of several benchmarks is malformed", () => {
    const root = criterionTree();
    writeTree(root, {
      "other/new/benchmark.json": BENCHMARK_JSON.replaceAll("parse/order/64", "other"),
      "other/new/estimates.json": ESTIMATES_JSON,
      "other/new/sample.json": '{"iters": [1], "times": [-1]}',
    });
    const error = configError(() => readCriterionDirectory(root, "new"));
    expect(error.source).toBe(join(root, "other/new/sample.json"));
  });

  it("refuses two folders that claim the same benchmark id", () => {
    const root = criterionTree();
    writeTree(root, {
      "copy/new/benchmark.json": BENCHMARK_JSON,
      "copy/new/estimates.json": ESTIMATES_JSON,
      "copy/new/sample.json": SAMPLE_JSON,
    });
    expect(configError(() => readCriterionDirectory(root, "new")).message).toContain("parse/order/64: benchmark id appears more than once");
  });

  it("says so when the criterion folder does not exist", () => {
    const missing = join(tempDir(), "target", "criterion");
    const error = configError(() => readCriterionDirectory(missing, "new"));
    expect(error.source).toBe(missing);
    expect(error.message).toContain("directory not found");
  });

  it("refuses a baseline name that is a path", () => {
    expect(configError(() => readCriterionDirectory(criterionTree(), "../new")).message).toContain('"../new" is not a baseline name');
  });
});

interface MalformedCriterion {
  name: string;
  overrides: Partial<Record<CriterionFile, string | Uint8Array | null>>;
  file: CriterionFile;
  says: string[];
}

const BENCHMARK = JSON.parse(BENCHMARK_JSON) as Record<string, unknown>;

const MALFORMED_CRITERION: MalformedCriterion[] = [
  { name: "truncated JSON", overrides: { "sample.json": SAMPLE_JSON.slice(0, 30) }, file: "sample.json", says: ["invalid JSON"] },
  {
    name: "NaN in JSON",
    overrides: { "estimates.json": ESTIMATES_JSON.replace('"point_estimate":10', '"point_estimate":NaN') },
    file: "estimates.json",
    says: ["invalid JSON", "NaN and Infinity are not JSON numbers"],
  },
  {
    name: "a negative time",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[1,2],"times":[10,-3]}' },
    file: "sample.json",
    says: ["times.1: expected a finite number > 0, got -3"],
  },
  {
    name: "zero iterations",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[0,2],"times":[10,20]}' },
    file: "sample.json",
    says: ["iters.0: expected a finite number > 0, got 0"],
  },
  {
    name: "no samples",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[],"times":[]}' },
    file: "sample.json",
    says: ["iters, times: no samples"],
  },
  {
    name: "iters and times of different lengths",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[1,2,3],"times":[10,20]}' },
    file: "sample.json",
    says: ["iters, times: lengths differ (3 iters, 2 times)"],
  },
  {
    name: "iters that is not an array",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":"1,2","times":[10,20]}' },
    file: "sample.json",
    says: ["iters: expected an array of numbers"],
  },
  {
    name: "a sample time that is a string",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[1,2],"times":[10,"20"]}' },
    file: "sample.json",
    says: ["times.1: expected a finite number"],
  },
  { name: "a missing estimates.json", overrides: { "estimates.json": null }, file: "estimates.json", says: ["file not found"] },
  { name: "a missing benchmark.json", overrides: { "benchmark.json": null }, file: "benchmark.json", says: ["file not found"] },
  {
    name: "a string point_estimate",
    overrides: { "estimates.json": ESTIMATES_JSON.replace('"point_estimate":10', '"point_estimate":"10"') },
    file: "estimates.json",
    says: ["mean.point_estimate:", "expected number, received string"],
  },
  {
    name: "an estimate that is missing",
    overrides: { "estimates.json": JSON.stringify({ ...ESTIMATES, std_dev: undefined }) },
    file: "estimates.json",
    says: ["std_dev: expected an estimate object"],
  },
  {
    name: "a null full_id",
    overrides: { "benchmark.json": BENCHMARK_JSON.replace('"full_id":"parse/order/64"', '"full_id":null') },
    file: "benchmark.json",
    says: ["full_id:", "expected string, received null"],
  },
  {
    name: "a sample file that is an array (criterion 0.2 layout)",
    overrides: { "sample.json": "[[1,2],[10,20]]" },
    file: "sample.json",
    says: ["(top level):", "expected object, received array"],
  },
  { name: "an empty file", overrides: { "estimates.json": "" }, file: "estimates.json", says: ["invalid JSON"] },
  {
    name: "a time too large for a number (1e999)",
    overrides: { "sample.json": '{"sampling_mode":"Linear","iters":[1,2],"times":[10,1e999]}' },
    file: "sample.json",
    says: ["times.1: expected a finite number"],
  },
  {
    name: "a null estimate (serde_json writes NaN as null)",
    overrides: { "estimates.json": ESTIMATES_JSON.replace('"point_estimate":10', '"point_estimate":null') },
    file: "estimates.json",
    says: ["mean.point_estimate:", "received null"],
  },
  {
    name: "a mean without its interval and error",
    overrides: { "estimates.json": JSON.stringify({ ...ESTIMATES, mean: { point_estimate: 10 } }) },
    file: "estimates.json",
    says: ["mean.confidence_interval:", "mean.standard_error:"],
  },
  {
    name: "a sampling mode criterion never writes (Auto is a setting, not a result)",
    overrides: { "sample.json": '{"sampling_mode":"Auto","iters":[1,2],"times":[10,20]}' },
    file: "sample.json",
    says: ['sampling_mode: expected "Linear" or "Flat"'],
  },
  {
    name: "a benchmark.json without ids",
    overrides: { "benchmark.json": JSON.stringify({ title: "parse/order/64" }) },
    file: "benchmark.json",
    says: ["full_id:", "expected string, received undefined", "group_id:", "directory_name:"],
  },
  {
    name: "an empty full_id",
    overrides: { "benchmark.json": JSON.stringify({ ...BENCHMARK, full_id: "" }) },
    file: "benchmark.json",
    says: ["full_id: expected a non-empty string"],
  },
  {
    name: "a throughput in an unknown shape (two units)",
    overrides: { "benchmark.json": JSON.stringify({ ...BENCHMARK, throughput: { Bytes: 64, Elements: 8 } }) },
    file: "benchmark.json",
    says: ['throughput: expected exactly one unit, such as {"Bytes": 1024}'],
  },
  {
    name: "a negative throughput",
    overrides: { "benchmark.json": JSON.stringify({ ...BENCHMARK, throughput: { Bytes: -64 } }) },
    file: "benchmark.json",
    says: ["throughput.Bytes: expected a number >= 0"],
  },
  {
    name: "a huge file",
    overrides: { "sample.json": `${SAMPLE_JSON}${" ".repeat(1024 * 1024)}` },
    file: "sample.json",
    says: ["at most 1048576 expected"],
  },
  {
    name: "bytes that are not UTF-8",
    overrides: { "benchmark.json": Buffer.concat([Buffer.from(BENCHMARK_JSON.slice(0, -1)), Buffer.from([0xff, 0xfe, 0x7d])]) },
    file: "benchmark.json",
    says: ["is not valid UTF-8 text"],
  },
];

describe("readCriterionDirectory refuses malformed results", () => {
  it.each(MALFORMED_CRITERION)("$name", ({ overrides, file, says }) => {
    const root = criterionTree(overrides);
    const error = configError(() => readCriterionDirectory(root, "new"));
    const path = join(root, "parse/order/64/new", file);
    expect(error.source).toBe(path);
    expect(error.message.startsWith(`${path}:`)).toBe(true);
    for (const text of says) expect(error.message).toContain(text);
  });

  it.each(MALFORMED_CRITERION)("through the perf gate's listing of a run: $name", async ({ overrides, file, says }) => {
    const workspace = tempDir("shriven-gate-");
    const paths = benchRunPaths(workspace);
    markRunStart(paths, Date.now() - 60_000);
    criterionTree(overrides, "new", "parse/order/64", paths.criterionHome);
    const { parse } = await collectBenchOutput(workspace, paths);
    const error = configError(parse);
    const path = `target/criterion/parse/order/64/new/${file}`;
    expect(error.source).toBe(path);
    expect(error.message.startsWith(`${path}:`)).toBe(true);
    for (const text of says) expect(error.message).toContain(text);
  });

  it("names the baseline and folder when nothing was saved under that name", () => {
    const root = criterionTree({}, "main");
    const error = configError(() => readCriterionDirectory(root, "x"));
    expect(error.source).toBe(root);
    expect(error.message).toContain(`no results for baseline "x" under ${root}`);
  });
});

describe("readBencherJson", () => {
  it("reads the example benchmark's output: mean as value, p50 and p99 as bounds even when p50 is above the mean", () => {
    const text = JSON.stringify({
      order_handling: { latency: { value: 180.5, lower_value: 150, upper_value: 900 } },
      risk_check: { latency: { value: 20, lower_value: 25, upper_value: 40 } },
      tick_to_trade: { latency: { value: 0 } },
    });
    expect(readBencherJson(text, "bench.json")).toEqual([
      { id: "order_handling", unit: "ns", samples: [], pointEstimate: 180.5, lower: 150, upper: 900 },
      { id: "risk_check", unit: "ns", samples: [], pointEstimate: 20, lower: 25, upper: 40 },
      { id: "tick_to_trade", unit: "ns", samples: [], pointEstimate: 0 },
    ]);
  });

  it("names measures other than latency after the benchmark", () => {
    const text = JSON.stringify({ decode: { latency: { value: 5 }, throughput: { value: 1e9 } } });
    expect(readBencherJson(text, "bench.json").map((m) => m.id)).toEqual(["decode", "decode/throughput"]);
  });

  it("refuses two entries that map to the same id", () => {
    const text = JSON.stringify({ "a/b": { latency: { value: 1 } }, a: { b: { value: 2 } } });
    expect(configError(() => readBencherJson(text, "bench.json")).message).toContain(
      "a/b: more than one benchmark and measure map to this id",
    );
  });
});

interface MalformedBencher {
  name: string;
  text: string;
  says: string[];
}

const MALFORMED_BENCHER: MalformedBencher[] = [
  {
    name: "a top level that is an array",
    text: '[{"value": 1}]',
    says: ["(top level): expected an object mapping benchmark names to measures"],
  },
  { name: "a top level that is a number", text: "42", says: ["(top level): expected an object mapping benchmark names to measures"] },
  { name: "an empty object", text: "{}", says: ["(top level): no benchmarks in the file"] },
  { name: "truncated JSON", text: '{"a": {"latency": {"value": 1', says: ["invalid JSON"] },
  { name: "NaN", text: '{"a": {"latency": {"value": NaN}}}', says: ["invalid JSON", "NaN and Infinity are not JSON numbers"] },
  { name: "a negative value", text: '{"a": {"latency": {"value": -1}}}', says: ["a.latency.value: expected a number >= 0"] },
  { name: "a missing value", text: '{"a": {"latency": {"lower_value": 1}}}', says: ["a.latency.value: expected a finite number"] },
  { name: "a string value", text: '{"a": {"latency": {"value": "1"}}}', says: ["a.latency.value: expected a finite number"] },
  {
    name: "lower_value above upper_value",
    text: '{"a": {"latency": {"value": 5, "lower_value": 9, "upper_value": 3}}}',
    says: ["a.latency: lower_value (9) is greater than upper_value (3)"],
  },
  {
    name: "an unknown key",
    text: '{"a": {"latency": {"value": 5, "p99": 9}}}',
    says: ["a.latency.p99: unknown key", "value, lower_value, upper_value"],
  },
  { name: "a benchmark that is not an object", text: '{"a": 5}', says: ["a: expected an object mapping measure names"] },
  { name: "a benchmark without measures", text: '{"a": {}}', says: ["a: no measures"] },
];

describe("readBencherJson refuses malformed files", () => {
  it.each(MALFORMED_BENCHER)("$name", ({ text, says }) => {
    const error = configError(() => readBencherJson(text, "target/perf/bench-1.json"));
    expect(error.source).toBe("target/perf/bench-1.json");
    expect(error.message.startsWith("target/perf/bench-1.json:")).toBe(true);
    for (const fragment of says) expect(error.message).toContain(fragment);
  });
});
