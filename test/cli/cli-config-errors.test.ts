/**
 * Bad configuration, environment files and usage stop the CLI with exit
 * code 2 and a message naming the file, key and what was expected, before
 * any step runs.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempFiles } from "../helpers/temp.js";

interface BadInput {
  /** Files to put in the workspace besides Cargo.toml. */
  readonly files?: Record<string, string | Buffer>;
  /** Extra CLI arguments (relative paths are inside the workspace). */
  readonly args?: readonly string[];
  readonly env?: Record<string, string>;
  /** Every string must appear in stderr. */
  readonly expected: readonly string[];
  readonly mkdir?: string;
}

const BAD: Record<string, BadInput> = {
  "an unknown key in an env file": {
    files: { "dev.env": "MAX_POSITON_SIZE=10\n" },
    args: ["--env-file", "dev.env"],
    expected: ["dev.env", "line 1: MAX_POSITON_SIZE: unknown key; expected one of:"],
  },
  "a non-numeric limit": {
    files: { "dev.env": "MAX_POSITION_SIZE=lots\n" },
    args: ["--env-file", "dev.env"],
    expected: ['MAX_POSITION_SIZE = "lots"', "dev.env:1", "expected a positive number"],
  },
  "a negative limit": {
    files: { "dev.env": "MAX_DAILY_LOSS=-100\n" },
    args: ["--env-file", "dev.env"],
    expected: ['MAX_DAILY_LOSS = "-100"', "expected a positive number"],
  },
  "live trading outside production": {
    files: { "dev.env": "TRADING_MODE=live\n" },
    args: ["--env-file", "dev.env"],
    expected: ['TRADING_MODE = "live"', "only production may trade live; expected paper in development"],
  },
  "a production ENVIRONMENT in the dev stage": {
    files: { "prod.env": "ENVIRONMENT=production\nTRADING_MODE=live\n" },
    args: ["--env-file", "prod.env"],
    expected: ['ENVIRONMENT = "production"', "this stage runs in the development environment"],
  },
  "a production secret in a dev env file": {
    files: { "dev.env": "PROD_BINANCE_API_SECRET=hunter2-do-not-print\n" },
    args: ["--env-file", "dev.env"],
    expected: ["PROD_BINANCE_API_SECRET: is a production secret and must not be given to the development environment"],
  },
  "a missing env file": { args: ["--env-file", "nope.env"], expected: ["nope.env: file not found"] },
  "an env file that is a directory": {
    mkdir: "envdir",
    args: ["--env-file", "envdir"],
    expected: ["envdir: is a directory, expected a file"],
  },
  "an env file that is not text": {
    files: { "bin.env": Buffer.from([0x41, 0x3d, 0xff, 0xfe, 0x0a]) },
    args: ["--env-file", "bin.env"],
    expected: ["bin.env: is not valid UTF-8 text"],
  },
  "a malformed env line": {
    files: { "dev.env": "ENVIRONMENT=development\nexport\n" },
    args: ["--env-file", "dev.env"],
    expected: ["dev.env", 'line 2: expected KEY=VALUE, found no "="'],
  },
  "a bad boolean in the process environment": {
    env: { RISK_CHECK_ENABLED: "maybe" },
    expected: ['RISK_CHECK_ENABLED = "maybe" (from process environment): expected true or false'],
  },
  "an unknown key in the pipeline config": {
    files: { "shriven-pipeline.toml": "[steps.test]\ntimeout = 30\n" },
    expected: ["shriven-pipeline.toml", "steps.test.timeout: unknown key; expected one of: enabled, timeout_seconds, extra_args"],
  },
  "a wrong type in the pipeline config": {
    files: { "shriven-pipeline.toml": '[steps.clippy]\nenabled = "yes"\n' },
    expected: ["shriven-pipeline.toml", "steps.clippy.enabled: expected true or false"],
  },
  "a negative timeout in the pipeline config": {
    files: { "shriven-pipeline.toml": "[steps.fmt]\ntimeout_seconds = -1\n" },
    expected: ["steps.fmt.timeout_seconds: expected at least 1 second"],
  },
  "an unknown step in the pipeline config": {
    files: { "shriven-pipeline.toml": "[steps.lint]\nenabled = false\n" },
    expected: ["steps.lint: unknown key; expected one of: fmt, check, audit, licenses, secrets, test, clippy, perf-check"],
  },
  "invalid TOML in the pipeline config": {
    files: { "shriven-pipeline.toml": "jobs = 2\n[steps.test\n" },
    expected: ["shriven-pipeline.toml: line 2, column", "invalid TOML"],
  },
  "a pipeline config that is a directory": { mkdir: "shriven-pipeline.toml", expected: ["shriven-pipeline.toml: is a directory"] },
};

