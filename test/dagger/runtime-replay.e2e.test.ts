import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUST_IMAGE } from "../../containers/images.js";
import { PIPELINE_DIR } from "../../src/dagger/stage-in-dagger.js";
import { ADVISORY_DB_URL } from "../../src/supply-chain/audit.js";
import {
  assembleRuntime,
  type CallOutcome,
  callFunction,
  generateLockfileLikeRuntime,
  type InstallOutcome,
  installLikeRuntime,
  introspectLikeEngine,
  listFiles,
  loadModuleSource,
  moduleContextFiles,
  patternMatcher,
  REPO,
  type RegisteredModule,
  type ReplayModule,
  RUNTIME,
  rewritePackageJson,
} from "../helpers/dagger-runtime.js";
import { execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { cleanWorkspace, MANIFEST, withToolchain } from "../helpers/toolchain-execs.js";

const BEFORE_ISSUE_13 = readFileSync(resolve(REPO, "test/fixtures/dagger-runtime/package.before-issue-13.json"), "utf8");

const engine = new FakeEngine();
const scratch = mkdtempSync(join(tmpdir(), "shriven-runtime-replay-"));
/**
 * An advisory database with one real advisory (rustsec/advisory-db, CC0-1.0), standing for the git tree the
 * audit fetches; the example's lockfile has no crates.io dependency, so it passes.
 */
const ADVISORIES = join(scratch, "advisory-db");
mkdirSync(join(ADVISORIES, "crates/tokio"), { recursive: true });
writeFileSync(
  join(ADVISORIES, "crates/tokio/RUSTSEC-2021-0072.md"),
  [
    "```toml",
    "[advisory]",
    'id = "RUSTSEC-2021-0072"',
    'package = "tokio"',
    'date = "2021-07-07"',
    'url = "https://github.com/tokio-rs/tokio/issues/3929"',
    'categories = ["memory-corruption"]',
    'aliases = ["CVE-2021-38191", "GHSA-2grh-hm3w-w7hv"]',
    "",
    "[versions]",
    'patched = [">= 1.5.1, < 1.6.0", ">= 1.6.3, < 1.7.0", ">= 1.7.2, < 1.8.0", ">= 1.8.1"]',
    'unaffected = ["< 0.3.0"]',
    "```",
    "",
    "# Task dropped in wrong thread when aborting `LocalSet` task",
    "",
  ].join("\n"),
);

beforeAll(() => engine.start());
afterAll(async () => {
  await engine.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The value a call returned; fails with the call's output when it returned none or an error. */
function returnedValue(call: CallOutcome): unknown {
  expect(call.returned?.error, call.output).toBeUndefined();
  expect(call.returned, call.output).toBeDefined();
  expect(call.exitCode, call.output).toBe(0);
  return call.returned?.value;
}

/** Loads the module at `moduleDir` and installs it like the runtime, into fresh folders under the scratch dir. */
async function loadAndInstall(name: string, moduleDir: string, overrides: Record<string, string> = {}) {
  const module = await loadModuleSource(REPO, moduleDir, join(scratch, `${name}-source`), overrides);
  const workdir = join(scratch, `${name}-runtime`);
  const install = await installLikeRuntime(module, workdir);
  return { module, workdir, install };
}

describe("what dagger.json sends to the engine", () => {
  it("matches patterns as moby/patternmatcher: last match wins, parents count, ! excludes, * matches dotfiles", () => {
    const matches = patternMatcher(["dagger.json", "*", "!examples", "!**/target", "!.git"]);
    expect(matches("src/index.ts")).toBe(true);
    expect(matches(".npmrc")).toBe(true);
    expect(matches("examples/trading-engine/Cargo.toml")).toBe(false);
    expect(matches("src/perf/target/x")).toBe(false);
    expect(matches(".git/HEAD")).toBe(false);
    expect(patternMatcher(["dagger/tests"])("dagger/tests/src/index.ts")).toBe(true);
    expect(patternMatcher(["dagger/tests"])("dagger/testsuite/x")).toBe(false);
    expect(patternMatcher(["a?c"])("a/c")).toBe(false);
  });

  it("sends the module's sources, manifests and CLI, and none of the tests, examples, CI files or git history", async () => {
    const files = await moduleContextFiles(REPO, REPO);
    for (const needed of ["dagger.json", "package.json", "package-lock.json", "tsconfig.json", "src/index.ts", "containers/images.ts"])
      expect(files).toContain(needed);
    for (const prefix of [
      "examples/",
      "test/",
      "bench/",
      "dagger/",
      ".github/",
      ".ci/",
      "node_modules/",
      "dist/",
      ".git/",
      "scripts/",
      "templates/",
      "docs/",
    ])
      expect(
        files.filter((f) => f.startsWith(prefix)),
        prefix,
      ).toEqual([]);
    // The stage containers build the CLI from the module's own source (stage-in-dagger.ts), so its build inputs go too.
    for (const needed of ["bin/shriven-pipeline.js", "tools/build-cli.mjs"]) expect(files).toContain(needed);
    // The advisory snapshot the audit falls back on when git cannot fetch the database, with its licence.
    for (const needed of ["data/rustsec-advisory-db/advisories.json.gz", "data/rustsec-advisory-db/LICENSE.txt"])
      expect(files).toContain(needed);
  });
});

/** Names a file exports, read with the TypeScript parser (declarations and `export { … } from`). */
function exportedNames(path: string): Set<string> {
  const file = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022);
  const names = new Set<string>();
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause !== undefined && ts.isNamedExports(statement.exportClause))
      for (const element of statement.exportClause.elements) names.add(element.name.text);
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) names.add(d.name.getText(file));
    else if ("name" in statement && statement.name !== undefined) names.add((statement.name as ts.Identifier).text);
  }
  return names;
}

