import type { CliIo } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import type { Clock } from "../../src/core/clock.js";

/** What a CLI run printed and returned. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output, the given environment and (when given) clock. */
export async function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; clock?: Clock } = {},
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t), isTTY: false },
    stderr: { write: (t: string) => (stderr += t) },
    env: options.env ?? { CI: "true" },
    cwd: options.cwd ?? process.cwd(),
    handleSignals: false,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
