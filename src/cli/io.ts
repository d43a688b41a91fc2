/** Where the CLI and its commands read and write: the real process, or a test's doubles. */
import type { Clock } from "../core/clock.js";

/** A writable text stream (stdout or a test double). */
export interface TextOut {
  write(text: string): unknown;
}

/** What a gate command needs from the CLI. */
export interface GateIo {
  readonly stdout: TextOut;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** The run's clock (today's date: ignore expiry, the advisory data's age); the real one when absent. */
  readonly clock?: Clock;
}

/** Where the CLI reads and writes; the real process by default. */
export interface CliIo {
  readonly stdout: TextOut & { isTTY?: boolean };
  readonly stderr: TextOut;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Install a SIGINT/SIGTERM handler that cancels the run (the real CLI does). */
  readonly handleSignals: boolean;
  /** The gates' clock (wait timer, deploy window, monitoring); the real one when absent. */
  readonly clock?: Clock;
  /**
   * Tests of single gates only: `run` runs just these steps of the stage. The real CLI never sets it; no option,
   * variable or config reaches it (in production `--only` and disabled steps are refused).
   */
  readonly testSelection?: readonly string[];
}
