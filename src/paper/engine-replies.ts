/**
 * What the engine sends back during a replay, checked before anything acts on
 * it: each message the harness wrote is answered by zero or more orders and
 * cancels and then `ready` with the same seq. Lines that break the protocol,
 * carry another seq, cancel an id never used, reuse an id, name an unknown
 * symbol or leave the tick or lot are engine errors; the rest go to the venue
 * after the order latency. Nothing the engine says about its trading is used.
 */
import type { MarketTape } from "../market/types.js";
import type { EngineErrors } from "./engine-errors.js";
import type { EngineProcess } from "./engine-process.js";
import type { OrderRequest } from "./orders.js";
import { decimalsOf, type EngineMessage, ProtocolViolation, parseEngineLine, stepText } from "./protocol.js";
import type { ReplayVenue } from "./venue.js";

/** A message the engine may write in reply to one of the harness's. */
type Reply = Extract<EngineMessage, { readonly type: "new" | "cancel" | "ready" }>;

/** Reads the engine's replies, hands its orders to the venue and measures how fast it answered. */
export class ReplyReader {
  /** The processing time the engine reported for each message, in ns. */
  readonly engineNs: number[] = [];
  /** The time from writing a batch (or the previous reply) to each `ready`, in ns, as the harness saw it. */
  readonly observedNs: number[] = [];
  private readonly usedIds = new Set<string>();
  private readonly symbolIndex: Map<string, number>;

  /**
   * @param timeoutMs longest wait for one line of the engine.
   * @param orderLatencyNs engine → exchange latency in simulated time.
   */
  constructor(
    private readonly engine: EngineProcess,
    private readonly tape: MarketTape,
    private readonly venue: ReplayVenue,
    private readonly errors: EngineErrors,
    private readonly timeoutMs: number,
    private readonly orderLatencyNs: number,
  ) {
    this.symbolIndex = new Map(tape.symbols.map((s, i) => [s.symbol, i]));
  }

  /**
   * Reads the replies to the messages `first`, `first + 1`, … at simulated
   * times `times`, written at `writtenAt` (performance.now()).
   *
   * @throws EngineStopped when the engine exits, stays silent too long or makes too many errors.
   */
  async readReplies(times: readonly number[], first: number, writtenAt: number): Promise<void> {
    let previous = writtenAt;
    for (let k = 0; k < times.length; k++) {
      const seq = first + k;
      const msgTime = times[k] as number;
      for (;;) {
        const line = await this.engine.nextLine(this.timeoutMs);
        const message = this.replyTo(seq, line);
        if (message === undefined) continue;
        if (message.type === "ready") {
          const now = performance.now();
          this.engineNs.push(message.processingNs);
          this.observedNs.push((now - Math.max(previous, writtenAt)) * 1e6);
          previous = now;
          break;
        }
        if (message.type === "cancel") this.acceptCancel(message, seq, msgTime, line);
        else this.acceptOrder(message, seq, msgTime, line);
      }
    }
  }

  /** `line` as a reply to message `seq`, or undefined when it is none (the error recorded). */
  private replyTo(seq: number, line: string): Reply | undefined {
    let message: EngineMessage;
    try {
      message = parseEngineLine(line);
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      this.errors.add(seq, error.message, line);
      this.errors.stopIfTooMany();
      return undefined;
    }
    if (message.type === "hello" || message.type === "bye") {
      this.errors.add(seq, `unexpected "${message.type}" while answering message ${seq}`, line);
      return undefined;
    }
    if (message.seq !== seq) {
      this.errors.add(seq, `seq ${message.seq} in a reply to message ${seq}`, line);
      this.errors.stopIfTooMany();
      return undefined;
    }
    return message;
  }

  private acceptCancel(message: Extract<Reply, { type: "cancel" }>, seq: number, msgTime: number, line: string): void {
    if (!this.usedIds.has(message.clientId)) {
      this.errors.add(seq, `cancel of client_id "${message.clientId}", never used`, line);
      return;
    }
    this.venue.cancelAt(msgTime + this.orderLatencyNs, message.clientId);
  }

  private acceptOrder(message: Extract<Reply, { type: "new" }>, seq: number, msgTime: number, line: string): void {
    const order = this.checkedOrder(message, seq, line);
    if (order === undefined) return;
    this.usedIds.add(message.clientId);
    this.venue.submitAt(msgTime + this.orderLatencyNs, order, line, seq);
    this.errors.stopIfTooMany();
  }

  /** The order of a `new` message, or undefined when the engine got it wrong (the error recorded). */
  private checkedOrder(message: Extract<Reply, { type: "new" }>, seq: number, line: string): OrderRequest | undefined {
    const symbol = this.symbolIndex.get(message.symbol);
    if (symbol === undefined) {
      this.errors.add(seq, `order for unknown symbol "${message.symbol}"`, line);
      return undefined;
    }
    if (this.usedIds.has(message.clientId)) {
      this.errors.add(seq, `client_id "${message.clientId}" used before`, line);
      return undefined;
    }
    const info = this.tape.symbols[symbol];
    if (info !== undefined && message.price !== undefined && decimalsOf(message.price) > info.priceDecimals) {
      this.errors.add(seq, `price ${message.price} is not a multiple of the tick ${stepText(info.priceDecimals)}`, line);
      return undefined;
    }
    if (info !== undefined && decimalsOf(message.qty) > info.qtyDecimals) {
      this.errors.add(seq, `qty ${message.qty} is not a multiple of the lot ${stepText(info.qtyDecimals)}`, line);
      return undefined;
    }
    return {
      clientId: message.clientId,
      symbol,
      side: message.side,
      type: message.orderType,
      qty: Number(message.qty),
      ...(message.price === undefined ? {} : { price: Number(message.price) }),
    };
  }
}
