/** The Cargo workspace a command works on. */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";

/**
 * The workspace a command runs in (`--source DIR`, else the current directory): an existing directory with a
 * Cargo.toml. @throws UsageError saying which of the two is missing.
 */
export function workspaceDir(given: string | undefined, cwd: string): string {
  const dir = resolve(cwd, given ?? ".");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--source ${given ?? dir}: no such directory`);
  if (!existsSync(join(dir, "Cargo.toml"))) {
    throw new UsageError(
      given === undefined
        ? `no Cargo.toml in the current directory (${dir}); pass --source DIR`
        : `--source ${given}: no Cargo.toml in ${dir}; expected a Cargo workspace`,
    );
  }
  return dir;
}
