/** `shriven-pipeline list`: the stages and their steps, group by group. */
import { UsageError } from "../../core/errors.js";
import type { CliCommand } from "../command.js";
import { STAGE_LIST } from "../stage-list.js";

/** `list`: takes no arguments. */
export const command: CliCommand = {
  name: "list",
  summary: "List the stages and their steps",
  usage: [],
  run: async ({ positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`list takes no arguments, got ${JSON.stringify(positionals[0])}`);
    io.stdout.write(STAGE_LIST);
    return 0;
  },
};
