/**
 * Least privilege for secrets, with real processes: while the run's deploy,
 * signing, GitHub, Slack, exchange and registry secrets are set in the
 * pipeline's own environment, every command that runs workspace code — a
 * command of the host runner, cargo's build script and test in a real dev
 * stage run, the paper engine and its build, the allocation and memory gates'
 * commands — prints an environment without them. It still has PATH, HOME and
 * the environment profile, and a secret only when the command names it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveEnvironment } from "../../src/config/env-profile.js";
import type { Command } from "../../src/core/command.js";
import { CommandEnvError } from "../../src/core/least-privilege-env.js";
import { runStage } from "../../src/engine/stage.js";
import type { Step } from "../../src/engine/step.js";
import { paperPolicyFrom } from "../../src/paper/policy.js";
import { runPaperJob } from "../../src/paper/run-paper.js";
import { buildAllocCounter, countAllocations } from "../../src/perf/alloc-gate.js";
import { measureCommandMemory } from "../../src/perf/memory-command.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/temp.js";

/** Secrets of other purposes than building and testing, as the pipeline's process holds them in CI. */
const FOREIGN_SECRETS: Readonly<Record<string, string>> = {
  SSH_DEPLOY_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nZGVwbG95LWtleS1ib2R5LW5ldmVyLXNlZW4\n-----END OPENSSH PRIVATE KEY-----\n",
  RELEASE_SIGNING_KEY: "c2lnbmluZy1rZXktbmV2ZXItc2Vlbi0wMTIzNDU2Nzg5",
  GITHUB_TOKEN: "ghp_GithubTokenNeverSeen0123456789abcdefgh",
  SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/webhookNeverSeen",
  TEST_ZERODHA_API_KEY: "zerodha-test-key-never-seen",
  TEST_ZERODHA_API_SECRET: "zerodha-test-secret-never-seen",
  TEST_BINANCE_API_KEY: "binance-test-key-never-seen",
  TEST_BINANCE_API_SECRET: "binance-test-secret-never-seen",
  PROD_BINANCE_API_SECRET: "binance-prod-secret-never-seen",
};
const REGISTRY_TOKEN = "cio_RegistryTokenOnlyWhenNamed0123";
const RUN_SECRETS = { ...FOREIGN_SECRETS, CARGO_REGISTRY_TOKEN: REGISTRY_TOKEN };

const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [name, value] of Object.entries(RUN_SECRETS)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});
afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** A Node one-liner that writes its whole environment as JSON to the file named by its first argument. */
const DUMP_SCRIPT = "require('fs').writeFileSync(process.argv[1], JSON.stringify(process.env))";
const dumpArgv = (file: string): string[] => [process.execPath, "-e", DUMP_SCRIPT, file];
const readDump = (file: string): Record<string, string> => JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;

/** Fails naming every foreign secret the environment (or the text of its values) holds. */
function expectNoForeignSecrets(env: Readonly<Record<string, string>>): void {
  expect(Object.keys(env).filter((name) => name in FOREIGN_SECRETS)).toEqual([]);
  const text = JSON.stringify(env);
  const leaked = Object.entries(FOREIGN_SECRETS)
    .filter(([, value]) => value.split("\n").some((line) => line.length > 12 && text.includes(line)))
    .map(([name]) => name);
  expect(leaked).toEqual([]);
}

/** The test environment as a staging run resolves it, from the process environment that holds the secrets. */
const testEnvironment = () => resolveEnvironment({ environment: "test", processEnv: process.env });

