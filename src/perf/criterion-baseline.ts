/**
 * Criterion's named baselines and the pipeline's, kept in step on the host.
 *
 * The pipeline's baseline `<name>` stays its own file
 * (`.shriven-pipeline/baselines/<name>.json`, committed, every save audited):
 * `target/` is a build cache that differs per machine and is overwritten by
 * anyone's `cargo bench -- --save-baseline <name>`, so it cannot be the
 * reference that gates releases. The two agree in both directions:
 *
 * - saving the pipeline baseline `<name>` also saves criterion's baseline
 *   `<name>`: each measured benchmark's `new/` files are copied to
 *   `<name>/` under the criterion folder the user's own `cargo bench` uses,
 *   as `cargo bench -- --save-baseline <name>` does (criterion's
 *   `copy_new_dir_to_base`, `analysis/mod.rs`). So `cargo bench -- --baseline
 *   <name>` by hand compares with what the gate compares with;
 * - a baseline saved by hand with `cargo bench -- --save-baseline <name>` is
 *   adopted explicitly (`perf --from-criterion <name> --save-baseline <name>
 *   --reason …`), recorded like any other save.
 */
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ConfigError } from "../core/errors.js";
import type { PerfMeasurement } from "./baseline.js";
import { readCriterionDirectory } from "./bench-results.js";

/** What criterion copies from `new/` to a named baseline (`copy_new_dir_to_base`); `raw.csv` only with its `csv_output` feature. */
const BASELINE_FILES = ["estimates.json", "sample.json", "tukey.json", "benchmark.json", "raw.csv"] as const;

/** Folder names criterion uses for itself next to the baselines of a benchmark. */
const RESERVED = new Set(["new", "change", "report", ".", ".."]);

/**
 * The criterion folder a `cargo bench` run by hand in `workspace` writes to:
 * `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else
 * `<workspace>/target/criterion` (criterion's `lib.rs`, default output
 * directory; cargo's target folder of a workspace is its root's `target`).
 * Relative paths are taken from the workspace root.
 */
export function criterionHome(workspace: string, env: Readonly<Record<string, string | undefined>>): string {
  if (env.CRITERION_HOME !== undefined && env.CRITERION_HOME !== "") return resolve(workspace, env.CRITERION_HOME);
  if (env.CARGO_TARGET_DIR !== undefined && env.CARGO_TARGET_DIR !== "") return resolve(workspace, env.CARGO_TARGET_DIR, "criterion");
  return join(workspace, "target", "criterion");
}

/** Whether `name` can be a criterion baseline folder (criterion keeps `new`, `change` and `report` for itself). */
export function isCriterionBaselineName(name: string): boolean {
  return !RESERVED.has(name) && !/[/\\]/.test(name) && name !== "";
}

/**
 * Copies each measured benchmark's `new/` files to `<name>/` under `toHome`,
 * at the same place relative to it as under `fromHome` (where the pipeline's
 * run wrote them).
 * @param directories The benchmarks' folders under `fromHome` (the parents of their `new/`).
 * @returns The baseline folders written.
 */
export function saveCriterionBaseline(fromHome: string, directories: readonly string[], toHome: string, name: string): string[] {
  if (!isCriterionBaselineName(name))
    throw new ConfigError("criterion baseline name", [`"${name}" is a folder criterion keeps for itself`]);
  return directories.map((directory) => {
    const inside = relative(fromHome, directory);
    if (inside === "" || inside.startsWith("..") || isAbsolute(inside))
      throw new ConfigError(directory, [`is not a benchmark folder under ${fromHome}`]);
    const target = join(toHome, inside, name);
    mkdirSync(target, { recursive: true });
    for (const file of BASELINE_FILES) {
      const source = join(directory, "new", file);
      if (existsSync(source)) copyFileSync(source, join(target, file));
    }
    return target;
  });
}

/**
 * Reads criterion's baseline `name` (saved by `cargo bench -- --save-baseline
 * name`) under `home` as a pipeline measurement: each benchmark's samples, as
 * one run.
 * @throws ConfigError naming the file and field of a malformed result, or the folder when there is no such baseline.
 */
export function readCriterionBaseline(home: string, name: string): PerfMeasurement {
  if (!isCriterionBaselineName(name))
    throw new ConfigError("--from-criterion", [`"${name}" is a folder criterion keeps for itself, not a baseline`]);
  const measurements = readCriterionDirectory(home, name);
  const short = measurements.filter((m) => m.samples.length < 2).map((m) => `${m.id}: ${m.samples.length} sample (at least 2 expected)`);
  if (short.length > 0) throw new ConfigError(home, short);
  return { benchmarks: Object.fromEntries(measurements.map((m) => [m.id, { samples: m.samples, runs: [m.samples.length] }])) };
}
