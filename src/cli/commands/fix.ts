/**
 * `shriven-pipeline fix [--clippy] [--source DIR]`: the workspace rewritten so
 * the fmt step (and with --clippy the clippy step) passes, on the host
 * toolchain, all or nothing (see fix-workspace.ts).
 */
import { type CliCommand, lazyRun } from "../command.js";

/** The help of `fix`, with why it runs on uncommitted changes. */
const FIX_USAGE = `Usage: shriven-pipeline fix [--clippy] [--source DIR]

Rewrites the workspace so that the fmt step (and, with --clippy, the clippy step) passes,
as the pipeline's troubleshooting does by hand, on the host toolchain:

  fix            cargo fmt --all
  fix --clippy   cargo clippy --fix --workspace --all-targets, then cargo fmt --all
                 (clippy's rewrites are not always formatted)

Options:
  --clippy       Also apply clippy's machine-applicable suggestions; warnings it has no
                 fix for are listed for you to fix by hand
  --source DIR   Cargo workspace to fix (default: the current directory)
  -h, --help     Show this help

Extra arguments and timeouts come from [steps.fmt] and [steps.clippy] of shriven-pipeline.toml.
It prints every file it changed. All or nothing: when a tool fails (a workspace that does not
compile, a file rustfmt cannot parse) or the run is interrupted, every file is put back as it was.

Uncommitted changes: fix runs on them (cargo clippy --fix gets --allow-dirty --allow-staged
--allow-no-vcs). The lints to fix are usually in the change being worked on, so refusing would
only make you stash the code that needs the fix; rustfmt never refuses either. Review the result
with git diff before committing: the files it lists are the only ones it touched.

Exit codes: 0 fixed (or nothing to fix), 1 a tool failed (nothing changed), 2 usage or
configuration error, 130 interrupted (nothing changed).
`;

/** `fix [--clippy] [--source DIR]`; its own help explains why it runs on uncommitted changes. */
export const command: CliCommand = {
  name: "fix",
  summary:
    "Rewrite the workspace so the fmt step (with --clippy, also clippy) passes: cargo fmt --all, after cargo clippy --fix with --clippy; lists the files it changed; all or nothing",
  usage: ["[--clippy] [--source DIR]   (runs on uncommitted changes: see fix --help)"],
  options: { clippy: { type: "boolean" }, source: { type: "string" }, help: { type: "boolean", short: "h" } },
  help: FIX_USAGE,
  run: lazyRun(() => import("../actions/fix.js")),
};
