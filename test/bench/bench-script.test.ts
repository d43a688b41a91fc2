/**
 * bench/dev-sequential.sh is the baseline the dev-stage bench compares with;
 * it must run exactly the commands the dev stage's steps run.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runStage } from "../../src/engine/stage.js";
import { devStage } from "../../src/stages/dev.js";
import { RecordingRunner } from "../helpers/recording-runner.js";

/** The steps the bench compares: the four cargo builds (the supply-chain checks have no plain-script equivalent). */
const BUILD_STEPS = ["fmt", "check", "test", "clippy"];

describe("bench/dev-sequential.sh", () => {
  it("runs the dev stage's commands, in order, with the same target directories", async () => {
    const runner = new RecordingRunner();
    await runStage({ stage: devStage, runner, workspaceDir: "/w", jobs: 1, only: new Set(BUILD_STEPS) });
    // The clippy step first looks for a clippy baseline (`ls -A .shriven-pipeline`): a probe, not a build.
    const builds = runner.commands.filter((c) => c.argv[0] === "cargo");
    expect(runner.commands.filter((c) => c.argv[0] !== "cargo").map((c) => c.argv.join(" "))).toEqual(["ls -A .shriven-pipeline"]);
    const fromSteps = builds.map((c) => [c.env?.CARGO_TARGET_DIR ?? "", c.argv.join(" ")]);
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
    expect(builds.every((c) => c.env?.CARGO_TERM_COLOR === "never")).toBe(true);
  });
});
