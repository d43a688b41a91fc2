/** `shriven-pipeline list`: the stages and their steps, group by group. */
import { UsageError } from "../../core/errors.js";
import { STAGE_NAMES, STAGES } from "../../stages/registry.js";
import type { ParsedArgs } from "../args.js";
import type { CliCommand } from "../command.js";
import type { CliIo } from "../io.js";

/** `list`: takes no arguments. */
export const command: CliCommand = {
  name: "list",
  summary: "List the stages and their steps",
  usage: [],
  run: async ({ positionals }: ParsedArgs, io: CliIo) => {
    if (positionals.length > 0) throw new UsageError(`list takes no arguments, got ${JSON.stringify(positionals[0])}`);
    io.stdout.write(renderStageList());
    return 0;
  },
};

/** Each stage with its environment and description, then its steps with their group. */
function renderStageList(): string {
  const lines: string[] = [];
  for (const name of STAGE_NAMES) {
    const stage = STAGES[name];
    lines.push(`${name} (${stage.environment} environment): ${stage.description}`);
    stage.groups.forEach((group, index) => {
      for (const step of group) {
        const overlap =
          group.length > 1
            ? ` [group ${index + 1}, runs alongside ${group.length - 1} other${group.length === 2 ? "" : "s"}]`
            : ` [group ${index + 1}]`;
        lines.push(`  ${step.id.padEnd(8)} ${step.title}: ${step.description}${overlap}`);
      }
    });
    lines.push("");
  }
  return lines.join("\n");
}
