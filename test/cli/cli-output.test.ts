/**
 * The CLI's user-facing text, recorded: the usage, the stage list, each
 * command's help or the usage error of a bad flag, and the errors of an
 * unknown command or subcommand, with their exit codes. Each case's output is
 * compared with its file under test/fixtures/cli-output/ (`vitest -u` rewrites
 * them), so a change to what a user reads shows up as a diff of those files.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

/** Every command the usage lists (besides help). */
const COMMANDS = [
  "run",
  "list",
  "audit",
  "licenses",
  "perf",
  "paper",
  "release",
  "publish",
  "verify",
  "prune-artifacts",
  "deploy",
  "rollback",
  "audit-log",
  "clippy-baseline",
  "fix",
] as const;

/** Fixture name → the arguments; none of them reads or writes a workspace. */
const CASES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["no-arguments", []],
  ["help", ["--help"]],
  ["list", ["list"]],
  ["list-with-an-argument", ["list", "dev"]],
  ["unknown-command", ["launch"]],
  ...COMMANDS.flatMap((name) => [[`${name}--help`, [name, "--help"]] as const, [`${name}--bogus`, [name, "--bogus"]] as const]),
  ["run-without-a-stage", ["run"]],
  ["run-two-stages", ["run", "dev", "staging"]],
  ["run-unknown-stage", ["run", "qa"]],
  ["audit-log-without-a-subcommand", ["audit-log"]],
  ["audit-log-verify--bogus", ["audit-log", "verify", "--bogus"]],
  ["audit-log-prune--bogus", ["audit-log", "prune", "--bogus"]],
  ["audit-log-show--bogus", ["audit-log", "show", "--bogus"]],
];

/** What a run printed, as its fixture holds it. */
async function transcript(args: readonly string[]): Promise<string> {
  const run = await runCli(args, { cwd: tempDir("shriven-cli-output-") });
  return [
    `$ shriven-pipeline ${args.join(" ")}`.trimEnd(),
    `exit code ${run.code}`,
    "--- stdout",
    run.stdout,
    "--- stderr",
    run.stderr,
  ].join("\n");
}

describe("the CLI's output", () => {
  it.each(CASES)("%s", async (name, args) => {
    await expect(await transcript(args)).toMatchFileSnapshot(`../fixtures/cli-output/${name}.txt`);
  });

  it("prints the same usage for -h, help and run -h as for --help", async () => {
    const usage = await runCli(["--help"]);
    expect(usage.code).toBe(0);
    for (const args of [["-h"], ["help"], ["run", "-h"], ["run", "dev", "--help"]]) expect(await runCli(args)).toEqual(usage);
    expect(await runCli(["fix", "-h"])).toEqual(await runCli(["fix", "--help"]));
    expect(await runCli(["clippy-baseline", "-h"])).toEqual(await runCli(["clippy-baseline", "--help"]));
  });

  it("prints the version with exit code 0", async () => {
    for (const flag of ["--version", "-v"]) {
      const run = await runCli([flag]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^shriven-pipeline \d+\.\d+\.\d+\S*\n$/);
    }
  });

  it("lists every command in the usage and offers each for an unknown one", async () => {
    const usage = (await runCli(["--help"])).stdout;
    const unknown = (await runCli(["launch"])).stderr;
    for (const name of COMMANDS) {
      expect(usage).toMatch(new RegExp(`^ {2}${name} `, "m"));
      expect(unknown).toMatch(new RegExp(`[ ,]${name}(,| or )`));
    }
  });
});
