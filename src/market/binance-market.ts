/**
 * Which Binance market a capture file is from: spot, USDⓈ-M futures or
 * COIN-M futures. Each market's messages have their own documented field
 * sets, so each line tells (or does not tell) its family:
 *
 * | message          | spot                          | futures (USD-M and COIN-M)                     |
 * |------------------|-------------------------------|------------------------------------------------|
 * | depthUpdate      | `U`, `u`                      | `U`, `u` and `pu` (the previous update's `u`)  |
 * | bookTicker       | no `e`, `E`, `T`              | `e: "bookTicker"`, `E`, `T`                    |
 * | trade            | `M`                           | `X` (`"MARKET"`)                               |
 * | aggTrade         | `M`                           | no `M`                                         |
 * | markPriceUpdate  | –                             | futures only                                   |
 * | REST depth       | `lastUpdateId`, bids, asks    | also `E`, `T`; COIN-M also `symbol`, `pair`    |
 *
 * USD-M and COIN-M share their message shapes; Binance's symbol names tell
 * them apart: COIN-M symbols are always `PAIR_PERP` or `PAIR_YYMMDD`
 * (`BTCUSD_PERP`), USD-M perpetuals have no suffix (`BTCUSDT`), and a
 * `PAIR_YYMMDD` delivery contract can be either unless a COIN-M snapshot
 * says. The first line that tells decides, unless `[paper] market` is set;
 * a later line that contradicts it is malformed, and a file nothing decides
 * is an error asking for the setting — never a guess.
 *
 * Sources: https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams,
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams,
 * https://developers.binance.com/docs/derivatives/coin-margined-futures/websocket-market-streams.
 */
import { malformed } from "./faults.js";
import { MarketDataError, type MarketType, marketName } from "./types.js";

/** What decides how depth updates chain: spot `U = previous u + 1`, futures `pu = previous u`. */
export type MarketFamily = "spot" | "futures";

/** The family of a market. */
function familyOf(market: MarketType): MarketFamily {
  return market === "spot" ? "spot" : "futures";
}

/** The futures market a symbol name tells: COIN-M names always carry `_`, USD-M perpetuals never do. */
function futuresMarketOfSymbol(symbol: string): "usdm" | "coinm" | undefined {
  if (!symbol.includes("_")) return "usdm";
  if (symbol.endsWith("_PERP")) return "coinm";
  return undefined;
}

const FAMILY_NAMES: Readonly<Record<MarketFamily, string>> = { spot: "Binance spot", futures: "Binance futures" };

/** A decision and the line that made it. */
interface Decided<T> {
  readonly value: T;
  readonly line: number;
  readonly why: string;
}

/** The file's market as its lines tell it; see the module comment for the rules. */
export class MarketDetector {
  private familyFact: Decided<MarketFamily> | undefined;
  /** The first line telling each futures market, and the first futures symbol telling neither. */
  private usdm: Decided<"usdm"> | undefined;
  private coinm: Decided<"coinm"> | undefined;
  private undecided: Decided<undefined> | undefined;
  private firstEvent: { readonly line: number; readonly what: string } | undefined;

  /**
   * @param source The file, for messages.
   * @param setting `[paper] market`, when set: lines are checked against it instead of deciding.
   */
  constructor(
    private readonly source: string,
    private readonly setting?: MarketType,
  ) {
    if (setting !== undefined) this.familyFact = { value: familyOf(setting), line: 0, why: `[paper] market = "${setting}"` };
  }

  /** Notes the first event of the file ("a trade"), for the message when nothing tells its market. */
  event(line: number, what: string): void {
    this.firstEvent ??= { line, what };
  }

  /**
   * Notes that the line is of `family` because of `why` ("a depth update with pu").
   * @throws MalformedLine when the file is already known to be of the other family.
   */
  tells(line: number, family: MarketFamily, why: string): void {
    const known = this.familyFact;
    if (known === undefined) this.familyFact = { value: family, line, why };
    else if (known.value !== family)
      malformed(`${why} is ${FAMILY_NAMES[family]} data, but ${this.reason(known)} makes this file ${FAMILY_NAMES[known.value]}`);
  }

  /** Notes an instrument's symbol, the first time the file names it: on futures, its name tells USD-M or COIN-M. */
  symbol(line: number, symbol: string): void {
    const market = futuresMarketOfSymbol(symbol);
    if (market === "usdm") this.usdm ??= { value: market, line, why: `symbol ${symbol}` };
    else if (market === "coinm") this.coinm ??= { value: market, line, why: `symbol ${symbol}` };
    else this.undecided ??= { value: undefined, line, why: `symbol ${symbol}` };
  }

  /** Notes a COIN-M REST depth snapshot (it has `symbol` and `pair`; a USD-M one has neither). */
  coinmSnapshot(line: number): void {
    this.coinm ??= { value: "coinm", line, why: 'a depth snapshot with "pair"' };
  }

  /**
   * The file's market, once every line is read.
   * @throws MarketDataError when the lines do not tell it, contradict each other or the setting.
   */
  market(): MarketType {
    const family = this.familyFact;
    if (family === undefined) {
      const first = this.firstEvent;
      throw new MarketDataError(
        `${this.source}: ${first === undefined ? "no line" : `line ${first.line} (${first.what}) and no later line`} tells Binance spot from futures data; set [paper] market = "spot", "usdm" or "coinm"`,
      );
    }
    if (family.value === "spot") return "spot";
    const { usdm, coinm, setting } = this;
    if (usdm !== undefined && coinm !== undefined)
      throw new MarketDataError(
        `${this.source}: line ${coinm.line} (${coinm.why}) is ${marketName("binance", "coinm")} data, but line ${usdm.line} (${usdm.why}) is ${marketName("binance", "usdm")}: one file holds one market`,
      );
    const told = coinm ?? usdm;
    if (setting !== undefined) {
      if (told !== undefined && told.value !== setting)
        throw new MarketDataError(
          `${this.source}: line ${told.line} (${told.why}) is ${marketName("binance", told.value)} data, but [paper] market = "${setting}"`,
        );
      return setting;
    }
    if (told !== undefined) return told.value;
    const at = this.undecided ?? family;
    throw new MarketDataError(
      `${this.source}: line ${at.line} (${at.why}): cannot tell USD-M from COIN-M futures (a delivery contract name both use, and no COIN-M depth snapshot says); set [paper] market = "usdm" or "coinm"`,
    );
  }

  private reason(known: Decided<MarketFamily>): string {
    return known.line === 0 ? known.why : `line ${known.line} (${known.why})`;
  }
}
