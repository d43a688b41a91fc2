/**
 * The environment a workspace command gets, as a pure function of the
 * pipeline's environment: the toolchain allowlist, the command's own
 * variables, the secrets it names — and bad names refused with the name.
 */
import { describe, expect, it } from "vitest";
import { PROFILE_DEFAULTS, SECRET_KEYS } from "../../src/config/env-profile.js";
import {
  CommandEnvError,
  checkCommandEnv,
  isCredentialName,
  passesToWorkspace,
  TOOLCHAIN_VARIABLES,
  workspaceEnv,
} from "../../src/core/least-privilege-env.js";

/** Every secret the project knows, in any environment. */
const PROJECT_SECRETS = [...new Set(Object.values(SECRET_KEYS).flat())];

/** A CI runner's environment: toolchain variables, the run's secrets, and credentials of other tools. */
const PIPELINE_ENV: Record<string, string> = {
  PATH: "/usr/local/cargo/bin:/usr/bin:/bin",
  HOME: "/home/ci",
  LC_ALL: "C.UTF-8",
  https_proxy: "http://proxy.internal:3128",
  CARGO_HOME: "/usr/local/cargo",
  CARGO_TARGET_x86_64_unknown_linux_gnu_LINKER: "clang",
  CARGO_REGISTRIES_INTERNAL_INDEX: "sparse+https://crates.internal/index/",
  CARGO_REGISTRY_TOKEN: "cio_token",
  CARGO_REGISTRIES_INTERNAL_TOKEN: "internal_token",
  CARGO_REGISTRIES_INTERNAL_CREDENTIAL_PROVIDER: "cargo:token",
  CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS: "cargo:token",
  CARGO_REGISTRIES_INTERNAL_SECRET_KEY: "k3.secret.x",
  SSH_AUTH_SOCK: "/tmp/ssh-agent.sock",
  AWS_SECRET_ACCESS_KEY: "aws",
  NPM_TOKEN: "npm",
  GITHUB_ACTOR: "asha",
  ...Object.fromEntries(PROJECT_SECRETS.map((name) => [name, `value-of-${name}`])),
};

describe("the toolchain allowlist", () => {
  it("is data: every entry names a variable or pattern and says why, once", () => {
    const names = TOOLCHAIN_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const { name, reason } of TOOLCHAIN_VARIABLES) {
      expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_*]*$/);
      expect(reason.length).toBeGreaterThan(10);
    }
    for (const name of [
      "PATH",
      "HOME",
      "TMPDIR",
      "LANG",
      "CI",
      "HTTPS_PROXY",
      "https_proxy",
      "CARGO_HOME",
      "RUSTUP_HOME",
      "RUSTFLAGS",
      "CC",
    ])
      expect(names).toContain(name);
  });

  it("lets no secret the project knows through, nor any credential-shaped cargo variable", () => {
    for (const name of PROJECT_SECRETS) {
      expect(isCredentialName(name)).toBe(true);
      expect(passesToWorkspace(name)).toBe(false);
    }
    for (const name of [
      "CARGO_REGISTRY_TOKEN",
      "CARGO_REGISTRIES_INTERNAL_TOKEN",
      "CARGO_REGISTRY_CREDENTIAL_PROVIDER",
      "CARGO_REGISTRIES_INTERNAL_CREDENTIAL_PROVIDER",
      "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS",
      "CARGO_REGISTRY_SECRET_KEY",
      "CARGO_REGISTRIES_INTERNAL_SECRET_KEY_SUBJECT",
      // Matches an allowlist pattern (CARGO_REGISTRIES_*_INDEX), but is shaped like a credential.
      "CARGO_REGISTRIES_TOKEN_INDEX",
      // Matches CARGO_HTTP_*.
      "CARGO_HTTP_AUTH_TOKEN",
    ])
      expect(passesToWorkspace(name), name).toBe(false);
    for (const name of [
      "PATH",
      "LC_ALL",
      "CARGO_PROFILE_RELEASE_LTO",
      "CARGO_TARGET_DIR",
      "CC_x86_64_unknown_linux_gnu",
      "PKG_CONFIG_PATH",
    ])
      expect(passesToWorkspace(name), name).toBe(true);
  });

  it("keeps the profile's keys apart: they reach commands through the stage, not the allowlist", () => {
    for (const key of Object.keys(PROFILE_DEFAULTS.production)) {
      expect(isCredentialName(key), key).toBe(false);
      expect(passesToWorkspace(key), key).toBe(false);
    }
  });
});

