/**
 * The secret scanner's precise checks on long hostile lines (the shapes that
 * made the old single pattern backtrack: cubic on spaces after `a_key:`,
 * quadratic on the others). Reported per shape as the ratio of the median time
 * for a line of 1 MiB to one of 512 KiB: 2 means linear, 4 quadratic. And, at
 * 1 MiB, the ratio of each shape to a plain line of the same length.
 *
 * Usage: npx tsx bench/secret-scan.ts [--repeats N]
 */
import { parseArgs } from "node:util";
import { MAX_CHECKED_LINE_LENGTH, scanLines } from "../src/supply-chain/secret-scan.js";

const { values } = parseArgs({ options: { repeats: { type: "string", default: "9" } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected a whole number ≥ 1, got ${values.repeats}`);

const SHAPES: Readonly<Record<string, (length: number) => string>> = {
  "plain text": (n) => "lorem ipsum ".repeat(n / 12),
  "spaces after a_key:": (n) => `a_key:${" ".repeat(n - 6)}`,
  "a_key: and words": (n) => `a_key:${" a".repeat((n - 6) / 2)}`,
  "repeated a_key=": (n) => `${"a_key=".repeat((n - 3) / 6)}a x`,
  "repeated binance_": (n) => "binance_".repeat(n / 8),
  "unclosed quotes": (n) => "a_key='".repeat(n / 7),
};

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function time(text: string): number {
  const lines = [{ file: "bench.txt", line: 1, text }];
  scanLines(lines, { allow: [] });
  return median(
    Array.from({ length: repeats }, () => {
      const started = performance.now();
      scanLines(lines, { allow: [] });
      return performance.now() - started;
    }),
  );
}

const full = MAX_CHECKED_LINE_LENGTH;
const plainMs = time(SHAPES["plain text"]?.(full) ?? "");
console.log(`secret scan of one line, medians of ${repeats} runs`);
console.log("shape                     512 KiB      1 MiB   1 MiB / 512 KiB   1 MiB / plain text");
for (const [name, shape] of Object.entries(SHAPES)) {
  const halfMs = time(shape(full / 2));
  const fullMs = time(shape(full));
  console.log(
    `${name.padEnd(22)} ${halfMs.toFixed(1).padStart(8)} ms ${fullMs.toFixed(1).padStart(8)} ms ${(fullMs / halfMs).toFixed(2).padStart(17)} ${(fullMs / plainMs).toFixed(2).padStart(20)}`,
  );
}
