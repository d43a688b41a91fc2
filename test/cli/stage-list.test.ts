/**
 * `list` prints a text kept in src/cli/stage-list.ts so it loads no stage; this checks that text against the
 * real stages, rendered the way `list` always has: each stage with its environment and description, then its
 * steps with their group.
 */
import { describe, expect, it } from "vitest";
import { STAGE_LIST } from "../../src/cli/stage-list.js";
import { STAGE_NAMES, STAGES } from "../../src/stages/registry.js";

/** The stage list rendered from the stages themselves. */
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

describe("the stage list of `list`", () => {
  it("is the real stages' steps, titles, descriptions and groups (on a change, paste the received text into STAGE_LIST)", () => {
    expect(STAGE_LIST).toBe(renderStageList());
  });

  it("names every step of every stage", () => {
    for (const name of STAGE_NAMES) {
      expect(STAGE_LIST).toContain(`${name} (${STAGES[name].environment} environment)`);
      for (const step of STAGES[name].groups.flat()) expect(STAGE_LIST).toContain(`  ${step.id.padEnd(8)} ${step.title}: `);
    }
  });
});
