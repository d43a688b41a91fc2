/**
 * The environment of a command that runs workspace code — cargo and the build
 * scripts, proc macros, tests and benchmarks it compiles and starts, the
 * `[perf]` commands, the paper-trading engine — is built here, never inherited
 * whole. Such a command gets exactly:
 *
 * 1. the pipeline's own variables that the toolchain needs ({@link TOOLCHAIN_VARIABLES}),
 * 2. the variables the command sets itself (`Command.env`: the environment
 *    profile, `CARGO_TARGET_DIR`, …),
 * 3. the secrets it names in `Command.secretEnv`, and no other secret.
 *
 * So the deploy key, the signing key, the GitHub token, the Slack webhook and
 * the exchange keys the pipeline holds for its own steps never reach a
 * dependency's `build.rs` or a test that prints its environment.
 *
 * What this cannot stop: a process of the same user can read another's
 * initial environment (`/proc/<pid>/environ`) and files (`~/.cargo/credentials.toml`).
 * Keeping those out of reach needs another user or another container.
 */
import type { Command } from "./command.js";
import { PipelineError } from "./errors.js";

/** One entry of the toolchain allowlist, with why it is there. */
export interface PassedVariable {
  /**
   * A variable name, or a pattern in which `*` stands for one or more letters,
   * digits or `_` (`LC_*`, `CARGO_PROFILE_*`, `CARGO_REGISTRIES_*_INDEX`).
   */
  readonly name: string;
  /** What needs it. */
  readonly reason: string;
}

/**
 * The variables of the pipeline's environment that workspace commands get,
 * when set. A name that looks like a credential ({@link isCredentialName})
 * never passes through this list, whatever pattern it matches: a command
 * names such a variable in `secretEnv`.
 */
