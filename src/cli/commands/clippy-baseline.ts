/**
 * `shriven-pipeline clippy-baseline`: adopting the pipeline on a workspace
 * with legacy lints. `--save --reason TEXT` records the workspace's current
 * clippy warnings as the baseline (who, when, why, which clippy; every save
 * appended to an audit file); without `--save` it shows what the baseline
 * holds and how the workspace compares.
 */
import { CLIPPY_BASELINE_FILE } from "../../lint/clippy-baseline-file.js";
import { type CliCommand, lazyRun } from "../command.js";

/** The help of `clippy-baseline`. */
const CLIPPY_BASELINE_USAGE = `Usage: shriven-pipeline clippy-baseline [--save --reason TEXT] [--source DIR]

Adopting the pipeline on a workspace with legacy lints. By default the clippy step denies every
warning (cargo clippy -- -D warnings). A clippy baseline, ${CLIPPY_BASELINE_FILE} in the
workspace, lists the warnings accepted when it was saved; with it, the clippy step fails only on
warnings it does not hold ("no new warnings"), shows how many baselined ones are left, and names
the ones fixed since, so the baseline can shrink. The file is the opt-in: commit it with the code;
delete it to deny every warning again.

  clippy-baseline                         what the baseline holds, and a clippy run against it
  clippy-baseline --save --reason TEXT    record the current warnings as the baseline

Options:
  --save          Run clippy (warnings kept as warnings, so every crate is linted) and write its
                  warnings to ${CLIPPY_BASELINE_FILE}; errors are never baselined
  --reason TEXT   Why (required with --save); recorded with who and when in the file and in
                  .shriven-pipeline/clippy-baseline.audit.jsonl
  --source DIR    Cargo workspace (default: the current directory)
  -h, --help      Show this help

A warning is matched by its lint, its file and the text of the line it points at, not by its line
number: code added above it does not make it new; editing that line, or moving it to another file,
does. Extra arguments and the timeout come from [steps.clippy] of shriven-pipeline.toml.

Exit codes: 0 saved (or no new warnings), 1 clippy failed or found new warnings (nothing saved),
2 usage or configuration error (an unreadable baseline names its field).
`;

/** `clippy-baseline [--save --reason TEXT] [--source DIR]`; its own help explains the baseline. */
export const command: CliCommand = {
  name: "clippy-baseline",
  summary: `Adopt the pipeline on a workspace with legacy lints: the clippy step then fails only on warnings not in ${CLIPPY_BASELINE_FILE}; without --save, shows it and compares`,
  usage: ["[--save --reason TEXT] [--source DIR]   (see clippy-baseline --help)"],
  options: {
    save: { type: "boolean" },
    reason: { type: "string" },
    source: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  help: CLIPPY_BASELINE_USAGE,
  run: lazyRun(() => import("../actions/clippy-baseline.js")),
};
