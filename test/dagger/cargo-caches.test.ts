import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connection, dag } from "@dagger.io/dagger";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CARGO_GIT, CARGO_REGISTRY, DOWNLOAD_LOCK } from "../../containers/rust-toolchain.js";
import { INVOCATION_VARIABLE } from "../../src/dagger/container-ssh.js";
import { runStageInDagger } from "../../src/dagger/run-in-dagger.js";
import { type ExecAnswer, execArgvs, FakeEngine, fieldCalls } from "../helpers/fake-engine.js";
import { tempDir } from "../helpers/temp.js";
import { LOCKFILE, MANIFEST, METADATA, PASSING_TESTS, withToolchain } from "../helpers/toolchain-execs.js";

const engine = new FakeEngine();
beforeAll(() => engine.start());
afterAll(() => engine.stop());

/** The one download, exactly as the engine must run it. */
const FETCH = ["timeout", "--kill-after=10", "900", "flock", "/usr/local/cargo/registry/.shriven-download.lock", "cargo", "fetch"];

const isFetch = (argv: readonly string[]) => argv.includes("cargo") && argv.includes("fetch");
const isStepCargo = (argv: readonly string[]) => argv.includes("cargo") && !isFetch(argv);

/**
 * A clean workspace, where cargo fails the way it would if it went online: a step's cargo without
 * CARGO_NET_OFFLINE would race other containers on the shared caches.
 */
function offlineOnly(argv: readonly string[], env: Readonly<Record<string, string>>): ExecAnswer {
  if (isStepCargo(argv) && env.CARGO_NET_OFFLINE !== "true")
    return { exitCode: 101, stderr: "error: cargo ran online beside other containers\n" };
  if (argv.includes("Cargo.lock")) return { exitCode: 0, stdout: LOCKFILE };
  if (argv.includes("metadata")) return { exitCode: 0, stdout: METADATA };
  if (argv.includes("grep")) return { exitCode: 1 };
  return { exitCode: 0, stdout: argv.includes("test") ? PASSING_TESTS : "" };
}

/** An advisory database with one advisory, for a crate the example does not use (no vulnerability; the data is old). */
function advisoryDb(): string {
  const dir = tempDir();
  mkdirSync(join(dir, "crates", "unused-demo"), { recursive: true });
  writeFileSync(
    join(dir, "crates", "unused-demo", "RUSTSEC-2026-0001.md"),
    '```toml\n[advisory]\nid = "RUSTSEC-2026-0001"\npackage = "unused-demo"\ndate = "2026-01-01"\n\n[versions]\npatched = [">= 1.2.0"]\n```\n\n# Demo\n',
  );
  return dir;
}

