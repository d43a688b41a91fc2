// Bundles the CLI into ES modules under dist/: the entry dist/cli.js holds the
// dispatcher and the commands' declarations, and each command's work
// (src/cli/actions/) is a chunk it imports on demand (code splitting), so
// `--help` and `list` load a few small files instead of the whole pipeline,
// and a pipeline run a few bundles instead of hundreds of modules.
//
// Run by `npm run build` (and `npm pack`, through `prepack`), and by
// bin/shriven-pipeline.js in a checkout whose bundle is missing or older than
// src/. Not by an install script: the Dagger TypeScript runtime installs the
// module with `npm install --omit=dev` before any source is there, so a root
// `prepare` script fails every `dagger call` (issue 13).
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const result = await build({
  entryPoints: [join(root, "src/cli/main.ts")],
  entryNames: "cli",
  outdir: join(root, "dist"),
  bundle: true,
  splitting: true,
  metafile: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  write: false,
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// Each file is written beside and renamed into place, the chunks (named by their content's hash) before the
// entry, so a CLI starting meanwhile loads either the old entry with its chunks or the new one with its own;
// the files of an older build are removed after. The metafile lets a test check which modules
// the entry loads (test/cli/lazy-commands.test.ts).
const dist = join(root, "dist");
mkdirSync(dist, { recursive: true });
const entry = join(dist, "cli.js");
const ordered = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry));
const files = [...ordered.map((file) => [file.path, file.contents]), [join(dist, "meta.json"), JSON.stringify(result.metafile)]];
for (const [path, contents] of files) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}
const current = new Set(result.outputFiles.map((file) => basename(file.path)));
for (const name of readdirSync(dist)) {
  if (/\.js(\.map)?$/.test(name) && !current.has(name)) rmSync(join(dist, name), { force: true });
}

// The allocation counter's C source is compiled on the machine that runs the
// gate; the bundle finds it next to itself (new URL("./native/…", import.meta.url)).
cpSync(join(root, "src/perf/native"), join(root, "dist/native"), { recursive: true });
