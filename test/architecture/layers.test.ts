/**
 * The architecture of `src/`, read from the code: imports point only down the
 * stack of DESIGN.md ("Layers and layout"), no import closes a circle, and no
 * file or function outgrows a reader (450 and 120 lines).
 *
 *   index.ts → cli, dagger → pipeline → stages → steps → engine → config
 *     → domains → adapters, cargo (and ../containers) → core
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

/** The largest file and function a reader should have to hold, in lines. */
const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 120;

/** Each top-level folder of src/ (and index.ts) with its height in the stack; a layer imports only lower ones. */
const LAYERS: Readonly<Record<string, number>> = {
  "index.ts": 9,
  cli: 8,
  dagger: 8,
  pipeline: 7,
  stages: 6,
  steps: 5,
  engine: 4,
  config: 3,
  // Domains: pure logic and each one's policy. They may use each other, as long as no circle results.
  "supply-chain": 2,
  perf: 2,
  paper: 2,
  market: 2,
  release: 2,
  deploy: 2,
  approval: 2,
  "deploy-window": 2,
  monitor: 2,
  alerts: 2,
  secrets: 2,
  "audit-log": 2,
  report: 2,
  runners: 2,
  lint: 2,
  notify: 2,
  "github-environments": 2,
  adapters: 1,
  cargo: 1,
  // The container definitions at the repository root (images pinned by digest), used by the Dagger face.
  "../containers": 1,
  core: 0,
};

/** Every .ts file under `dir`. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** The top-level folder of src/ a file belongs to ("index.ts" for the module's face). */
function layerOf(file: string): string {
  const [first, second] = relative(SRC, file).split("/");
  return first === ".." ? `../${second}` : (first as string);
}

/** The files of src/ that `file` imports (value and type imports, re-exports, dynamic imports). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
}

/** The import graph of src/: file → files it imports. */
function importGraph(): Map<string, string[]> {
  return new Map(sourceFiles(SRC).map((file) => [file, importsOf(file)]));
}

/** Strongly connected components of more than one node (or a self-loop): the circles. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** The imports that point up the stack, or across it between layers of equal height that are not domains. */
function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const offenders: string[] = [];
  for (const [file, imported] of graph) {
    const from = layerOf(file);
    for (const target of imported) {
      const to = layerOf(target);
      if (from === to) continue;
      const fromHeight = LAYERS[from];
      const toHeight = LAYERS[to];
      const sideways = fromHeight === toHeight && fromHeight === 2;
      if (fromHeight === undefined || toHeight === undefined || (toHeight >= fromHeight && !sideways)) {
        offenders.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
  }
  return offenders;
}

/** The circles between top-level folders (a domain that uses another which uses it back). */
function folderCircles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const folders = new Map<string, string[]>();
  for (const [file, imported] of graph) {
    const from = layerOf(file);
    const edges = folders.get(from) ?? [];
    for (const target of imported) if (layerOf(target) !== from && !edges.includes(layerOf(target))) edges.push(layerOf(target));
    folders.set(from, edges);
  }
  return circles(folders);
}

/** Lines a node spans in its file. */
function linesOf(node: ts.Node, source: ts.SourceFile): number {
  const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
  return end - start + 1;
}

/** Functions (declarations, methods, arrows, expressions) longer than the limit, as `file:line name (n lines)`. */
function longFunctions(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const lines = linesOf(node, source);
      if (lines > MAX_FUNCTION_LINES) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        const name = node.name !== undefined && ts.isIdentifier(node.name) ? node.name.text : "(anonymous)";
        found.push(`${relative(SRC, file)}:${line} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("the layers of src/", () => {
  const graph = importGraph();

  it("every top-level folder has a place in the stack", () => {
    expect([...new Set([...graph.keys()].map(layerOf))].filter((layer) => LAYERS[layer] === undefined)).toEqual([]);
  });

  it("no import points up the stack", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("no import closes a circle, between files or between folders", () => {
    expect(circles(graph).map((component) => component.map((file) => relative(SRC, file)))).toEqual([]);
    expect(folderCircles(graph)).toEqual([]);
  });

  it("finds an upward import and a circle when there is one", () => {
    const a = join(SRC, "core/a.ts");
    const b = join(SRC, "steps/b.ts");
    const planted = new Map([
      [a, [b]],
      [b, [a]],
    ]);
    expect(upwardImports(planted)).toEqual(["core/a.ts → steps/b.ts"]);
    expect(circles(planted)).toEqual([[a, b]]);
  });
});

describe("the size of src/", () => {
  const files = sourceFiles(SRC);

  it(`has no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => [relative(SRC, file), readFileSync(file, "utf8").split("\n").length - 1] as const)
      .filter(([, lines]) => lines > MAX_FILE_LINES)
      .map(([file, lines]) => `${file} (${lines} lines)`);
    expect(long).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.flatMap(longFunctions)).toEqual([]);
  });
});
