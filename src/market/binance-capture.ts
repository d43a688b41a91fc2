/**
 * Reading the Binance combined-stream capture format: one event a line,
 * `<local receive time, integer ns since epoch> <JSON>`, the JSON being a
 * combined-stream message (`btcusdt@trade`, `btcusdt@bookTicker`,
 * `btcusdt@depth@100ms`) or a REST depth snapshot (`{"lastUpdateId":…}`).
 * Every event is timed by its local receive time.
 */
import {
  type DetectorOptions,
  FaultDetector,
  forEachLine,
  idValue,
  MAX_LINE_CHARS,
  MalformedLine,
  malformed,
  priceText,
  qtyText,
  shown,
} from "./faults.js";
import { type Level, TapeBuilder } from "./tape-builder.js";
import { MarketDataError, type MarketTape, Side } from "./types.js";

/** How to read a capture: the fault policy and the longest quiet time that is not a gap. */
export type CaptureOptions = DetectorOptions;

const TIME = /^\d{1,20}$/;
const STREAM = /^([a-z0-9]+)@(trade|bookTicker|depth(?:@\d+ms)?)$/;
const SYMBOL = /^[A-Z0-9]+$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A line split into its receive time and parsed JSON object, or {@link MalformedLine}. */
function splitLine(text: string): { ns: bigint; json: Json } {
  if (text.length > MAX_LINE_CHARS) return malformed(`line is ${text.length} characters long; at most ${MAX_LINE_CHARS} expected`);
  if (text.startsWith("{")) return malformed("receive time missing before the JSON");
  const space = text.indexOf(" ");
  if (space < 0) return malformed("expected `<receive time ns> <JSON object>`, found no space");
  const time = text.slice(0, space);
  if (!TIME.test(time)) return malformed(`receive time ${shown(time)} is not an integer count of ns`);
  const body = text.slice(space + 1);
  if (!body.startsWith("{")) return malformed("expected a JSON object after the receive time");
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const atEnd = /end of JSON|Unterminated/i.test(message) || (position !== undefined && Number(position) >= body.trimEnd().length);
    return malformed(atEnd ? "truncated JSON" : `invalid JSON (${message})`);
  }
  if (!isObject(json)) return malformed("expected a JSON object after the receive time");
  return { ns: BigInt(time), json };
}

/** Book levels: an array of `[price, quantity]` decimal-string pairs. */
function levels(value: unknown, field: string): Level[] {
  if (!Array.isArray(value)) return malformed(value === undefined ? `${field} missing` : `${field} is not an array of levels`);
  return value.map((level: unknown, j): Level => {
    if (!Array.isArray(level) || level.length !== 2) return malformed(`${field}[${j}] ${shown(level)} is not a [price, quantity] pair`);
    return [priceText(level[0], `${field}[${j}] price`), qtyText(level[1], `${field}[${j}] quantity`)];
  });
}

/** The highest bid or lowest ask price of a book side, or undefined when it is empty. */
function best(side: readonly Level[], highest: boolean): string | undefined {
  let found: string | undefined;
  for (const [price] of side)
    if (found === undefined || (highest ? Number(price) > Number(found) : Number(price) < Number(found))) found = price;
  return found;
}

/**
 * The symbol a depth snapshot (which names none) belongs to: the first
 * stream prefix of the file upper-cased, else the first `"s"` of the file.
 */
function fileSymbol(text: string): string | undefined {
  const stream = /"stream"\s*:\s*"([a-z0-9]+)@/.exec(text);
  if (stream !== null) return (stream[1] as string).toUpperCase();
  return /"s"\s*:\s*"([A-Z0-9]+)"/.exec(text)?.[1];
}

/** Reads one capture file's text into a tape. */
class CaptureReader {
  private readonly detector: FaultDetector;
  private readonly builder = new TapeBuilder();
  private readonly snapshotSymbol: string | undefined;

  constructor(text: string, options: CaptureOptions) {
    this.detector = new FaultDetector(options);
    this.snapshotSymbol = fileSymbol(text);
  }

  /** Reads the whole text, then fails or returns the tape. */
  read(text: string, source: string): MarketTape {
    const lines = forEachLine(text, (line, number) => this.line(line, number));
    if (lines === 0) throw new MarketDataError(`${source}: empty file, no events`);
    this.detector.log.throwIfFailing(source);
    return this.builder.finish(source, this.detector.log.faults);
  }

