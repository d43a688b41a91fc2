/**
 * `shriven-pipeline fix` on copies of the example workspace with the real
 * cargo, rustfmt and clippy: the tree it leaves is the one cargo's own
 * commands give on another copy, the fmt and clippy steps pass afterwards, it
 * runs in a git checkout with uncommitted changes, and a failing tool leaves
 * every file as it was.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { copyExample, DEFECT_FILE, injectDefect } from "../helpers/example.js";
import { tempDir } from "../helpers/temp.js";

/** Where the fixable lint goes. */
const LINT_FILE = "crates/strategy/src/lib.rs";

/** Where the unformatted line goes (another file, so each fix changes its own). */
const UNFORMATTED_FILE = "crates/risk/src/lib.rs";

/** Two lints `cargo clippy --fix` rewrites (needless_return, len_zero), in code rustfmt leaves alone. */
function addFixableLint(dir: string): void {
  appendFileSync(
    join(dir, LINT_FILE),
    [
      "",
      "/// Whether no prices were seen (lint defect injected by the fix tests).",
      "pub fn no_prices(prices: &[i64]) -> bool {",
      "    return prices.len() == 0;",
      "}",
      "",
    ].join("\n"),
  );
}

/** One `pub fn` with two spaces, which rustfmt rewrites. */
function unformat(dir: string): void {
  const file = join(dir, UNFORMATTED_FILE);
  writeFileSync(file, readFileSync(file, "utf8").replace("pub fn ", "pub fn  "));
}

/** Every Rust file of a workspace outside target/ and .git/, by relative path. */
function rustSources(dir: string, folder = ""): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, folder), { withFileTypes: true })) {
    const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
    if (entry.isDirectory() && path !== "target" && entry.name !== ".git") Object.assign(files, rustSources(dir, path));
    else if (entry.isFile() && path.endsWith(".rs")) files[path] = readFileSync(join(dir, path), "utf8");
  }
  return files;
}

/** Runs cargo directly, as a developer would by hand. */
function cargo(dir: string, args: readonly string[]): void {
  execFileSync("cargo", args, { cwd: dir, env: { ...process.env, CARGO_TERM_COLOR: "never" }, stdio: "pipe" });
}

function git(dir: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir, stdio: "pipe" });
}

/** A copy of the example in a fresh folder. */
function freshCopy(): string {
  const parent = join(tempDir(), "copy");
  mkdirSync(parent);
  return copyExample(parent);
}

describe("shriven-pipeline fix on the example workspace", () => {
  it("leaves the tree cargo fmt and cargo clippy --fix give, in a dirty git checkout, and fmt and clippy pass after", async () => {
    const ours = freshCopy();
    git(ours, "init", "-q");
    git(ours, "add", ".");
    git(ours, "commit", "-q", "-m", "clean example");
    unformat(ours);
    addFixableLint(ours);
    git(ours, "add", LINT_FILE); // one change staged, one not
    const reference = freshCopy();
    unformat(reference);
    addFixableLint(reference);
    const broken = rustSources(reference);

    const fmt = await runCli(["fix", "--source", ours]);
    expect(fmt.stderr).toBe("");
    expect(fmt.code).toBe(0);
    expect(fmt.stdout).toBe(`$ cargo fmt --all\n✅ Fix: 1 file changed\n    ${UNFORMATTED_FILE}\n`);
    cargo(reference, ["fmt", "--all"]);
    expect(rustSources(ours)).toEqual(rustSources(reference));
    expect(rustSources(reference)[UNFORMATTED_FILE]).not.toBe(broken[UNFORMATTED_FILE]);

    const clippy = await runCli(["fix", "--clippy", "--source", ours]);
    expect(clippy.stderr).toBe("");
    expect(clippy.code).toBe(0);
    expect(clippy.stdout).toContain(
      "$ cargo clippy --fix --workspace --all-targets --allow-dirty --allow-staged --allow-no-vcs --message-format=json\n$ cargo fmt --all\n",
    );
    expect(clippy.stdout).toContain(`✅ Fix: 1 file changed\n    ${LINT_FILE}\n`);
    expect(clippy.stdout).not.toContain("⚠️");
    // By hand, as the pipeline document's troubleshooting: clippy's fixes, then formatting (no git here). With
    // --all-targets, as the clippy step checks: plain `cargo clippy --fix` skips the test targets, so it leaves
    // clippy::items_after_test_module (a test module before the added function) that the step then reports.
    cargo(reference, ["clippy", "--fix", "--all-targets", "--allow-no-vcs"]);
    cargo(reference, ["fmt", "--all"]);
    expect(rustSources(ours)).toEqual(rustSources(reference));
    expect(rustSources(ours)[LINT_FILE]).toMatch(/pub fn no_prices\(prices: &\[i64\]\) -> bool \{\n {4}prices\.is_empty\(\)\n\}/);

    // The same checkout is still dirty: plain `cargo clippy --fix` refuses it, which is why fix passes --allow-dirty.
    const refused = spawnSync("cargo", ["clippy", "--fix"], { cwd: ours, encoding: "utf8" });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/uncommitted changes/);

    const dev = await runCli(["run", "dev", "--source", ours, "--only", "fmt,clippy"]);
    expect(dev.stdout).toContain("✅ Formatting: Passed");
    expect(dev.stdout).toContain("✅ Clippy: No warnings");
    expect(dev.code).toBe(0);

    // A lint clippy has no machine-applicable fix for is left, and named once (cargo reports it for the lib
    // and for its tests, at lines the fixes then move). The file changes all the same: the injected function
    // lands after the test module again, which clippy does fix.
    injectDefect(ours, "clippy-warning");
    const leftover = await runCli(["fix", "--clippy", "--source", ours]);
    expect(leftover.code).toBe(0);
    expect(leftover.stdout).toContain(
      [
        "✅ Fix: 1 file changed",
        `    ${DEFECT_FILE["clippy-warning"]}`,
        "⚠️ 1 warning clippy has no automatic fix for; fix by hand (cargo clippy shows where):",
        `    ${DEFECT_FILE["clippy-warning"]}: warning[clippy::needless_range_loop]: the loop variable \`i\` is only used to index \`prices\``,
        "",
      ].join("\n"),
    );
  });
});

