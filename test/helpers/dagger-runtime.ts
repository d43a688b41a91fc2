/**
 * Replays offline what the Dagger engine's TypeScript runtime does with a
 * module, as dagger/dagger's source does it (tag v0.21.8; `sdk/typescript/`
 * is unchanged on the `backport-0.21` branch that v0.21.9 came from). Each
 * function names the Go or TypeScript source it follows.
 *
 * What is replayed: the files `dagger.json` sends (its `include` on top of the
 * engine's defaults, with `.gitignore` honoured), the `package.json` and
 * `tsconfig.json` rewrites, the install (`npm install --omit=dev` with the
 * runtime's npm version, in a folder holding only package.json, the lockfile
 * and `.npmrc`, as the runtime's container does), the code-generation lockfile
 * command (`npm install --package-lock-only`), the typedef introspection
 * (`ModuleTypes`: only `src/` with a synthesized `@dagger.io/dagger`), and the
 * function-call entrypoint (`tsx … src/__dagger.entrypoint.ts`) against a
 * {@link FakeEngine} on 127.0.0.1.
 *
 * What stands in for the engine's parts: the host's Node instead of the
 * runtime's `node:24.13.1-alpine` image; this repository's `tsx` instead of the
 * engine's bundled one; the published `@dagger.io/dagger` package of the pinned
 * version instead of the engine's bundled SDK library (`bundled_lib/core.js`)
 * and the Go code generator's `client.gen.ts` (its declarations stand in for
 * the generated bindings); a dependency module's generated binding is emitted
 * here from the typedefs that module registered.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import type { EngineClient, FakeEngine, FunctionCallContext, FunctionCallReturn, PathStep } from "./fake-engine.js";

const run = promisify(execFile);

/** The repository root. */
export const REPO = resolve(import.meta.dirname, "../..");

/** The runtime's own files, copied verbatim from dagger/dagger (see the folder's README). */
const RUNTIME_FILES = resolve(REPO, "test/fixtures/dagger-runtime/tsutils");

/** The published SDK of the pinned version, standing in for the engine's bundled library. */
const SDK_DIST = resolve(REPO, "node_modules/@dagger.io/dagger/dist/src");

/** Constants of the runtime at the pinned engine version. */
export const RUNTIME = {
  /** `sdk/typescript/runtime/config.go` `NpmDefaultVersion`: the npm the runtime installs (`npm install -g npm@…`). */
  npmVersion: "11.8.0",
  /** `sdk/typescript/runtime/tsdistconsts/consts.go` `DefaultTypeScriptVersion`: added to `dependencies` when absent. */
  defaultTypeScript: "5.9.3",
  /** `tsdistconsts/consts.go` `DefaultNodeImageRef`: the image the module runs in (the replay uses the host's Node). */
  nodeImage: "node:24.13.1-alpine",
} as const;

/**
 * `sdk/typescript/runtime/config.go` `moduleConfigFiles`: the files the runtime treats as configuration
 * (read for detection, rewritten, or installed from) and strips from the source it merges in.
 */
export const MODULE_CONFIG_FILES = [
  "package.json",
  "tsconfig.json",
  "pnpm-workspace.yaml",
  ".yarnrc.yml",
  "package-lock.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lockb",
  "bun.lock",
  "bunfig.toml",
  "deno.json",
  "deno.lock",
] as const;

/**
 * moby/patternmatcher, as the engine's `internal/fsutil/filter.go` uses it: patterns are tried in order,
 * the last one matching a path or one of its parent folders decides, `!` excludes; `*` and `?` stop at
 * `/` (and match dotfiles, as Go's filepath.Match does), `**` crosses folders.
 */
