/**
 * End to end: the perf gate on a workspace with stock criterion benchmarks
 * (criterion 0.3 from Debian's librust-criterion-dev as a directory registry,
 * offline) and no Bencher JSON, through the `perf` command and the
 * `perf-check` step. The pipeline saves a baseline (also as criterion's own
 * baseline of that name, which a hand-run `cargo bench -- --baseline main`
 * then compares with), the same build passes against it, a baseline saved by
 * hand with `--save-baseline` is adopted, and a slowdown injected into one
 * benched function is reported under that benchmark's id while a benchmark
 * that no longer runs is not counted from its old files.
 *
 * The bench sits in a member crate, so criterion's working directory is not
 * the workspace root. The dev threshold is 50 % and the slowdown 4×: this
 * checks the plumbing on a busy 2-core machine, not the statistics
 * (regression.test.ts does those).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPipelineConfig } from "../../src/config/pipeline-config.js";
import { runStage } from "../../src/engine/stage.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { allStepIds } from "../../src/stages/registry.js";
import { perfCheckStep } from "../../src/steps/dev/perf-check.js";
import { runCli } from "../helpers/cli.js";
import { DEBIAN_CARGO_REGISTRY, needs } from "../helpers/tools.js";

const IDS = ["book/best_bid/64", "checksum_1000", "retired"];

const FILES: Record<string, string> = {
  "Cargo.toml": '[workspace]\nmembers = ["crates/pricing"]\nresolver = "2"\n',
  ".cargo/config.toml": `[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "${DEBIAN_CARGO_REGISTRY}"\n\n[net]\noffline = true\n`,
  "shriven-pipeline.toml": '[perf]\nbench_command = ["cargo", "bench", "--offline", "--package", "pricing"]\nthresholds = { dev = 50 }\n',
  "crates/pricing/Cargo.toml": `[package]
name = "pricing"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
bench = false

[dev-dependencies]
criterion = "0.3"

[[bench]]
name = "pricing"
harness = false
`,
};

/** The benched code; `rounds` is how many times `checksum` walks its input (the injected slowdown). */
function lib(rounds: number): string {
  return `use std::hint::black_box;

pub fn checksum(data: &[u64]) -> u64 {
    let mut total = 0u64;
    for _ in 0..black_box(${rounds}u32) {
        total = black_box(data).iter().fold(total, |acc, &x| acc.rotate_left(5) ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    total
}

pub fn best_bid(levels: &[(u64, u64)]) -> Option<u64> {
    levels.iter().filter(|level| level.1 > 0).map(|level| level.0).max()
}

pub fn mid_price(bid: u64, ask: u64) -> u64 {
    (bid + ask) / 2
}
`;
}

/** Ordinary criterion benches (short times set in code: criterion 0.3 takes whole seconds on its command line). */
function benches(withRetired: boolean): string {
  return `use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use pricing::{best_bid, checksum, mid_price};
use std::time::Duration;

fn bench_checksum(c: &mut Criterion) {
    let data: Vec<u64> = (0..1000).collect();
    c.bench_function("checksum_1000", |b| b.iter(|| checksum(black_box(&data))));
}

fn bench_book(c: &mut Criterion) {
    let levels: Vec<(u64, u64)> = (0..64).map(|i| (10_000 + i * 5, i % 7)).collect();
    let mut group = c.benchmark_group("book");
    group.bench_with_input(BenchmarkId::new("best_bid", 64), &levels, |b, l| b.iter(|| best_bid(black_box(l))));
    group.finish();
}

fn bench_retired(c: &mut Criterion) {
    c.bench_function("retired", |b| b.iter(|| mid_price(black_box(100), black_box(102))));
}

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_millis(300))
        .sample_size(10)
        .nresamples(2000)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = quick();
    targets = bench_checksum, bench_book${withRetired ? ", bench_retired" : ""}
}
criterion_main!(benches);
`;
}

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** `cargo bench` as a developer types it: the workspace's own target folder, no CRITERION_HOME. */
function cargoBenchByHand(workspace: string, ...criterionArgs: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, CARGO_TERM_COLOR: "never" };
  delete env.CARGO_TARGET_DIR;
  delete env.CRITERION_HOME;
  return execa("cargo", ["bench", "--offline", "--package", "pricing", "--", ...criterionArgs], {
    cwd: workspace,
    env,
    extendEnv: false,
    reject: false,
  });
}

/** Criterion's per-iteration times of a saved result (`times[i] / iters[i]`). */
function perIteration(file: string): number[] {
  const sample = JSON.parse(readFileSync(file, "utf8")) as { iters: number[]; times: number[] };
  return sample.times.map((t, i) => t / (sample.iters[i] as number));
}