  private line(text: string, line: number): void {
    if (this.detector.repeatsPrevious(line, text)) return;
    try {
      const { ns, json } = splitLine(text);
      if (this.event(json, line, ns)) this.detector.kept(line, ns, text);
    } catch (error) {
      if (!(error instanceof MalformedLine)) throw error;
      this.detector.malformed(line, error.message);
    }
  }

  /**
   * Checks the event's fields (malformed), then its time (unsorted), then the
   * kind's own checks, and appends it if none leaves it out; true when appended.
   */
  private event(json: Json, line: number, ns: bigint): boolean {
    if ("stream" in json) {
      const stream = json.stream;
      if (typeof stream !== "string") return malformed(`stream ${shown(stream)} is not a string`);
      const match = STREAM.exec(stream);
      if (match === null) return malformed(`unknown stream ${shown(stream)}`);
      const data = json.data;
      if (!isObject(data)) return malformed(data === undefined ? "data missing" : "data is not an object");
      const symbol = data.s;
      if (typeof symbol !== "string" || !SYMBOL.test(symbol)) return malformed(`symbol s ${shown(symbol)} is not a symbol`);
      if (symbol !== (match[1] as string).toUpperCase()) return malformed(`symbol ${shown(symbol)} does not match stream ${shown(stream)}`);
      const kind = match[2] as string;
      if (kind === "trade") return this.trade(data, symbol, line, ns);
      if (kind === "bookTicker") return this.quote(data, symbol, line, ns);
      return this.depth(data, symbol, line, ns);
    }
    if ("lastUpdateId" in json) return this.snapshot(json, line, ns);
    return malformed("neither a combined-stream event nor a depth snapshot");
  }

  private trade(data: Json, symbol: string, line: number, ns: bigint): boolean {
    const id = idValue(data.t, "trade id t");
    const price = priceText(data.p, "price p");
    const qty = qtyText(data.q, "quantity q", true);
    if (typeof data.m !== "boolean") return malformed(`buyer-is-maker m ${shown(data.m)} is not true or false`);
    if (!this.detector.inOrder(line, ns) || !this.detector.tradeId(line, symbol, id)) return false;
    this.builder.trade({ line, ns, symbol, price, qty, side: data.m ? Side.Sell : Side.Buy, id });
    return true;
  }

  private quote(data: Json, symbol: string, line: number, ns: bigint): boolean {
    const updateId = idValue(data.u, "update id u");
    const bid = priceText(data.b, "bid b", true);
    const bidQty = qtyText(data.B, "bid quantity B");
    const ask = priceText(data.a, "ask a", true);
    const askQty = qtyText(data.A, "ask quantity A");
    if (!this.detector.inOrder(line, ns) || !this.detector.quoteId(line, symbol, updateId)) return false;
    if (this.detector.crossed(line, "book ticker", bid, ask)) return false;
    this.builder.quote({ line, ns, symbol, bid, bidQty, ask, askQty, updateId });
    return true;
  }

  private depth(data: Json, symbol: string, line: number, ns: bigint): boolean {
    const firstId = idValue(data.U, "first update id U");
    const lastId = idValue(data.u, "last update id u");
    if (firstId > lastId) return malformed(`first update id U ${firstId} is after last update id u ${lastId}`);
    const bids = levels(data.b, "bids b");
    const asks = levels(data.a, "asks a");
    if (!this.detector.inOrder(line, ns)) return false;
    this.detector.depthIds(line, symbol, firstId, lastId);
    this.builder.depth({ line, ns, symbol, firstId, lastId, bids, asks });
    return true;
  }

  private snapshot(json: Json, line: number, ns: bigint): boolean {
    const lastId = idValue(json.lastUpdateId, "lastUpdateId");
    const bids = levels(json.bids, "bids");
    const asks = levels(json.asks, "asks");
    const symbol = this.snapshotSymbol;
    if (symbol === undefined) return malformed("depth snapshot names no symbol, and no other event of the file does");
    if (!this.detector.inOrder(line, ns)) return false;
    const bid = best(bids, true);
    const ask = best(asks, false);
    if (bid !== undefined && ask !== undefined && this.detector.crossed(line, "depth snapshot", bid, ask)) return false;
    this.builder.snapshot({ line, ns, symbol, lastId, bids, asks });
    return true;
  }
}

/**
 * Reads the text of a Binance combined-stream capture.
 * @param source The file, for messages.
 * @throws MarketDataError for an empty file, or listing every fault kind the policy fails on.
 */
export function parseBinanceCapture(text: string, source: string, options: CaptureOptions): MarketTape {
  return new CaptureReader(text, options).read(text, source);
}
