/**
 * The one download of a Dagger run: `cargo fetch` of the workspace under the
 * download lock, before any step runs, so the steps' containers (any number
 * at once) run cargo offline and only read the shared caches
 * (containers/rust-toolchain.ts says why).
 */
import { randomUUID } from "node:crypto";
import { type Directory, ReturnType, type Secret } from "@dagger.io/dagger";
import { FETCH_TIMEOUT_SECONDS, fetchArgv, rustToolchain, WORKSPACE_DIR } from "../../containers/rust-toolchain.js";
import { REGISTRY_TOKEN } from "../cargo/commands.js";
import { PipelineError } from "../core/errors.js";
import { execFailure } from "../runners/exec-failure.js";
import { INVOCATION_VARIABLE } from "./container-ssh.js";

/** Exit code of coreutils `timeout` when the command ran out of time. */
const TIMED_OUT = 124;

/** Lines of cargo's output an error keeps. */
const ERROR_LINES = 12;

/** `cargo fetch` failed, so no step could build offline; the message carries cargo's last lines. */
export class DependencyFetchError extends PipelineError {
  override readonly name: string = "DependencyFetchError";
}

/**
 * Downloads the dependencies of the workspace `source` into the shared caches. Never answered from the
 * engine's cache (a fresh `SHRIVEN_INVOCATION`): the volumes can be emptied while a cached exec survives.
 * @param registryToken The private registry's token (CARGO_REGISTRY_TOKEN), as a secret variable of this exec only.
 * @throws DependencyFetchError when cargo fails or runs out of time.
 */
export async function fetchDependencies(source: Directory, registryToken?: Secret): Promise<void> {
  let container = rustToolchain().withMountedDirectory(WORKSPACE_DIR, source);
  if (registryToken !== undefined) container = container.withSecretVariable(REGISTRY_TOKEN, registryToken);
  const fetched = container.withEnvVariable(INVOCATION_VARIABLE, randomUUID()).withExec(fetchArgv(), { expect: ReturnType.Any });
  let exitCode: number;
  let stderr: string;
  try {
    exitCode = await fetched.exitCode();
    if (exitCode === 0) return;
    stderr = await fetched.stderr();
  } catch (error) {
    // Exit codes 128–191 (killed by a signal) come back from the engine as an ExecError.
    const failure = execFailure(error);
    if (failure === undefined) throw error;
    ({ exitCode, stderr } = failure);
  }
  if (exitCode === TIMED_OUT)
    throw new DependencyFetchError(`cargo fetch did not finish in ${FETCH_TIMEOUT_SECONDS} s; cargo cannot build offline without it`);
  const lines = stderr
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "");
  throw new DependencyFetchError(
    `cargo fetch failed (exit code ${exitCode}); cargo cannot build offline without what it downloads:\n${lines.slice(-ERROR_LINES).join("\n")}`,
  );
}