/** Value names (not `type`-only) each file under `dir` imports from `@dagger.io/dagger`, as `file: name`. */
function daggerImports(dir: string): string[] {
  return listFiles(dir)
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => {
      const file = ts.createSourceFile(f, readFileSync(join(dir, f), "utf8"), ts.ScriptTarget.ES2022);
      return file.statements.flatMap((s) => {
        if (!ts.isImportDeclaration(s) || (s.moduleSpecifier as ts.StringLiteral).text !== "@dagger.io/dagger") return [];
        if (s.importClause?.isTypeOnly === true) return [];
        const bindings = s.importClause?.namedBindings;
        if (bindings === undefined || !ts.isNamedImports(bindings)) return [`${f}: ${s.importClause?.name?.text ?? "*"}`];
        return bindings.elements.filter((e) => !e.isTypeOnly).map((e) => `${f}: ${(e.propertyName ?? e.name).text}`);
      });
    });
}

describe("what the module imports from @dagger.io/dagger", () => {
  it("is all exported by the runtime's SDK library (its index.ts and the generated client), not only by the npm package", () => {
    const library = new Set([
      ...exportedNames(resolve(REPO, "test/fixtures/dagger-runtime/tsutils/module/index.ts")),
      ...exportedNames(resolve(REPO, "node_modules/@dagger.io/dagger/dist/src/api/client.gen.d.ts")),
    ]);
    expect(library).toContain("dag");
    expect(library).toContain("func");
    expect(library).not.toContain("ExecError");
    const imports = [...daggerImports(resolve(REPO, "src")), ...daggerImports(resolve(REPO, "containers")).map((i) => `containers/${i}`)];
    expect(imports.length).toBeGreaterThan(5);
    expect(imports.filter((i) => !library.has(i.split(": ")[1] as string))).toEqual([]);
  });
});

