/**
 * The README stays short and is the way into the manual in docs/: every docs
 * page is linked from it, every relative link of the README and the docs
 * reaches a file (and a heading, for `#anchor` links to Markdown), and every
 * `src/...` path they name exists, so no page describes code that is gone.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const README = join(ROOT, "README.md");
const DOCS = join(ROOT, "docs");

/** The README's most lines. */
const README_MAX_LINES = 200;

/** The install-and-run command test/cli/fresh-clone.e2e.test.ts runs as "the README's first command". */
const FIRST_COMMAND = "npm ci && node bin/shriven-pipeline.js run dev --source examples/trading-engine";

/** Every file under `dir`, as absolute paths. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** The README and every Markdown page of docs/. */
function markdownFiles(): string[] {
  return [README, ...filesUnder(DOCS).filter((file) => file.endsWith(".md"))];
}

/** Markdown text without its fenced code blocks, whose brackets are not links. */
function withoutCodeBlocks(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");
}

/** The targets of the inline links `[text](target)` of a Markdown text. */
function linkTargets(text: string): string[] {
  return [...withoutCodeBlocks(text).matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings, with GitHub's `-1`, `-2` suffixes for repeated ones. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutCodeBlocks(readFileSync(file, "utf8")).matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(match[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** A problem with each relative link of `file` that does not reach its file or heading. */
function brokenLinks(file: string): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(readFileSync(file, "utf8"))) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [path, anchor] = target.split("#", 2) as [string, string | undefined];
    const linked = path === "" ? file : resolve(dirname(file), path);
    const where = `${relative(ROOT, file)}: ${target}`;
    if (!existsSync(linked)) problems.push(`${where}: no such file`);
    else if (anchor !== undefined && linked.endsWith(".md") && !anchorsOf(linked).has(anchor))
      problems.push(`${where}: no such heading in ${relative(ROOT, linked)}`);
  }
  return problems;
}

/**
 * The paths of this repository's `src/` a text names. A path inside another
 * one (`crates/engine/src/lib.rs`), a Rust file (a workspace's `src/lib.rs`)
 * and a pattern (`src/*_futures/`) belong to other projects or are not paths.
 */
function sourcePaths(text: string): string[] {
  return [...text.matchAll(/(?<![\w./-])src\/[\w./*{}-]*/g)]
    .map((match) => match[0].replace(/[.]+$/, ""))
    .filter((path) => !path.endsWith(".rs") && !/[*{}]/.test(path));
}

describe("README and docs/", () => {
  it(`keeps the README at ${README_MAX_LINES} lines or fewer`, () => {
    const lines = readFileSync(README, "utf8").trimEnd().split("\n").length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it("starts the README's commands with the install-and-run command the fresh-clone test runs", () => {
    const firstBlock = /^```sh\n([^\n]*)\n```$/m.exec(readFileSync(README, "utf8"));
    expect(firstBlock?.[1]).toBe(FIRST_COMMAND);
  });

  it("links every file of docs/ from the README", () => {
    const linked = new Set(linkTargets(readFileSync(README, "utf8")).map((target) => resolve(ROOT, target.split("#")[0] as string)));
    const unlinked = filesUnder(DOCS)
      .filter((file) => !linked.has(file))
      .map((file) => relative(ROOT, file));
    expect(unlinked).toEqual([]);
  });

  it("has no relative link to a missing file or heading", () => {
    expect(markdownFiles().flatMap(brokenLinks)).toEqual([]);
  });

  it("names no src/ path that does not exist", () => {
    const missing = markdownFiles().flatMap((file) =>
      sourcePaths(readFileSync(file, "utf8"))
        .filter((path) => !existsSync(join(ROOT, path)) || (path.endsWith("/") && !statSync(join(ROOT, path)).isDirectory()))
        .map((path) => `${relative(ROOT, file)}: ${path}`),
    );
    expect(missing).toEqual([]);
  });

  it("finds the links, headings and paths it checks", () => {
    expect(anchorsOf(README)).toContain("two-commands-on-a-fresh-clone");
    expect(slug('RustSec audit (`audit`, title "Security")')).toBe("rustsec-audit-audit-title-security");
    expect(linkTargets("[a](docs/x.md#y)\n```\n[d](e)\n```\n")).toEqual(["docs/x.md#y"]);
    expect(sourcePaths("`src/cli/` and crates/x/src/lib.rs, src/lib.rs, `src/a_*_b/c` or src/index.ts.")).toEqual([
      "src/cli/",
      "src/index.ts",
    ]);
  });
});
