import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * This package's version, from the nearest `package.json` named
 * `shriven-pipeline` above this module (works from `src/`, the compiled
 * bundle in `dist/`, and the Dagger runtime's copy of the source).
 */
export function toolVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { name?: string; version?: string };
      if (parsed.name === "shriven-pipeline" && typeof parsed.version === "string") return parsed.version;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("shriven-pipeline: cannot find its own package.json");
    dir = parent;
  }
}