describe("the runtime's install of package.json", () => {
  it("fails for the package.json before issue 13: npm runs its `prepare` script with no source present", async () => {
    const { install } = await loadAndInstall("before", REPO, { "package.json": BEFORE_ISSUE_13 });
    expect(install.packageManager).toEqual({ name: "npm", version: RUNTIME.npmVersion });
    expect(install.ok).toBe(false);
    const output = install.commands.map((c) => c.output).join("\n");
    expect(output).toMatch(/command sh -c npm run build/);
    expect(output).toMatch(/Cannot find module '.*tools\/build-cli\.mjs'/);
  });

  it("rewrites package.json as the runtime does: type module, typescript kept, @dagger.io/dagger removed", () => {
    const rewritten = JSON.parse(rewritePackageJson(readFileSync(join(REPO, "package.json"), "utf8")));
    expect(rewritten.type).toBe("module");
    expect(rewritten.dependencies["@dagger.io/dagger"]).toBeUndefined();
    expect(rewritten.scripts.prepare).toBeUndefined();
    // Declared by the module, so the runtime neither adds its own 5.9.3 nor mounts its TypeScript over node_modules.
    expect(rewritten.dependencies.typescript).toBe(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).dependencies.typescript);
    const defaulted = JSON.parse(rewritePackageJson('{"name":"x","dependencies":{"@dagger.io/dagger":"1"}}'));
    expect(defaulted.dependencies).toEqual({ typescript: RUNTIME.defaultTypeScript });
  });
});

