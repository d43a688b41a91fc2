/**
 * Paper trading: replays a market tape through the engine process while the
 * harness plays the exchange (docs/paper-trading-protocol.md).
 *
 * Determinism comes from simulated time and a conservative schedule: the
 * exchange has processed everything before time X; any report it has not made
 * yet reaches the engine at X + response latency or later, so every known
 * message earlier than that can go to the engine now, and the exchange may
 * move on to (next message) + order latency, as no order it has not seen can
 * arrive sooner. Several messages go out per write; the engine answers each
 * in order. Nothing the engine says about its trading is used: fills,
 * positions, P&L and risk come from the harness's exchange and risk monitor.
 */

import { EventKind, type MarketTape, Side } from "../market/types.js";
import { analyzeMemoryGrowth, type MemoryGrowth, type RssSample, sampleRss } from "../perf/memory-growth.js";
import { type CpuPin, pinToCurrentCpu } from "./cpu-pin.js";
import { EngineProcess, EngineStopped } from "./engine-process.js";
import { Exchange, type ExchangeReport, type OrderRequest } from "./exchange.js";
import { type EquityPoint, EquityRecorder, maxDrawdown, sharpe } from "./metrics.js";
import type { PaperPolicy } from "./paper-policy.js";
import {
  decimalsOf,
  type EngineMessage,
  PROTOCOL_VERSION,
  ProtocolViolation,
  parseEngineLine,
  quoteLine,
  stepText,
  timeText,
} from "./protocol.js";
import { RiskMonitor } from "./risk-monitor.js";

/** Most messages written before reading replies. */
const MAX_BATCH = 2048;
/** More engine errors than this stop the run. */
const MAX_ERRORS = 1000;
/** Rounds of messages after the end of data (reports of the final cancels and what the engine does about them). */
const MAX_ROUNDS_AFTER_END = 100;
/** Time the engine gets to exit after `bye` or a closed stdin. */
const EXIT_GRACE_MS = 5000;

/** What the run needs. */
export interface PaperRunOptions {
  readonly tape: MarketTape;
  /** The engine's command, working directory and extra environment. */
  readonly engine: { readonly argv: readonly string[]; readonly cwd: string; readonly env: Readonly<Record<string, string>> };
  readonly policy: PaperPolicy;
  /** MAX_POSITION_SIZE (base units per symbol) and MAX_DAILY_LOSS (quote currency) of the environment profile. */
  readonly limits: { readonly maxPosition: number; readonly maxDailyLoss: number };
  readonly tradingMode: string;
  /** RSS sampling interval of the engine process (default 50 ms). */
  readonly rssIntervalMs?: number;
  readonly signal?: AbortSignal;
}

/** One engine error: what was wrong, at which message, with the line quoted. */
export interface EngineError {
  readonly seq: number | undefined;
  readonly error: string;
  readonly line: string;
}

/** A fill as the harness's exchange made it. */
export interface PaperFill {
  readonly t: number;
  readonly clientId: string;
  readonly symbol: string;
  readonly side: "buy" | "sell";
  readonly price: number;
  readonly qty: number;
  readonly fee: number;
  readonly liquidity: "maker" | "taker";
}

/** Everything a run measured; the report is made from it. */
export interface PaperRun {
  readonly engineName: string | undefined;
  /** The CPU the harness and the engine shared, when they were pinned. */
  readonly pinnedCpu: number | undefined;
  /** Set when the run stopped early (handshake, timeout, crash, too many errors). */
  readonly fatal: string | undefined;
  readonly errors: readonly EngineError[];
  readonly errorCount: number;
  readonly fills: readonly PaperFill[];
  readonly orders: {
    readonly sent: number;
    readonly acked: number;
    readonly rejected: number;
    readonly cancelRequests: number;
    readonly cancelled: number;
    readonly orderedQty: number;
    readonly filledQty: number;
  };
  readonly symbols: readonly {
    readonly symbol: string;
    readonly position: number;
    readonly realised: number;
    readonly unrealised: number;
    readonly fees: number;
    readonly mark: number | undefined;
  }[];
  readonly pnl: { readonly realised: number; readonly unrealised: number; readonly fees: number; readonly net: number };
  readonly equity: readonly EquityPoint[];
  readonly drawdown: ReturnType<typeof maxDrawdown>;
  readonly sharpe: ReturnType<typeof sharpe>;
  readonly breaches: readonly { readonly clientId: string; readonly reason: string }[];
  readonly warnings: readonly string[];
  readonly latency: {
    readonly messages: number;
    readonly engineNs: readonly number[];
    readonly observedNs: readonly number[];
  };
  readonly memory: MemoryGrowth | undefined;
  readonly rssSamples: readonly RssSample[];
  readonly messagesSent: number;
  readonly eventsReplayed: number;
  readonly wallMs: number;
  readonly stderrTail: string;
}

