/**
 * Reading Binance public-data CSVs (data.binance.vision): trades
 * (`id,price,qty,quote_qty,time,is_buyer_maker,is_best_match`) and aggTrades
 * (`agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match`),
 * with or without a header line, times in ms (13 digits) or, in spot files
 * from 2025, µs (16 digits). Every row becomes a Trade event at its exchange time.
 * These layouts (with `is_best_match`) are Binance spot's: every instrument
 * read here is spot (https://github.com/binance/binance-public-data).
 */
import { basename } from "node:path";
import {
  type DetectorOptions,
  FaultDetector,
  forEachLine,
  MAX_LINE_CHARS,
  MalformedLine,
  malformed,
  priceText,
  qtyText,
  shown,
} from "./faults.js";
import { TapeBuilder } from "./tape-builder.js";
import { MarketDataError, type MarketTape, type MarketType, marketName, Side } from "./types.js";

/** The two CSV layouts. */
export type CsvKind = "trades" | "aggTrades";

/** How to read a CSV: the detector's options, plus the symbol and layout when the file name does not tell them. */
export interface CsvOptions extends DetectorOptions {
  /** The symbol of every row; by default taken from a file name like `BTCUSDT-trades-2024-08-08.csv`. */
  readonly symbol?: string;
  /** The layout; by default from the header, the file name, or the first row's column count. */
  readonly kind?: CsvKind;
  /** `[paper] market`: these layouts are spot's, so anything else is refused. */
  readonly market?: MarketType;
}

interface Layout {
  readonly header: string;
  readonly columns: number;
  readonly time: number;
  readonly maker: number;
  /** Columns that must be ids (digits), by name. */
  readonly ids: readonly (readonly [number, string])[];
  /** Columns that must be decimals other than price and quantity. */
  readonly decimals: readonly (readonly [number, string])[];
}

const LAYOUTS: Readonly<Record<CsvKind, Layout>> = {
  trades: {
    header: "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match",
    columns: 7,
    time: 4,
    maker: 5,
    ids: [[0, "id"]],
    decimals: [[3, "quote_qty"]],
  },
  aggTrades: {
    header: "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match",
    columns: 8,
    time: 5,
    maker: 6,
    ids: [
      [0, "agg_trade_id"],
      [3, "first_trade_id"],
      [4, "last_trade_id"],
    ],
    decimals: [],
  },
};

const NAME = /^([A-Z0-9]+)-(trades|aggTrades)-\d{4}-\d{2}(?:-\d{2})?\.csv(?:\.gz)?$/;
const DIGITS = /^\d{1,20}$/;
const BOOLEANS: Readonly<Record<string, boolean>> = { True: true, true: true, False: false, false: false };

/** Time units by digit count: ns per unit. */
const UNITS: Readonly<Record<number, { name: string; ns: bigint }>> = {
  13: { name: "milliseconds", ns: 1_000_000n },
  16: { name: "microseconds", ns: 1_000n },
};

/** The symbol and layout a file name like `BTCUSDT-aggTrades-2025-01-01.csv` tells. */
export function csvNameFacts(source: string): { symbol: string; kind: CsvKind } | undefined {
  const match = NAME.exec(basename(source));
  return match === null ? undefined : { symbol: match[1] as string, kind: match[2] as CsvKind };
}

/** The first non-blank line and its number. */
function firstLine(text: string): { text: string; number: number } | undefined {
  let start = 0;
  for (let number = 1; start < text.length; number++) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, Math.min(end, start + 4096)).trim();
    if (line !== "") return { text: line, number };
    start = end + 1;
  }
  return undefined;
}

/** The layout of the header line, undefined when `line` is a data row; an error for an unknown header. */
function headerKind(line: { text: string; number: number }, source: string): CsvKind | undefined {
  if (/^\d/.test(line.text)) return undefined;
  for (const kind of ["trades", "aggTrades"] as const) if (line.text === LAYOUTS[kind].header) return kind;
  throw new MarketDataError(
    `${source}: line ${line.number}: unknown CSV header ${shown(line.text)}; expected "${LAYOUTS.trades.header}" (trades) or "${LAYOUTS.aggTrades.header}" (aggTrades)`,
  );
}

/** Reads one CSV file's text into a tape. */
class CsvReader {
  private readonly detector: FaultDetector;
  private readonly builder = new TapeBuilder();
  private unit: { name: string; ns: bigint; line: number } | undefined;

  constructor(
    private readonly source: string,
    private readonly symbol: string,
    private readonly layout: Layout,
    private readonly headerLine: number | undefined,
    options: DetectorOptions,
  ) {
    this.detector = new FaultDetector(options);
  }

