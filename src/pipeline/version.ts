import { packageRoot } from "../core/package-root.js";

/**
 * This package's version, from the nearest `package.json` named
 * `shriven-pipeline` above this module (works from `src/`, the compiled
 * bundle in `dist/`, and the Dagger runtime's copy of the source).
 */
export function toolVersion(): string {
  const version = packageRoot()?.manifest.version;
  if (typeof version !== "string") throw new Error("shriven-pipeline: cannot find its own package.json");
  return version;
}
