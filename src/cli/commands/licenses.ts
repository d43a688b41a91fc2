/** `shriven-pipeline licenses`: the licences step on its own, outside a stage, on the host toolchain. */
import { type CliCommand, lazyRun } from "../command.js";

/** `licenses [--source DIR] [--format text|json]`. */
export const command: CliCommand = {
  name: "licenses",
  summary: "Licence policy check of a workspace's crates (exit 1 when one is not allowed)",
  usage: ["[--source DIR] [--format text|json]"],
  options: { source: { type: "string" }, format: { type: "string" } },
  run: lazyRun(() => import("../actions/licenses.js")),
};
