/**
 * Reading the Binance combined-stream capture format: one event a line,
 * `<local receive time, integer ns since epoch> <JSON>`, the JSON being a
 * combined-stream message of Binance spot, USDⓈ-M or COIN-M futures, or a
 * REST depth snapshot (`{"lastUpdateId":…}`). Every event is timed by its
 * local receive time.
 *
 * | stream                                            | becomes                                                       |
 * |---------------------------------------------------|---------------------------------------------------------------|
 * | `<s>@trade`                                       | a Trade; a futures record with `X: "NA"` (price and quantity 0: no execution) is ignored, counted, its id still checked |
 * | `<s>@aggTrade`                                    | a Trade (aggregate id `a`) when the file has no `<s>@trade`; else ignored, counted |
 * | `<s>@bookTicker`                                  | a Quote                                                       |
 * | `<s>@depth`, `<s>@depth@0ms/100ms/250ms/500ms`    | a Depth update, chained and aligned per market (depth-sync.ts) |
 * | `<s>@depth5/10/20[@…ms]` (partial book)           | ignored, counted: a top-N book, not updates to the full book   |
 * | `<s>@markPrice[@1s]`                              | ignored, counted: no funding or mark-price margin is simulated |
 * | REST snapshot                                     | a Snapshot                                                    |
 *
 * The market comes from the lines (binance-market.ts) or `[paper] market`.
 * Payloads: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams,
 * https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams.
 */
import { MarketDetector, type MarketFamily } from "./binance-market.js";
import { DepthChain } from "./depth-sync.js";
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
import { type IgnoredEvents, type IgnoredKind, MarketDataError, type MarketTape, type MarketType, Side } from "./types.js";

/** How to read a capture: the fault policy, the longest quiet time that is not a gap, and the market when set. */
export interface CaptureOptions extends DetectorOptions {
  /** `[paper] market`: the lines are checked against it instead of telling it. */
  readonly market?: MarketType;
}

const TIME = /^\d{1,20}$/;
/** Groups: 1 symbol; 2 trade, aggTrade or bookTicker; 3 markPrice; 4 a diff depth stream's speed; 5 a partial depth stream. */
const STREAM =
  /^([a-z0-9_]+)@(?:(trade|aggTrade|bookTicker)|(markPrice)(?:@1s)?|depth(?:@(\d{1,4})ms)?|(depth(?:5|10|20))(?:@\d{1,4}ms)?)$/;
const SYMBOL = /^[A-Z0-9]+(?:_[A-Z0-9]+)?$/;
/** Diff depth speeds only futures streams have (spot: 1000 ms and 100 ms). */
const FUTURES_SPEEDS = new Set(["0", "250", "500"]);

/** The event type `e` each stream's payload names, where it names one. */
const EVENT_TYPES = {
  trade: "trade",
  aggTrade: "aggTrade",
  bookTicker: "bookTicker",
  depth: "depthUpdate",
  markPrice: "markPriceUpdate",
} as const;
type StreamKind = keyof typeof EVENT_TYPES;

/** Each stream's events, for messages. */
const EVENT_NAMES: Readonly<Record<StreamKind, string>> = {
  trade: "a trade",
  aggTrade: "an aggTrade",
  bookTicker: "a book ticker",
  depth: "a depth update",
  markPrice: "a markPriceUpdate",
};

/** Why each kind of ignored message is left out. */
const IGNORED_REASONS: Readonly<Record<IgnoredKind, string>> = {
  aggTrade: "the file has the same symbol's @trade stream, which the aggregates repeat",
  markPrice: "mark price and funding are not simulated",
  partialDepth: "a top-N book, not updates to the full book the depth stream keeps",
  tradeMarker: 'futures trade records that are no execution (X "NA", price and quantity 0)',
};

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
  const stream = /"stream"\s*:\s*"([a-z0-9_]+)@/.exec(text);
  if (stream !== null) return (stream[1] as string).toUpperCase();
  return /"s"\s*:\s*"([A-Z0-9_]+)"/.exec(text)?.[1];
}

/** Reads one capture file's text into a tape. */
class CaptureReader {
  private readonly detector: FaultDetector;
  private readonly market: MarketDetector;
  private readonly builder = new TapeBuilder();
  private readonly snapshotSymbol: string | undefined;
  private readonly chains = new Map<string, DepthChain>();
  private readonly symbols = new Set<string>();
  /** Per symbol, whether the file has its @trade stream (then its aggTrades are ignored). */
  private readonly tradeStreams = new Map<string, boolean>();
  private readonly ignored = new Map<IgnoredKind, { count: number; firstLine: number }>();

  constructor(
    private readonly text: string,
    private readonly source: string,
    options: CaptureOptions,
  ) {
    this.detector = new FaultDetector(options);
    this.market = new MarketDetector(source, options.market);
    this.snapshotSymbol = fileSymbol(text);
  }