describe("the host runner gives commands an explicit environment", () => {
  it("holds the test environment's secrets, as a staging run's does", () => {
    const environment = testEnvironment();
    expect(Object.keys(environment.secrets).sort()).toEqual(
      [
        "RELEASE_SIGNING_KEY",
        "SLACK_WEBHOOK_URL",
        "SSH_DEPLOY_KEY",
        "TEST_BINANCE_API_KEY",
        "TEST_BINANCE_API_SECRET",
        "TEST_ZERODHA_API_KEY",
        "TEST_ZERODHA_API_SECRET",
      ].sort(),
    );
  });

  it("a command that dumps its environment sees PATH, HOME and the profile, and no secret it does not name", async () => {
    const environment = testEnvironment();
    const workspace = tempDir();
    const commands: Command[] = [
      { argv: dumpArgv("plain.json") },
      { argv: dumpArgv("merged.json"), mergeOutput: true },
      { argv: dumpArgv("named.json"), secretEnv: ["CARGO_REGISTRY_TOKEN"] },
      { argv: dumpArgv("deploy-named.json"), secretEnv: ["SSH_DEPLOY_KEY"] },
    ];
    const dumper: Step = {
      id: "dump",
      title: "Dump",
      description: "commands that print their environment",
      defaultTimeoutSeconds: 60,
      async run(context) {
        for (const command of commands) {
          const result = await context.exec(command);
          if (result.exitCode !== 0) return { status: "failed", summary: result.output };
        }
        return { status: "passed", summary: "dumped" };
      },
    };
    const outcome = await runStage({
      stage: { name: "staging", environment: "test", description: "dump", groups: [[dumper]] },
      runner: new HostRunner({ workspace, secrets: environment.secrets }),
      workspaceDir: workspace,
      profileEnv: environment.variables,
      jobs: 1,
    });
    expect(outcome.steps[0]).toMatchObject({ status: "passed", summary: "dumped" });

    for (const file of ["plain.json", "merged.json", "named.json"]) {
      const env = readDump(join(workspace, file));
      expectNoForeignSecrets(env);
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.HOME).toBe(process.env.HOME);
      expect(env).toMatchObject({ ENVIRONMENT: "test", TRADING_MODE: "paper", MAX_POSITION_SIZE: "1000", RISK_CHECK_ENABLED: "true" });
    }
    expect(readDump(join(workspace, "plain.json"))).not.toHaveProperty("CARGO_REGISTRY_TOKEN");
    expect(readDump(join(workspace, "merged.json"))).not.toHaveProperty("CARGO_REGISTRY_TOKEN");
    expect(readDump(join(workspace, "named.json")).CARGO_REGISTRY_TOKEN).toBe(REGISTRY_TOKEN);
    // A command that names a secret gets that one (from the runner's env-file values), and no other.
    const deploy = readDump(join(workspace, "deploy-named.json"));
    expect(deploy.SSH_DEPLOY_KEY).toBe(FOREIGN_SECRETS.SSH_DEPLOY_KEY);
    expect(Object.keys(deploy).filter((name) => name in RUN_SECRETS)).toEqual(["SSH_DEPLOY_KEY"]);
  });

  it("refuses a secretEnv name that is not a variable name, naming it, before anything starts", async () => {
    const workspace = tempDir();
    const runner = new HostRunner({ workspace });
    const started = runner.exec({ argv: ["sh", "-c", "touch started"], secretEnv: ["CARGO_REGISTRY_TOKEN", "GITHUB TOKEN"] });
    await expect(started).rejects.toThrow(CommandEnvError);
    await expect(started).rejects.toThrow('sh: secretEnv names "GITHUB TOKEN", which is not an environment variable name');
    await expect(runner.exec({ argv: ["sh", "-c", "touch started"], env: { GITHUB_TOKEN: "x" } })).rejects.toThrow(
      "env sets GITHUB_TOKEN, which looks like a credential; name it in secretEnv",
    );
    expect(existsSync(join(workspace, "started"))).toBe(false);
  });
});

/** A one-crate workspace whose build script and test write their environment next to Cargo.toml. */
function envDumpingWorkspace(): string {
  const dir = tempDir("shriven-envdump-");
  const dump = (file: string) =>
    `let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let mut text = String::new();
    for (name, value) in std::env::vars_os() {
        text.push_str(&format!("{}={}\\n", name.to_string_lossy(), value.to_string_lossy().replace('\\n', "\\\\n")));
    }
    std::fs::write(format!("{dir}/${file}"), text).unwrap();`;
  writeFileSync(
    join(dir, "Cargo.toml"),
    '[package]\nname = "envdump"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n[workspace]\n',
  );
  writeFileSync(join(dir, "build.rs"), `fn main() {\n    println!("cargo:rerun-if-changed=build.rs");\n    ${dump("build-env.txt")}\n}\n`);
  mkdirSync(join(dir, "src"));
  writeFileSync(
    join(dir, "src/lib.rs"),
    `//! Dumps the environment of its build script and its test.\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn dumps_its_environment() {\n        ${dump("test-env.txt")}\n    }\n}\n`,
  );
  return dir;
}

