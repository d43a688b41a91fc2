/** `shriven-pipeline prune-artifacts`: the retention rule for build artifacts; releases are kept. */
import { type CliCommand, lazyRun } from "../command.js";

/** `prune-artifacts [--source DIR | --dir DIR] [--days N] [--dry-run]` */
export const command: CliCommand = {
  name: "prune-artifacts",
  summary: "Remove build artifacts older than the retention (default 30 days); releases are kept",
  usage: ["[--source DIR | --dir DIR] [--days N] [--dry-run]"],
  options: {
    source: { type: "string" },
    dir: { type: "string" },
    days: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  run: lazyRun(() => import("../actions/prune-artifacts.js")),
};