/** Runs the whole dev stage through the module's Dagger edge and returns each step's status. */
async function dev(exec: (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer): Promise<Record<string, string>> {
  return (await devRun(exec)).status;
}

/** Each step's status and details after the dev stage ran on `exec`. */
async function devRun(
  exec: (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer,
): Promise<{ status: Record<string, string>; details: Record<string, string> }> {
  engine.reset({
    entries: ["Cargo.toml", "Cargo.lock", "crates"],
    files: { "Cargo.toml": MANIFEST },
    directories: { "advisory-db-id": advisoryDb() },
    exec: withToolchain(exec),
  });
  let status: Record<string, string> = {};
  let details: Record<string, string> = {};
  await connection(async () => {
    const run = await runStageInDagger("dev", {
      source: dag.loadDirectoryFromID("workspace-directory-id" as never),
      advisoryDb: dag.loadDirectoryFromID("advisory-db-id" as never),
    });
    status = Object.fromEntries(run.report.steps.map((step) => [step.id, step.status]));
    details = Object.fromEntries(run.report.steps.map((step) => [step.id, [step.summary, ...step.details].join("\n")]));
  });
  return { status, details };
}

/** The cargo caches a query mounts: path → sharing mode (`undefined` when the query left it to the engine). */
function cargoMounts(query: string): Map<string, unknown> {
  return new Map(
    fieldCalls(query, "withMountedCache")
      .filter((call) => call.path === CARGO_REGISTRY || call.path === CARGO_GIT)
      .map((call) => [call.path as string, call.sharing]),
  );
}

const variables = (query: string) => Object.fromEntries(fieldCalls(query, "withEnvVariable").map((call) => [call.name, call.value]));

describe("cargo's caches under the dev stage's parallel containers", () => {
  it("one cargo fetch under the download lock, then every step's cargo offline on the same shared volumes", async () => {
    // The steps that run cargo passed (the performance check warns: no benchmark results in a fake run; the
    // audit warns: its one advisory, 2026-01-01, is older than dev's 7 days): each one's cargo had
    // CARGO_NET_OFFLINE (see offlineOnly).
    expect(await dev(offlineOnly)).toEqual({
      fmt: "passed",
      check: "passed",
      audit: "warned",
      licenses: "passed",
      secrets: "passed",
      test: "passed",
      clippy: "passed",
      "perf-check": "warned",
    });
    const queries = engine.queries;
    const execsOf = (query: string) => execArgvs(query);

    // The one download: cargo fetch under flock, online, on the shared volumes, never answered from the cache.
    const fetches = queries.filter((query) => execsOf(query).some(isFetch));
    expect(fetches.length).toBeGreaterThan(0);
    expect(
      new Set(
        fetches.flatMap((query) =>
          execsOf(query)
            .filter(isFetch)
            .map((argv) => argv.join(" ")),
        ),
      ),
    ).toEqual(new Set([FETCH.join(" ")]));
    expect(DOWNLOAD_LOCK.startsWith(`${CARGO_REGISTRY}/`)).toBe(true);
    const invocations = new Set(fetches.map((query) => variables(query)[INVOCATION_VARIABLE]));
    expect(invocations.size).toBe(1);
    expect([...invocations][0]).toMatch(/^[0-9a-f-]{36}$/);
    for (const query of fetches) {
      expect(cargoMounts(query)).toEqual(
        new Map([
          [CARGO_REGISTRY, "SHARED"],
          [CARGO_GIT, "SHARED"],
        ]),
      );
      expect(variables(query).CARGO_NET_OFFLINE).toBeUndefined();
      expect(fieldCalls(query, "withMountedDirectory")).toContainEqual({ path: "/src", source: "workspace-directory-id" });
    }

    // Every cargo container of the stage, after the fetch: offline, on the same volumes, shared.
    const lastFetch = Math.max(...fetches.map((query) => queries.indexOf(query)));
    const steps = queries.filter((query) => execsOf(query).some(isStepCargo));
    const subcommands = new Set(
      steps.flatMap((query) =>
        execsOf(query)
          .filter(isStepCargo)
          .map((argv) => argv[argv.indexOf("cargo") + 1]),
      ),
    );
    expect(subcommands).toEqual(new Set(["fmt", "check", "metadata", "test", "clippy", "bench"]));
    for (const query of steps) {
      expect(queries.indexOf(query)).toBeGreaterThan(lastFetch);
      expect(cargoMounts(query)).toEqual(
        new Map([
          [CARGO_REGISTRY, "SHARED"],
          [CARGO_GIT, "SHARED"],
        ]),
      );
      expect(variables(query).CARGO_NET_OFFLINE).toBe("true");
    }

    // No query mounts the download caches any other way (no LOCKED, no PRIVATE, none left to the default).
    for (const query of queries) for (const sharing of cargoMounts(query).values()) expect(sharing).toBe("SHARED");
  });

  it("a failing fetch fails the steps that build, with cargo's own lines, and runs none of their cargo; fmt needs no fetch", async () => {
    const failing = (argv: readonly string[], env: Readonly<Record<string, string>>): ExecAnswer =>
      isFetch(argv)
        ? {
            exitCode: 101,
            stderr:
              "    Updating crates.io index\nerror: failed to get `tokio` as a dependency of package `engine v0.1.0 (/src/crates/engine)`\n\nCaused by:\n  download of to/ki/tokio failed\n",
          }
        : offlineOnly(argv, env);
    const run = await devRun(failing);
    // fmt runs beside check and never waits for the fetch: it passes, or (on a loaded machine) the stage's fail-fast
    // cancels it when check fails first; it is never skipped for the fetch's failure.
    expect(["passed", "cancelled"]).toContain(run.status.fmt);
    expect(run.status.check).toBe("failed");
    expect(run.details.check).toMatch(/cargo fetch failed \(exit code 101\); cargo cannot build offline without what it downloads/);
    expect(run.details.check).toMatch(/download of to\/ki\/tokio failed/);
    expect(run.status.test).toBe("skipped");
    const cargoExecs = engine.queries.flatMap(execArgvs).filter(isStepCargo);
    expect(cargoExecs.every((argv) => argv.includes("fmt"))).toBe(true);
    // One fetch, however many steps wait for it.
    expect(new Set(engine.queries.filter((q) => execArgvs(q).some(isFetch)).map((q) => execArgvs(q).join(" "))).size).toBe(1);
  });

  it("a fetch past its time, or killed by a signal, fails them too", async () => {
    const late = await devRun((argv, env) => (isFetch(argv) ? { exitCode: 124 } : offlineOnly(argv, env)));
    expect(late.details.check).toMatch(/cargo fetch did not finish in 900 s; cargo cannot build offline without it/);
    const killed = await devRun((argv, env) => (isFetch(argv) ? { exitCode: 137, stderr: "Killed\n" } : offlineOnly(argv, env)));
    expect(killed.details.check).toMatch(/cargo fetch failed \(exit code 137\)[^\n]*\nKilled/);
    expect(
      engine.queries
        .flatMap(execArgvs)
        .filter(isStepCargo)
        .every((argv) => argv.includes("fmt")),
    ).toBe(true);
  });

  it("runs no fetch when no selected step builds (fmt reads only the sources)", async () => {
    engine.reset({ entries: ["Cargo.toml"], files: { "Cargo.toml": MANIFEST }, exec: withToolchain(offlineOnly) });
    await connection(async () => {
      await runStageInDagger("dev", { source: dag.loadDirectoryFromID("workspace-directory-id" as never), only: ["fmt"] });
    });
    const argvs = engine.queries.flatMap(execArgvs);
    expect(argvs.some((argv) => argv.includes("fmt"))).toBe(true);
    expect(argvs.filter(isFetch)).toEqual([]);
  });

  it("the registry token reaches the fetch as a secret variable, never as text", async () => {
    engine.reset({
      entries: ["Cargo.toml", "Cargo.lock", "crates"],
      files: { "Cargo.toml": MANIFEST },
      exec: withToolchain(offlineOnly),
    });
    await connection(async () => {
      await runStageInDagger("dev", {
        source: dag.loadDirectoryFromID("workspace-directory-id" as never),
        registryToken: dag.loadSecretFromID("registry-secret-id" as never),
        only: ["check"],
      });
    });
    const fetch = engine.queries.find((query) => execArgvs(query).some(isFetch)) as string;
    expect(fieldCalls(fetch, "withSecretVariable")).toEqual([{ name: "CARGO_REGISTRY_TOKEN", secret: "registry-secret-id" }]);
    expect(engine.allQueries()).not.toMatch(/plaintext/);
  });
});
