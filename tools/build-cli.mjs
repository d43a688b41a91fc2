// Bundles the CLI into one ES module (dist/cli.js): one file to load instead
// of hundreds cuts start-up time, which every pipeline run pays.
//
// Run by `npm run build` (and `npm pack`, through `prepack`), and by
// bin/shriven-pipeline.js in a checkout whose bundle is missing or older than
// src/. Not by an install script: the Dagger TypeScript runtime installs the
// module with `npm install --omit=dev` before any source is there, so a root
// `prepare` script fails every `dagger call` (issue 13).
import { cpSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const result = await build({
  entryPoints: [join(root, "src/cli/main.ts")],
  outfile: join(root, "dist/cli.js"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  write: false,
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// Written beside and renamed into place, so a CLI starting meanwhile never loads half a bundle.
mkdirSync(join(root, "dist"), { recursive: true });
for (const file of result.outputFiles) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
}

// The allocation counter's C source is compiled on the machine that runs the
// gate; the bundle finds it next to itself (new URL("./native/…", import.meta.url)).
cpSync(join(root, "src/perf/native"), join(root, "dist/native"), { recursive: true });