  /** Reads the whole text, then fails or returns the tape. */
  read(): MarketTape {
    const lines = forEachLine(this.text, (line, number) => this.line(line, number));
    if (lines === 0) throw new MarketDataError(`${this.source}: empty file, no events`);
    this.detector.log.throwIfFailing(this.source);
    // A file without events has no instrument for a market to key.
    const market = this.builder.length === 0 ? "spot" : this.market.market();
    const ignored = [...this.ignored].map(([kind, seen]): IgnoredEvents => ({ kind, ...seen, reason: IGNORED_REASONS[kind] }));
    return this.builder.finish({ source: this.source, venue: "binance", market, faults: this.detector.log.faults, ignored });
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
      // A spot partial book names no symbol: counted before the symbol checks.
      if (match[5] !== undefined) return this.ignore("partialDepth", line);
      const symbol = data.s;
      if (typeof symbol !== "string" || !SYMBOL.test(symbol)) return malformed(`symbol s ${shown(symbol)} is not a symbol`);
      if (symbol.toLowerCase() !== match[1]) return malformed(`symbol ${shown(symbol)} does not match stream ${shown(stream)}`);
      const kind = (match[2] ?? match[3] ?? "depth") as StreamKind;
      const type = EVENT_TYPES[kind];
      if (data.e !== undefined && data.e !== type) return malformed(`event type e ${shown(data.e)} is not "${type}" (stream ${stream})`);
      this.market.event(line, EVENT_NAMES[kind]);
      if (!this.symbols.has(symbol)) {
        this.symbols.add(symbol);
        this.market.symbol(line, symbol);
      }
      if (kind === "trade") return this.trade(data, symbol, line, ns);
      if (kind === "aggTrade") return this.aggTrade(data, symbol, line, ns);
      if (kind === "bookTicker") return this.quote(data, symbol, line, ns);
      if (kind === "markPrice") {
        this.market.tells(line, "futures", "a markPriceUpdate");
        return this.ignore("markPrice", line);
      }
      return this.depth(data, symbol, line, ns, match[4]);
    }
    if ("lastUpdateId" in json) {
      this.market.event(line, "a depth snapshot");
      return this.snapshot(json, line, ns);
    }
    return malformed("neither a combined-stream event nor a depth snapshot");
  }

  private ignore(kind: IgnoredKind, line: number): false {
    const seen = this.ignored.get(kind);
    if (seen === undefined) this.ignored.set(kind, { count: 1, firstLine: line });
    else seen.count++;
    return false;
  }

  private trade(data: Json, symbol: string, line: number, ns: bigint): boolean {
    const id = idValue(data.t, "trade id t");
    const type = data.X;
    if (type !== undefined && typeof type !== "string") return malformed(`trade type X ${shown(type)} is not a string`);
    if (type === "NA") return this.tradeMarker(data, symbol, line, ns, id);
    const price = priceText(data.p, "price p");
    const qty = qtyText(data.q, "quantity q", true);
    if (typeof data.m !== "boolean") return malformed(`buyer-is-maker m ${shown(data.m)} is not true or false`);
    if (type !== undefined) this.market.tells(line, "futures", "a trade with X");
    else if (data.M !== undefined) this.market.tells(line, "spot", "a trade with M");
    if (!this.detector.inOrder(line, ns) || !this.detector.tradeId(line, symbol, id)) return false;
    this.builder.trade({ line, ns, symbol, price, qty, side: data.m ? Side.Sell : Side.Buy, id });
    return true;
  }

  /**
   * A futures trade record that is no execution (`X: "NA"`, price and
   * quantity 0, seen on the live USD-M stream): left out and counted, its
   * trade id still checked, as it takes a place in the sequence.
   */
  private tradeMarker(data: Json, symbol: string, line: number, ns: bigint, id: number): false {
    priceText(data.p, "price p", true);
    qtyText(data.q, "quantity q");
    this.market.tells(line, "futures", "a trade with X");
    if (this.detector.inOrder(line, ns)) this.detector.tradeId(line, symbol, id);
    return this.ignore("tradeMarker", line);
  }

  /** An aggregate trade: one taker order's fills at one price, a Trade when the file does not also have the trades. */
  private aggTrade(data: Json, symbol: string, line: number, ns: bigint): boolean {
    const id = idValue(data.a, "aggregate trade id a");
    const price = priceText(data.p, "price p");
    const qty = qtyText(data.q, "quantity q", true);
    const first = idValue(data.f, "first trade id f");
    const last = idValue(data.l, "last trade id l");
    if (first > last) return malformed(`first trade id f ${first} is after last trade id l ${last}`);
    if (typeof data.m !== "boolean") return malformed(`buyer-is-maker m ${shown(data.m)} is not true or false`);
    if (data.M !== undefined) this.market.tells(line, "spot", "an aggTrade with M");
    else this.market.tells(line, "futures", "an aggTrade without M");
    let traded = this.tradeStreams.get(symbol);
    if (traded === undefined) {
      traded = this.text.includes(`"${symbol.toLowerCase()}@trade"`);
      this.tradeStreams.set(symbol, traded);
    }
    if (traded) return this.ignore("aggTrade", line);
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
    if (data.E !== undefined || data.T !== undefined || data.e !== undefined) {
      idValue(data.E, "event time E");
      idValue(data.T, "transaction time T");
      this.market.tells(line, "futures", "a book ticker with E and T");
    } else this.market.tells(line, "spot", "a book ticker without E or T");
    if (!this.detector.inOrder(line, ns) || !this.detector.quoteId(line, symbol, updateId)) return false;
    if (this.detector.crossed(line, "book ticker", bid, ask)) return false;
    this.builder.quote({ line, ns, symbol, bid, bidQty, ask, askQty, updateId });
    return true;
  }

  private depth(data: Json, symbol: string, line: number, ns: bigint, speed: string | undefined): boolean {
    const firstId = idValue(data.U, "first update id U");
    const lastId = idValue(data.u, "last update id u");
    if (firstId > lastId) return malformed(`first update id U ${firstId} is after last update id u ${lastId}`);
    const previous = data.pu === undefined ? undefined : idValue(data.pu, "previous update id pu");
    const bids = levels(data.b, "bids b");
    const asks = levels(data.a, "asks a");
    if (previous !== undefined) this.market.tells(line, "futures", "a depth update with pu");
    else if (speed !== undefined && FUTURES_SPEEDS.has(speed))
      return malformed(`previous update id pu missing: depth@${speed}ms is a futures stream, and futures depth updates carry pu`);
    else this.market.tells(line, "spot", "a depth update without pu");
    if (!this.detector.inOrder(line, ns)) return false;
    const row = this.builder.depth({ line, ns, symbol, firstId, lastId, bids, asks });
    this.chain(symbol, previous === undefined ? "spot" : "futures").update(line, { first: firstId, last: lastId, previous }, row);
    return true;
  }

  private snapshot(json: Json, line: number, ns: bigint): boolean {
    const lastId = idValue(json.lastUpdateId, "lastUpdateId");
    const bids = levels(json.bids, "bids");
    const asks = levels(json.asks, "asks");
    let family: MarketFamily = "spot";
    if (json.E !== undefined || json.T !== undefined) {
      idValue(json.E, "event time E");
      idValue(json.T, "transaction time T");
      family = "futures";
      this.market.tells(line, family, "a depth snapshot with E and T");
    } else this.market.tells(line, family, "a depth snapshot without E or T");
    let symbol = this.snapshotSymbol;
    if (json.symbol !== undefined || json.pair !== undefined) {
      if (family === "spot")
        return malformed('a depth snapshot with "symbol" or "pair" but without E and T is no Binance REST depth response');
      if (typeof json.symbol !== "string" || !SYMBOL.test(json.symbol)) return malformed(`symbol ${shown(json.symbol)} is not a symbol`);
      if (typeof json.pair !== "string" || !SYMBOL.test(json.pair)) return malformed(`pair ${shown(json.pair)} is not a symbol`);
      symbol = json.symbol;
      this.market.coinmSnapshot(line);
    }
    if (symbol === undefined) return malformed("depth snapshot names no symbol, and no other event of the file does");
    if (!this.detector.inOrder(line, ns)) return false;
    const bid = best(bids, true);
    const ask = best(asks, false);
    if (bid !== undefined && ask !== undefined && this.detector.crossed(line, "depth snapshot", bid, ask)) return false;
    if (!this.symbols.has(symbol)) {
      this.symbols.add(symbol);
      this.market.symbol(line, symbol);
    }
    const row = this.builder.snapshot({ line, ns, symbol, lastId, bids, asks });
    this.chain(symbol, family).snapshot(line, lastId, row);
    return true;
  }

  /** The depth chain of `symbol`, made with the family of the line that first needs it (the file's, by then). */
  private chain(symbol: string, family: MarketFamily): DepthChain {
    let chain = this.chains.get(symbol);
    if (chain === undefined) {
      chain = new DepthChain(family, symbol, this.detector.log, (row) => this.builder.markBroken(row));
      this.chains.set(symbol, chain);
    }
    return chain;
  }
}

/**
 * Reads the text of a Binance combined-stream capture.
 * @param source The file, for messages.
 * @throws MarketDataError for an empty file, a market the lines do not tell (or contradict),
 *   or listing every fault kind the policy fails on.
 */
export function parseBinanceCapture(text: string, source: string, options: CaptureOptions): MarketTape {
  return new CaptureReader(text, source, options).read();
}