describe("shriven-pipeline fix refuses bad input and changes nothing when a tool fails", () => {
  it.each([
    [["--source", "."], "no Cargo.toml in"],
    [["--source", "does-not-exist"], "--source does-not-exist: no such directory"],
    [["--bogus"], "Unknown option '--bogus'"],
    [["--clippy=yes"], "--clippy"],
    [["now"], "Unexpected argument 'now'"],
  ])("fix %j is a usage error (exit 2)", async (args, message) => {
    const run = await runCli(["fix", ...args], { cwd: tempDir() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
  });

  it("fix --help explains why it runs on uncommitted changes", async () => {
    const run = await runCli(["fix", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: shriven-pipeline fix \[--clippy\] \[--source DIR\]/);
    expect(run.stdout).toContain("Uncommitted changes: fix runs on them");
    expect((await runCli(["--help"])).stdout).toMatch(/^ {2}fix +Rewrite the workspace/m);
  });

  it("a bad [steps.clippy] in shriven-pipeline.toml stops before any tool runs (exit 2)", async () => {
    const source = freshCopy();
    unformat(source);
    appendFileSync(join(source, "shriven-pipeline.toml"), '\n[steps.clippy]\nextra_args = "--all-features"\n');
    const before = rustSources(source);
    const run = await runCli(["fix", "--source", source]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/configuration error in .*shriven-pipeline\.toml: steps\.clippy\.extra_args: expected an array of strings/);
    expect(rustSources(source)).toEqual(before);
  });

  it("a workspace that does not compile: clippy --fix fails naming the error, exit 1, every file as it was", async () => {
    const source = freshCopy();
    unformat(source);
    addFixableLint(source);
    // The engine crate depends on the strategy crate, so cargo fixes strategy before it reaches the error.
    appendFileSync(join(source, "crates/engine/src/lib.rs"), '\n/// Broken.\npub fn broken_limit() -> u64 {\n    "not a number"\n}\n');
    const before = rustSources(source);

    const run = await runCli(["fix", "--clippy", "--source", source]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/❌ cargo clippy --fix failed: 1 error: crates\/engine\/src\/lib\.rs:\d+: mismatched types\n/);
    expect(run.stdout).toMatch(/ {4}crates\/engine\/src\/lib\.rs:\d+:\d+: error\[E0308\]: mismatched types\n/);
    expect(run.stdout).toContain(`Nothing changed: put back the 1 file the tools had rewritten (${LINT_FILE}).`);
    expect(run.stdout).not.toContain("$ cargo fmt");
    expect(rustSources(source)).toEqual(before);

    // Without fix, cargo leaves the workspace half-fixed: strategy rewritten, the rest not.
    const plain = spawnSync("cargo", ["clippy", "--fix", "--allow-no-vcs"], { cwd: source, encoding: "utf8" });
    expect(plain.status).not.toBe(0);
    expect(rustSources(source)[LINT_FILE]).not.toBe(before[LINT_FILE]);
  });

  it("a file rustfmt cannot parse: fix fails (exit 1) and the files rustfmt did format are put back", async () => {
    const source = freshCopy();
    unformat(source);
    appendFileSync(join(source, "crates/engine/src/lib.rs"), "\nfn broken( {\n");
    const before = rustSources(source);
    const run = await runCli(["fix", "--source", source]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("❌ cargo fmt --all failed (exit code 1): error: this file contains an unclosed delimiter");
    expect(run.stdout).toContain(`Nothing changed: put back the 1 file the tools had rewritten (${UNFORMATTED_FILE}).`);
    expect(rustSources(source)).toEqual(before);
  });
});