describe("the perf gate on stock criterion benchmarks (real criterion 0.3 build)", needs("criterion"), () => {
  let workspace = "";
  let criterion = "";
  let baselines = "";

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), "shriven-criterion-gate-"));
    for (const [path, text] of Object.entries(FILES)) write(workspace, path, text);
    write(workspace, "crates/pricing/src/lib.rs", lib(1));
    write(workspace, "crates/pricing/benches/pricing.rs", benches(true));
    criterion = join(workspace, "target", "criterion");
    baselines = join(workspace, ".shriven-pipeline", "baselines");
    const built = await execa("cargo", ["bench", "--offline", "--package", "pricing", "--no-run"], {
      cwd: workspace,
      env: { CARGO_TARGET_DIR: join(workspace, "target"), CARGO_TERM_COLOR: "never" },
      reject: false,
    });
    expect(built.exitCode, built.stderr).toBe(0);
  }, 1_800_000);

  afterAll(() => {
    if (workspace !== "") rmSync(workspace, { recursive: true, force: true });
  });

  it("perf --save-baseline main: criterion's samples of 3 runs, saved as the pipeline's baseline and as criterion's baseline main", async () => {
    const saved = await runCli(["perf", "--source", workspace, "--save-baseline", "main", "--reason", "first criterion baseline"]);
    expect(saved.code, saved.stdout).toBe(0);
    expect(saved.stdout).toMatch(/^✅ Performance: No baseline "main" yet/);
    expect(saved.stdout).toContain("checksum_1000: mean ");
    expect(saved.stdout).toContain(" ns over 30 criterion samples in 3 runs");
    expect(saved.stdout).toContain(`Saved criterion's baseline main for 3 benchmark(s) under ${criterion}`);

    const baseline = JSON.parse(readFileSync(join(baselines, "main.json"), "utf8"));
    expect(Object.keys(baseline.benchmarks).sort()).toEqual(IDS);
    for (const id of IDS) {
      expect(baseline.benchmarks[id].runs).toEqual([10, 10, 10]);
      expect(baseline.benchmarks[id].samples).toHaveLength(30);
      expect(baseline.benchmarks[id].p99).toBeUndefined();
    }
    expect(existsSync(join(workspace, "crates", "pricing", "target"))).toBe(false);
    for (const file of ["benchmark.json", "estimates.json", "sample.json", "tukey.json"])
      expect(readFileSync(join(criterion, "checksum_1000", "main", file), "utf8")).toBe(
        readFileSync(join(criterion, "checksum_1000", "new", file), "utf8"),
      );
    expect(baseline.benchmarks.checksum_1000.samples.slice(20)).toEqual(
      perIteration(join(criterion, "checksum_1000", "main", "sample.json")),
    );
  }, 600_000);

  it("cargo bench -- --baseline main by hand compares with the baseline the pipeline saved", async () => {
    const byHand = await cargoBenchByHand(workspace, "--baseline", "main");
    expect(byHand.exitCode, byHand.stderr).toBe(0);
    expect(byHand.stdout).toMatch(/checksum_1000[\s\S]*change:/);
  }, 600_000);

  it("the perf-check step on the same build: no regression against main", async () => {
    const config = loadPipelineConfig({ workspace, stepIds: allStepIds() });
    const run = await runStage({
      stage: { name: "dev", environment: "development", description: "perf", groups: [[perfCheckStep]] },
      runner: new HostRunner({ workspace }),
      workspaceDir: workspace,
      jobs: 1,
      policies: config.policies,
    });
    const step = run.steps[0];
    expect(step?.status, step?.summary).toBe("passed");
    expect(step?.summary).toMatch(
      /^No regressions against "main" \(book\/best_bid\/64 [+-]\d+\.\d% \[.*\], checksum_1000 .*, retired .*\)$/,
    );
    expect(step?.details).toEqual(
      expect.arrayContaining([expect.stringMatching(/^checksum_1000: [\d.]+ → [\d.]+ ns, .*, unchanged \(gates\)$/)]),
    );
  }, 600_000);

  it("a baseline saved by hand with cargo bench -- --save-baseline is named by the step and adopted with --from-criterion", async () => {
    const byHand = await cargoBenchByHand(workspace, "--save-baseline", "handmade");
    expect(byHand.exitCode, byHand.stderr).toBe(0);
    const hint = await runCli(["perf", "--source", workspace, "--baseline", "handmade"]);
    expect(hint.code).toBe(0);
    expect(hint.stdout).toContain(
      'criterion holds a baseline "handmade" (cargo bench -- --save-baseline handmade): adopt it with shriven-pipeline perf --from-criterion handmade --save-baseline handmade',
    );
    const adopted = await runCli([
      "perf",
      "--source",
      workspace,
      "--from-criterion",
      "handmade",
      "--save-baseline",
      "handmade",
      "--reason",
      "adopt the hand-run baseline",
    ]);
    expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0);
    expect(adopted.stdout).toContain(`Read criterion's baseline handmade under ${criterion}: 3 benchmark(s), no benchmark run`);
    const baseline = JSON.parse(readFileSync(join(baselines, "handmade.json"), "utf8"));
    expect(Object.keys(baseline.benchmarks).sort()).toEqual(IDS);
    expect(baseline.benchmarks.checksum_1000).toEqual({
      samples: perIteration(join(criterion, "checksum_1000", "handmade", "sample.json")),
      runs: [10],
    });
    const audit = readFileSync(join(baselines, "audit.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(audit.map((r) => [r.name, r.reason])).toEqual([
      ["main", "first criterion baseline"],
      ["handmade", "adopt the hand-run baseline"],
    ]);
  }, 600_000);

  it("a 4× slower checksum is reported under its own id; a benchmark removed from the code is not counted from its old files", async () => {
    write(workspace, "crates/pricing/src/lib.rs", lib(4));
    write(workspace, "crates/pricing/benches/pricing.rs", benches(false));
    expect(existsSync(join(criterion, "retired", "new", "sample.json"))).toBe(true);
    const slower = await runCli(["perf", "--source", workspace]);
    expect(slower.code, slower.stdout).toBe(0);
    const [headline, ...details] = slower.stdout.trim().split("\n");
    expect(headline).toMatch(/^⚠️ Performance: checksum_1000 degraded \+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \(/);
    expect(headline).not.toContain("book/best_bid/64 degraded");
    expect(details.map((d) => d.trim())).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^checksum_1000: [\d.]+ → [\d.]+ ns, .*, regressed \(gates\)$/),
        expect.stringMatching(/^book\/best_bid\/64: .*, unchanged \(gates\)$/),
        "retired: in the baseline, not measured now",
        "not run this time, earlier criterion results ignored: retired",
      ]),
    );
  }, 600_000);
});