export const TOOLCHAIN_VARIABLES: readonly PassedVariable[] = [
  { name: "PATH", reason: "finding cargo, rustc, the C compiler and linker, and the programs tests start" },
  { name: "HOME", reason: "rustup and cargo find ~/.rustup and ~/.cargo through it when RUSTUP_HOME and CARGO_HOME are unset" },
  { name: "USER", reason: "who runs: tools and tests that name the user (and libc's fallbacks for HOME)" },
  { name: "LOGNAME", reason: "who runs, as POSIX names it" },
  { name: "SHELL", reason: "programs that start a shell (build scripts, tests of command runners)" },
  { name: "TMPDIR", reason: "where rustc, the linker and tests put temporary files" },
  { name: "TMP", reason: "temporary files, as some tools name the folder" },
  { name: "TEMP", reason: "temporary files, as some tools name the folder" },
  { name: "LANG", reason: "the locale: text and messages of compilers and tests" },
  { name: "LANGUAGE", reason: "the message language of GNU tools (cc, ld)" },
  { name: "LC_*", reason: "the locale's categories" },
  { name: "TZ", reason: "time zone of tests that format local times" },
  { name: "TERM", reason: "terminal capabilities of tools that colour their output" },
  { name: "CI", reason: "tools and tests that behave differently in CI (no prompts, snapshot tests that never write)" },
  { name: "HTTP_PROXY", reason: "cargo and build scripts download through the network's proxy" },
  { name: "HTTPS_PROXY", reason: "cargo and build scripts download through the network's proxy" },
  { name: "ALL_PROXY", reason: "the network's proxy for every protocol" },
  { name: "NO_PROXY", reason: "hosts reached without the proxy" },
  { name: "http_proxy", reason: "the proxy, as curl and git spell it" },
  { name: "https_proxy", reason: "the proxy, as curl and git spell it" },
  { name: "all_proxy", reason: "the proxy for every protocol, as curl spells it" },
  { name: "no_proxy", reason: "hosts reached without the proxy, as curl spells it" },
  { name: "SSL_CERT_FILE", reason: "the CA bundle of a network that inspects TLS" },
  { name: "SSL_CERT_DIR", reason: "the CA folder of a network that inspects TLS" },
  { name: "CARGO_HOME", reason: "where cargo keeps its registry cache, git checkouts and config" },
  { name: "RUSTUP_HOME", reason: "where rustup keeps the toolchains" },
  { name: "RUSTUP_TOOLCHAIN", reason: "the toolchain the run chose (rustup's override)" },
  { name: "RUSTUP_DIST_SERVER", reason: "a rustup mirror, for a rust-toolchain.toml installed on first use" },
  { name: "RUSTC", reason: "a rustc other than the one on PATH" },
  { name: "RUSTDOC", reason: "a rustdoc other than the one on PATH (doc tests)" },
  { name: "RUSTC_WRAPPER", reason: "a compiler cache such as sccache" },
  { name: "RUSTC_WORKSPACE_WRAPPER", reason: "a wrapper of the workspace's own crates" },
  { name: "RUSTFLAGS", reason: "compiler flags the run sets (target CPU, linker arguments)" },
  { name: "RUSTDOCFLAGS", reason: "rustdoc flags the run sets" },
  { name: "CARGO_ENCODED_RUSTFLAGS", reason: "compiler flags with spaces, as cargo encodes them" },
  { name: "CARGO_ENCODED_RUSTDOCFLAGS", reason: "rustdoc flags with spaces, as cargo encodes them" },
  { name: "CARGO_BUILD_*", reason: "cargo's [build] settings: jobs, target, rustflags" },
  { name: "CARGO_TERM_*", reason: "cargo's [term] settings: colour, progress, verbosity" },
  { name: "CARGO_PROFILE_*", reason: "cargo's [profile] settings" },
  { name: "CARGO_NET_*", reason: "cargo's [net] settings: offline, retries, git through the git CLI" },
  { name: "CARGO_HTTP_*", reason: "cargo's [http] settings: CA file, proxy, timeouts" },
  { name: "CARGO_INCREMENTAL", reason: "incremental compilation on or off (CI turns it off)" },
  { name: "CARGO_TARGET_*", reason: "CARGO_TARGET_DIR and the per-target linker, runner and rustflags" },
  { name: "CARGO_REGISTRY_DEFAULT", reason: "the registry cargo uses by default" },
  { name: "CARGO_REGISTRIES_*_INDEX", reason: "where an alternative registry's index is" },
  { name: "CARGO_REGISTRIES_*_PROTOCOL", reason: "how cargo reads a registry's index (sparse or git)" },
  { name: "RUST_BACKTRACE", reason: "backtraces of panics in build scripts and tests" },
  { name: "RUST_LIB_BACKTRACE", reason: "backtraces of errors that capture one" },
  { name: "RUST_MIN_STACK", reason: "the stack size of test threads" },
  { name: "RUST_TEST_THREADS", reason: "how many tests run at once (a loaded CI machine)" },
  { name: "CC", reason: "the C compiler of build scripts (cc crate)" },
  { name: "CXX", reason: "the C++ compiler of build scripts" },
  { name: "AR", reason: "the archiver of build scripts" },
  { name: "CFLAGS", reason: "C flags of build scripts" },
  { name: "CXXFLAGS", reason: "C++ flags of build scripts" },
  { name: "CPPFLAGS", reason: "preprocessor flags of build scripts" },
  { name: "LDFLAGS", reason: "linker flags of build scripts" },
  { name: "CC_*", reason: "the cc crate's per-target compiler (CC_x86_64_unknown_linux_gnu)" },
  { name: "CXX_*", reason: "the cc crate's per-target C++ compiler" },
  { name: "AR_*", reason: "the cc crate's per-target archiver" },
  { name: "CFLAGS_*", reason: "the cc crate's per-target C flags" },
  { name: "CXXFLAGS_*", reason: "the cc crate's per-target C++ flags" },
  { name: "PKG_CONFIG", reason: "the pkg-config program of build scripts that link system libraries" },
  { name: "PKG_CONFIG_*", reason: "where pkg-config looks (PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR, …)" },
  { name: "LD_LIBRARY_PATH", reason: "shared libraries of a toolchain installed outside the system paths" },
  { name: "SOURCE_DATE_EPOCH", reason: "reproducible builds: the time that goes into built files" },
];

