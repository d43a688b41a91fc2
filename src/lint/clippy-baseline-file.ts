/** Where the clippy baseline lives, apart from its reader (clippy-baseline.ts) so the CLI's usage can name it without loading zod. */

/** Where the baseline lives, relative to the workspace root (next to the perf baselines' default folder). */
export const CLIPPY_BASELINE_FILE = ".shriven-pipeline/clippy-baseline.json";
