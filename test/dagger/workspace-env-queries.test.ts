/**
 * Least privilege for secrets on the Dagger path, from the queries the real
 * SDK sends (recorded on 127.0.0.1): each exec of the dev stage carries, on
 * the container chain that leads to it, the variables its command sets and
 * only the secrets its command names — the registry token only where the
 * command names it, the deploy, signing, GitHub and Slack secrets nowhere,
 * even when the runner holds them.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connection, dag, type Secret } from "@dagger.io/dagger";
import {
  type FieldNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  type ValueNode,
  valueFromASTUntyped,
} from "graphql";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Command, ExecResult, Runner } from "../../src/core/command.js";
import { CommandEnvError } from "../../src/core/least-privilege-env.js";
import { runStage, type Stage } from "../../src/engine/stage.js";
import type { Step } from "../../src/engine/step.js";
import { ShrivenPipeline } from "../../src/index.js";
import { DaggerRunner } from "../../src/runners/dagger-runner.js";
import { devStage } from "../../src/stages/dev.js";
import { EXAMPLE } from "../helpers/example.js";
import { type ExecAnswer, FakeEngine } from "../helpers/fake-engine.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const MANIFEST = '[workspace]\nmembers = ["crates/*"]\n';
const LOCKFILE = readFileSync(join(EXAMPLE, "Cargo.lock"), "utf8");
const PASSING_TESTS =
  "running 1 test\ntest tests::ok ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n";
/** The example's real `cargo metadata`, as the container would print it. */
const METADATA = execFileSync("cargo", ["metadata", "--format-version", "1", "--offline"], { cwd: EXAMPLE, encoding: "utf8" });

/** What the toolchain container answers on a clean workspace (no advisory database: audit is not selected). */
function cleanWorkspace(argv: readonly string[]): ExecAnswer {
  // The toolchain's record: every package asked for, installed.
  if (argv[0] === "dpkg-query")
    return {
      exitCode: 0,
      stdout: argv
        .filter((a, i) => i > 0 && !a.startsWith("-"))
        .map((name) => `ii \t${name}\t1.0-1\tamd64\n`)
        .join(""),
    };
  if (argv.includes("Cargo.lock")) return { exitCode: 0, stdout: LOCKFILE };
  if (argv.includes("metadata")) return { exitCode: 0, stdout: METADATA };
  if (argv.includes("grep")) return { exitCode: 1 };
  return { exitCode: 0, stdout: argv.includes("test") ? PASSING_TESTS : "" };
}
beforeEach(() =>
  engine.reset({ entries: ["Cargo.toml", "Cargo.lock", "crates"], files: { "Cargo.toml": MANIFEST }, exec: cleanWorkspace }),
);

/** Every dev-stage step but the audit (which needs the advisory database, and runs no cargo). */
const DEV_STEPS = devStage.groups
  .flat()
  .map((step) => step.id)
  .filter((id) => id !== "audit");

/** Secrets a staging or production run holds for its own steps, by the ids the engine knows them by. */
const STAGE_SECRET_IDS = {
  SSH_DEPLOY_KEY: "ssh-key-id",
  RELEASE_SIGNING_KEY: "signing-key-id",
  GITHUB_TOKEN: "github-token-id",
  SLACK_WEBHOOK_URL: "slack-webhook-id",
  CARGO_REGISTRY_TOKEN: "registry-token-id",
} as const;

/** One exec and what the container chain leading to it set. */
interface ExecEnvironment {
  readonly argv: readonly string[];
  /** Secret variables by name → secret id. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Plain variables by name → value. */
  readonly variables: Readonly<Record<string, string>>;
  /** The chain starts from a container loaded by id, so part of it is in an earlier query. */
  readonly fromId: boolean;
}

function argumentsOf(field: FieldNode): Record<string, unknown> {
  return Object.fromEntries((field.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value as ValueNode)]));
}