/** A name the environment can carry and a shell can spell. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Words that mark a credential when they are a whole `_`-separated part of a
 * name: CARGO_REGISTRY_TOKEN, CARGO_REGISTRIES_X_CREDENTIAL_PROVIDER,
 * SSH_DEPLOY_KEY, RELEASE_SIGNING_KEY, GITHUB_TOKEN, SLACK_WEBHOOK_URL,
 * PROD_BINANCE_API_SECRET, AWS_SECRET_ACCESS_KEY, SSH_AUTH_SOCK, …
 */
const CREDENTIAL_PART =
  /(?:^|_)(?:TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASSPHRASE|KEY|KEYS|APIKEY|CREDENTIAL|CREDENTIALS|WEBHOOK|AUTH|PAT|DSN|COOKIE)(?:_|$)/i;

/** The allowlist as regular expressions, built once. */
const ALLOWED = TOOLCHAIN_VARIABLES.map(({ name }) => new RegExp(`^${name.split("*").map(escapeRegExp).join("[A-Za-z0-9_]+")}$`));

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A command asked for an environment that cannot be given; the message names the variable. */
export class CommandEnvError extends PipelineError {
  override readonly name: string = "CommandEnvError";
}

/** True when `name` looks like it holds a credential (a token, key, secret, password, webhook, …). */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_PART.test(name);
}

/** True when the pipeline's variable `name` passes to workspace commands: on the allowlist and not a credential. */
export function passesToWorkspace(name: string): boolean {
  return !isCredentialName(name) && ALLOWED.some((pattern) => pattern.test(name));
}

/**
 * Checks what a command asks for before anything runs: every name in `env`
 * and `secretEnv` is a variable name, and `env` carries no credential (a
 * secret is named in `secretEnv`, so that each runner supplies it as a secret
 * and never as plain text).
 * @throws CommandEnvError naming the variable and the command.
 */
export function checkCommandEnv(command: Pick<Command, "argv" | "env" | "secretEnv">): void {
  const program = command.argv[0] ?? "(no program)";
  for (const name of command.secretEnv ?? []) {
    if (!VARIABLE_NAME.test(name))
      throw new CommandEnvError(
        `${program}: secretEnv names ${JSON.stringify(name)}, which is not an environment variable name (letters, digits and _, not starting with a digit)`,
      );
  }
  for (const name of Object.keys(command.env ?? {})) {
    if (!VARIABLE_NAME.test(name))
      throw new CommandEnvError(
        `${program}: env sets ${JSON.stringify(name)}, which is not an environment variable name (letters, digits and _, not starting with a digit)`,
      );
    if (isCredentialName(name))
      throw new CommandEnvError(
        `${program}: env sets ${name}, which looks like a credential; name it in secretEnv so the runner supplies it as a secret`,
      );
  }
}

/** What {@link workspaceEnv} builds an environment from. */
export interface WorkspaceEnvRequest {
  /** The program and its arguments (named in errors). */
  readonly argv: readonly string[];
  /** Variables the command sets itself: the profile's, CARGO_TARGET_DIR, … */
  readonly env?: Readonly<Record<string, string>>;
  /** Secrets the command may see, by name. */
  readonly secretEnv?: readonly string[];
  /** Secret values the runner holds (env files); a named secret is taken from here first. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** The pipeline's environment: the toolchain's variables and named secrets not in `secrets`. Default: `process.env`. */
  readonly inherited?: Readonly<Record<string, string | undefined>>;
}

/**
 * The whole environment of a command that runs workspace code: the
 * toolchain's variables from the pipeline's environment, overridden by the
 * command's own, plus the secrets it names (an empty or unset one is left out).
 * Spawn with it and without the parent's environment (`extendEnv: false`).
 * @throws CommandEnvError for a bad name (see {@link checkCommandEnv}).
 */
export function workspaceEnv(request: WorkspaceEnvRequest): Record<string, string> {
  checkCommandEnv(request);
  const inherited = request.inherited ?? process.env;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(inherited)) if (value !== undefined && passesToWorkspace(name)) env[name] = value;
  Object.assign(env, request.env);
  for (const name of request.secretEnv ?? []) {
    const value = request.secrets?.[name] ?? inherited[name];
    if (value !== undefined && value !== "") env[name] = value;
  }
  return env;
}