/** Reads a `NAME=value` dump (newlines in values escaped) into an object. */
function readLines(file: string): Record<string, string> {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "");
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

describe("a real dev stage run (the CLI, real cargo) on a workspace whose build script and test print their environment", () => {
  it("cargo's build script and test see the toolchain and the profile, and none of the run's other secrets", async () => {
    const source = envDumpingWorkspace();
    const run = await runCli(["run", "dev", "--source", source, "--only", "test"], { env: { CI: "true" } });
    expect(run.stdout).toMatch(/✅ Tests: 1\/1 passed/);
    expect(run.code).toBe(0);
    for (const file of ["build-env.txt", "test-env.txt"]) {
      const env = readLines(join(source, file));
      expectNoForeignSecrets(env);
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.HOME).toBe(process.env.HOME);
      expect(env).toMatchObject({ ENVIRONMENT: "development", TRADING_MODE: "paper", CARGO_TARGET_DIR: "target" });
    }
  });
});

const ENGINE = join(import.meta.dirname, "../fixtures/engines/scripted-engine.mjs");

describe("the paper engine and its build", () => {
  it("run with the toolchain's variables and the test profile, without the stage's secrets", async () => {
    const source = tempDir("shriven-paper-env-");
    writeFileSync(
      join(source, "BTCUSDT-trades-2024-08-08.csv"),
      "1,61837.63,0.02,1236.75,1723161255342,True,True\n2,61837.64,0.001,61.84,1723161255400,False,True\n",
    );
    // The engine: dump the environment, then speak the protocol as the scripted engine.
    writeFileSync(
      join(source, "engine.mjs"),
      `import { writeFileSync } from "node:fs";\nwriteFileSync("engine-env.json", JSON.stringify(process.env));\nawait import(${JSON.stringify(pathToFileURL(ENGINE).href)});\n`,
    );
    const environment = testEnvironment();
    expect(environment.secrets.SSH_DEPLOY_KEY).toBe(FOREIGN_SECRETS.SSH_DEPLOY_KEY);
    const { report } = await runPaperJob({
      source,
      policy: paperPolicyFrom({
        data: ["BTCUSDT-trades-2024-08-08.csv"],
        build_command: dumpArgv("build-env.json"),
        engine_command: [process.execPath, "engine.mjs", "idle"],
        message_timeout_seconds: 10,
        // Two trades 58 ms apart: this test is about the environment, not the replay's length.
        min_market_seconds: 0,
      }),
      environment,
      outDir: join(source, "out"),
    });
    expect(report.engine.name).toBe("scripted-engine idle");
    for (const file of ["build-env.json", "engine-env.json"]) {
      const env = readDump(join(source, file));
      expectNoForeignSecrets(env);
      expect(env).not.toHaveProperty("CARGO_REGISTRY_TOKEN");
      expect(env.PATH).toBe(process.env.PATH);
      expect(env).toMatchObject({ ENVIRONMENT: "test", TRADING_MODE: "paper", MAX_DAILY_LOSS: "100000" });
    }
  });
});

describe("the production hot-path gates' commands", () => {
  it("the allocation counter's command and the sampled command get the profile, not the secrets", async () => {
    const dir = tempDir("shriven-gates-env-");
    const library = await buildAllocCounter(join(dir, "alloc"));
    const profile = { ENVIRONMENT: "production", TRADING_MODE: "live" };
    const counted = await countAllocations(dumpArgv(join(dir, "alloc-env.json")), { library, env: profile, timeoutMs: 60_000 });
    expect(counted.exitCode).toBe(0);
    const alloc = readDump(join(dir, "alloc-env.json"));
    expectNoForeignSecrets(alloc);
    expect(alloc).not.toHaveProperty("CARGO_REGISTRY_TOKEN");
    expect(alloc).toMatchObject({ ...profile, LD_PRELOAD: library, PATH: process.env.PATH });

    const sampled = await measureCommandMemory(dumpArgv(join(dir, "memory-env.json")), { intervalMs: 20, timeoutMs: 60_000, env: profile });
    expect(sampled.exitCode).toBe(0);
    const memory = readDump(join(dir, "memory-env.json"));
    expectNoForeignSecrets(memory);
    expect(memory).not.toHaveProperty("CARGO_REGISTRY_TOKEN");
    expect(memory).toMatchObject({ ...profile, PATH: process.env.PATH });
  });
});