describe("configuration errors stop the run before any step", () => {
  it.each(Object.entries(BAD))("%s", async (_, bad) => {
    const source = tempFiles({ "Cargo.toml": "[workspace]\n" });
    for (const [name, content] of Object.entries(bad.files ?? {})) writeFileSync(join(source, name), content);
    if (bad.mkdir !== undefined) mkdirSync(join(source, bad.mkdir));
    const run = await runCli(["run", "dev", "--source", source, ...(bad.args ?? [])], { cwd: source, env: { CI: "true", ...bad.env } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^shriven-pipeline: configuration error in /);
    for (const text of bad.expected) expect(run.stderr).toContain(text);
    expect(run.stderr).toContain("No step was run.");
    expect(run.stderr).not.toContain("hunter2");
    expect(run.stdout).toBe("");
    expect(existsSync(join(source, "target"))).toBe(false);
  });
});

describe("production refuses any profile but a live production one, before any step", () => {
  it.each([
    [
      "the test profile",
      { "test.env": "ENVIRONMENT=test\nTRADING_MODE=paper\n" },
      {},
      ['ENVIRONMENT = "test"', "this stage runs in the production environment"],
    ],
    [
      "paper trading",
      { "prod.env": "TRADING_MODE=paper\n" },
      {},
      ['TRADING_MODE = "paper"', "the production profile trades live; expected live"],
    ],
    ["paper trading from the process environment", {}, { TRADING_MODE: "paper" }, ['TRADING_MODE = "paper" (from process environment)']],
    ["a test secret", { "prod.env": "TEST_BINANCE_API_KEY=hunter2\n" }, {}, ["TEST_BINANCE_API_KEY: is a test secret"]],
  ] as const)("%s", async (_, files, env, expected) => {
    const source = tempFiles({ "Cargo.toml": "[workspace]\n", ...files });
    const envFiles = Object.keys(files).flatMap((f) => ["--env-file", f]);
    const run = await runCli(["run", "production", "--tag", "v1.2.3", "--source", source, ...envFiles], {
      cwd: source,
      env: { CI: "true", ...env },
    });
    expect(run.code).toBe(2);
    for (const text of expected) expect(run.stderr).toContain(text);
    expect(run.stderr).toContain("No step was run.");
    expect(run.stderr).not.toContain("hunter2");
    expect(existsSync(join(source, "target"))).toBe(false);
  });
});

describe("usage errors", () => {
  const source = () => tempFiles({ "Cargo.toml": "[workspace]\n" });
  it.each([
    ["no command", [], "Usage: shriven-pipeline"],
    [
      "an unknown command",
      ["launch"],
      'unknown command "launch"; expected run, list, audit, licenses, perf, paper, release, publish, verify, prune-artifacts, deploy, rollback, promotion, audit-log, alerts, secrets, github-environments, fix, clippy-baseline or help',
    ],
    ["run without a stage", ["run"], "run needs a stage: dev, staging or production"],
    ["an unknown stage", ["run", "qa"], 'unknown stage "qa"; expected one of: dev, staging, production'],
    ["an inherited property as a stage", ["run", "constructor"], 'unknown stage "constructor"'],
    ["production without a tag", ["run", "production"], "run production needs --tag vX.Y.Z (the release tag)"],
    ["production with an empty tag", ["run", "production", "--tag", " "], "run production needs --tag vX.Y.Z"],
    [
      "production with a tag that is not a version",
      ["run", "production", "--tag", "latest"],
      '--tag: "latest" is not a release tag: expected vMAJOR.MINOR.PATCH such as v1.2.3',
    ],
    [
      "production with a tag and a newline",
      ["run", "production", "--tag", "v1.2.3\nv9.9.9"],
      '--tag: "v1.2.3\\nv9.9.9" is not semantic: expected vMAJOR.MINOR.PATCH',
    ],
    [
      "production with a short override reason",
      ["run", "production", "--tag", "v1.2.3", "--override-window", "now"],
      "--override-window: the override needs its own reason, at least 10 characters",
    ],
    ["--tag on dev", ["run", "dev", "--tag", "v1.2.3"], "--tag is an option of run production, not of run dev"],
    ["--local on dev", ["run", "dev", "--local"], "--local is an option of run production and run staging, not of run dev"],
    ["--tag on staging", ["run", "staging", "--local", "--tag", "v1.2.3"], "--tag is an option of run production, not of run staging"],
    [
      "--override-window on dev",
      ["run", "dev", "--override-window", "a long enough reason"],
      "--override-window is an option of run production",
    ],
    [
      "production with a wait start that is not RFC 3339",
      ["run", "production", "--tag", "v1.2.3", "--wait-starts-at", "yesterday"],
      '--wait-starts-at: expected an RFC 3339 time such as 2026-11-28T10:00:00Z, got "yesterday"',
    ],
    [
      "production with an option-like policy ref",
      ["run", "production", "--tag", "v1.2.3", "--policy-ref=--output=x"],
      '--policy-ref: expected a git ref such as origin/main, got "--output=x"',
    ],
    ["--policy-ref on staging", ["run", "staging", "--policy-ref", "origin/main"], "--policy-ref is an option of run production"],
    ["two stages", ["run", "dev", "staging"], "run takes one stage, got dev staging"],
    ["an unknown option", ["run", "dev", "--fast"], "Unknown option '--fast'"],
    ["--jobs 0", ["run", "dev", "--jobs", "0"], '--jobs: expected a whole number from 1 to 64, got "0"'],
    ["--jobs abc", ["run", "dev", "--jobs", "abc"], '--jobs: expected a whole number from 1 to 64, got "abc"'],
    [
      "--only with an unknown step",
      ["run", "dev", "--only", "fmt,lint"],
      '--only: unknown step "lint" in the dev stage; expected: fmt, check, audit, licenses, secrets, test, clippy, perf-check',
    ],
    ["--only with an empty entry", ["run", "dev", "--only", "fmt,,test"], "--only: expected step ids separated by commas"],
    ["list with arguments", ["list", "dev"], 'list takes no arguments, got "dev"'],
  ])("%s", async (_, args, expected) => {
    const dir = source();
    const run = await runCli(args, { cwd: dir });
    expect(run.code).toBe(2);
    expect(`${run.stderr}${run.stdout}`).toContain(expected);
    expect(existsSync(join(dir, "target"))).toBe(false);
  });

  it("refuses a --source without Cargo.toml, and a missing one", async () => {
    const empty = tempFiles({});
    expect((await runCli(["run", "dev", "--source", empty])).stderr).toContain(`no Cargo.toml in ${empty}; expected a Cargo workspace`);
    expect((await runCli(["run", "dev", "--source", join(empty, "nope")])).stderr).toContain("no such directory");
    const here = await runCli(["run", "dev"], { cwd: empty });
    expect(here.code).toBe(2);
    expect(here.stderr).toContain(`no Cargo.toml in the current directory (${empty}); pass --source DIR`);
  });
});

describe("help, version and list", () => {
  it("prints help and the version with exit code 0", async () => {
    expect(await runCli(["--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("run <stage>") });
    expect(await runCli(["run", "--help"])).toMatchObject({ code: 0, stdout: expect.stringContaining("--env-file FILE") });
    expect((await runCli(["--version"])).stdout).toMatch(/^shriven-pipeline \d+\.\d+\.\d+\n$/);
  });

  it("lists the stages and their steps in order with their groups", async () => {
    const run = await runCli(["list"]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split("\n");
    const ids = lines.filter((l) => l.startsWith("  ")).map((l) => l.trim().split(/\s+/)[0]);
    expect(ids).toEqual([
      ...["fmt", "check", "audit", "licenses", "secrets", "test", "clippy", "perf-check"],
      ...["secrets-preflight", "release-build", "integration-tests", "risk-validation", "benchmarks", "paper-trading"],
      ...["deploy-test", "smoke-tests", "promotion"],
      ...[
        "secrets-preflight",
        "pre-validation",
        "audit",
        "licenses",
        "promotion",
        "release-build",
        "performance",
        "hot-path",
        "approval",
        "deploy-window",
      ],
      ...["deploy-production", "monitoring", "github-release"],
    ]);
    expect(run.stdout).toContain("dev (development environment)");
    expect(run.stdout).toContain("staging (test environment)");
    expect(run.stdout).toContain("production (production environment)");
    expect(run.stdout).toMatch(/approval +Approval gate: .*\[group 7, runs alongside 1 other\]/);
    expect(run.stdout).toMatch(/fmt +Formatting: .*\[group 1, runs alongside 4 others\]/);
  });
});
