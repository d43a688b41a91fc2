/**
 * The staging stage's promise of paper trading on "1 hour of historical
 * data": the span of the market data, first event to last, against
 * `[paper] min_market_seconds`, decided before anything is replayed.
 */
import type { MarketTape } from "../market/types.js";
import { isoTime } from "./report.js";

/** Seconds from the tape's first event to its last (0 for fewer than two events). */
export function marketSeconds(tape: MarketTape): number {
  return tape.length < 2 ? 0 : ((tape.t[tape.length - 1] as number) - (tape.t[0] as number)) / 1e9;
}

/**
 * Why the tape is too short to replay, naming its span and files, or
 * undefined when it covers at least `minSeconds`.
 * @param files The data files, as the user should recognise them.
 */
export function replayLengthProblem(tape: MarketTape, files: readonly string[], minSeconds: number): string | undefined {
  const seconds = marketSeconds(tape);
  if (seconds >= minSeconds) return undefined;
  const span =
    tape.length === 0
      ? "no events"
      : `${seconds.toFixed(1)} s, from ${isoTime(tape, tape.t[0] as number)} to ${isoTime(tape, tape.t[tape.length - 1] as number)}`;
  return (
    `market data too short to replay: ${span} in ${files.join(", ")}; [paper] min_market_seconds = ${minSeconds} ` +
    "(the staging stage paper-trades at least that much history): give more data, or lower min_market_seconds with a comment saying why"
  );
}