  /** Reads the whole text, then fails or returns the tape. */
  read(text: string): MarketTape {
    forEachLine(text, (line, number) => {
      if (number !== this.headerLine) this.row(line, number);
    });
    this.detector.log.throwIfFailing(this.source);
    return this.builder.finish({ source: this.source, venue: "binance", market: "spot", faults: this.detector.log.faults, ignored: [] });
  }

  private row(text: string, line: number): void {
    if (this.detector.repeatsPrevious(line, text)) return;
    try {
      const { ns, id, price, qty, side } = this.fields(text, line);
      if (!this.detector.inOrder(line, ns) || !this.detector.tradeId(line, this.symbol, id)) return;
      this.builder.trade({ line, ns, symbol: this.symbol, price, qty, side, id });
      this.detector.kept(line, ns, text);
    } catch (error) {
      if (!(error instanceof MalformedLine)) throw error;
      this.detector.malformed(line, error.message);
    }
  }

  /** The checked fields of a row, or {@link MalformedLine}. */
  private fields(text: string, line: number): { ns: bigint; id: number; price: string; qty: string; side: Side } {
    if (text.length > MAX_LINE_CHARS) return malformed(`line is ${text.length} characters long; at most ${MAX_LINE_CHARS} expected`);
    const cells = text.split(",");
    const layout = this.layout;
    if (cells.length !== layout.columns) return malformed(`expected ${layout.columns} columns (${layout.header}), found ${cells.length}`);
    const cell = (i: number) => (cells[i] as string).trim();
    for (const [i, name] of layout.ids)
      if (!DIGITS.test(cell(i)) || !Number.isSafeInteger(Number(cell(i)))) malformed(`${name} ${shown(cell(i))} is not an id`);
    for (const [i, name] of layout.decimals) qtyText(cell(i), name);
    const price = priceText(cell(1), "price");
    const qty = qtyText(cell(2), "quantity", true);
    const maker = BOOLEANS[cell(layout.maker)];
    if (maker === undefined) return malformed(`is_buyer_maker ${shown(cell(layout.maker))} is not True or False`);
    const best = cell(layout.columns - 1);
    if (BOOLEANS[best] === undefined) return malformed(`is_best_match ${shown(best)} is not True or False`);
    return { ns: this.time(cell(layout.time), line), id: Number(cell(0)), price, qty, side: maker ? Side.Sell : Side.Buy };
  }

  /** A time cell in ns; the first row fixes the file's unit, and a row in the other unit rejects the file. */
  private time(text: string, line: number): bigint {
    const unit = DIGITS.test(text) ? UNITS[text.length] : undefined;
    if (unit === undefined) return malformed(`time ${shown(text)} is neither milliseconds (13 digits) nor microseconds (16 digits)`);
    if (this.unit === undefined) this.unit = { ...unit, line };
    else if (this.unit.ns !== unit.ns)
      throw new MarketDataError(
        `${this.source}: line ${line}: time ${text} is in ${unit.name}, but the file's first row (line ${this.unit.line}) is in ${this.unit.name}: a file mixing time units is rejected`,
      );
    return BigInt(text) * unit.ns;
  }
}

/**
 * Reads the text of a Binance trades or aggTrades CSV.
 * @param source The file, for messages; its name gives the symbol and layout unless `options` do.
 * @throws MarketDataError for an empty file, an unknown symbol or header, mixed time units,
 *   a market other than spot, or listing every fault kind the policy fails on.
 */
export function parseBinanceCsv(text: string, source: string, options: CsvOptions): MarketTape {
  const first = firstLine(text);
  if (first === undefined) throw new MarketDataError(`${source}: empty file, no rows`);
  if (options.market !== undefined && options.market !== "spot")
    throw new MarketDataError(
      `${source}: a Binance spot trades or aggTrades CSV (the layouts read here), but [paper] market = "${options.market}" (${marketName("binance", options.market)})`,
    );
  const named = csvNameFacts(source);
  const symbol = options.symbol ?? named?.symbol;
  if (symbol === undefined || symbol === "")
    throw new MarketDataError(
      `${source}: cannot tell the symbol: name the file like BTCUSDT-trades-2024-08-08.csv or give the symbol option`,
    );
  const fromHeader = headerKind(first, source);
  if (fromHeader !== undefined && options.kind !== undefined && fromHeader !== options.kind)
    throw new MarketDataError(`${source}: line ${first.number}: the header is the ${fromHeader} layout, but ${options.kind} was asked for`);
  const columns = first.text.split(",").length;
  const kind = options.kind ?? fromHeader ?? named?.kind ?? (columns === 7 ? "trades" : columns === 8 ? "aggTrades" : undefined);
  if (kind === undefined)
    throw new MarketDataError(`${source}: line ${first.number}: ${columns} columns: neither trades (7 columns) nor aggTrades (8 columns)`);
  const headerLine = fromHeader === undefined ? undefined : first.number;
  return new CsvReader(source, symbol, LAYOUTS[kind], headerLine, options).read(text);
}
