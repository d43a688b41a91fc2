import { appendFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { ADVISORY_SNAPSHOT } from "./advisory-data.js";

/** The bundled example workspace. */
export const EXAMPLE = resolve(import.meta.dirname, "../../examples/trading-engine");

/** Copies the example (without `target/`) into `parent`, returning the copy's path. */
export function copyExample(parent: string): string {
  const dir = join(parent, "trading-engine");
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.startsWith(join(EXAMPLE, "target")) });
  return dir;
}

/** Builds the example's engine (`shriven-quant`, release, offline) in `workspace`; the binary's path. */
export async function buildExampleEngine(workspace: string): Promise<string> {
  await execa("cargo", ["build", "--release", "--offline", "-p", "engine"], {
    cwd: workspace,
    env: { CARGO_TARGET_DIR: join(workspace, "target") },
    stdin: "ignore",
    timeout: 300_000,
  });
  return join(workspace, "target", "release", "shriven-quant");
}

/** One deliberate defect, each caught by exactly one dev-stage step. */
export type Defect = "unformatted" | "compile-error" | "failing-test" | "clippy-warning";

/** Files each defect touches (workspace-relative). */
export const DEFECT_FILE: Record<Defect, string> = {
  unformatted: "crates/strategy/src/lib.rs",
  "compile-error": "crates/risk/src/lib.rs",
  "failing-test": "crates/orderbook/src/lib.rs",
  "clippy-warning": "crates/strategy/src/lib.rs",
};

/** Name of the test the failing-test defect adds. */
export const FAILING_TEST = "pipeline_defect::fills_are_reported";

/** Puts `defect` into the workspace at `dir`. */
export function injectDefect(dir: string, defect: Defect): void {
  const file = join(dir, DEFECT_FILE[defect]);
  switch (defect) {
    case "unformatted": {
      const text = readFileSync(file, "utf8");
      writeFileSync(file, text.replace("pub fn ", "pub fn  "));
      return;
    }
    case "compile-error":
      appendFileSync(file, '\n/// Defect injected by the pipeline tests.\npub fn broken_limit() -> u64 {\n    "not a number"\n}\n');
      return;
    case "failing-test":
      appendFileSync(
        file,
        [
          "",
          "#[cfg(test)]",
          "mod pipeline_defect {",
          "    #[test]",
          "    fn fills_are_reported() {",
          "        let fills: Vec<u64> = Vec::new();",
          '        assert_eq!(fills.len(), 1, "defect injected by the pipeline tests");',
          "    }",
          "}",
          "",
        ].join("\n"),
      );
      return;
    case "clippy-warning":
      appendFileSync(
        file,
        [
          "",
          "/// Sum of prices (defect injected by the pipeline tests).",
          "pub fn sum_prices(prices: &[i64]) -> i64 {",
          "    let mut total = 0;",
          "    for i in 0..prices.len() {",
          "        total += prices[i];",
          "    }",
          "    total",
          "}",
          "",
        ].join("\n"),
      );
      return;
  }
}

/**
 * Arguments that point a run at the RustSec snapshot bundled with the package, so the audit
 * never reaches for the network in tests (its data is months old: dev warns, and the example's
 * config relaxes production's limit for the same reason).
 */
export function advisoryDbArgs(): string[] {
  return ["--advisory-db", ADVISORY_SNAPSHOT];
}

/**
 * A shriven-pipeline.toml's text without the tables `names` and their sub-tables (`deploy` drops
 * `[deploy.test]`, `[deploy.test.local]`, …), so a test can append its own in their place.
 */
export function withoutTables(text: string, names: readonly string[]): string {
  let dropping = false;
  return text
    .split("\n")
    .filter((line) => {
      const header = /^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?/.exec(line)?.[1];
      if (header !== undefined) dropping = names.some((n) => header === n || header.startsWith(`${n}.`));
      return !dropping;
    })
    .join("\n");
}