describe("the root module through the runtime's entrypoint", () => {
  let module: ReplayModule;
  let workdir: string;
  let install: InstallOutcome;
  let registered: RegisteredModule;

  beforeAll(async () => {
    ({ module, workdir, install } = await loadAndInstall("root", REPO));
    if (install.ok) assembleRuntime(module, workdir);
    registered = await introspectLikeEngine(engine, module, join(scratch, "root-types"));
  });

  it("installs with `npm install --omit=dev` and generates its lockfile with `npm install --package-lock-only`", async () => {
    expect(install.commands.map((c) => c.argv.join(" "))).toEqual(["npm install --omit=dev"]);
    expect(install.commands[0]?.output).not.toMatch(/npm error/);
    expect(install.ok).toBe(true);
    expect(install.mountsRuntimeTypeScript).toBe(false);
    const lock = await generateLockfileLikeRuntime(module, join(scratch, "root-codegen"));
    expect(lock.output).not.toMatch(/npm error/);
    expect(lock.exitCode).toBe(0);
  });

  it("registers ShrivenPipeline and its functions from src/ alone, as the engine's introspector sees it", () => {
    expect(registered.objects.map((o) => o.name)).toEqual(["ShrivenPipeline"]);
    const names = registered.objects[0]?.functions.map((f) => f.name) ?? [];
    for (const fn of ["toolchain", "fmt", "dev", "devReport", "staging", "production", "rollback"]) expect(names).toContain(fn);
  });

  it("registers each function's cache policy as docs/dagger-module.md's table says", () => {
    const doc = readFileSync(resolve(REPO, "docs/dagger-module.md"), "utf8");
    const table = doc.slice(doc.indexOf("## Cache policy of each function"), doc.indexOf("## What the offline tests prove"));
    const documented = new Map(
      table
        .split("\n")
        .filter((line) => /^\| `[a-z-]+` +\|/.test(line))
        .map((line) => {
          const [name, cache] = line
            .split("|")
            .slice(1, 3)
            .map((cell) => cell.trim().replace(/`/g, ""));
          return [name as string, cache as string];
        }),
    );
    const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const registeredPolicies = new Map(
      (registered.objects[0]?.functions ?? []).map((fn) => {
        const policy = fn.cachePolicy;
        // FunctionCachePolicy's GraphQL values are Default, PerSession and Never; Default without a TTL is the engine's default.
        const cache =
          policy === undefined || (policy.policy === "Default" && policy.timeToLive === undefined)
            ? "default"
            : policy.policy === "Never"
              ? "never"
              : policy.policy === "PerSession"
                ? "session"
                : (policy.timeToLive as string);
        return [kebab(fn.name), cache];
      }),
    );
    expect(registeredPolicies).toEqual(documented);
    // Whatever reads the live advisory database, the date, hosts or GitHub is never cached for days.
    for (const fn of ["audit", "dev", "dev-report", "rollback", "staging", "production"])
      expect(registeredPolicies.get(fn), fn).not.toBe("default");
  });

  it("toolchain: returns the pinned toolchain container", async () => {
    engine.reset({});
    const call = await callFunction(engine, workdir, { module: "shriven-pipeline", parentName: "ShrivenPipeline", name: "toolchain" });
    expect(returnedValue(call)).toMatch(/^fake-id-\d+$/);
    expect(call.output).toBe("");
    expect(fieldCalls(engine.allQueries(), "from")).toContainEqual({ address: RUST_IMAGE });
  });

  it("fmt: runs cargo fmt in the toolchain on the given source and returns the step's line", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(cleanWorkspace),
    });
    const call = await callFunction(engine, workdir, {
      module: "shriven-pipeline",
      parentName: "ShrivenPipeline",
      name: "fmt",
      args: { source: "workspace-directory-id" },
    });
    expect(returnedValue(call)).toMatch(/^✅ Formatting: Passed/);
    expect(engine.queries.flatMap(execArgvs).some((argv) => argv.join(" ").includes("cargo fmt --all -- --check"))).toBe(true);
  });

  it("fmt: a failing step comes back through returnError with the step's details, and the process exits 1", async () => {
    engine.reset({
      entries: ["Cargo.toml"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain((argv) =>
        argv.includes("fmt") ? { exitCode: 1, stdout: "Diff in /src/crates/a/src/lib.rs:3:\n" } : cleanWorkspace(argv),
      ),
    });
    const call = await callFunction(engine, workdir, {
      module: "shriven-pipeline",
      parentName: "ShrivenPipeline",
      name: "fmt",
      args: { source: "workspace-directory-id" },
    });
    expect(call.exitCode, call.output).toBe(1);
    expect(call.returned?.error?.message, call.output).toMatch(/^❌ Formatting: .*\n {4}.*crates\/a\/src\/lib\.rs/s);
  });

  it("dev: runs the whole dev stage and returns its summary", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      gitTrees: { [ADVISORY_DB_URL]: ADVISORIES },
      exec: withToolchain(cleanWorkspace),
    });
    const call = await callFunction(engine, workdir, {
      module: "shriven-pipeline",
      parentName: "ShrivenPipeline",
      name: "dev",
      args: { source: "workspace-directory-id" },
    });
    expect(returnedValue(call)).toMatch(/dev stage passed/);
    const argvs = engine.queries.flatMap(execArgvs).map((argv) => argv.join(" "));
    for (const step of ["cargo fmt", "cargo check", "cargo test", "cargo clippy", "cargo metadata"])
      expect(
        argvs.some((a) => a.includes(step)),
        step,
      ).toBe(true);
  });

  it("audit: when Dagger's git cannot fetch the database, reads the snapshot the module's own source carries", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(cleanWorkspace),
    });
    const call = await callFunction(engine, workdir, {
      module: "shriven-pipeline",
      parentName: "ShrivenPipeline",
      name: "audit",
      args: { source: "workspace-directory-id" },
    });
    const output = String(returnedValue(call));
    expect(output).toMatch(
      /^⚠️ Security: No vulnerabilities \(0 crates; bundled snapshot of 2026-08-21, \d+ days old, over dev's 7-day limit\)/,
    );
    // Read from the runtime's copy of the module, not from this checkout.
    expect(output).toContain(`(commit bf5c0d2, ${join(workdir, "data/rustsec-advisory-db/advisories.json.gz")})`);
    // A call loads the whole module through tsx: about 45 s alone on a 2-core machine, longer under load.
  }, 300_000);

  it("staging: runs the stage's CLI in the stage container, the secrets as secret variables", async () => {
    engine.reset({
      exec: (argv) =>
        argv.includes(`${PIPELINE_DIR}/bin/shriven-pipeline.js`) ? { exitCode: 0, stdout: "staging stage passed\n" } : { exitCode: 0 },
    });
    const call = await callFunction(engine, workdir, {
      module: "shriven-pipeline",
      parentName: "ShrivenPipeline",
      name: "staging",
      args: { source: "workspace-directory-id", sshKey: "ssh-key-id", signingKey: "signing-key-id" },
    });
    expect(returnedValue(call)).toMatch(/staging stage passed/);
    const all = engine.allQueries();
    expect(fieldCalls(all, "withSecretVariable")).toEqual(
      expect.arrayContaining([
        { name: "SSH_DEPLOY_KEY", secret: "ssh-key-id" },
        { name: "RELEASE_SIGNING_KEY", secret: "signing-key-id" },
      ]),
    );
    expect(execArgvs(all).some((argv) => argv.includes("staging") && argv.includes(`${PIPELINE_DIR}/bin/shriven-pipeline.js`))).toBe(true);
  });
});

describe("dagger/tests, a module that installs this one, through the runtime", () => {
  let root: { module: ReplayModule; workdir: string; install: InstallOutcome };
  let tests: { module: ReplayModule; workdir: string; install: InstallOutcome };
  let registered: RegisteredModule;

  beforeAll(async () => {
    root = await loadAndInstall("dependency", REPO);
    if (root.install.ok) assembleRuntime(root.module, root.workdir);
    registered = await introspectLikeEngine(engine, root.module, join(scratch, "dependency-types"));
    tests = await loadAndInstall("tests", resolve(REPO, "dagger/tests"));
    const main = registered.objects[0];
    if (tests.install.ok && main !== undefined)
      assembleRuntime(tests.module, tests.workdir, [{ objectName: main.name, functions: main.functions }]);
  });

  /** Engine behaviour: a call to the dependency runs the root module's function through its own runtime. */
  function withDependency(behaviour: Parameters<FakeEngine["reset"]>[0]) {
    return {
      ...behaviour,
      dependencies: {
        shrivenPipeline: async (fn: string, args: Readonly<Record<string, unknown>>) => {
          const call = await callFunction(engine, root.workdir, {
            module: "shriven-pipeline",
            parentName: "ShrivenPipeline",
            name: fn,
            args,
          });
          if (call.returned?.error !== undefined) throw new Error(call.returned.error.message);
          if (call.returned === undefined) throw new Error(`shriven-pipeline ${fn} returned nothing:\n${call.output}`);
          return call.returned.value;
        },
      },
    };
  }

  it("installs with the runtime's commands (npm, from its lockfile) and names this module as a dependency", async () => {
    expect(tests.install.packageManager).toEqual({ name: "npm", version: RUNTIME.npmVersion });
    expect(tests.install.commands[0]?.output).not.toMatch(/npm error/);
    expect(tests.install.ok).toBe(true);
    const config = JSON.parse(readFileSync(resolve(REPO, "dagger/tests/dagger.json"), "utf8"));
    expect(config.dependencies).toEqual([{ name: "shriven-pipeline", source: "../.." }]);
    expect(tests.module.files).toContain("src/index.ts");
  });

  it("devOnExample: calls this module's dev on the example and returns its summary", async () => {
    engine.reset(
      withDependency({
        entries: ["Cargo.toml", "Cargo.lock", "crates"],
        files: { "Cargo.toml": MANIFEST },
        gitTrees: { [ADVISORY_DB_URL]: ADVISORIES },
        exec: withToolchain(cleanWorkspace),
      }),
    );
    const call = await callFunction(engine, tests.workdir, {
      module: "tests",
      parentName: "Tests",
      name: "devOnExample",
      args: { workspace: "example-directory-id" },
    });
    expect(returnedValue(call)).toMatch(/dev stage passed/);
    expect(fieldCalls(engine.allQueries(), "withMountedDirectory")).toContainEqual({ path: "/src", source: "example-directory-id" });
  });

  it("toolchainVersions: builds on this module's toolchain container", async () => {
    engine.reset(
      withDependency({ exec: (argv) => ({ exitCode: 0, stdout: argv.join(" ").includes("cargo --version") ? "cargo 1.95.0\n" : "" }) }),
    );
    const call = await callFunction(engine, tests.workdir, { module: "tests", parentName: "Tests", name: "toolchainVersions" });
    expect(returnedValue(call)).toBe("cargo 1.95.0\n");
    expect(fieldCalls(engine.allQueries(), "from")).toContainEqual({ address: RUST_IMAGE });
  });
});
