/**
 * `fmt-fix` and `clippy-fix` run by the real Dagger SDK against the fake
 * engine on 127.0.0.1: the exec each sends is the host's argv for the same
 * fix, in the clippy step's container (image, setup, caches, workspace
 * mount), and the Directory returned is the workspace with the Rust files
 * copied out after that exec, without target. Where the fake engine runs the
 * exec, it runs it for real: the module's argv, with real cargo, on a local
 * copy standing for the workspace; that copy, exported, equals what cargo
 * gives when run by hand on another copy.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connection, dag } from "@dagger.io/dagger";
import { type FieldNode, Kind, parse, type SelectionSetNode, type ValueNode, valueFromASTUntyped } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUST_IMAGE } from "../../containers/images.js";
import { CARGO_GIT, CARGO_REGISTRY } from "../../containers/rust-toolchain.js";
import { fixWorkspace } from "../../src/cli/fix-workspace.js";
import { defaultPipelineConfig } from "../../src/config/pipeline-config.js";
import type { Command } from "../../src/core/command.js";
import { ShrivenPipeline } from "../../src/index.js";
import { containerArgv, OUTPUT_DIR } from "../../src/runners/dagger-runner.js";
import { allStepIds } from "../../src/stages/registry.js";
import type { FixKind } from "../../src/steps/dev/fix.js";
import { copyExample, EXAMPLE } from "../helpers/example.js";
import { type ExecAnswer, execArgvs, FakeEngine, type FakeEngineBehaviour, fieldCalls } from "../helpers/fake-engine.js";
import { RecordingRunner } from "../helpers/recording-runner.js";
import { tempDir } from "../helpers/temp.js";
import { withToolchain } from "../helpers/toolchain-execs.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

const WORKSPACE_ID = "workspace-directory-id";
const source = () => dag.loadDirectoryFromID(WORKSPACE_ID as never);
const MANIFEST = readFileSync(join(EXAMPLE, "Cargo.toml"), "utf8");
const CONFIG = readFileSync(join(EXAMPLE, "shriven-pipeline.toml"), "utf8");
/** Build output a caller's directory may hold: never handed to the tools as a file to copy back. */
const BUILD_OUTPUT = "target/debug/build/engine-1/out/generated.rs";

/** Runs `body` inside a Dagger session connected to the fake engine. */
async function inSession<T>(body: () => Promise<T>): Promise<T> {
  let result: T | undefined;
  await connection(async () => {
    result = await body();
  });
  return result as T;
}

/** A copy of the example in a fresh folder. */
function freshCopy(): string {
  const parent = join(tempDir(), "copy");
  mkdirSync(parent);
  return copyExample(parent);
}

/** The defects each fix repairs: an unformatted line, and two lints clippy fixes. */
function breakCopy(dir: string): void {
  const risk = join(dir, "crates/risk/src/lib.rs");
  writeFileSync(risk, readFileSync(risk, "utf8").replace("pub fn ", "pub fn  "));
  const strategy = join(dir, "crates/strategy/src/lib.rs");
  writeFileSync(
    strategy,
    `${readFileSync(strategy, "utf8")}\n/// Whether no prices were seen.\npub fn no_prices(prices: &[i64]) -> bool {\n    return prices.len() == 0;\n}\n`,
  );
}

/** Every Rust file of a workspace outside target/, by relative path. */
function rustSources(dir: string, folder = ""): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(join(dir, folder), { withFileTypes: true })) {
    const path = folder === "" ? entry.name : `${folder}/${entry.name}`;
    if (entry.isDirectory() && path !== "target") Object.assign(files, rustSources(dir, path));
    else if (entry.isFile() && path.endsWith(".rs")) files[path] = readFileSync(join(dir, path), "utf8");
  }
  return files;
}

/** What the host's `shriven-pipeline fix` asks its runner to run for `kind`, in order. */
async function hostCommands(kind: FixKind): Promise<Command[]> {
  const runner = new RecordingRunner();
  await fixWorkspace({ workspace: freshCopy(), kind, steps: defaultPipelineConfig(allStepIds()).steps, runner });
  return runner.commands;
}

