/**
 * The fix functions of the module (`fmt-fix`, `clippy-fix`): the commands the
 * host's `shriven-pipeline fix` runs (src/steps/fix.ts), each through the
 * {@link DaggerRunner} on the toolchain container with the steps' caches, the
 * next one on the tree the previous one left. The result is the workspace
 * with the rewritten Rust files, without `target`; a failing tool returns no
 * tree at all.
 */
import type { Directory, Secret } from "@dagger.io/dagger";
import { type FixKind, fixCommands, isFixableSource, readFixResult } from "../steps/dev/fix.js";
import { loadConfig, workspaceEntries, workspaceRunner } from "./run-in-dagger.js";

/** Arguments of the fix functions. */
export interface DaggerFixArgs {
  readonly source: Directory;
  /** For `cargo clippy --fix`, which builds (CARGO_REGISTRY_TOKEN). */
  readonly registryToken?: Secret;
}

/**
 * The workspace after the fix's commands. Each command hands back the
 * workspace's Rust files (the only files rustfmt and clippy rewrite), copied
 * out of the container after it ran; they replace the ones in the tree.
 * @throws UsageError when the source has no Cargo.toml, ConfigError for a bad
 *   shriven-pipeline.toml, FixFailedError naming the tool's first error.
 */
export async function fixInDagger(kind: FixKind, args: DaggerFixArgs): Promise<Directory> {
  const config = await loadConfig(args.source, await workspaceEntries(args.source));
  const sources = (await args.source.glob("**/*.rs")).filter(isFixableSource);
  let tree = args.source;
  for (const fix of fixCommands(kind, config.steps)) {
    const runner = await workspaceRunner(tree, args.registryToken);
    readFixResult(fix, await runner.exec({ ...fix.command, outputs: sources }));
    const rewritten = runner.outputs();
    if (rewritten !== undefined) tree = tree.withDirectory(".", rewritten);
  }
  return tree.withoutDirectory("target");
}