export function patternMatcher(patterns: readonly string[]): (path: string) => boolean {
  const compiled = patterns.map((pattern) => {
    const exclusion = pattern.startsWith("!");
    const body = (exclusion ? pattern.slice(1) : pattern).replace(/^\.\//, "").replace(/\/+$/, "");
    let source = "";
    for (let i = 0; i < body.length; i++) {
      const c = body[i] as string;
      if (c === "*" && body[i + 1] === "*") {
        // `**/` matches zero or more folders; a trailing `**` anything.
        source += body[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += body[i + 2] === "/" ? 2 : 1;
      } else if (c === "*") source += "[^/]*";
      else if (c === "?") source += "[^/]";
      else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return { exclusion, regex: new RegExp(`^${source}$`) };
  });
  return (path) => {
    const parts = path.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let included = false;
    for (const { exclusion, regex } of compiled) {
      if (prefixes.some((prefix) => regex.test(prefix))) included = !exclusion;
    }
    return included;
  };
}

/** What a module's dagger.json says (the fields the replay reads). */
export interface ModuleConfig {
  readonly name: string;
  readonly source?: string;
  readonly include?: readonly string[];
  readonly dependencies?: readonly { readonly name: string; readonly source: string }[];
}

/** Reads `<moduleDir>/dagger.json`. */
export function readModuleConfig(moduleDir: string): ModuleConfig {
  return JSON.parse(readFileSync(join(moduleDir, "dagger.json"), "utf8")) as ModuleConfig;
}

/** Files of the git checkout at `contextDir` that are tracked or untracked-but-not-ignored (`.gitignore` honoured). */
async function checkoutFiles(contextDir: string): Promise<string[]> {
  const { stdout } = await run("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: contextDir,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.split("\0").filter((path) => path !== "" && existsSync(join(contextDir, path)));
}

/**
 * The files of the context directory the engine loads for the module at `moduleDir`
 * (`core/schema/modulesource.go` `loadModuleSourceContext`): the module's dagger.json, its source folder
 * (`*` when the source is the module root), then the dagger.json `include` patterns rebased onto the
 * context, with `gitignore: true`. Paths are relative to the context directory (the git root).
 */
export async function moduleContextFiles(contextDir: string, moduleDir: string): Promise<string[]> {
  const config = readModuleConfig(moduleDir);
  const root = relative(contextDir, moduleDir) || ".";
  const rebase = (pattern: string) => {
    const negated = pattern.startsWith("!");
    const body = negated ? pattern.slice(1) : pattern;
    const rebased = root === "." ? body : `${root}/${body}`;
    return negated ? `!${rebased}` : rebased;
  };
  const sourceSubpath = root === "." ? (config.source ?? ".") : join(root, config.source ?? ".");
  const patterns = [`${root}/dagger.json`, sourceSubpath === "." ? "*" : sourceSubpath, ...(config.include ?? []).map(rebase)];
  const matches = patternMatcher(patterns);
  return (await checkoutFiles(contextDir)).filter(matches).sort();
}

/** Copies `files` (relative to `from`) into `to`, keeping their paths. */
function copyFiles(from: string, to: string, files: readonly string[]): void {
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(from, file), join(to, file));
  }
}

/**
 * `tsutils/utils.go` `removeJSONComments`: drops `//` comments outside strings (keeping the newline).
 */
function removeJSONComments(input: string): string {
  let out = "";
  let inString = false;
  let escaped = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '"' && !escaped) inString = !inString;
    if (!inString && c === "/" && input[i + 1] === "/") {
      while (i < input.length && input[i] !== "\n") i++;
      out += "\n";
      continue;
    }
    out += c;
    escaped = c === "\\" && !escaped;
  }
  return out;
}

/**
 * `tsutils/package_json_updator.go` `UpdatePackageJSONForModule`: `type: module`, `dependencies.typescript`
 * set to the runtime's default when absent, `@dagger.io/dagger` removed from dependencies and devDependencies
 * (the engine's own SDK library is used instead).
 */