/**
 * The fake engine for a workspace that `dir` stands for: its entries and
 * files, and the fix commands (`commands`, as the module wraps them) run for
 * real in `dir`, once each (the runner asks for exit code, stdout and stderr
 * separately); every other exec (the dependency fetch) succeeds.
 */
function runningIn(dir: string, commands: readonly Command[]): FakeEngineBehaviour {
  const done = new Map<string, ExecAnswer>();
  const real = new Set(commands.map((command) => containerArgv(command).join("\0")));
  return {
    entries: ["Cargo.toml", "Cargo.lock", "crates", "shriven-pipeline.toml"],
    files: { "Cargo.toml": MANIFEST, "shriven-pipeline.toml": CONFIG },
    glob: [...Object.keys(rustSources(dir)), BUILD_OUTPUT],
    directories: { [WORKSPACE_ID]: dir },
    exec: (argv, env) => {
      const key = argv.join("\0");
      if (!real.has(key)) return { exitCode: 0 };
      const known = done.get(key);
      if (known !== undefined) return known;
      const run = spawnSync(argv[0] as string, argv.slice(1), { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8" });
      const answer = { exitCode: run.status ?? 1, stdout: run.stdout, stderr: run.stderr };
      done.set(key, answer);
      return answer;
    },
  };
}

/** One selection of a query path, with object ids replaced by how the object was built. */
interface Step {
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** The steps behind an id the fake engine handed out, recursively; a loaded id stays as it is. */
function built(id: string): Step[] | string {
  const path = engine.objectPath(id);
  return path === undefined ? id : path.map((step) => ({ name: step.name, args: resolveIds(step.args) }));
}

function resolveIds(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([name, value]) => [name, typeof value === "string" && /^fake-id-\d+$/.test(value) ? built(value) : value]),
  );
}

/** The path of a recorded query down to `leaf` (`node(id) { ... on T }` read as `loadTFromID`), ids resolved. */
function queryPath(query: string, leaf: string): Step[] {
  const steps: Step[] = [];
  const operation = parse(query).definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
  let selections: SelectionSetNode | undefined = operation?.kind === Kind.OPERATION_DEFINITION ? operation.selectionSet : undefined;
  while (selections !== undefined) {
    const field = selections.selections.find((s): s is FieldNode => s.kind === Kind.FIELD);
    const fragment = selections.selections.find((s) => s.kind === Kind.INLINE_FRAGMENT);
    if (field === undefined) {
      selections = fragment?.kind === Kind.INLINE_FRAGMENT ? fragment.selectionSet : undefined;
      continue;
    }
    if (field.name.value === leaf) return steps;
    const args = Object.fromEntries((field.arguments ?? []).map((a) => [a.name.value, valueFromASTUntyped(a.value as ValueNode)]));
    const inline = field.selectionSet?.selections.find((s) => s.kind === Kind.INLINE_FRAGMENT);
    const name =
      field.name.value === "node" && inline?.kind === Kind.INLINE_FRAGMENT
        ? `load${inline.typeCondition?.name.value}FromID`
        : field.name.value;
    steps.push({ name, args: resolveIds(args) });
    selections = field.selectionSet;
  }
  throw new Error(`no ${leaf} in ${query}`);
}

/** The container an exec ran in: its steps before that exec, without the variables it sets (the stage adds the profile's). */
function containerOf(steps: readonly Step[]): Step[] {
  return steps.slice(0, -1).filter((s) => s.name !== "withEnvVariable");
}

/** The recorded exec query (the one asking its exit code) whose argv ends with `argvTail`: its path to the exec. */
function execPath(argvTail: readonly string[]): Step[] {
  const query = engine.queries.find(
    (q) => q.includes("exitCode") && execArgvs(q).some((argv) => argv.slice(-argvTail.length).join("\0") === argvTail.join("\0")),
  );
  if (query === undefined) throw new Error(`no exec ending with ${argvTail.join(" ")}`);
  return [...queryPath(query, "exitCode")];
}

/** The returned tree: source, then each fix's files copied out after its exec, then without target. */
function expectFixedTree(tree: Step[] | string, execs: readonly (readonly string[])[], sources: readonly string[]): Step[][] {
  expect(Array.isArray(tree)).toBe(true);
  const steps = tree as Step[];
  expect(steps[0]).toEqual({ name: "loadDirectoryFromID", args: { id: WORKSPACE_ID } });
  expect(steps.at(-1)).toEqual({ name: "withoutDirectory", args: { path: "target" } });
  const overlays = steps.slice(1, -1);
  expect(overlays.map((s) => [s.name, s.args.path])).toEqual(execs.map(() => ["withDirectory", "."]));
  return overlays.map((overlay, index) => {
    const copied = overlay.args.source as Step[];
    // …the exec, then the copy of every Rust file out of the workspace, then that folder.
    const [exec, copy, folder] = copied.slice(-3) as [Step, Step, Step];
    expect(exec).toEqual({ name: "withExec", args: { args: execs[index], expect: "ANY" } });
    expect(copy.name).toBe("withExec");
    expect((copy.args.args as string[]).slice(4)).toEqual(sources);
    expect(folder).toEqual({ name: "directory", args: { path: OUTPUT_DIR } });
    return copied.slice(0, -2);
  });
}

describe("fix functions (real SDK, recorded on 127.0.0.1)", () => {
  it("fmt-fix runs the host's cargo fmt --all in the toolchain and returns the workspace it left, without target", async () => {
    const [host] = (await hostCommands("fmt")) as [Command];
    const work = freshCopy();
    breakCopy(work);
    const sources = Object.keys(rustSources(work));
    const reference = freshCopy();
    breakCopy(reference);
    execFileSync("cargo", ["fmt", "--all"], { cwd: reference });

    engine.reset(runningIn(work, [host]));
    const out = tempDir();
    const id = await inSession(async () => {
      const tree = await new ShrivenPipeline().fmtFix(source());
      await tree.export(out);
      return tree.id();
    });
    expect(rustSources(out)).toEqual(rustSources(reference));

    const sent = containerArgv(host);
    expect(sent).toEqual(["timeout", "--kill-after=10", "120", "cargo", "fmt", "--all"]);
    const [fmtRun] = expectFixedTree(built(id), [sent], sources) as [Step[]];
    // The files come from the exec whose result the function read: same container, same argv.
    const exec = execPath(host.argv);
    expect(exec.at(-1)).toEqual({ name: "withExec", args: { args: sent, expect: "ANY" } });
    expect(containerOf(fmtRun)).toEqual(containerOf(exec));
    expect(containerOf(exec)).toContainEqual({ name: "from", args: { address: RUST_IMAGE } });
    expect(containerOf(exec)).toContainEqual({ name: "withMountedDirectory", args: { path: "/src", source: WORKSPACE_ID } });
  });

  it("clippy-fix: clippy --fix in the clippy step's container, then fmt on what it left; the tree cargo gives by hand", async () => {
    const [hostClippy, hostFmt] = (await hostCommands("clippy")) as [Command, Command];
    // The clippy step's own exec, for its container.
    engine.reset({ entries: ["Cargo.toml"], files: { "Cargo.toml": MANIFEST }, exec: withToolchain() });
    expect(await inSession(() => new ShrivenPipeline().clippy(source()))).toMatch(/^✅ Clippy: No warnings/);
    const stepContainer = containerOf(execPath(["--", "-D", "warnings"]));

    const work = freshCopy();
    breakCopy(work);
    const sources = Object.keys(rustSources(work));
    const reference = freshCopy();
    breakCopy(reference);
    execFileSync("cargo", ["clippy", "--fix", "--all-targets", "--allow-no-vcs"], { cwd: reference, stdio: "pipe" });
    execFileSync("cargo", ["fmt", "--all"], { cwd: reference });

    engine.reset(runningIn(work, [hostClippy, hostFmt]));
    const out = tempDir();
    const id = await inSession(async () => {
      const tree = await new ShrivenPipeline().clippyFix(source());
      await tree.export(out);
      return tree.id();
    });
    expect(rustSources(out)).toEqual(rustSources(reference));
    expect(rustSources(out)["crates/strategy/src/lib.rs"]).toContain("    prices.is_empty()\n");

    const [clippySent, fmtSent] = [containerArgv(hostClippy), containerArgv(hostFmt)];
    expect(clippySent.slice(0, 3)).toEqual(["timeout", "--kill-after=10", "600"]);
    expect(clippySent.slice(3)).toEqual([...hostClippy.argv]);
    const [clippyRun, fmtRun] = expectFixedTree(built(id), [clippySent, fmtSent], sources) as [Step[], Step[]];

    // clippy --fix: the very container of the clippy step (image, rustfmt and clippy, caches and their volumes,
    // the workspace mount), both for the exec whose result was read and for the files returned.
    expect(containerOf(execPath(hostClippy.argv))).toEqual(stepContainer);
    expect(containerOf(clippyRun)).toEqual(stepContainer);
    const caches = stepContainer.filter((s) => s.name === "withMountedCache").map((s) => s.args.path);
    expect(caches).toEqual(expect.arrayContaining([CARGO_REGISTRY, CARGO_GIT, "/src/target/shriven-lint"]));
    // fmt: mounted on the workspace with clippy's rewritten files over it.
    const mount = fmtRun.find((s) => s.name === "withMountedDirectory") as Step;
    const [loaded, overlay] = mount.args.source as [Step, Step];
    expect([loaded.name, overlay.name]).toEqual(["loadDirectoryFromID", "withDirectory"]);
    expect((overlay.args.source as Step[]).slice(-3, -2)).toEqual([{ name: "withExec", args: { args: clippySent, expect: "ANY" } }]);
  });

  it("clippy-fix passes a registry token to clippy --fix as a secret variable only", async () => {
    engine.reset({ entries: ["Cargo.toml"], files: { "Cargo.toml": MANIFEST }, glob: ["crates/a/src/lib.rs"] });
    await inSession(async () =>
      (await new ShrivenPipeline().clippyFix(source(), dag.loadSecretFromID("registry-secret-id" as never))).id(),
    );
    const clippy = execPath([
      "--fix",
      "--workspace",
      "--all-targets",
      "--allow-dirty",
      "--allow-staged",
      "--allow-no-vcs",
      "--message-format=json",
    ]);
    expect(clippy).toContainEqual({ name: "withSecretVariable", args: { name: "CARGO_REGISTRY_TOKEN", secret: "registry-secret-id" } });
    expect(execPath(["cargo", "fmt", "--all"]).map((s) => s.name)).not.toContain("withSecretVariable");
    expect(engine.allQueries()).not.toMatch(/plaintext/);
  });

  it("a workspace that does not compile: clippy-fix fails naming the error, formats nothing and returns no tree", async () => {
    const error = JSON.stringify({
      reason: "compiler-message",
      message: {
        level: "error",
        message: "mismatched types",
        code: { code: "E0308" },
        spans: [{ file_name: "crates/engine/src/lib.rs", line_start: 563, column_start: 5, is_primary: true }],
      },
    });
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      glob: ["crates/engine/src/lib.rs"],
      exec: (argv) => (argv.includes("clippy") ? { exitCode: 101, stdout: `${error}\n` } : { exitCode: 0 }),
    });
    await expect(inSession(async () => (await new ShrivenPipeline().clippyFix(source())).id())).rejects.toThrow(
      "cargo clippy --fix failed: 1 error: crates/engine/src/lib.rs:563: mismatched types\n    crates/engine/src/lib.rs:563:5: error[E0308]: mismatched types",
    );
    expect(engine.queries.flatMap(execArgvs).some((argv) => argv.includes("fmt"))).toBe(false);
    expect(fieldCalls(engine.allQueries(), "withDirectory")).toEqual([]);
  });

  it("refuses a source without Cargo.toml before running anything", async () => {
    engine.reset({ entries: ["README.md"] });
    await expect(inSession(async () => (await new ShrivenPipeline().fmtFix(source())).id())).rejects.toThrow(
      "source: no Cargo.toml at its root",
    );
    expect(engine.queries.flatMap(execArgvs)).toEqual([]);
  });
});
