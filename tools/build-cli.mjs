// Bundles the CLI into one ES module (dist/cli.js): one file to load instead
// of hundreds cuts start-up time, which every pipeline run pays.
import { cpSync } from "node:fs";
import { build } from "esbuild";

await build({
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// The allocation counter's C source is compiled on the machine that runs the
// gate; the bundle finds it next to itself (new URL("./native/…", import.meta.url)).
cpSync("src/perf/native", "dist/native", { recursive: true });
