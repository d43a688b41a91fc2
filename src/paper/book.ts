/**
 * A symbol's book in the simulated exchange, rebuilt from the tape: the top
 * of book from Quote events; the levels behind it from a Snapshot plus the
 * Depth updates newer than it (update id u > the snapshot's lastUpdateId),
 * the ones received before the snapshot included (re-applied when it arrives,
 * as the venue's buffering procedure does); quantity 0 removes a level. An
 * event the reader marked {@link BookSync.Broken} drops the L2 book until the
 * next usable snapshot. When both exist the quote gives the best level and L2
 * only the levels behind it.
 */
import { BookSync, EventKind, type MarketTape, Side } from "../market/types.js";
import { BookSide } from "./book-side.js";

const DEPTH = EventKind.Depth;
const BROKEN = BookSync.Broken;

/** Both sides of one symbol's book, what is known of it, and how many of our orders rest on it. */
export class Book {
  readonly bid = new BookSide(1);
  readonly ask = new BookSide(-1);
  hasQuote = false;
  hasSnapshot = false;
  snapshotId = 0;
  /** Resting orders on both sides. */
  resting = 0;

  /** The side our orders of `side` rest on. */
  sideOf(side: Side): BookSide {
    return side === Side.Buy ? this.bid : this.ask;
  }

  /** Quantity the book shows at `key` on `side`: 0 if better than the best, ∞ if unknown. */
  displayedAt(side: BookSide, key: number): number {
    if (this.hasQuote) {
      if (key > side.quoteKey) return 0;
      if (key === side.quoteKey) return side.quoteQty;
      return this.hasSnapshot ? side.l2At(key) : Number.POSITIVE_INFINITY;
    }
    if (this.hasSnapshot) {
      if (side.size === 0 || key > side.bestKey()) return 0;
      return side.l2At(key);
    }
    return 0;
  }

  /** Best price still available on `side` (after what our orders took), or undefined without one. */
  bestPrice(side: BookSide): number | undefined {
    if (this.hasQuote && side.quoteQty > 0) return side.sign * side.quoteKey;
    if (!this.hasSnapshot) return undefined;
    const c = side.behind(this.hasQuote);
    return c >= 0 ? side.sign * (side.keys[(side.start[c] as number) + side.pos] as number) : undefined;
  }

  /** Takes the best bid and ask of Quote event `i` as the top of book. */
  applyQuote(tape: MarketTape, i: number): void {
    this.hasQuote = true;
    const bid = tape.price[i] as number;
    const ask = tape.price2[i] as number;
    this.bid.quoteKey = bid > 0 ? bid : Number.NEGATIVE_INFINITY;
    this.bid.quoteQty = bid > 0 ? (tape.qty[i] as number) : 0;
    this.ask.quoteKey = ask > 0 ? -ask : Number.NEGATIVE_INFINITY;
    this.ask.quoteQty = ask > 0 ? (tape.qty2[i] as number) : 0;
  }

  /** Replaces the L2 book with Snapshot event `i` and the buffered updates newer than it. */
  applySnapshot(tape: MarketTape, i: number): void {
    this.hasSnapshot = true;
    this.snapshotId = tape.id[i] as number;
    this.bid.clear();
    this.ask.clear();
    this.applyLevels(tape, i);
    this.applyBuffered(tape, i);
  }

  /** Forgets the L2 book: until the next usable snapshot only the quote is known. */
  dropL2(): void {
    this.hasSnapshot = false;
    this.bid.clear();
    this.ask.clear();
  }

  /** Sets the levels of Depth or Snapshot event `i`. */
  applyLevels(tape: MarketTape, i: number): void {
    const start = tape.levelStart[i] as number;
    const end = start + (tape.levelCount[i] as number);
    const prices = tape.levelPrice;
    const qtys = tape.levelQty;
    const sides = tape.levelSide;
    for (let j = start; j < end; ) {
      // A run of levels of one side, best first in Binance data.
      const code = sides[j];
      const side = code === Side.Buy ? this.bid : this.ask;
      const sign = side.sign;
      do {
        side.set(sign * (prices[j] as number), qtys[j] as number);
        j++;
      } while (j < end && sides[j] === code);
    }
  }

  /**
   * Applies, in order, the depth updates of snapshot `i`'s symbol received
   * before it but newer than it: back to the first one it already holds, or
   * to the update that started their unbroken run.
   */
  private applyBuffered(tape: MarketTape, i: number): void {
    const symbol = tape.symbol[i];
    const snapshotId = tape.id[i] as number;
    const rows: number[] = [];
    for (let j = i - 1; j >= 0; j--) {
      if (tape.kind[j] !== DEPTH || tape.symbol[j] !== symbol) continue;
      if ((tape.id[j] as number) <= snapshotId) break;
      rows.push(j);
      if (tape.side[j] === BROKEN) break;
    }
    for (let k = rows.length - 1; k >= 0; k--) this.applyLevels(tape, rows[k] as number);
  }
}