/** Every `withExec` of the recorded queries, with the variables and secrets set on its way. */
function execEnvironments(queries: readonly string[]): ExecEnvironment[] {
  const found: ExecEnvironment[] = [];
  const walk = (selectionSet: SelectionSetNode | undefined, path: { name: string; args: Record<string, unknown> }[]): void => {
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind !== Kind.FIELD) continue;
      const step = { name: selection.name.value, args: argumentsOf(selection) };
      const chain = [...path, step];
      if (step.name === "withExec") {
        const pick = (name: string, value: string) =>
          Object.fromEntries(chain.filter((p) => p.name === name).map((p) => [String(p.args.name), String(p.args[value])]));
        found.push({
          argv: step.args.args as string[],
          secrets: pick("withSecretVariable", "secret"),
          variables: pick("withEnvVariable", "value"),
          fromId: chain.some((p) => p.name === "loadContainerFromID"),
        });
      }
      walk(selection.selectionSet, chain);
    }
  };
  for (const query of queries) {
    for (const definition of parse(query).definitions)
      if (definition.kind === Kind.OPERATION_DEFINITION) walk((definition as OperationDefinitionNode).selectionSet, []);
  }
  return found;
}

/** Records the commands it is asked to run and answers them as the fake engine does, so a stage takes the same path. */
class AnsweringRunner implements Runner {
  readonly name = "answering";
  readonly commands: Command[] = [];

  async exec(command: Command): Promise<ExecResult> {
    this.commands.push(command);
    const { exitCode, stdout = "", stderr = "" } = cleanWorkspace(command.argv);
    return { exitCode, stdout, stderr, output: stdout + stderr, durationMs: 0, timedOut: false, cancelled: false, outputs: {} };
  }
}

/** A step whose one command names the registry token: a publish check, as a release pipeline might add. */
const PUBLISH_CHECK: Step = {
  id: "publish-check",
  title: "Publish check",
  description: "cargo publish --dry-run with the registry token",
  defaultTimeoutSeconds: 60,
  async run(context) {
    const result = await context.exec({ argv: ["cargo", "publish", "--dry-run"], secretEnv: ["CARGO_REGISTRY_TOKEN"] });
    return { status: result.exitCode === 0 ? "passed" : "failed", summary: `exit ${result.exitCode}` };
  },
};

/** The dev stage with {@link PUBLISH_CHECK} after it. */
const DEV_AND_PUBLISH: Stage = { ...devStage, groups: [...devStage.groups, [PUBLISH_CHECK]] };
const DEV_AND_PUBLISH_STEPS = new Set([...DEV_STEPS, PUBLISH_CHECK.id]);

/** The commands a stage's steps ask to run on a clean workspace (recorded without running anything). */
async function stageCommands(stage: Stage = devStage): Promise<Command[]> {
  const runner = new AnsweringRunner();
  const outcome = await runStage({ stage, runner, workspaceDir: "/src", jobs: 1, only: DEV_AND_PUBLISH_STEPS });
  expect(outcome.steps.filter((step) => step.status === "failed" || step.status === "cancelled")).toEqual([]);
  return runner.commands;
}

/** The step command an exec runs: the command whose argv ends the exec's argv (after `timeout …` and a stream merge). */
function commandOf(exec: ExecEnvironment, commands: readonly Command[]): Command | undefined {
  return commands.find((c) => exec.argv.length >= c.argv.length && exec.argv.slice(-c.argv.length).join("\0") === c.argv.join("\0"));
}

/** Runs `body` in a Dagger session connected to the fake engine. */
async function inSession(body: () => Promise<unknown>): Promise<void> {
  await connection(async () => {
    await body();
  });
}

