import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE_NAME, loadPipelineConfig, parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { configError } from "../helpers/config-error.js";
import { tempDir, tempFiles } from "../helpers/temp.js";

const IDS = ["fmt", "check", "test", "clippy"];

function problems(text: string): string[] {
  const error = configError(() => parsePipelineConfig(text, "shriven-pipeline.toml", IDS));
  expect(error.source).toBe("shriven-pipeline.toml");
  return [...error.problems];
}

describe("pipeline config", () => {
  it("gives documented defaults when the workspace has no config file", () => {
    const config = loadPipelineConfig({ workspace: tempDir(), stepIds: IDS });
    expect(config.file).toBeUndefined();
    expect(config.jobs).toBeUndefined();
    expect(config.steps.test).toEqual({ enabled: true, timeoutSeconds: undefined, extraArgs: [] });
    expect(Object.keys(config.steps)).toEqual(IDS);
  });

  it("reads step settings and jobs from shriven-pipeline.toml", () => {
    const dir = tempFiles({
      [CONFIG_FILE_NAME]:
        'jobs = 1\n[steps.test]\ntimeout_seconds = 300\nextra_args = ["--features", "simd"]\n[steps.fmt]\nenabled = false\n',
    });
    const config = loadPipelineConfig({ workspace: dir, stepIds: IDS });
    expect(config.file).toBe(join(dir, CONFIG_FILE_NAME));
    expect(config.jobs).toBe(1);
    expect(config.steps.test).toEqual({ enabled: true, timeoutSeconds: 300, extraArgs: ["--features", "simd"] });
    expect(config.steps.fmt?.enabled).toBe(false);
    expect(config.steps.clippy).toEqual({ enabled: true, timeoutSeconds: undefined, extraArgs: [] });
  });

  it("requires an explicitly named file to exist", () => {
    const dir = tempDir();
    expect(() => loadPipelineConfig({ workspace: dir, file: join(dir, "other.toml"), stepIds: IDS })).toThrow(/other.toml: file not found/);
  });

  it("rejects a config path that is a directory", () => {
    const dir = tempDir();
    mkdirSync(join(dir, CONFIG_FILE_NAME));
    expect(() => loadPipelineConfig({ workspace: dir, stepIds: IDS })).toThrow(/is a directory/);
  });

  it.each([
    ["an unknown top-level key", "timeout = 5\n", "timeout: unknown key; expected one of: jobs, steps"],
    ["an unknown step", "[steps.tset]\nenabled = true\n", "steps.tset: unknown key; expected one of: fmt, check, test, clippy"],
    [
      "an unknown step option",
      "[steps.test]\ntimeout = 5\n",
      "steps.test.timeout: unknown key; expected one of: enabled, timeout_seconds, extra_args",
    ],
    ["a string timeout", '[steps.test]\ntimeout_seconds = "120"\n', "steps.test.timeout_seconds: expected a whole number of seconds"],
    ["a negative timeout", "[steps.test]\ntimeout_seconds = -5\n", "steps.test.timeout_seconds: expected at least 1 second"],
    ["a fractional timeout", "[steps.test]\ntimeout_seconds = 1.5\n", "steps.test.timeout_seconds: expected a whole number of seconds"],
    ["a timeout over a day", "[steps.test]\ntimeout_seconds = 90000\n", "steps.test.timeout_seconds: expected at most 86400 seconds"],
    ["a string for a boolean", '[steps.fmt]\nenabled = "no"\n', "steps.fmt.enabled: expected true or false"],
    ["extra_args as a string", '[steps.clippy]\nextra_args = "--all-features"\n', "steps.clippy.extra_args: expected an array of strings"],
    ["a number in extra_args", "[steps.clippy]\nextra_args = [1]\n", "steps.clippy.extra_args.0: expected a string"],
    ["zero jobs", "jobs = 0\n", "jobs: expected at least 1"],
    ["a step that is not a table", "steps = 3\n", "steps: "],
  ])("rejects %s, naming the key", (_, text, expected) => {
    expect(problems(text).join("\n")).toContain(expected);
  });

  it.each([
    ["a missing value", "jobs = \n", "line 1, column 8: invalid TOML: invalid value"],
    ["an unclosed string", '[steps.test]\nextra_args = ["a\n', "line 2"],
    ["a redefined table", "[steps]\n[steps]\n", "line 2"],
    ["binary junk", "\u0001\u0002", "invalid TOML"],
  ])("rejects TOML with %s, naming line and column", (_, text, expected) => {
    expect(problems(text)[0]).toContain(expected);
  });
});
