/**
 * The paper-trading engine protocol, version 1 (docs/paper-trading-protocol.md):
 * writing the harness's messages and reading the engine's, where every line
 * the engine writes is checked field by field before anything acts on it.
 */
import { Side } from "../market/types.js";

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
