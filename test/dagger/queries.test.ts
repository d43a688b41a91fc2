import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RUST_IMAGE, RUST_VERSION } from "../../containers/images.js";
import { CARGO_GIT, CARGO_REGISTRY } from "../../containers/rust-toolchain.js";
import { workspaceCacheScope } from "../../src/dagger/run-in-dagger.js";
import { runStage } from "../../src/engine/stage.js";
import { ShrivenPipeline } from "../../src/index.js";
import { containerArgv, DaggerRunner, OUTPUT_DIR } from "../../src/runners/dagger-runner.js";
import { devStage } from "../../src/stages/dev.js";
import { ADVISORY_DB_URL } from "../../src/supply-chain/audit.js";
import { ADVISORY_DB, ADVISORY_SNAPSHOT } from "../helpers/advisory-data.js";
import { type ExecAnswer, execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { RecordingRunner } from "../helpers/recording-runner.js";
import { validateSarif } from "../helpers/sarif.js";
import { cleanWorkspace, MANIFEST, withToolchain } from "../helpers/toolchain-execs.js";

const SCOPE = workspaceCacheScope(MANIFEST);
const engine = new FakeEngine();

beforeAll(() => engine.start());
afterAll(() => engine.stop());

beforeEach(() =>
  engine.reset({
    entries: ["Cargo.toml", "Cargo.lock", "crates"],
    files: { "Cargo.toml": MANIFEST },
    gitTrees: { [ADVISORY_DB_URL]: ADVISORY_DB },
    exec: withToolchain(cleanWorkspace),
  }),
);

/** Runs `body` inside a Dagger session connected to the fake engine. */
async function inSession<T>(body: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await connection(async () => {
    result = await body();
  });
  return result as T;
}

const source = () => dag.loadDirectoryFromID("workspace-directory-id" as never);

/** The cargo command the host runner runs for a dev-stage step. */
async function hostCommand(stepId: string) {
  const runner = new RecordingRunner();
  await runStage({ stage: devStage, runner, workspaceDir: "/w", jobs: 1, only: new Set([stepId]) });
  // The step's cargo command (the clippy step first looks for a clippy baseline with ls).
  const command = runner.commands.find((c) => c.argv[0] === "cargo");
  if (command === undefined) throw new Error(`no cargo command for ${stepId}`);
  return command;
}

/** The step's exec among all execs the module sent (the toolchain's own setup execs come first). */
function stepExec(argvTail: readonly string[]): string[] {
  const all = engine.queries.flatMap(execArgvs);
  const match = all.filter((argv) => argv.slice(-argvTail.length).join("\0") === argvTail.join("\0"));
  expect(match.length).toBeGreaterThan(0);
  return match.at(-1) as string[];
}

describe("Dagger functions send the queries they should (real SDK, recorded on 127.0.0.1)", () => {
  it.each([
    ["fmt", (p: ShrivenPipeline) => p.fmt(source())],
    ["check", (p: ShrivenPipeline) => p.check(source())],
    ["test", (p: ShrivenPipeline) => p.test(source())],
    ["clippy", (p: ShrivenPipeline) => p.clippy(source())],
  ] as const)("%s runs the host runner's argv in the pinned toolchain with its caches", async (stepId, call) => {
    const output = await inSession(() => call(new ShrivenPipeline()));
    expect(output).toMatch(/^✅ /);
    const host = await hostCommand(stepId);
    const sent = stepExec(host.argv);
    // The same argv, wrapped only by `timeout` (the step's remaining budget) and, for tests, a stream merge.
    const budgetSeconds = Number(sent[sent.indexOf("timeout") + 2]);
    expect(budgetSeconds).toBeGreaterThan(0);
    expect(sent).toEqual(containerArgv({ ...host, timeoutMs: budgetSeconds * 1000 }));
    expect(sent.slice(-host.argv.length)).toEqual([...host.argv]);

    const all = engine.allQueries();
    expect(fieldCalls(all, "from")).toContainEqual({ address: RUST_IMAGE });
    expect(RUST_IMAGE).toMatch(/^rust:[\d.]+-[a-z-]+@sha256:[0-9a-f]{64}$/);
    const keys = fieldCalls(all, "cacheVolume").map((c) => c.key);
    expect(keys).toContain(`shriven-cargo-registry-rust-${RUST_VERSION}`);
    expect(keys).toContain(`shriven-cargo-git-rust-${RUST_VERSION}`);
    const mounts = fieldCalls(all, "withMountedCache").map((c) => c.path);
    expect(mounts).toContain(CARGO_REGISTRY);
    expect(mounts).toContain(CARGO_GIT);
    expect(mounts).not.toContain("/usr/local/cargo");
    for (const cache of host.caches ?? []) {
      expect(mounts).toContain(`/src/${cache.path}`);
      expect(keys).toContain(`shriven-${cache.key}-rust-${RUST_VERSION}-${SCOPE}`);
    }
    expect(fieldCalls(all, "withMountedDirectory")).toContainEqual({ path: "/src", source: "workspace-directory-id" });
    for (const [name, value] of Object.entries(host.env ?? {})) expect(fieldCalls(all, "withEnvVariable")).toContainEqual({ name, value });
  });

  it("passes a registry token as a secret variable, never as plaintext", async () => {
    await inSession(() => new ShrivenPipeline().check(source(), dag.loadSecretFromID("registry-secret-id" as never)));
    const all = engine.allQueries();
    expect(fieldCalls(all, "withSecretVariable")).toContainEqual({ name: "CARGO_REGISTRY_TOKEN", secret: "registry-secret-id" });
    expect(all).not.toMatch(/plaintext/);
    expect(fieldCalls(all, "withEnvVariable").map((c) => c.name)).not.toContain("CARGO_REGISTRY_TOKEN");
  });

  it("audit fetches the advisory database through Dagger's git API and passes the clean example, naming the data's date", async () => {
    const output = await inSession(() => new ShrivenPipeline().audit(source()));
    // The tree has no git history here: it is dated by its newest advisory (2025-04-07), older than dev's 7 days.
    expect(output).toMatch(
      /^⚠️ Security: No vulnerabilities \(0 crates; fetched clone with advisories to 2025-04-07, \d+ days old, over dev's 7-day limit\)/,
    );
    const all = engine.allQueries();
    expect(fieldCalls(all, "git")).toContainEqual({ url: "https://github.com/rustsec/advisory-db" });
    const exportQuery = engine.queries.find((q) => q.includes("export"));
    expect(exportQuery?.replace(/\s+/g, " ")).toMatch(
      /git \(url: "https:\/\/github\.com\/rustsec\/advisory-db"\) \{ head \{ tree \{ export \(path: /,
    );
    expect(stepExec(["cat", "Cargo.lock"])).toEqual(["timeout", "--kill-after=10", expect.stringMatching(/^\d+$/), "cat", "Cargo.lock"]);
  });

  it("audit falls back to the snapshot bundled with the module when Dagger's git fetch fails", async () => {
    engine.reset({ entries: ["Cargo.toml", "Cargo.lock"], files: { "Cargo.toml": MANIFEST }, exec: withToolchain(cleanWorkspace) });
    const output = await inSession(() => new ShrivenPipeline().audit(source()));
    expect(output).toMatch(
      /^⚠️ Security: No vulnerabilities \(0 crates; bundled snapshot of 2026-08-21, \d+ days old, over dev's 7-day limit\)/,
    );
    expect(output).toMatch(
      /database: could not fetch the RustSec advisory database from https:\/\/github\.com\/rustsec\/advisory-db \(.+\); using the bundled snapshot/,
    );
    expect(output).toContain(`(commit bf5c0d2, ${ADVISORY_SNAPSHOT})`);
    expect(fieldCalls(engine.allQueries(), "git")).toContainEqual({ url: "https://github.com/rustsec/advisory-db" });
  });

  it("audit uses a given advisory database directory instead of git, and fails a vulnerable lockfile", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock"],
      files: { "Cargo.toml": MANIFEST },
      directories: { "advisory-db-id": ADVISORY_DB },
      exec: withToolchain((argv) =>
        argv.includes("Cargo.lock")
          ? {
              exitCode: 0,
              stdout:
                'version = 4\n[[package]]\nname = "tokio"\nversion = "1.8.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n',
            }
          : cleanWorkspace(argv),
      ),
    });
    await expect(
      inSession(() => new ShrivenPipeline().audit(source(), dag.loadDirectoryFromID("advisory-db-id" as never))),
    ).rejects.toThrow(/❌ Security: \d+ vulnerabilities: [\s\S]*RUSTSEC-2021-0072 tokio 1\.8\.0/);
    expect(fieldCalls(engine.allQueries(), "git")).toEqual([]);
  });

  it("licenses and secrets run cargo metadata and grep in the container", async () => {
    expect(await inSession(() => new ShrivenPipeline().licenses(source()))).toMatch(/^✅ Licences: All 4 crates allowed/);
    expect(stepExec(["cargo", "metadata", "--format-version", "1"])).toBeDefined();
    expect(await inSession(() => new ShrivenPipeline().secrets(source()))).toMatch(/^✅ Secrets: No secrets in tracked files/);
  });

  it("secrets falls back to plain grep where the image has no git", async () => {
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain((argv) =>
        argv.includes("git")
          ? { exitCode: 127, stderr: "sh: git: not found" }
          : argv.includes("grep")
            ? { exitCode: 1 }
            : cleanWorkspace(argv),
      ),
    });
    expect(await inSession(() => new ShrivenPipeline().secrets(source()))).toMatch(
      /^✅ Secrets: No secrets in all files \(not a git checkout\)/,
    );
    expect(engine.queries.flatMap(execArgvs).some((argv) => argv.includes("grep") && argv.includes("--exclude-dir=target"))).toBe(true);
  });

  it("keys build caches by workspace: another Cargo.toml gets other target volumes", async () => {
    await inSession(() => new ShrivenPipeline().check(source()));
    const first = fieldCalls(engine.allQueries(), "cacheVolume").map((c) => c.key);
    engine.reset({ entries: ["Cargo.toml"], files: { "Cargo.toml": '[package]\nname = "other"\n' }, exec: withToolchain() });
    await inSession(() => new ShrivenPipeline().check(source()));
    const second = fieldCalls(engine.allQueries(), "cacheVolume").map((c) => c.key);
    const targets = (keys: unknown[]) => keys.filter((k) => String(k).startsWith("shriven-cargo-target"));
    expect(targets(first)).toHaveLength(1);
    expect(targets(second)).toHaveLength(1);
    expect(targets(first)).not.toEqual(targets(second));
  });

  it("toolchain() starts from the pinned digest, adds rustfmt, clippy and bookworm's valgrind, and mounts cargo's caches shared, online", async () => {
    const id = await inSession(() => new ShrivenPipeline().toolchain().id());
    expect(id).toMatch(/^fake-id-/);
    const all = engine.allQueries();
    expect(fieldCalls(all, "from")).toEqual([{ address: RUST_IMAGE }]);
    const execs = execArgvs(all);
    expect(execs).toEqual([
      ["rustup", "component", "add", "rustfmt", "clippy"],
      ["sh", "-c", "apt-get update && apt-get install -y --no-install-recommends valgrind && rm -rf /var/lib/apt/lists/*"],
    ]);
    expect(fieldCalls(all, "withMountedCache")).toEqual([
      { path: CARGO_REGISTRY, cache: expect.any(String), sharing: "SHARED" },
      { path: CARGO_GIT, cache: expect.any(String), sharing: "SHARED" },
    ]);
    // Other modules run cargo online in it.
    expect(fieldCalls(all, "withEnvVariable").map((call) => call.name)).not.toContain("CARGO_NET_OFFLINE");
  });

  it("refuses a source without Cargo.toml before running anything", async () => {
    engine.reset({ entries: ["README.md"] });
    await expect(inSession(() => new ShrivenPipeline().dev(source()))).rejects.toThrow("source: no Cargo.toml at its root");
    expect(engine.queries.flatMap(execArgvs)).toEqual([]);
  });

  it("validates shriven-pipeline.toml from the source before running anything", async () => {
    engine.reset({
      entries: ["Cargo.toml", "shriven-pipeline.toml"],
      files: { "Cargo.toml": MANIFEST, "shriven-pipeline.toml": "[steps.tests]\nenabled = false\n" },
    });
    await expect(inSession(() => new ShrivenPipeline().dev(source()))).rejects.toThrow(
      "shriven-pipeline.toml: steps.tests: unknown key; expected one of: fmt, check, audit, licenses, secrets, test, clippy, perf-check",
    );
    expect(engine.queries.flatMap(execArgvs)).toEqual([]);
  });
});

describe("DaggerRunner", () => {
  const runner = () =>
    new DaggerRunner({
      base: dag.container().from(RUST_IMAGE).withMountedDirectory("/src", source()),
      workdir: "/src",
      cacheVolume: (cache) => dag.cacheVolume(`test-${cache.key}`),
    });

  it("copies produced files out of the cache mount before handing them back", async () => {
    engine.reset({ glob: ["target/release/shriven-quant"] });
    const r = runner();
    const result = await inSession(() =>
      r.exec({
        argv: ["cargo", "build", "--release"],
        caches: [{ key: "cargo-target", path: "target" }],
        outputs: ["target/release/shriven-quant", "target/release/missing"],
      }),
    );
    expect(result.outputs).toEqual({ "target/release/shriven-quant": `${OUTPUT_DIR}/target/release/shriven-quant` });
    const all = engine.allQueries();
    const copy = execArgvs(all).find((argv) => argv.includes("target/release/shriven-quant") && argv[0] === "sh");
    expect(copy?.slice(-2)).toEqual(["target/release/shriven-quant", "target/release/missing"]);
    expect(copy?.[2]).toContain(`cp -p "$f" "${OUTPUT_DIR}/$f"`);
    expect(fieldCalls(all, "directory")).toContainEqual({ path: OUTPUT_DIR });
    expect(r.outputs()).toBeDefined();
  });

  it("refuses paths outside the workspace", async () => {
    await expect(inSession(() => runner().exec({ argv: ["true"], cwd: "../etc" }))).rejects.toThrow(
      'cwd "../etc" is outside the workspace /src',
    );
    await expect(inSession(() => runner().exec({ argv: ["true"], outputs: ["/etc/passwd"] }))).rejects.toThrow("outside the workspace");
  });

  it("returns at once as cancelled when its signal aborts mid-exec", async () => {
    engine.reset({ execDelayMs: 3000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await inSession(() => runner().exec({ argv: ["sleep", "60"] }, { signal: controller.signal }));
    expect(result.cancelled).toBe(true);
    // The engine has not answered yet: the runner did not wait for the exec to finish.
    expect(engine.pending).toBe(1);
  });
});

describe("failures inside the container are failed steps, not crashes", () => {
  const failing = (argv: readonly string[]): ExecAnswer =>
    argv.includes("clippy")
      ? {
          exitCode: 101,
          stdout: `${JSON.stringify({
            reason: "compiler-message",
            message: {
              level: "error",
              message: "the loop variable `i` is only used to index `prices`",
              code: { code: "clippy::needless_range_loop" },
              spans: [{ file_name: "crates/strategy/src/lib.rs", line_start: 7, column_start: 14, is_primary: true }],
              rendered: "error: the loop variable",
            },
          })}\n`,
          stderr: "error: could not compile `strategy` (lib) due to 1 previous error\n",
        }
      : cleanWorkspace(argv);

  it("a failing step function throws the step's summary and details", async () => {
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(failing),
      gitTrees: { [ADVISORY_DB_URL]: ADVISORY_DB },
    });
    await expect(inSession(() => new ShrivenPipeline().clippy(source()))).rejects.toThrow(
      /❌ Clippy: 1 diagnostic \(warnings denied\): crates\/strategy\/src\/lib\.rs:7: .*\[clippy::needless_range_loop\][\s\S]*crates\/strategy\/src\/lib\.rs:7:14: error\[clippy::needless_range_loop\]/,
    );
  });

  it("dev fails with the stage summary and its findings as GitHub workflow commands; dev-report returns the report and clippy.sarif", async () => {
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(failing),
      gitTrees: { [ADVISORY_DB_URL]: ADVISORY_DB },
    });
    await expect(inSession(() => new ShrivenPipeline().dev(source()))).rejects.toThrow(
      /dev stage failed[\s\S]*❌ Clippy[\s\S]*\n::error file=crates\/strategy\/src\/lib\.rs,line=7,col=14,[^\n]*title=Clippy%3A clippy%3A%3Aneedless_range_loop::/,
    );
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(failing),
      gitTrees: { [ADVISORY_DB_URL]: ADVISORY_DB },
    });
    await inSession(async () => (await new ShrivenPipeline().devReport(source())).id());
    const files = fieldCalls(engine.allQueries(), "withNewFile");
    const report = JSON.parse(String(files.find((f) => f.path === "report.json")?.contents));
    expect(report.status).toBe("failed");
    expect(report.runner).toBe("dagger");
    expect(report.steps.find((s: { id: string }) => s.id === "clippy").status).toBe("failed");
    expect(files.map((f) => f.path)).toEqual(
      expect.arrayContaining(["summary.txt", "summary.md", "report.schema.json", "logs/clippy.log", "clippy.sarif"]),
    );
    expect(String(files.find((f) => f.path === "logs/clippy.log")?.contents)).toContain("could not compile `strategy`");
    const sarif = JSON.parse(String(files.find((f) => f.path === "clippy.sarif")?.contents));
    expect(validateSarif(sarif)).toBe(true);
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toEqual(["clippy::needless_range_loop"]);
  });

  it("a command killed by a signal (the engine's exec error) is a failed step with its output", async () => {
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain((argv) => (argv.includes("test") ? { exitCode: 137, stdout: "running 3 tests\n", stderr: "" } : { exitCode: 0 })),
    });
    await expect(inSession(() => new ShrivenPipeline().test(source()))).rejects.toThrow(
      /❌ Tests: cargo test failed \(exit code 137\): running 3 tests/,
    );
  });

  it("a command past its budget (timeout's exit 124) fails as timed out", async () => {
    engine.reset({
      entries: ["Cargo.toml", "shriven-pipeline.toml"],
      files: { "Cargo.toml": MANIFEST, "shriven-pipeline.toml": "[steps.fmt]\ntimeout_seconds = 5\n" },
      exec: withToolchain((argv) => (argv.includes("fmt") ? { exitCode: 124 } : { exitCode: 0 })),
    });
    await expect(inSession(() => new ShrivenPipeline().fmt(source()))).rejects.toThrow("❌ Formatting: Timed out after 5 s");
    expect(stepExec(["cargo", "fmt"].concat(["--all", "--", "--check", "--color", "never"])).slice(0, 3)).toEqual([
      "timeout",
      "--kill-after=10",
      "5",
    ]);
  });
});
