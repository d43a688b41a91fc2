/**
 * bench/dev-sequential.sh is the baseline the dev-stage bench compares with;
 * it must run exactly the commands the dev stage's steps run.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { devStage } from "../../src/stages/dev.js";
import { runStage } from "../../src/stages/stage.js";
import { RecordingRunner } from "../helpers/recording-runner.js";

/** The steps the bench compares: the four cargo builds (the supply-chain checks have no plain-script equivalent). */
const BUILD_STEPS = ["fmt", "check", "test", "clippy"];

describe("bench/dev-sequential.sh", () => {
  it("runs the dev stage's commands, in order, with the same target directories", async () => {
    const runner = new RecordingRunner();
    await runStage({ stage: devStage, runner, workspaceDir: "/w", jobs: 1, only: new Set(BUILD_STEPS) });
    const fromSteps = runner.commands.map((c) => [c.env?.CARGO_TARGET_DIR ?? "", c.argv.join(" ")]);
    const script = readFileSync(resolve(import.meta.dirname, "../../bench/dev-sequential.sh"), "utf8");
    const fromScript = script
      .split("\n")
      .filter((line) => /^(CARGO_TARGET_DIR=\S+ )?cargo /.test(line))
      .map((line) => {
        const match = /^(?:CARGO_TARGET_DIR=(\S+) )?(cargo .*)$/.exec(line) as RegExpExecArray;
        return [match[1] ?? "", match[2]];
      });
    expect(fromScript).toEqual(fromSteps);
    expect(script).toContain("export CARGO_TERM_COLOR=never");
    expect(runner.commands.every((c) => c.env?.CARGO_TERM_COLOR === "never")).toBe(true);
  });
});
