/**
 * The paper-trading engine protocol, version 1 (docs/paper-trading-protocol.md):
 * writing the harness's messages and reading the engine's, where every line
 * the engine writes is checked field by field before anything acts on it.
 */
import { EventKind, type MarketTape, Side } from "../market/types.js";
import type { ExchangeReport } from "./orders.js";

/** The protocol version this harness speaks. */
export const PROTOCOL_VERSION = 1;

/** Longest piece of an offending line quoted in an error. */
const QUOTE_LIMIT = 200;

/** A line the engine wrote that breaks the protocol; `line` is the offending line, shortened. */
export class ProtocolViolation extends Error {
  override readonly name = "ProtocolViolation";
  readonly line: string;
  constructor(reason: string, line: string) {
    super(reason);
    this.line = quoteLine(line);
  }
}

/** The line as quoted in reports: at most 200 characters, control characters escaped. */
export function quoteLine(line: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping them is the point
  const clean = line.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return clean.length <= QUOTE_LIMIT ? clean : `${clean.slice(0, QUOTE_LIMIT)}…`;
}

/** The order types the engine may send. */
export type OrderType = "limit" | "ioc" | "market";

/** What the engine may write. */
export type EngineMessage =
  | { readonly type: "hello"; readonly protocol: number; readonly engine: string }
  | {
      readonly type: "new";
      readonly seq: number;
      readonly clientId: string;
      readonly symbol: string;
      readonly side: Side;
      readonly orderType: OrderType;
      /** The price as written (absent for market orders). */
      readonly price: string | undefined;
      readonly qty: string;
    }
  | { readonly type: "cancel"; readonly seq: number; readonly clientId: string }
  | { readonly type: "ready"; readonly seq: number; readonly processingNs: number }
  | { readonly type: "bye"; readonly seq: number };

const CLIENT_ID = /^[A-Za-z0-9_-]{1,36}$/;
const DECIMAL = /^(0|[1-9]\d{0,17})(\.\d{1,18})?$/;

type Fields = Record<string, unknown>;

const READY = /^\{"type":"ready","seq":([1-9]\d{0,15}),"processing_ns":(0|[1-9]\d{0,15})\}$/;

function field(object: Fields, name: string, line: string): unknown {
  if (!(name in object)) throw new ProtocolViolation(`missing field "${name}"`, line);
  return object[name];
}

function seqField(object: Fields, line: string): number {
  const value = field(object, "seq", line);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)
    throw new ProtocolViolation(`field "seq" must be a positive integer, got ${JSON.stringify(value)}`, line);
  return value;
}

function stringField(object: Fields, name: string, line: string, pattern: RegExp, what: string): string {
  const value = field(object, name, line);
  if (typeof value !== "string" || !pattern.test(value))
    throw new ProtocolViolation(`field "${name}" must be ${what}, got ${JSON.stringify(value)?.slice(0, 60)}`, line);
  return value;
}

/** A positive decimal string (no sign, no exponent, no leading zeros). */
function decimalField(object: Fields, name: string, line: string): string {
  const value = stringField(object, name, line, DECIMAL, 'a decimal string like "0.001"');
  if (!/[1-9]/.test(value)) throw new ProtocolViolation(`field "${name}" must be above 0, got "${value}"`, line);
  return value;
}

/**
 * Parses one line from the engine's stdout.
 *
 * @throws ProtocolViolation naming the problem, with the line quoted.
 */
export function parseEngineLine(line: string): EngineMessage {
  // The common line, read without JSON.parse; anything else takes the checked path below.
  const ready = READY.exec(line);
  if (ready !== null) {
    const seq = Number(ready[1]);
    if (Number.isSafeInteger(seq)) return { type: "ready", seq, processingNs: Number(ready[2]) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new ProtocolViolation("not a JSON object (the line does not parse)", line);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ProtocolViolation("not a JSON object", line);
  const object = parsed as Fields;
  const type = field(object, "type", line);
  switch (type) {
    case "ready": {
      const seq = seqField(object, line);
      const ns = field(object, "processing_ns", line);
      if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0)
        throw new ProtocolViolation(`field "processing_ns" must be a number of ns ≥ 0, got ${JSON.stringify(ns)}`, line);
      return { type, seq, processingNs: ns };
    }
    case "new": {
      const seq = seqField(object, line);
      const clientId = stringField(object, "client_id", line, CLIENT_ID, "1–36 characters of A-Z a-z 0-9 _ -");
      const symbol = stringField(object, "symbol", line, /^[A-Za-z0-9._-]{1,32}$/, "a symbol");
      const sideText = stringField(object, "side", line, /^(buy|sell)$/, '"buy" or "sell"');
      const orderType = stringField(object, "order_type", line, /^(limit|ioc|market)$/, '"limit", "ioc" or "market"') as OrderType;
      const qty = decimalField(object, "qty", line);
      let price: string | undefined;
      if (orderType === "market") {
        if (object.price !== undefined) throw new ProtocolViolation('a market order must not have a "price"', line);
      } else price = decimalField(object, "price", line);
      return { type, seq, clientId, symbol, side: sideText === "buy" ? Side.Buy : Side.Sell, orderType, price, qty };
    }
    case "cancel":
      return {
        type,
        seq: seqField(object, line),
        clientId: stringField(object, "client_id", line, CLIENT_ID, "1–36 characters of A-Z a-z 0-9 _ -"),
      };
    case "hello": {
      const protocol = field(object, "protocol", line);
      if (typeof protocol !== "number" || !Number.isInteger(protocol))
        throw new ProtocolViolation(`field "protocol" must be an integer, got ${JSON.stringify(protocol)}`, line);
      const engine = field(object, "engine", line);
      if (typeof engine !== "string" || engine.length === 0 || engine.length > 200)
        throw new ProtocolViolation('field "engine" must be a name of 1–200 characters', line);
      return { type, protocol, engine };
    }
    case "bye":
      return { type, seq: seqField(object, line) };
    default:
      throw new ProtocolViolation(
        typeof type === "string" ? `unknown message type "${type.slice(0, 40)}"` : 'field "type" must be a string',
        line,
      );
  }
}

/** Decimals of a decimal string (`"61837.5"` → 1). */
export function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** `10^-decimals` as a decimal string: 2 → "0.01", 0 → "1". */
export function stepText(decimals: number): string {
  return decimals === 0 ? "1" : `0.${"0".repeat(decimals - 1)}1`;
}

/**
 * Renders a simulated time (ns after `baseSeconds` whole seconds since the
 * epoch) as the protocol's exact decimal string of ns since the epoch.
 */
export function timeText(baseSeconds: number, t: number): string {
  const seconds = Math.floor(t / 1e9);
  const ns = Math.round(t - seconds * 1e9);
  const whole = baseSeconds + seconds;
  return whole === 0 ? String(ns) : `${whole}${String(ns).padStart(9, "0")}`;
}

/** Decimal text without an exponent, at most `decimals` places, trailing zeros trimmed. */
export function decimalText(value: number, decimals: number): string {
  const fixed = value.toFixed(Math.min(decimals, 20));
  if (!fixed.includes(".")) return fixed;
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === 48) end--;
  if (fixed.charCodeAt(end - 1) === 46) end--;
  return fixed.slice(0, end);
}

