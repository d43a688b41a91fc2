/**
 * A fix of a workspace, all or nothing (for `shriven-pipeline fix`): the
 * pipeline document's troubleshooting (`cargo fmt`, `cargo clippy --fix`) run
 * in place; it lists the files it changed, and puts every file back when a
 * tool fails or the run is interrupted.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Diagnostic, plural } from "../cargo/messages.js";
import type { StepSettings } from "../config/pipeline-config.js";
import type { Runner } from "../core/command.js";
import {
  type FixCommand,
  FixFailedError,
  type FixKind,
  fixCommands,
  inSkippedFolder,
  isFixableSource,
  readFixResult,
  unfixedWarnings,
} from "../steps/dev/fix.js";

/** How a fix of a workspace ended; the files are as listed. */
export type FixRun =
  | {
      readonly status: "fixed";
      /** Workspace-relative files the tools rewrote, sorted. */
      readonly changed: readonly string[];
      /** Warnings clippy had no fix for, one line each (see {@link unfixedWarnings}). */
      readonly remaining: readonly string[];
    }
  | {
      readonly status: "failed";
      readonly error: FixFailedError;
      /** Files the tools had rewritten before failing, now back as they were. */
      readonly restored: readonly string[];
    }
  | { readonly status: "interrupted"; readonly restored: readonly string[] };

/** What {@link fixWorkspace} needs. */
export interface FixWorkspaceOptions {
  /** Absolute path of the workspace; the commands rewrite it in place. */
  readonly workspace: string;
  readonly kind: FixKind;
  /** Settings per step id (from the pipeline config). */
  readonly steps: Readonly<Record<string, StepSettings>>;
  /** Runs the commands in `workspace` (the host runner). */
  readonly runner: Runner;
  /** Aborting stops the running tool; the files are put back. */
  readonly signal?: AbortSignal;
  /** Told before each command runs. */
  readonly onCommand?: (fix: FixCommand) => void;
}

/**
 * Runs a fix's commands in a workspace, in place, all or nothing: the Rust
 * sources are read first, and written back when a command fails, is
 * interrupted or cannot run.
 */
export async function fixWorkspace(options: FixWorkspaceOptions): Promise<FixRun> {
  const before = readSources(options.workspace);
  const diagnostics: Diagnostic[] = [];
  try {
    for (const fix of fixCommands(options.kind, options.steps)) {
      options.onCommand?.(fix);
      const result = await options.runner.exec(fix.command, options.signal === undefined ? {} : { signal: options.signal });
      if (result.cancelled) return { status: "interrupted", restored: restore(options.workspace, before) };
      diagnostics.push(...readFixResult(fix, result));
    }
  } catch (error) {
    const restored = restore(options.workspace, before);
    if (error instanceof FixFailedError) return { status: "failed", error, restored };
    throw error;
  }
  return { status: "fixed", changed: changedFiles(before, readSources(options.workspace)), remaining: unfixedWarnings(diagnostics) };
}

/** The result as the CLI prints it: the changed files, or what failed and that nothing changed. */
export function renderFixRun(run: FixRun): string {
  const lines: string[] = [];
  if (run.status === "fixed") {
    lines.push(
      run.changed.length === 0 ? "✅ Fix: nothing to fix, no file changed" : `✅ Fix: ${plural(run.changed.length, "file")} changed`,
    );
    lines.push(...run.changed.map((file) => `    ${file}`));
    if (run.remaining.length > 0) {
      lines.push(`⚠️ ${plural(run.remaining.length, "warning")} clippy has no automatic fix for; fix by hand (cargo clippy shows where):`);
      lines.push(...run.remaining.map((line) => `    ${line}`));
    }
  } else {
    lines.push(run.status === "failed" ? `❌ ${run.error.message}` : "🚫 Fix: interrupted");
    lines.push(
      run.restored.length === 0
        ? "Nothing changed: no file had been rewritten."
        : `Nothing changed: put back the ${plural(run.restored.length, "file")} the tools had rewritten (${run.restored.join(", ")}).`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The Rust sources a fix may rewrite, by workspace-relative path, with their bytes. */
function readSources(workspace: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(workspace, folder), { withFileTypes: true })) {
      const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory() && !inSkippedFolder(path)) walk(path);
      else if (entry.isFile() && isFixableSource(path)) files.set(path, readFileSync(join(workspace, path)));
    }
  };
  walk("");
  return files;
}

/** Files whose bytes differ between two readings (or that one of them lacks), sorted. */
function changedFiles(before: ReadonlyMap<string, Buffer>, after: ReadonlyMap<string, Buffer>): string[] {
  const differs = (path: string): boolean => {
    const was = before.get(path);
    const is = after.get(path);
    return was === undefined || is === undefined || !was.equals(is);
  };
  return [...new Set([...before.keys(), ...after.keys()])].filter(differs).sort();
}

/** Writes back every file that differs from `before`; returns those it wrote, sorted. */
function restore(workspace: string, before: ReadonlyMap<string, Buffer>): string[] {
  const restored = changedFiles(before, readSources(workspace)).filter((path) => before.has(path));
  for (const path of restored) writeFileSync(join(workspace, path), before.get(path) as Buffer);
  return restored;
}