export function rewritePackageJson(text: string): string {
  const pkg = JSON.parse(removeJSONComments(text)) as Record<string, unknown> & {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  pkg.type = "module";
  pkg.dependencies = { ...pkg.dependencies };
  if (!("typescript" in pkg.dependencies)) pkg.dependencies.typescript = RUNTIME.defaultTypeScript;
  delete pkg.dependencies["@dagger.io/dagger"];
  if (pkg.devDependencies !== undefined) delete pkg.devDependencies["@dagger.io/dagger"];
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/**
 * `tsutils/tsconfig_updator.go` `UpdateTSConfigForModule` (or the template when the module has none,
 * `config_updator.go` `CreateOrUpdateTSConfigForModule`): `@dagger.io/dagger` and its telemetry mapped to
 * the SDK library in `sdk/`, `experimentalDecorators` on.
 */
export function rewriteTsconfig(text: string | undefined): string {
  if (text === undefined) return readFileSync(join(RUNTIME_FILES, "template/tsconfig.json"), "utf8");
  const config = JSON.parse(removeJSONComments(text)) as { compilerOptions?: Record<string, unknown> };
  const options = { ...config.compilerOptions };
  options.paths = {
    ...(options.paths as Record<string, unknown> | undefined),
    "@dagger.io/dagger": ["./sdk/index.ts"],
    "@dagger.io/dagger/telemetry": ["./sdk/telemetry.ts"],
  };
  options.experimentalDecorators = true;
  return `${JSON.stringify({ ...config, compilerOptions: options }, null, 2)}\n`;
}

/** The package manager the runtime picks (`config.go` `detectRuntime`, `detectPackageManager`). */
export function detectPackageManager(files: ReadonlySet<string>, packageJson: string | undefined): { name: string; version: string } {
  const pkg = packageJson === undefined ? {} : (JSON.parse(removeJSONComments(packageJson)) as { packageManager?: string });
  if (files.has("bun.lockb") || files.has("bun.lock")) return { name: "bun", version: "" };
  if (pkg.packageManager !== undefined && pkg.packageManager !== "") {
    const [name, version] = pkg.packageManager.split("@");
    if (version === undefined || version === "") throw new Error("packageManager version is missing");
    return { name: name as string, version };
  }
  if (files.has("package-lock.json")) return { name: "npm", version: RUNTIME.npmVersion };
  if (files.has("yarn.lock")) return { name: "yarn", version: "1.22.22" };
  if (files.has("pnpm-lock.yaml")) return { name: "pnpm", version: "8.15.4" };
  return { name: "yarn", version: "1.22.22" };
}

/** The outcome of one replayed command. */
export interface CommandOutcome {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly output: string;
}

/** Environment for the replayed npm: no npm_* variables of the npm running the tests (they would steer it). */
function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && !name.startsWith("DAGGER_") && name !== "NODE_OPTIONS"),
  );
}

