/**
 * The replay loop: decides, in simulated time, what the engine hears next and
 * how far the exchange may move on.
 *
 * Determinism comes from simulated time and a conservative schedule: the
 * exchange has processed everything before time X; any report it has not made
 * yet reaches the engine at X + response latency or later, so every known
 * message earlier than that can go to the engine now, and the exchange may
 * move on to (next message) + order latency, as no order it has not seen can
 * arrive sooner. Several messages go out per write; the engine answers each
 * in order.
 */
import { EventKind, type MarketTape } from "../market/types.js";
import { type EngineProcess, EngineStopped } from "./engine-process.js";
import type { ReplyReader } from "./engine-replies.js";
import { MessageWriter } from "./protocol.js";
import type { Delivery, ReplayVenue } from "./venue.js";

/** The simulated latencies of a replay, in ns. */
export interface ReplayLatency {
  /** Engine → exchange. */
  readonly orderLatencyNs: number;
  /** Exchange → engine. */
  readonly responseLatencyNs: number;
}

/** Most messages written before reading replies. */
const MAX_BATCH = 2048;
/** Rounds of messages after the end of data (reports of the final cancels and what the engine does about them). */
const MAX_ROUNDS_AFTER_END = 100;

/** Replays the tape's trades and quotes and the venue's reports to the engine, in time order. */
export class ReplayLoop {
  private lastSeq = 0;
  private sent = 0;
  /** Next tape event for the engine (trades and quotes only). */
  private nextForEngine = 0;
  private readonly batchLines: string[] = [];
  private readonly batchTimes: number[] = [];
  private readonly writer: MessageWriter;

  constructor(
    private readonly tape: MarketTape,
    private readonly engine: EngineProcess,
    private readonly venue: ReplayVenue,
    private readonly replies: ReplyReader,
    private readonly latency: ReplayLatency,
    private readonly signal?: AbortSignal,
  ) {
    this.writer = new MessageWriter(tape);
    this.skipUndelivered();
  }

  /** Sequence number of the last message written. */
  get seq(): number {
    return this.lastSeq;
  }

  /** Messages written so far (market data and reports). */
  get messagesSent(): number {
    return this.sent;
  }

  /**
   * Runs until the data has ended, its last reports are answered and the
   * engine has nothing more to do (or after {@link MAX_ROUNDS_AFTER_END} rounds).
   *
   * @throws EngineStopped when the run is cancelled, or the engine exits, stays silent or makes too many errors.
   */
  async run(): Promise<void> {
    const venue = this.venue;
    let dataEnded = false;
    let roundsAfterEnd = 0;
    for (;;) {
      if (this.signal?.aborted) throw new EngineStopped("cancelled");
      const report = venue.nextReport();
      const tKnown = Math.min(this.nextMarketTime(), report === undefined ? Number.POSITIVE_INFINITY : report.deliverAt);
      const horizon = venue.processedUntil + this.latency.responseLatencyNs;
      if (tKnown < horizon) {
        // Deliver every known message before the horizon, in time order (market data first on a tie).
        await this.deliverBefore(horizon);
        if (dataEnded && ++roundsAfterEnd >= MAX_ROUNDS_AFTER_END) break;
        venue.compactDelivered();
        continue;
      }
      if (tKnown === Number.POSITIVE_INFINITY && !venue.hasPending()) {
        if (dataEnded) break;
        dataEnded = true;
        venue.endOfData();
        continue;
      }
      venue.advanceTo(Math.min(tKnown, horizon) + this.latency.orderLatencyNs);
    }
  }

  /** Writes up to {@link MAX_BATCH} known messages before `limit` and reads the replies. */
  private async deliverBefore(limit: number): Promise<void> {
    const lines = this.batchLines;
    const times = this.batchTimes;
    while (lines.length < MAX_BATCH) {
      const tm = this.nextMarketTime();
      const next = this.venue.nextReport();
      const to = next === undefined ? Number.POSITIVE_INFINITY : next.deliverAt;
      if (tm >= limit && to >= limit) break;
      this.lastSeq++;
      if (tm <= to) {
        lines.push(this.writer.marketLine(this.nextForEngine, this.lastSeq));
        times.push(tm);
        this.nextForEngine++;
        this.skipUndelivered();
      } else {
        lines.push(this.writer.reportLine((next as Delivery).report, to, this.lastSeq));
        times.push(to);
        this.venue.reportDelivered();
      }
    }
    const first = this.lastSeq - lines.length + 1;
    this.engine.write(lines.join(""));
    this.sent += lines.length;
    await this.replies.readReplies(times, first, performance.now());
    lines.length = 0;
    times.length = 0;
  }

  /** Time of the next trade or quote for the engine, ∞ after the last. */
  private nextMarketTime(): number {
    return this.nextForEngine < this.tape.length ? (this.tape.t[this.nextForEngine] as number) : Number.POSITIVE_INFINITY;
  }

  /** Moves past the events the engine does not hear of (depth updates, snapshots). */
  private skipUndelivered(): void {
    const tape = this.tape;
    while (
      this.nextForEngine < tape.length &&
      tape.kind[this.nextForEngine] !== EventKind.Trade &&
      tape.kind[this.nextForEngine] !== EventKind.Quote
    )
      this.nextForEngine++;
  }
}
