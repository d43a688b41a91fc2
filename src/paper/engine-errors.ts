/**
 * The engine's errors in a paper-trading run: every one counted, the first
 * thousand kept with the offending line quoted, and too many stop the run.
 */
import { EngineStopped } from "./engine-process.js";
import { quoteLine } from "./protocol.js";

/** One engine error: what was wrong, at which message, with the line quoted. */
export interface EngineError {
  readonly seq: number | undefined;
  readonly error: string;
  readonly line: string;
}

/** More engine errors than this stop the run. */
const MAX_ERRORS = 1000;

/** The errors of one run. */
export class EngineErrors {
  /** The first {@link MAX_ERRORS} errors. */
  readonly kept: EngineError[] = [];
  private total = 0;

  /** Every error so far, kept or not. */
  get count(): number {
    return this.total;
  }

  /** Records that the engine was wrong about message `seq` (`error`), in `line`. */
  add(seq: number | undefined, error: string, line: string): void {
    this.total++;
    if (this.kept.length < MAX_ERRORS) this.kept.push({ seq, error, line: quoteLine(line) });
  }

  /**
   * Stops the run once there are too many errors.
   *
   * @throws EngineStopped when more than {@link MAX_ERRORS} errors were recorded.
   */
  stopIfTooMany(): void {
    if (this.total > MAX_ERRORS) throw new EngineStopped(`more than ${MAX_ERRORS} engine errors`);
  }
}