describe("workspaceEnv", () => {
  it("gives the toolchain's variables, the command's own, and only the secrets it names", () => {
    const env = workspaceEnv({
      argv: ["cargo", "test"],
      env: { ENVIRONMENT: "test", CARGO_TARGET_DIR: "target", PATH: "/opt/override/bin" },
      secretEnv: ["CARGO_REGISTRY_TOKEN"],
      inherited: PIPELINE_ENV,
    });
    expect(env).toEqual({
      PATH: "/opt/override/bin",
      HOME: "/home/ci",
      LC_ALL: "C.UTF-8",
      https_proxy: "http://proxy.internal:3128",
      CARGO_HOME: "/usr/local/cargo",
      CARGO_TARGET_x86_64_unknown_linux_gnu_LINKER: "clang",
      CARGO_REGISTRIES_INTERNAL_INDEX: "sparse+https://crates.internal/index/",
      ENVIRONMENT: "test",
      CARGO_TARGET_DIR: "target",
      CARGO_REGISTRY_TOKEN: "cio_token",
    });
  });

  it("takes a named secret from the runner's values first, then the pipeline's environment; leaves out an empty one", () => {
    const request = { argv: ["cargo", "build"], secretEnv: ["CARGO_REGISTRY_TOKEN", "NPM_TOKEN", "UNSET_TOKEN"], inherited: PIPELINE_ENV };
    expect(workspaceEnv({ ...request, secrets: { CARGO_REGISTRY_TOKEN: "from-env-file" } })).toMatchObject({
      CARGO_REGISTRY_TOKEN: "from-env-file",
      NPM_TOKEN: "npm",
    });
    const env = workspaceEnv({ ...request, inherited: { ...PIPELINE_ENV, NPM_TOKEN: "" } });
    expect(env).not.toHaveProperty("NPM_TOKEN");
    expect(env).not.toHaveProperty("UNSET_TOKEN");
  });

  it("without secretEnv, no secret of the pipeline's environment is there", () => {
    const env = workspaceEnv({ argv: ["cargo", "test"], inherited: PIPELINE_ENV });
    const leaked = Object.keys(env).filter((name) => isCredentialName(name) || PROJECT_SECRETS.includes(name));
    expect(leaked).toEqual([]);
    expect(Object.values(env).filter((value) => value.startsWith("value-of-"))).toEqual([]);
    expect(env).not.toHaveProperty("GITHUB_ACTOR");
  });
});

describe("bad names", () => {
  it.each([
    [
      "a secretEnv name with a space",
      { secretEnv: ["CARGO REGISTRY_TOKEN"] },
      /cargo: secretEnv names "CARGO REGISTRY_TOKEN", which is not an environment variable name/,
    ],
    ["a secretEnv name with =", { secretEnv: ["TOKEN=x"] }, /secretEnv names "TOKEN=x", which is not/],
    ["a secretEnv name starting with a digit", { secretEnv: ["1TOKEN"] }, /secretEnv names "1TOKEN"/],
    ["an empty secretEnv name", { secretEnv: [""] }, /secretEnv names "", which is not/],
    [
      "an env name with a dash",
      { env: { "CARGO-TERM-COLOR": "never" } },
      /cargo: env sets "CARGO-TERM-COLOR", which is not an environment variable name/,
    ],
    [
      "a credential as a plain variable",
      { env: { CARGO_REGISTRY_TOKEN: "cio_token" } },
      /cargo: env sets CARGO_REGISTRY_TOKEN, which looks like a credential; name it in secretEnv/,
    ],
    ["the deploy key as a plain variable", { env: { SSH_DEPLOY_KEY: "k" } }, /env sets SSH_DEPLOY_KEY, which looks like a credential/],
  ])("refuses %s, naming it", (_what, command, message) => {
    const error = (() => {
      try {
        workspaceEnv({ argv: ["cargo", "build"], inherited: PIPELINE_ENV, ...command });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CommandEnvError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("cio_token");
    expect(() => checkCommandEnv({ argv: ["cargo", "build"], ...command })).toThrow(CommandEnvError);
  });
});