describe("the dev stage on the Dagger path (recorded queries)", () => {
  it("`dev --registry-token`: the token reaches exactly the cargo execs whose command names it, as a secret", async () => {
    await inSession(() =>
      new ShrivenPipeline().dev(
        dag.loadDirectoryFromID("workspace-id" as never),
        undefined,
        DEV_STEPS,
        undefined,
        dag.loadSecretFromID("registry-token-id" as never),
      ),
    );
    const commands = await stageCommands();
    const all = execEnvironments(engine.queries).map((exec) => ({ exec, command: commandOf(exec, commands) }));
    // The module's own execs (the toolchain's setup, its record, the one `cargo fetch`): no secret but the
    // registry token, and that only to the download.
    for (const { exec } of all.filter((e) => e.command === undefined))
      expect(exec.secrets, exec.argv.join(" ")).toEqual(exec.argv.includes("fetch") ? { CARGO_REGISTRY_TOKEN: "registry-token-id" } : {});
    // Every step command ran, each in its own exec.
    const execs = all.filter((e) => e.command !== undefined);
    expect(new Set(execs.map((e) => e.command))).toEqual(new Set(commands));
    const cargoExecs = execs.filter((e) => e.command?.argv[0] === "cargo");
    expect(cargoExecs.length).toBeGreaterThanOrEqual(4);
    expect(execs.some((e) => e.command?.secretEnv === undefined)).toBe(true);
    for (const { exec, command } of execs) {
      expect(exec.fromId).toBe(false);
      const named = command?.secretEnv?.includes("CARGO_REGISTRY_TOKEN") === true;
      expect(exec.secrets, exec.argv.join(" ")).toEqual(named ? { CARGO_REGISTRY_TOKEN: "registry-token-id" } : {});
      for (const [name, value] of Object.entries(command?.env ?? {})) expect(exec.variables[name]).toBe(value);
      expect(Object.keys(exec.variables).filter((name) => /TOKEN|KEY|SECRET|WEBHOOK/.test(name))).toEqual([]);
    }
  });

  it("a runner holding the deploy, signing, GitHub and Slack secrets gives each exec only what its command names", async () => {
    const secrets = Object.fromEntries(
      Object.entries(STAGE_SECRET_IDS).map(([name, id]) => [name, dag.loadSecretFromID(id as never) as Secret]),
    );
    await inSession(async () => {
      const runner = new DaggerRunner({
        base: dag.container().from("toolchain"),
        workdir: "/src",
        cacheVolume: (cache) => dag.cacheVolume(cache.key),
        secrets,
      });
      await runStage({ stage: DEV_AND_PUBLISH, runner, workspaceDir: "/src", jobs: 1, only: DEV_AND_PUBLISH_STEPS });
    });
    const commands = await stageCommands(DEV_AND_PUBLISH);
    // Each exec is in several queries (exit code, stdout, stderr); every one is a step's command, and every command ran.
    const execs = execEnvironments(engine.queries);
    expect(new Set(execs.map((exec) => commandOf(exec, commands)))).toEqual(new Set(commands));
    expect(execs.filter((exec) => exec.argv.includes("cargo")).length).toBeGreaterThanOrEqual(5);
    for (const exec of execs) {
      const command = commandOf(exec, commands);
      expect(command, exec.argv.join(" ")).toBeDefined();
      expect(Object.keys(exec.secrets).sort(), exec.argv.join(" ")).toEqual([...(command?.secretEnv ?? [])].sort());
      for (const name of ["SSH_DEPLOY_KEY", "RELEASE_SIGNING_KEY", "GITHUB_TOKEN", "SLACK_WEBHOOK_URL"]) {
        expect(exec.secrets).not.toHaveProperty(name);
        expect(exec.variables).not.toHaveProperty(name);
      }
    }
    const named = execs.filter((exec) => "CARGO_REGISTRY_TOKEN" in exec.secrets);
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThan(execs.length);
  });

  it("refuses a command that sets a credential as a plain variable or names a bad secret, before any query", async () => {
    await inSession(async () => {
      const runner = new DaggerRunner({
        base: dag.container().from("toolchain"),
        workdir: "/src",
        cacheVolume: (cache) => dag.cacheVolume(cache.key),
      });
      await expect(runner.exec({ argv: ["cargo", "build"], env: { CARGO_REGISTRY_TOKEN: "cio_plaintext" } })).rejects.toThrow(
        CommandEnvError,
      );
      await expect(runner.exec({ argv: ["cargo", "build"], secretEnv: ["CARGO-REGISTRY-TOKEN"] })).rejects.toThrow(
        'cargo: secretEnv names "CARGO-REGISTRY-TOKEN", which is not an environment variable name',
      );
    });
    expect(engine.allQueries()).not.toContain("cio_plaintext");
    expect(engine.queries.filter((q) => q.includes("withExec"))).toEqual([]);
  });
});