/** Runs the runtime's npm (`npm@<version>`, fetched by npx from the registry) in `cwd`. */
async function npm(cwd: string, version: string, args: readonly string[]): Promise<CommandOutcome> {
  const argv = ["npx", "--yes", `npm@${version}`, ...args];
  try {
    const { stdout, stderr } = await run(argv[0] as string, argv.slice(1), { cwd, env: npmEnvironment(), maxBuffer: 64 * 1024 * 1024 });
    return { argv: ["npm", ...args], exitCode: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      argv: ["npm", ...args],
      exitCode: typeof failed.code === "number" ? failed.code : 1,
      output: `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    };
  }
}

/** A module prepared the way the runtime prepares it. */
export interface ReplayModule {
  /** The module's name (dagger.json). */
  readonly name: string;
  /** The module's source folder in the context (the container's `/src/<subpath>`), files copied in. */
  readonly dir: string;
  /** Files of the module source as the engine loaded them, relative to {@link dir}. */
  readonly files: readonly string[];
}

/**
 * Loads the module at `moduleDir` of the git checkout `contextDir` into `into` as the engine would: only
 * the files the context load keeps. `overrides` replaces files' contents (e.g. an old package.json).
 */
export async function loadModuleSource(
  contextDir: string,
  moduleDir: string,
  into: string,
  overrides: Readonly<Record<string, string>> = {},
): Promise<ReplayModule> {
  const config = readModuleConfig(moduleDir);
  const sourceDir = resolve(moduleDir, config.source ?? ".");
  const prefix = relative(contextDir, sourceDir);
  const inSource = (await moduleContextFiles(contextDir, moduleDir))
    .filter((file) => prefix === "" || file.startsWith(`${prefix}/`))
    .map((file) => (prefix === "" ? file : file.slice(prefix.length + 1)));
  copyFiles(sourceDir, into, inSource);
  for (const [file, text] of Object.entries(overrides)) writeFileSync(join(into, file), text);
  return { name: config.name, dir: into, files: inSource };
}

/** The result of the runtime's dependency install. */
export interface InstallOutcome {
  /** The package manager the runtime picked and the commands it ran. */
  readonly packageManager: { name: string; version: string };
  readonly commands: readonly CommandOutcome[];
  /** The runtime's own TypeScript would be mounted at node_modules/typescript (the default version was asked for). */
  readonly mountsRuntimeTypeScript: boolean;
  /** True when every command exited 0. */
  readonly ok: boolean;
}

/**
 * `runtime_node.go` `SetupContainer` → `withPackageJSON` → `NpmPkgManager.withSetupPackageManager` →
 * `withInstalledDependencies`: in `workdir` (standing for the container's module path) write the rewritten
 * package.json, copy the lockfile and `.npmrc` from the module source, then `npm install --omit=dev` with
 * the runtime's npm. Only those files are there when npm runs: the source comes in afterwards.
 */
export async function installLikeRuntime(module: ReplayModule, workdir: string): Promise<InstallOutcome> {
  const files = new Set(module.files);
  const packageJson = files.has("package.json") ? readFileSync(join(module.dir, "package.json"), "utf8") : undefined;
  const manager = detectPackageManager(files, packageJson);
  if (manager.name !== "npm") throw new Error(`the replay plays npm only; the runtime would use ${manager.name}@${manager.version}`);
  mkdirSync(workdir, { recursive: true });
  const rewritten = rewritePackageJson(packageJson ?? readFileSync(join(RUNTIME_FILES, "template/package.json"), "utf8"));
  writeFileSync(join(workdir, "package.json"), rewritten);
  const deps = (JSON.parse(rewritten) as { dependencies: Record<string, string> }).dependencies;
  const mountsRuntimeTypeScript = deps.typescript === RUNTIME.defaultTypeScript;
  // "If there's only the default typescript dependency, we can early return."
  if (mountsRuntimeTypeScript && Object.keys(deps).length <= 1) {
    return { packageManager: manager, commands: [], mountsRuntimeTypeScript, ok: true };
  }
  copyFiles(
    module.dir,
    workdir,
    ["package-lock.json", ".npmrc"].filter((f) => files.has(f)),
  );
  const install = await npm(workdir, manager.version, ["install", "--omit=dev"]);
  return { packageManager: manager, commands: [install], mountsRuntimeTypeScript, ok: install.exitCode === 0 };
}

/**
 * `runtime_node.go` `GenerateDir` → `NpmPkgManager.generateLockFile` (`dagger develop`, code generation):
 * the rewritten package.json with the lockfile and `.npmrc`, then `npm install --package-lock-only`.
 */
export async function generateLockfileLikeRuntime(module: ReplayModule, workdir: string): Promise<CommandOutcome> {
  const files = new Set(module.files);
  mkdirSync(workdir, { recursive: true });
  writeFileSync(join(workdir, "package.json"), rewritePackageJson(readFileSync(join(module.dir, "package.json"), "utf8")));
  copyFiles(
    module.dir,
    workdir,
    ["package-lock.json", ".npmrc"].filter((f) => files.has(f)),
  );
  return npm(workdir, RUNTIME.npmVersion, ["install", "--package-lock-only"]);
}

/** A binding for a dependency module, emitted into the SDK library's client (what codegen adds per dependency). */
export interface DependencyBinding {
  /** The dependency's main object (PascalCase), e.g. `ShrivenPipeline`. */
  readonly objectName: string;
  /** Its functions as registered. */
  readonly functions: readonly RegisteredFunction[];
}

/**
 * The SDK library the runtime mounts at `sdk/` and `node_modules/@dagger.io/dagger` (`lib_generator.go`
 * `GenerateBundleLibrary`): the runtime's `index.ts` and `telemetry.ts` verbatim, `core.js` (the bundled SDK;
 * here the published package of the same version), and `client.gen.ts` (the generated bindings; here the
 * published client, with the declarations the introspector reads, plus any dependency's binding).
 */
export function writeSdkLibrary(into: string, dependencies: readonly DependencyBinding[] = []): void {
  mkdirSync(join(into, "declarations"), { recursive: true });
  cpSync(join(RUNTIME_FILES, "module/index.ts"), join(into, "index.ts"));
  cpSync(join(RUNTIME_FILES, "module/telemetry.ts"), join(into, "telemetry.ts"));
  cpSync(join(RUNTIME_FILES, "module/core.d.ts"), join(into, "core.d.ts"));
  writeFileSync(join(into, "core.js"), `export * from ${JSON.stringify(join(SDK_DIST, "index.js"))};\n`);
  // The introspector looks class declarations up by name in files named client.gen.ts that are not .d.ts.
  cpSync(join(SDK_DIST, "api/client.gen.d.ts"), join(into, "declarations/client.gen.ts"));
  writeFileSync(
    join(into, "client.gen.ts"),
    [
      `import "./declarations/client.gen.js";`,
      `export * from ${JSON.stringify(join(SDK_DIST, "api/client.gen.js"))};`,
      ...dependencies.map(dependencyBinding),
      "",
    ].join("\n"),
  );
}

/**
 * The generated binding of a dependency's main object, shaped as dagger/dagger's TypeScript codegen
 * templates (`cmd/codegen/generator/typescript/templates/src/object.ts.gtpl`, `method.ts.gtpl`): a class
 * selecting each function, scalars executed, objects returned lazily; `dag.<name>()` selects it.
 */
function dependencyBinding(binding: DependencyBinding): string {
  const rootField = binding.objectName.charAt(0).toLowerCase() + binding.objectName.slice(1);
  const methods = binding.functions.map((fn) => {
    // Contextual arguments (a default path) are optional to callers, as the codegen makes them.
    const required = fn.args.filter((arg) => !arg.optional && arg.defaultPath === undefined).map((arg) => arg.name);
    const params = [...required, "opts"].join(", ");
    const argsObject = `{ ${[...required, "...opts"].join(", ")} }`;
    const scalar = fn.returnType.kind !== "OBJECT_KIND";
    const body = scalar
      ? `return this._ctx.select(${JSON.stringify(fn.name)}, ${argsObject}).execute();`
      : `return new client.${fn.returnType.name}(this._ctx.select(${JSON.stringify(fn.name)}, ${argsObject}));`;
    return `  ${fn.name} = ${scalar ? "async " : ""}(${params}) => { ${body} };`;
  });
  return [
    `import * as client from ${JSON.stringify(join(SDK_DIST, "api/client.gen.js"))};`,
    // The generated file declares BaseClient itself and does not export it; every object class extends it.
    `export class ${binding.objectName} extends Object.getPrototypeOf(client.Container) {`,
    ...methods,
    "}",
    `client.Client.prototype.${rootField} = function () { return new ${binding.objectName}(this._ctx.select(${JSON.stringify(rootField)})); };`,
  ].join("\n");
}

/**
 * The runtime container the engine calls functions in (`runtime_node.go` `SetupContainer`): the installed
 * `node_modules`, the SDK library at `sdk/` and `node_modules/@dagger.io/dagger`, the rewritten tsconfig, the
 * module source without its configuration files, `sdk` and `node_modules`, and the runtime's entrypoint at
 * `src/__dagger.entrypoint.ts`. `workdir` is the folder {@link installLikeRuntime} installed into.
 */
export function assembleRuntime(module: ReplayModule, workdir: string, dependencies: readonly DependencyBinding[] = []): void {
  writeSdkLibrary(join(workdir, "sdk"), dependencies);
  writeSdkLibrary(join(workdir, "node_modules/@dagger.io/dagger"), dependencies);
  const tsconfig = module.files.includes("tsconfig.json") ? readFileSync(join(module.dir, "tsconfig.json"), "utf8") : undefined;
  writeFileSync(join(workdir, "tsconfig.json"), rewriteTsconfig(tsconfig));
  const config = new Set<string>(MODULE_CONFIG_FILES);
  const source = module.files.filter((file) => !config.has(file) && !/^(sdk|node_modules)(\/|$)/.test(file));
  copyFiles(module.dir, workdir, source);
  cpSync(join(RUNTIME_FILES, "bin/__dagger.entrypoint.ts"), join(workdir, "src/__dagger.entrypoint.ts"));
}

/** The environment of a process the engine starts for a client: the image's basics and the session. */
function sessionEnvironment(client: EngineClient): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    // runtime_node.go: "configure node to use them instead of its compiled in CA bundle".
    NODE_OPTIONS: "--use-openssl-ca",
    DAGGER_SESSION_PORT: String(client.port),
    DAGGER_SESSION_TOKEN: client.token,
  };
}

/** The outcome of one function call through the runtime's entrypoint. */
export interface CallOutcome extends CommandOutcome {
  /** What the module sent back with `returnValue` / `returnError`. */
  readonly returned: FunctionCallReturn | undefined;
}

/**
 * Calls a function the way the engine does: starts the runtime container's entrypoint
 * (`tsx --no-deprecation --tsconfig <workdir>/tsconfig.json <workdir>/src/__dagger.entrypoint.ts`) as a
 * client of `engine` whose `currentFunctionCall` is `call`, and returns what it sent back.
 */
export async function callFunction(engine: FakeEngine, workdir: string, call: FunctionCallContext): Promise<CallOutcome> {
  const client = engine.client(call);
  const tsx = resolve(REPO, "node_modules/tsx/dist/cli.mjs");
  const argv = [
    process.execPath,
    tsx,
    "--no-deprecation",
    "--tsconfig",
    join(workdir, "tsconfig.json"),
    join(workdir, "src/__dagger.entrypoint.ts"),
  ];
  let exitCode = 0;
  let output = "";
  try {
    const { stdout, stderr } = await run(argv[0] as string, argv.slice(1), {
      cwd: workdir,
      env: sessionEnvironment(client),
      maxBuffer: 64 * 1024 * 1024,
      timeout: 300_000,
    });
    output = `${stdout}${stderr}`;
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    exitCode = typeof failed.code === "number" ? failed.code : 1;
    output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
  }
  return { argv, exitCode, output, returned: engine.returned(client) };
}

/**
 * The typedef introspection the engine runs instead of asking the runtime (`introspector.go`
 * `AsEntrypoint`, used by `main.go` `ModuleTypes`): only the module's `src/` at `src`, the SDK library at
 * `sdk` and `node_modules/@dagger.io/dagger`, then `ts-introspector <module> src sdk/client.gen.ts` — the
 * engine's binary is `sdk/typescript/src/module/entrypoint/introspection_entrypoint.ts` compiled with bun;
 * here the published package's build of the same file runs with Node. It registers the module's typedefs
 * with the engine and writes the module's id to TYPEDEF_OUTPUT_FILE.
 */
export async function introspectLikeEngine(engine: FakeEngine, module: ReplayModule, workdir: string): Promise<RegisteredModule> {
  const src = module.files.filter((file) => file.startsWith("src/"));
  copyFiles(module.dir, workdir, src);
  writeSdkLibrary(join(workdir, "sdk"));
  writeSdkLibrary(join(workdir, "node_modules/@dagger.io/dagger"));
  const output = join(workdir, "module-id.json");
  const client = engine.client();
  await run(process.execPath, [join(SDK_DIST, "module/entrypoint/introspection_entrypoint.js"), module.name, "src", "sdk/client.gen.ts"], {
    cwd: workdir,
    env: { ...sessionEnvironment(client), TYPEDEF_OUTPUT_FILE: output },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
  });
  return registeredModule(engine, JSON.parse(readFileSync(output, "utf8")) as string);
}

/** A type as registered (`typeDef { withKind | withObject | withListOf … }`). */
export interface RegisteredType {
  readonly kind: string;
  readonly name?: string;
  readonly of?: RegisteredType;
  readonly optional: boolean;
}

/** An argument as registered (`withArg`). */
export interface RegisteredArgument {
  readonly name: string;
  readonly type: RegisteredType;
  readonly optional: boolean;
  readonly defaultPath?: string;
  readonly ignore?: readonly string[];
  readonly description?: string;
}

/** A function as registered (`function_(name, returnType) { withDescription … withCachePolicy … withArg … }`). */
export interface RegisteredFunction {
  readonly name: string;
  readonly description: string;
  readonly returnType: RegisteredType;
  readonly args: readonly RegisteredArgument[];
  /** `withCachePolicy(policy:)`: Never, PerSession, or Default (with a time to live, or none: the engine's default). */
  readonly cachePolicy?: { readonly policy: string; readonly timeToLive?: string };
}

/** A module as registered with the engine: its objects and their functions. */
export interface RegisteredModule {
  readonly description?: string;
  readonly objects: readonly { readonly name: string; readonly description?: string; readonly functions: readonly RegisteredFunction[] }[];
}

/** The steps of the object behind `id`, following `loadXFromID` to the object it was loaded from. */
function stepsOf(engine: FakeEngine, id: unknown): readonly PathStep[] {
  const steps = engine.objectPath(String(id));
  if (steps === undefined) throw new Error(`the engine never handed out ${String(id)}`);
  return steps;
}

function typeOf(engine: FakeEngine, id: unknown): RegisteredType {
  const steps = stepsOf(engine, id);
  let type: RegisteredType = { kind: "UNKNOWN", optional: false };
  for (const step of steps) {
    if (step.name === "withKind") type = { ...type, kind: String(step.args.kind) };
    if (step.name === "withObject") type = { ...type, kind: "OBJECT_KIND", name: String(step.args.name) };
    if (step.name === "withListOf") type = { ...type, kind: "LIST_KIND", of: typeOf(engine, step.args.elementType) };
    if (step.name === "withOptional") type = { ...type, optional: step.args.optional === true };
  }
  return type;
}

function functionOf(engine: FakeEngine, id: unknown): RegisteredFunction {
  const steps = stepsOf(engine, id);
  const created = steps.find((s) => s.name === "function");
  if (created === undefined) throw new Error(`${String(id)} is not a function`);
  const description = steps.find((s) => s.name === "withDescription")?.args.description;
  const cache = steps.find((s) => s.name === "withCachePolicy");
  return {
    name: String(created.args.name),
    description: typeof description === "string" ? description : "",
    returnType: typeOf(engine, created.args.returnType),
    args: steps
      .filter((s) => s.name === "withArg")
      .map((s) => {
        const type = typeOf(engine, s.args.typeDef);
        return {
          name: String(s.args.name),
          type,
          optional: type.optional,
          ...(typeof s.args.defaultPath === "string" ? { defaultPath: s.args.defaultPath } : {}),
          ...(Array.isArray(s.args.ignore) ? { ignore: s.args.ignore as string[] } : {}),
          ...(typeof s.args.description === "string" ? { description: s.args.description } : {}),
        };
      }),
    ...(cache === undefined
      ? {}
      : {
          cachePolicy: {
            policy: String(cache.args.policy),
            ...(typeof cache.args.timeToLive === "string" ? { timeToLive: cache.args.timeToLive } : {}),
          },
        }),
  };
}

/**
 * The module a `module { withDescription … withObject(object:) … }` id stands for, rebuilt from the
 * queries the SDK's `Register` sent (`sdk/typescript/src/module/entrypoint/register.ts`).
 */
export function registeredModule(engine: FakeEngine, moduleId: string): RegisteredModule {
  const steps = stepsOf(engine, moduleId);
  const description = steps.find((s) => s.name === "withDescription")?.args.description;
  return {
    ...(typeof description === "string" ? { description } : {}),
    objects: steps
      .filter((s) => s.name === "withObject")
      .map((s) => {
        const objectSteps = stepsOf(engine, s.args.object);
        const object = objectSteps.find((o) => o.name === "withObject");
        const objectDescription = object?.args.description;
        return {
          name: String(object?.args.name),
          ...(typeof objectDescription === "string" ? { description: objectDescription } : {}),
          functions: objectSteps.filter((o) => o.name === "withFunction").map((o) => functionOf(engine, o.args.function)),
        };
      }),
  };
}

/** Every file under `dir`, relative to it. */
export function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map(String)
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}
