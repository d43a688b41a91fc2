/**
 * How a working engine answers the execs the module runs: the record of the
 * Debian packages it installed (`dpkg-query`), which tests wrap their own
 * exec answers with ({@link withToolchain}), and the step commands on the
 * clean example workspace ({@link cleanWorkspace}).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EXAMPLE } from "./example.js";
import type { ExecAnswer } from "./fake-engine.js";

/** The versions a bookworm engine installed (bookworm's at the time of writing), by package. */
export const INSTALLED: Readonly<Record<string, string>> = {
  valgrind: "1:3.19.0-1",
  "openssh-client": "1:9.2p1-2+deb12u10",
  git: "1:2.39.5-0+deb12u3",
};

/** dpkg-query's answer for the packages named after its `--show` and `--showformat` (amd64); undefined for other execs. */
export function dpkgAnswer(argv: readonly string[]): ExecAnswer | undefined {
  if (argv[0] !== "dpkg-query") return undefined;
  const names = argv.slice(1).filter((arg) => !arg.startsWith("--"));
  const unknown = names.filter((name) => INSTALLED[name] === undefined);
  if (unknown.length > 0) return { exitCode: 1, stderr: `dpkg-query: no packages found matching ${unknown.join(" ")}\n` };
  return { exitCode: 0, stdout: names.map((name) => `ii \t${name}\t${INSTALLED[name]}\tamd64\n`).join("") };
}

/** An exec behaviour that answers dpkg-query like {@link dpkgAnswer} and everything else with `exec` (default: exit 0). */
export function withToolchain(
  exec?: (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer,
): (argv: readonly string[], env: Readonly<Record<string, string>>) => ExecAnswer {
  return (argv, env) => dpkgAnswer(argv) ?? exec?.(argv, env) ?? { exitCode: 0 };
}

/** The root manifest the engine's workspace directory answers with (`file("Cargo.toml") { contents }`). */
export const MANIFEST = '[workspace]\nmembers = ["crates/*"]\n';

/** The example workspace's lockfile, as `cat Cargo.lock` prints it in the container. */
export const LOCKFILE = readFileSync(join(EXAMPLE, "Cargo.lock"), "utf8");

/** The example's real `cargo metadata`, as the container would print it. */
export const METADATA = execFileSync("cargo", ["metadata", "--format-version", "1", "--offline"], { cwd: EXAMPLE, encoding: "utf8" });

/** libtest's output of one passing test. */
export const PASSING_TESTS =
  "running 1 test\ntest tests::ok ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";

/** What the toolchain container answers for each dev-stage step's command on the clean example workspace. */
export function cleanWorkspace(argv: readonly string[]): ExecAnswer {
  if (argv.includes("Cargo.lock")) return { exitCode: 0, stdout: LOCKFILE };
  if (argv.includes("metadata")) return { exitCode: 0, stdout: METADATA };
  if (argv.includes("grep")) return { exitCode: 1 };
  return { exitCode: 0, stdout: argv.includes("test") ? PASSING_TESTS : "" };
}
