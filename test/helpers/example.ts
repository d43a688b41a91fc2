import { appendFileSync, cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The bundled example workspace. */
export const EXAMPLE = resolve(import.meta.dirname, "../../examples/trading-engine");

/** Copies the example (without `target/`) into `parent`, returning the copy's path. */
export function copyExample(parent: string): string {
  const dir = join(parent, "trading-engine");
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.startsWith(join(EXAMPLE, "target")) });
  return dir;
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
 * Arguments that point a dev-stage run at the real advisory database
 * (`../shared/data`); where it is absent the copy's audit step is switched
 * off in its config instead, so the rest of the stage is still tested.
 */
export function advisoryDbArgs(source: string): string[] {
  const db = resolve(import.meta.dirname, "../../../shared/data/rustsec-advisory-db");
  if (existsSync(join(db, "crates"))) return ["--advisory-db", db];
  appendFileSync(join(source, "shriven-pipeline.toml"), "\n[steps.audit]\nenabled = false\n");
  return [];
}