/** The `hello` line that opens a replay: the instruments with their tick and lot, the risk limits and the trading mode. */
export function helloLine(
  tape: MarketTape,
  limits: { readonly maxPosition: number; readonly maxDailyLoss: number },
  tradingMode: string,
): string {
  const hello = {
    type: "hello",
    protocol: PROTOCOL_VERSION,
    symbols: tape.symbols.map((s) => ({ symbol: s.symbol, tick: stepText(s.priceDecimals), lot: stepText(s.qtyDecimals) })),
    max_position: decimalText(limits.maxPosition, 8),
    max_daily_loss: decimalText(limits.maxDailyLoss, 8),
    trading_mode: tradingMode,
  };
  return `${JSON.stringify(hello)}\n`;
}

/** The `end` line that closes a replay as message `seq`. */
export function endLine(seq: number): string {
  return `{"type":"end","seq":${seq}}\n`;
}

/** Writes the lines of a replay's market data and exchange reports, times and decimals as the tape has them. */
export class MessageWriter {
  private readonly baseSeconds: number;

  constructor(private readonly tape: MarketTape) {
    this.baseSeconds = Number(tape.baseNs / 1_000_000_000n);
  }

  /** Tape event `i` (a trade or a quote) as message `seq`. */
  marketLine(i: number, seq: number): string {
    const tape = this.tape;
    const s = tape.symbol[i] as number;
    const ts = timeText(this.baseSeconds, tape.t[i] as number);
    if (tape.kind[i] === EventKind.Trade)
      return `{"type":"trade","seq":${seq},"ts":"${ts}","symbol":"${this.symbolName(s)}","price":"${this.priceText(s, tape.price[i] as number)}","qty":"${this.qtyText(s, tape.qty[i] as number)}","side":"${tape.side[i] === Side.Buy ? "buy" : "sell"}"}\n`;
    return `{"type":"quote","seq":${seq},"ts":"${ts}","symbol":"${this.symbolName(s)}","bid":"${this.priceText(s, tape.price[i] as number)}","bid_qty":"${this.qtyText(s, tape.qty[i] as number)}","ask":"${this.priceText(s, tape.price2[i] as number)}","ask_qty":"${this.qtyText(s, tape.qty2[i] as number)}"}\n`;
  }

  /** Exchange report `report`, reaching the engine at simulated time `deliverAt`, as message `seq`. */
  reportLine(report: ExchangeReport, deliverAt: number, seq: number): string {
    const head = `{"type":"${report.type}","seq":${seq},"ts":"${timeText(this.baseSeconds, deliverAt)}","client_id":"${report.clientId}"`;
    switch (report.type) {
      case "ack":
        return `${head}}\n`;
      case "fill": {
        const pd = this.tape.symbols[report.symbol]?.priceDecimals ?? 8;
        const qd = this.tape.symbols[report.symbol]?.qtyDecimals ?? 8;
        return `${head},"price":"${decimalText(report.price, pd)}","qty":"${decimalText(report.qty, qd)}","fee":"${decimalText(report.fee, Math.min(pd + qd, 16))}","liquidity":"${report.liquidity}","leaves":"${decimalText(report.leaves, qd)}"}\n`;
      }
      case "cancelled":
      case "reject":
      case "cancel_reject":
        return `${head},"reason":${JSON.stringify(report.reason)}}\n`;
    }
  }

  private symbolName(i: number): string {
    return this.tape.symbols[i]?.symbol ?? "?";
  }

  private priceText(i: number, value: number): string {
    return decimalText(value, this.tape.symbols[i]?.priceDecimals ?? 8);
  }

  private qtyText(i: number, value: number): string {
    return decimalText(value, this.tape.symbols[i]?.qtyDecimals ?? 8);
  }
}
