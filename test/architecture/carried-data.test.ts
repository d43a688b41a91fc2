/**
 * Tests carry their own data: nothing under test/ reads data from outside the
 * repository (the project's sibling shared folder is absent on a fresh
 * clone), the bundled market capture is in the repository with its licence
 * and a README whose checksums are those of the bytes, git keeps it, the npm
 * package and the Dagger module leave it out, and a test is skipped only
 * through `needs` (a missing tool, named in the run's summary).
 */
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { MARKET_CAPTURE_DIR, MARKET_CAPTURE_FILES } from "../helpers/market-data.js";
import { tempDir } from "../helpers/temp.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** Every file under `dir` (absolute paths), skipping `node_modules` and `target`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name === "target") return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** `file:line: text` for each line of the test sources (and vitest.config.ts) matching `pattern`. */
function sourceLinesMatching(pattern: RegExp, options: { fixtures: boolean }): string[] {
  const sources = [
    ...filesUnder(join(ROOT, "test")).filter((path) => options.fixtures || !path.startsWith(join(ROOT, "test/fixtures/"))),
    join(ROOT, "vitest.config.ts"),
  ].filter((path) => /\.(ts|mts|js|mjs|cjs|json|toml|sh)$/.test(path));
  return sources.flatMap((path) =>
    readFileSync(path, "utf8")
      .split("\n")
      .flatMap((line, i) => (pattern.test(line) ? [`${relative(ROOT, path)}:${i + 1}: ${line.trim()}`] : [])),
  );
}

/** The shared folder beside the repository, however a path spells it: relative (up, then shared), by its data folder, or absolute. */
const OUTSIDE_DATA = /\.\.\/shared\b|\bshared\/data\b|\/work\/shared\b/;

describe("tests carry their own data", () => {
  it("no test source, helper or fixture reads from the shared folder beside the repository", () => {
    expect(OUTSIDE_DATA.test(`resolve(import.meta.dirname, "${["..", "..", "..", "shared"].join("/")}")`)).toBe(true);
    expect(sourceLinesMatching(OUTSIDE_DATA, { fixtures: true })).toEqual([]);
  });

  it("skips only through needs() from test/helpers/tools.ts: no skip, skipIf, runIf, context skip or skip warning", () => {
    const skips = /\b(?:describe|it|test|suite)\.(?:skip|skipIf|runIf)\b|\b(?:ctx|context|task)\.skip\(|console\.warn\([^)]*skipping/i;
    expect(skips.test(`describe.${"skipIf"}(!HAS_DB)("x", () => {})`)).toBe(true);
    expect(sourceLinesMatching(skips, { fixtures: false })).toEqual([]);
  });

  it("the Binance spot capture is in the repository with its MIT licence and a README whose checksums match the bytes", () => {
    expect(relative(ROOT, MARKET_CAPTURE_DIR)).toBe("examples/trading-engine/market-data/binance-spot");
    expect(readdirSync(MARKET_CAPTURE_DIR).sort()).toEqual(["LICENSE", "README.md", ...MARKET_CAPTURE_FILES].sort());
    const licence = readFileSync(join(MARKET_CAPTURE_DIR, "LICENSE"), "utf8");
    expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) 2022 nkaz001@protonmail\.com\n/);
    expect(licence).toContain('THE SOFTWARE IS PROVIDED "AS IS"');
    const readme = readFileSync(join(MARKET_CAPTURE_DIR, "README.md"), "utf8");
    expect(readme).toContain("https://github.com/nkaz001/hftbacktest");
    expect(readme).toContain("MIT licence");
    for (const name of MARKET_CAPTURE_FILES) {
      const bytes = readFileSync(join(MARKET_CAPTURE_DIR, name));
      expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const rows = readme.split("\n").map((line) => line.split("|").map((cell) => cell.trim()));
      expect(rows.filter((cells) => cells[1] === `\`${name}\``)).toEqual([
        ["", `\`${name}\``, bytes.length.toLocaleString("en-US"), `\`${createHash("sha256").update(bytes).digest("hex")}\``, ""],
      ]);
    }
  });

  it("git keeps the capture: no .gitignore on its path drops it (while target/ stays ignored)", async () => {
    const repo = tempDir("shriven-ignore-");
    await execa("git", ["init", "-q"], { cwd: repo });
    for (let dir = MARKET_CAPTURE_DIR; dir.startsWith(ROOT); dir = dirname(dir)) {
      const ignore = join(dir, ".gitignore");
      if (!existsSync(ignore)) continue;
      mkdirSync(join(repo, relative(ROOT, dir)), { recursive: true });
      copyFileSync(ignore, join(repo, relative(ROOT, ignore)));
    }
    const paths = readdirSync(MARKET_CAPTURE_DIR).map((name) => relative(ROOT, join(MARKET_CAPTURE_DIR, name)));
    const checkIgnore = (...args: string[]) =>
      execa("git", ["-c", "core.excludesFile=/dev/null", "check-ignore", "--no-index", "-v", ...args], { cwd: repo, reject: false });
    const kept = await checkIgnore(...paths);
    expect([kept.exitCode, kept.stdout]).toEqual([1, ""]);
    const dropped = await checkIgnore("examples/trading-engine/target/release/shriven-quant");
    expect([dropped.exitCode, dropped.stdout]).toEqual([
      0,
      "examples/trading-engine/.gitignore:1:/target\texamples/trading-engine/target/release/shriven-quant",
    ]);
  });

  it("the npm package and the Dagger module's source leave the example and its data out", async () => {
    const pack = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT });
    const files = (JSON.parse(pack.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    expect(files).toContain("package.json");
    expect(files.filter((path) => path.startsWith("examples/") || path.includes("btcusdt"))).toEqual([]);
    // The advisory snapshot is the package's own data: the audit falls back to it offline.
    expect(files.filter((path) => path.startsWith("data/")).sort()).toEqual([
      "data/rustsec-advisory-db/LICENSE.txt",
      "data/rustsec-advisory-db/README.md",
      "data/rustsec-advisory-db/advisories.json.gz",
    ]);
    const dagger = JSON.parse(readFileSync(join(ROOT, "dagger.json"), "utf8")) as { include: string[] };
    expect(dagger.include).toContain("!examples");
  });
});
