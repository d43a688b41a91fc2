/**
 * Where this package's own files are: the folder of the nearest `package.json`
 * named `shriven-pipeline` above this module. Works from `src/`, the bundled
 * CLI in `dist/`, an installed package, and the Dagger runtime's copy of the source.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's root folder and its manifest, or undefined when no such package.json is above this module. */
export function packageRoot():
  | { readonly dir: string; readonly manifest: { readonly name?: string; readonly version?: string } }
  | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const path = join(dir, "package.json");
    if (existsSync(path)) {
      const manifest = JSON.parse(readFileSync(path, "utf8")) as { name?: string; version?: string };
      if (manifest.name === "shriven-pipeline") return { dir, manifest };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
