/**
 * How steps call cargo: the target directories they build in and the
 * environment every cargo command gets.
 */
import type { CacheMount, Command } from "../core/command.js";

/**
 * Target directory of `cargo test` (full debug builds). It is cargo's default,
 * so a developer's own `cargo test` reuses it.
 */
export const TEST_TARGET: CacheMount = { key: "cargo-target", path: "target" };

/**
 * Target directory shared by `cargo check` and `cargo clippy`: both build
 * metadata only, so dependencies checked once serve both. Kept apart from
 * {@link TEST_TARGET} so that tests and lints can build at the same time
 * without waiting on cargo's build-directory lock.
 */
export const LINT_TARGET: CacheMount = { key: "cargo-target-lint", path: "target/shriven-lint" };

/** Secret a cargo build may need to fetch from a private registry. */
export const REGISTRY_TOKEN = "CARGO_REGISTRY_TOKEN";

/**
 * Builds a cargo command with colours off, so output can be parsed. With a
 * target directory it is a build: it gets that cache and may use the
 * registry token.
 */
export function cargo(args: readonly string[], target?: CacheMount): Command {
  const command: Command = { argv: ["cargo", ...args], env: { CARGO_TERM_COLOR: "never" } };
  if (target === undefined) return command;
  return { ...command, env: { ...command.env, CARGO_TARGET_DIR: target.path }, caches: [target], secretEnv: [REGISTRY_TOKEN] };
}

/** Turns an absolute path the tool printed into a workspace-relative one. */
export function relativeToWorkspace(path: string, workspaceDir: string): string {
  const root = workspaceDir.endsWith("/") ? workspaceDir : `${workspaceDir}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** How many lines of raw output a failure we could not read better keeps in its details. */
const RAW_DETAIL_LINES = 12;

/**
 * Summary and details for a tool failure that produced no structured
 * diagnostics: the tool's first `error` line (else its last line), and the
 * last lines of its output.
 */
export function rawFailure(tool: string, exitCode: number | null, output: string): { summary: string; details: string[] } {
  const lines = output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "" && !l.startsWith('{"reason":'));
  const headline = lines.find((l) => /^error(\[\w+\])?:/.test(l)) ?? lines.at(-1) ?? "no output";
  return { summary: `${tool} failed (exit code ${exitCode ?? "none"}): ${headline}`, details: lines.slice(-RAW_DETAIL_LINES) };
}