type Arrival =
  | { readonly t: number; readonly kind: "new"; readonly order: OrderRequest; readonly line: string; readonly seq: number }
  | { readonly t: number; readonly kind: "cancel"; readonly clientId: string };

interface Outgoing {
  readonly d: number;
  readonly report: ExchangeReport;
}

/** Decimal text without an exponent, at most `decimals` places, trailing zeros trimmed. */
function decimalText(value: number, decimals: number): string {
  const fixed = value.toFixed(Math.min(decimals, 20));
  if (!fixed.includes(".")) return fixed;
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 48) end--;
  if (fixed.charCodeAt(end - 1) === 46) end--;
  return fixed.slice(0, end);
}

/** Replays `options.tape` through the engine; never throws for engine misbehaviour (that is in the result). */
export async function runPaperTrading(options: PaperRunOptions): Promise<PaperRun> {
  const { tape, policy } = options;
  const L = policy.orderLatencyMs * 1e6;
  const R = policy.responseLatencyMs * 1e6;
  if (!(L + R > 0)) throw new RangeError("order_latency_ms + response_latency_ms must be above 0");
  const started = performance.now();
  const baseSeconds = Number(tape.baseNs / 1_000_000_000n);
  const symbolIndex = new Map(tape.symbols.map((s, i) => [s.symbol, i]));
  const risk = new RiskMonitor(tape.symbols.length, options.limits);
  const exchange = new Exchange(tape, { makerFeeBps: policy.makerFeeBps, takerFeeBps: policy.takerFeeBps }, (order, ex) =>
    risk.check(order, ex),
  );
  const recorder = new EquityRecorder();
  const errors: EngineError[] = [];
  let errorCount = 0;
  const fills: PaperFill[] = [];
  const orders = { sent: 0, acked: 0, rejected: 0, cancelRequests: 0, cancelled: 0, orderedQty: 0, filledQty: 0 };
  const engineNs: number[] = [];
  const observedNs: number[] = [];
  const usedIds = new Set<string>();
  let fatal: string | undefined;
  let engineName: string | undefined;
  let messagesSent = 0;

  const addError = (seq: number | undefined, error: string, line: string): void => {
    errorCount++;
    if (errors.length < MAX_ERRORS) errors.push({ seq, error, line: quoteLine(line) });
  };

  // --- the exchange side -----------------------------------------------------------------
  const n = tape.length;
  let xi = 0;
  let X = n > 0 ? (tape.t[0] as number) : 0;
  const arrivals: Arrival[] = [];
  let ai = 0;
  const outbox: Outgoing[] = [];
  let oi = 0;
  const scratch: ExchangeReport[] = [];

  const settle = (): void => {
    for (const report of scratch) {
      if (report.type === "fill") {
        risk.onFill(report);
        const symbol = tape.symbols[report.symbol]?.symbol ?? "?";
        fills.push({
          t: report.t,
          clientId: report.clientId,
          symbol,
          side: report.side === Side.Buy ? "buy" : "sell",
          price: report.price,
          qty: report.qty,
          fee: report.fee,
          liquidity: report.liquidity,
        });
        orders.filledQty += report.qty;
      } else if (report.type === "ack") orders.acked++;
      else if (report.type === "reject") orders.rejected++;
      else if (report.type === "cancelled") orders.cancelled++;
      outbox.push({ d: report.t + R, report });
    }
    scratch.length = 0;
  };

  const applyArrival = (arrival: Arrival): void => {
    if (arrival.kind === "cancel") {
      exchange.cancel(arrival.clientId, arrival.t, scratch);
      return;
    }
    const before = risk.breaches.length;
    exchange.submit(arrival.order, arrival.t, scratch);
    if (risk.breaches.length > before)
      addError(arrival.seq, `order breaches a risk limit: ${risk.breaches.at(-1)?.reason ?? ""}`, arrival.line);
  };

  /** Processes market data and order arrivals before time `h`, market data first on a tie. */
  const advanceExchange = (h: number): void => {
    for (;;) {
      const tm = xi < n ? (tape.t[xi] as number) : Number.POSITIVE_INFINITY;
      const arrival = arrivals[ai];
      const ta = arrival === undefined ? Number.POSITIVE_INFINITY : arrival.t;
      if (tm >= h && ta >= h) break;
      if (tm <= ta) {
        exchange.onMarket(xi, scratch);
        const kind = tape.kind[xi];
        if (kind === EventKind.Quote || kind === EventKind.Trade) {
          const symbol = tape.symbol[xi] as number;
          const mark = exchange.mid(symbol) ?? exchange.lastTradePrice(symbol);
          if (mark !== undefined) risk.mark(symbol, mark, tm);
          recorder.record(tm, risk.equity());
        }
        xi++;
      } else {
        applyArrival(arrival as Arrival);
        ai++;
        recorder.record(ta, risk.equity());
      }
      if (scratch.length > 0) settle();
    }
    if (ai > 4096 && ai * 2 > arrivals.length) {
      arrivals.splice(0, ai);
      ai = 0;
    }
  };

  // --- the engine side -------------------------------------------------------------------
  let di = 0; // next tape event for the engine (trades and quotes only)
  const skipUndelivered = (): void => {
    while (di < n && tape.kind[di] !== EventKind.Trade && tape.kind[di] !== EventKind.Quote) di++;
  };
  skipUndelivered();

  const sym = (i: number): string => tape.symbols[i]?.symbol ?? "?";
  const priceText = (i: number, v: number): string => decimalText(v, tape.symbols[i]?.priceDecimals ?? 8);
  const qtyText = (i: number, v: number): string => decimalText(v, tape.symbols[i]?.qtyDecimals ?? 8);

  const marketLine = (i: number, seq: number): string => {
    const s = tape.symbol[i] as number;
    const ts = timeText(baseSeconds, tape.t[i] as number);
    if (tape.kind[i] === EventKind.Trade)
      return `{"type":"trade","seq":${seq},"ts":"${ts}","symbol":"${sym(s)}","price":"${priceText(s, tape.price[i] as number)}","qty":"${qtyText(s, tape.qty[i] as number)}","side":"${tape.side[i] === Side.Buy ? "buy" : "sell"}"}\n`;
    return `{"type":"quote","seq":${seq},"ts":"${ts}","symbol":"${sym(s)}","bid":"${priceText(s, tape.price[i] as number)}","bid_qty":"${qtyText(s, tape.qty[i] as number)}","ask":"${priceText(s, tape.price2[i] as number)}","ask_qty":"${qtyText(s, tape.qty2[i] as number)}"}\n`;
  };

  const reportLine = (out: Outgoing, seq: number): string => {
    const r = out.report;
    const head = `{"type":"${r.type}","seq":${seq},"ts":"${timeText(baseSeconds, out.d)}","client_id":"${r.clientId}"`;
    switch (r.type) {
      case "ack":
        return `${head}}\n`;
      case "fill": {
        const pd = tape.symbols[r.symbol]?.priceDecimals ?? 8;
        const qd = tape.symbols[r.symbol]?.qtyDecimals ?? 8;
        return `${head},"price":"${decimalText(r.price, pd)}","qty":"${decimalText(r.qty, qd)}","fee":"${decimalText(r.fee, Math.min(pd + qd, 16))}","liquidity":"${r.liquidity}","leaves":"${decimalText(r.leaves, qd)}"}\n`;
      }
      case "cancelled":
      case "reject":
      case "cancel_reject":
        return `${head},"reason":${JSON.stringify(r.reason)}}\n`;
    }
  };

  const pin: CpuPin | undefined = policy.pinCpu ? await pinToCurrentCpu() : undefined;
  let engine: EngineProcess;
  try {
    engine = await EngineProcess.start(options.engine.argv, options.engine.cwd, options.engine.env);
  } catch (error) {
    await pin?.restore();
    throw error;
  }
  const stopSampling = new AbortController();
  const sampling = sampleRss(engine.pid, { intervalMs: options.rssIntervalMs ?? 50, signal: stopSampling.signal }).catch(
    () => [] as RssSample[],
  );
  const onAbort = (): void => {
    void engine.kill();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  /** Reads replies for messages `first..last`, acting on orders and cancels; returns false when the run must stop. */
  const readReplies = async (times: readonly number[], first: number, writtenAt: number): Promise<void> => {
    let previous = writtenAt;
    for (let k = 0; k < times.length; k++) {
      const seq = first + k;
      const msgTime = times[k] as number;
      for (;;) {
        const line = await engine.nextLine(policy.messageTimeoutMs);
        let message: EngineMessage;
        try {
          message = parseEngineLine(line);
        } catch (error) {
          if (!(error instanceof ProtocolViolation)) throw error;
          addError(seq, error.message, line);
          if (errorCount > MAX_ERRORS) throw new EngineStopped(`more than ${MAX_ERRORS} engine errors`);
          continue;
        }
        if (message.type === "hello" || message.type === "bye") {
          addError(seq, `unexpected "${message.type}" while answering message ${seq}`, line);
          continue;
        }
        if (message.seq !== seq) {
          addError(seq, `seq ${message.seq} in a reply to message ${seq}`, line);
          if (errorCount > MAX_ERRORS) throw new EngineStopped(`more than ${MAX_ERRORS} engine errors`);
          continue;
        }
        if (message.type === "ready") {
          const now = performance.now();
          engineNs.push(message.processingNs);
          observedNs.push((now - Math.max(previous, writtenAt)) * 1e6);
          previous = now;
          break;
        }
        if (message.type === "cancel") {
          if (!usedIds.has(message.clientId)) {
            addError(seq, `cancel of client_id "${message.clientId}", never used`, line);
            continue;
          }
          orders.cancelRequests++;
          arrivals.push({ t: msgTime + L, kind: "cancel", clientId: message.clientId });
          continue;
        }
        const symbol = symbolIndex.get(message.symbol);
        if (symbol === undefined) {
          addError(seq, `order for unknown symbol "${message.symbol}"`, line);
          continue;
        }
        if (usedIds.has(message.clientId)) {
          addError(seq, `client_id "${message.clientId}" used before`, line);
          continue;
        }
        const info = tape.symbols[symbol];
        if (info !== undefined && message.price !== undefined && decimalsOf(message.price) > info.priceDecimals) {
          addError(seq, `price ${message.price} is not a multiple of the tick ${stepText(info.priceDecimals)}`, line);
          continue;
        }
        if (info !== undefined && decimalsOf(message.qty) > info.qtyDecimals) {
          addError(seq, `qty ${message.qty} is not a multiple of the lot ${stepText(info.qtyDecimals)}`, line);
          continue;
        }
        usedIds.add(message.clientId);
        orders.sent++;
        const qty = Number(message.qty);
        orders.orderedQty += qty;
        const order: OrderRequest = {
          clientId: message.clientId,
          symbol,
          side: message.side,
          type: message.orderType,
          qty,
          ...(message.price === undefined ? {} : { price: Number(message.price) }),
        };
        arrivals.push({ t: msgTime + L, kind: "new", order, line, seq });
        if (errorCount > MAX_ERRORS) throw new EngineStopped(`more than ${MAX_ERRORS} engine errors`);
      }
    }
  };

  let seq = 0;
  let dataEnded = false;
  let roundsAfterEnd = 0;
  try {
    // Handshake.
    const hello = {
      type: "hello",
      protocol: PROTOCOL_VERSION,
      symbols: tape.symbols.map((s) => ({ symbol: s.symbol, tick: stepText(s.priceDecimals), lot: stepText(s.qtyDecimals) })),
      max_position: decimalText(options.limits.maxPosition, 8),
      max_daily_loss: decimalText(options.limits.maxDailyLoss, 8),
      trading_mode: options.tradingMode,
    };
    engine.write(`${JSON.stringify(hello)}\n`);
    const helloLine = await engine.nextLine(Math.max(policy.messageTimeoutMs, 10_000));
    let reply: EngineMessage;
    try {
      reply = parseEngineLine(helloLine);
    } catch (error) {
      throw new EngineStopped(`handshake failed: ${(error as Error).message}: ${quoteLine(helloLine)}`);
    }
    if (reply.type !== "hello") throw new EngineStopped(`handshake failed: expected "hello", got: ${quoteLine(helloLine)}`);
    if (reply.protocol !== PROTOCOL_VERSION)
      throw new EngineStopped(`protocol version mismatch: the engine speaks ${reply.protocol}, the harness ${PROTOCOL_VERSION}`);
    engineName = reply.engine;

    const batchLines: string[] = [];
    const batchTimes: number[] = [];
    for (;;) {
      if (options.signal?.aborted) throw new EngineStopped("cancelled");
      const tape_ = di < n ? (tape.t[di] as number) : Number.POSITIVE_INFINITY;
      const out = outbox[oi];
      const tOut = out === undefined ? Number.POSITIVE_INFINITY : out.d;
      const tKnown = Math.min(tape_, tOut);
      if (tKnown < X + R) {
        // Deliver every known message before X + R, in time order (market data first on a tie).
        const limit = X + R;
        while (batchLines.length < MAX_BATCH) {
          const tm = di < n ? (tape.t[di] as number) : Number.POSITIVE_INFINITY;
          const next = outbox[oi];
          const to = next === undefined ? Number.POSITIVE_INFINITY : next.d;
          if (tm >= limit && to >= limit) break;
          seq++;
          if (tm <= to) {
            batchLines.push(marketLine(di, seq));
            batchTimes.push(tm);
            di++;
            skipUndelivered();
          } else {
            batchLines.push(reportLine(next as Outgoing, seq));
            batchTimes.push(to);
            oi++;
          }
        }
        const first = seq - batchLines.length + 1;
        engine.write(batchLines.join(""));
        messagesSent += batchLines.length;
        await readReplies(batchTimes, first, performance.now());
        if (dataEnded && ++roundsAfterEnd >= MAX_ROUNDS_AFTER_END) break;
        batchLines.length = 0;
        batchTimes.length = 0;
        if (oi > 4096 && oi * 2 > outbox.length) {
          outbox.splice(0, oi);
          oi = 0;
        }
        continue;
      }
      const pending = ai < arrivals.length || xi < n;
      if (tKnown === Number.POSITIVE_INFINITY && !pending) {
        if (dataEnded) break;
        // End of data: open orders are cancelled, and the engine hears of it before `end`.
        dataEnded = true;
        exchange.cancelAll(X, scratch);
        settle();
        continue;
      }
      const next = Math.min(tKnown, X + R) + L;
      advanceExchange(next);
      X = next;
    }
    seq++;
    engine.write(`{"type":"end","seq":${seq}}\n`);
    const byeLine = await engine.nextLine(policy.messageTimeoutMs);
    let bye: EngineMessage | undefined;
    try {
      bye = parseEngineLine(byeLine);
    } catch {
      bye = undefined;
    }
    if (bye?.type !== "bye" || bye.seq !== seq) addError(seq, `expected {"type":"bye","seq":${seq}}`, byeLine);
  } catch (error) {
    if (!(error instanceof EngineStopped)) throw error;
    fatal = error.message;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  const exit = fatal === undefined ? await engine.stop(EXIT_GRACE_MS) : await engine.kill();
  if (fatal === undefined && (exit.code !== 0 || exit.signal !== null))
    fatal =
      exit.signal !== null ? `the engine was killed by ${exit.signal} after bye` : `the engine exited with code ${exit.code} after bye`;
  await pin?.restore();
  stopSampling.abort();
  const rssSamples = await sampling;
  let memory: MemoryGrowth | undefined;
  try {
    memory = analyzeMemoryGrowth(rssSamples, { warnPercent: policy.memoryWarnPercent, failPercent: policy.memoryFailPercent });
  } catch {
    memory = undefined;
  }
  const equity = recorder.points();
  const symbols = tape.symbols.map((s, i) => ({
    symbol: s.symbol,
    position: risk.position(i),
    realised: risk.realised(i),
    unrealised: risk.unrealised(i),
    fees: risk.fees(i),
    mark: risk.markPrice(i),
  }));
  const realised = symbols.reduce((a, s) => a + s.realised, 0);
  const unrealised = symbols.reduce((a, s) => a + s.unrealised, 0);
  const fees = symbols.reduce((a, s) => a + s.fees, 0);
  return {
    engineName,
    pinnedCpu: pin?.cpu,
    fatal,
    errors,
    errorCount,
    fills,
    orders,
    symbols,
    pnl: { realised, unrealised, fees, net: realised + unrealised - fees },
    equity,
    drawdown: maxDrawdown(equity),
    sharpe: sharpe(equity),
    breaches: risk.breaches.map((b) => ({ clientId: b.clientId, reason: b.reason })),
    warnings: risk.warnings.map((w) => w.message),
    latency: { messages: engineNs.length, engineNs, observedNs },
    memory,
    rssSamples,
    messagesSent,
    eventsReplayed: xi,
    wallMs: performance.now() - started,
    stderrTail: engine.stderr(),
  };
}
