/**
 * The performance check on the real example: save a baseline with its audit
 * record, compare the same build with itself, and catch a slowdown injected
 * into the engine's event handling by its instruction count (callgrind).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runStage } from "../../src/engine/stage.js";
import type { Step } from "../../src/engine/step.js";
import { callgrindArgv, readCallgrindInstructions } from "../../src/perf/callgrind.js";
import { decideChange, instructionChange } from "../../src/perf/regression.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { perfCheckStep, perfStep } from "../../src/steps/dev/perf-check.js";
import { runCli } from "../helpers/cli.js";
import { copyExample } from "../helpers/example.js";

const CONFIG = '[perf]\ninstructions_command = ["target/release/shriven-quant", "hotpath", "--iterations", "20000"]\n';
const LIB = "crates/engine/src/lib.rs";
const HOOK = "        self.stats.events += 1;\n";

/** Copies made for the whole suite (the per-test temp folders go after each test). */
const suiteDirs: string[] = [];
afterAll(() => {
  for (const dir of suiteDirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the example whose event handling spins `extra` more times per event, sharing `baselines`. */
function copyWithSlowdown(extra: number, baselines?: string): string {
  const parent = mkdtempSync(join(tmpdir(), "shriven-perf-"));
  suiteDirs.push(parent);
  const copy = copyExample(parent);
  writeFileSync(join(copy, "shriven-pipeline.toml"), CONFIG);
  const lib = readFileSync(join(copy, LIB), "utf8");
  if (!lib.includes(HOOK)) throw new Error(`${LIB} changed: the slowdown hook is gone`);
  if (extra > 0)
    writeFileSync(
      join(copy, LIB),
      lib.replace(
        HOOK,
        `${HOOK}        for i in 0..std::hint::black_box(${extra}u32) {\n            std::hint::black_box(i);\n        }\n`,
      ),
    );
  if (baselines !== undefined) cpSync(baselines, join(copy, ".shriven-pipeline", "baselines"), { recursive: true });
  return copy;
}

/** Runs `perf` and returns its output and the instruction counts it printed. */
async function perf(source: string, ...args: string[]) {
  const run = await runCli(["perf", "--source", source, ...args]);
  const match = /instructions: (\d+) → (\d+) Ir, ([+-][\d.]+)%/.exec(run.stdout);
  return { ...run, baseline: Number(match?.[1]), current: Number(match?.[2]), changePercent: Number(match?.[3]) };
}

describe("performance check on the example (real cargo bench and callgrind)", () => {
  let clean: string;
  let baselines: string;
  beforeAll(async () => {
    clean = copyWithSlowdown(0);
    const saved = await runCli(["perf", "--source", clean, "--save-baseline", "main", "--reason", "reference build"]);
    expect(saved.code).toBe(0);
    baselines = join(clean, ".shriven-pipeline", "baselines");
  }, 600_000);

  it("saves a named baseline with an audit record of who, when and why", () => {
    const baseline = JSON.parse(readFileSync(join(baselines, "main.json"), "utf8"));
    expect(Object.keys(baseline.benchmarks).sort()).toEqual(["order_handling", "risk_check", "tick_to_trade"]);
    expect(baseline.benchmarks.order_handling.samples).toHaveLength(10);
    expect(baseline.instructions).toBeGreaterThan(1_000_000);
    const record = JSON.parse(readFileSync(join(baselines, "audit.jsonl"), "utf8").trim());
    expect(record).toMatchObject({ name: "main", reason: "reference build", instructions: baseline.instructions });
    expect(record.by).not.toBe("");
  });

  it("A/A: the same build compared with itself finds no regression, instructions within 0.1 %", async () => {
    for (let i = 0; i < 2; i++) {
      const run = await perf(clean);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^✅ Performance: No regressions against "main"/);
      expect(Math.abs(run.changePercent)).toBeLessThan(0.1);
    }
  }, 300_000);

  it("A/A, 20 times: callgrind counts of the same build never differ from the baseline by 5 % (nor by 0.1 %)", async () => {
    const baseline = JSON.parse(readFileSync(join(baselines, "main.json"), "utf8")).instructions as number;
    const out = join(clean, "target", "aa.callgrind");
    const argv = callgrindArgv(["target/release/shriven-quant", "hotpath", "--iterations", "20000"], out);
    for (let run = 0; run < 20; run++) {
      await execa(argv[0] as string, argv.slice(1), { cwd: clean });
      const change = instructionChange(baseline, readCallgrindInstructions(readFileSync(out, "utf8"), out));
      expect(decideChange(change, 5)).toBe("unchanged");
      expect(Math.abs(change.changePercent)).toBeLessThan(0.1);
    }
  }, 300_000);

  it("catches an injected 10 % slowdown by instruction count, and does not report a 2 % one at 5 %", async () => {
    const probe = await perf(copyWithSlowdown(200, baselines));
    const perSpin = (probe.current - probe.baseline) / 200;
    expect(perSpin).toBeGreaterThan(0);
    const spinsFor = (percent: number) => Math.round((probe.baseline * percent) / 100 / perSpin);

    const ten = await perf(copyWithSlowdown(spinsFor(10.5), baselines));
    expect(ten.changePercent).toBeGreaterThan(9);
    expect(ten.changePercent).toBeLessThan(12);
    expect(ten.code).toBe(0);
    expect(ten.stdout).toMatch(/^⚠️ Performance: instructions degraded \+1\d\.\d%/);

    const two = await perf(copyWithSlowdown(spinsFor(2), baselines));
    expect(two.changePercent).toBeGreaterThan(1);
    expect(two.changePercent).toBeLessThan(3);
    expect(two.stdout).toMatch(/^✅ Performance: No regressions/);
  }, 600_000);

  it("staging and production fail where dev warns: a regression past their threshold, a p99 over its limit, no baseline", async () => {
    const slow = copyWithSlowdown(150, baselines);
    writeFileSync(join(slow, "shriven-pipeline.toml"), `${CONFIG}latency_limits_ns = { tick_to_trade = 1 }\n`);
    const { loadPipelineConfig } = await import("../../src/config/pipeline-config.js");
    const { allStepIds } = await import("../../src/stages/registry.js");
    const config = loadPipelineConfig({ workspace: slow, stepIds: allStepIds() });
    const run = async (step: Step, workspace: string) =>
      (
        await runStage({
          stage: { name: "dev", environment: "development", description: "perf", groups: [[step]] },
          runner: new HostRunner({ workspace }),
          workspaceDir: workspace,
          jobs: 1,
          policies: config.policies,
        })
      ).steps[0];
    const staging = perfStep("staging", { id: "benchmarks", title: "Benchmarks", description: "staging gate" });
    const failed = await run(staging, slow);
    expect(failed?.status).toBe("failed");
    expect(failed?.summary).toMatch(/^instructions degraded \+\d+\.\d%; tick_to_trade p99 \d+ ns > 1 ns$/);
    expect((await run(perfCheckStep, slow))?.status).toBe("warned");
    const noBaseline = copyWithSlowdown(0);
    expect(
      (await run(perfStep("production", { id: "perf-validation", title: "Performance", description: "production gate" }), noBaseline))
        ?.status,
    ).toBe("failed");
  }, 600_000);

  it("refuses to save a baseline without a reason", async () => {
    const run = await runCli(["perf", "--source", clean, "--save-baseline", "main"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--save-baseline needs --reason TEXT");
  });
});
