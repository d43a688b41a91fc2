/**
 * The tests mirror `src/`: each folder of test/ is a folder of src/ (or one of
 * the few that are not code: architecture, docs, bench, helpers, fixtures), and
 * every test that drives a real tool (cargo on the example, sshd, minisign,
 * criterion) is a `*.e2e.test.ts` (or a `*.quiet.test.ts`, the wall-time runs
 * that run last and alone), so `npm run test:fast` leaves it out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const TEST = join(ROOT, "test");

/** Folders of test/ that mirror no folder of src/. */
const NOT_CODE = ["architecture", "docs", "bench", "helpers", "fixtures"];

/** What a test that drives a real tool calls (see test/helpers/example.ts, sshd.ts and tools.ts). */
const REAL_TOOL = /\bcopyExample\(|\bstartSshd\(|\bneeds\("(?:minisign|sshd|criterion)"/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? entry.name === "fixtures"
        ? []
        : testFiles(join(dir, entry.name))
      : entry.name.endsWith(".test.ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("the layout of test/", () => {
  it("has a folder per folder of src/, and no other", () => {
    const sources = new Set(
      readdirSync(join(ROOT, "src"), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name),
    );
    const folders = readdirSync(TEST, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((name) => !sources.has(name) && !NOT_CODE.includes(name))).toEqual([]);
  });

  it("names every test that drives a real tool *.e2e.test.ts (or *.quiet.test.ts)", () => {
    const unmarked = testFiles(TEST)
      .filter((file) => !/\.(e2e|quiet)\.test\.ts$/.test(file) && REAL_TOOL.test(readFileSync(file, "utf8")))
      .map((file) => relative(ROOT, file));
    expect(unmarked).toEqual([]);
  });
});
