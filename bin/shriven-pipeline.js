#!/usr/bin/env node
// The CLI runs from dist/cli.js and the chunks it imports, bundled from src/ by tools/build-cli.mjs. A
// published package ships them; in a checkout (src/ beside bin/) they are built here when missing or older
// than their sources, so `npm ci && node bin/shriven-pipeline.js …` works on a fresh clone with no install
// script (see tools/build-cli.mjs for why there is none).
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = `${root}dist/cli.js`;

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

if (existsSync(`${root}src/cli/main.ts`)) {
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  if (built < Math.max(newest(`${root}src`), statSync(`${root}tools/build-cli.mjs`).mtimeMs)) {
    if (!existsSync(`${root}node_modules/esbuild`)) {
      process.stderr.write("shriven-pipeline: dist/cli.js is missing or older than src/; run `npm ci` (installs esbuild), then retry\n");
      process.exit(2);
    }
    await import("../tools/build-cli.mjs");
  }
}

const { main } = await import("../dist/cli.js");
process.exitCode = await main(process.argv.slice(2));
