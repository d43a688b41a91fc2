/**
 * Keeping an instrument's L2 book in step with the exchange's, as Binance
 * documents it ("How to manage a local order book correctly"): each depth
 * update must follow the one before, and a REST snapshot must be bridged by
 * an update. What does not is a gap fault, and the event is marked
 * {@link BookSync.Broken} so the simulated exchange stops trusting its L2
 * book until the next usable snapshot.
 *
 * - Continuity: spot, each update's `U` = previous `u` + 1
 *   (https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly);
 *   futures, each update's `pu` = previous `u`, while `U` may jump
 *   (https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly,
 *   and the COIN-M page of the same name).
 * - Alignment: an update whose ids reach past the snapshot's `lastUpdateId`
 *   and start at or before it bridges it: spot, `U ≤ lastUpdateId + 1 ≤ u`;
 *   futures, `U ≤ lastUpdateId ≤ u`. Updates older than the snapshot are
 *   dropped (spot `u ≤ lastUpdateId`, futures `u < lastUpdateId`). In both,
 *   a chain of updates covers every id from the `u` before its first update
 *   (spot `U − 1`, futures `pu`) to its last `u`, so a snapshot is bridged
 *   exactly when its `lastUpdateId` falls in that span; on futures this also
 *   accepts a snapshot taken between two updates (`pu ≤ lastUpdateId < U`),
 *   which the `pu` link proves nothing was missed for.
 * - A snapshot is aligned by the updates received before it (the documented
 *   buffering: the exchange re-applies those newer than the snapshot) or by
 *   the first newer update after it. A snapshot older than the chain around
 *   it, or one the next update skips past, is not bridged: one gap fault.
 */
import type { FaultLog } from "./faults.js";

/** How the market chains its depth updates. */
export type ChainRule = "spot" | "futures";

/** One depth update's ids. */
export interface DepthIds {
  /** `U`, the first update id in the event. */
  readonly first: number;
  /** `u`, the last update id in the event. */
  readonly last: number;
  /** `pu`, the previous event's `u` (futures only). */
  readonly previous?: number;
}

/** The depth chain of one instrument in one file. */
export class DepthChain {
  /** `u` of the last update. */
  private lastId: number | undefined;
  /** The `u` before the first update of the current unbroken run (spot `U − 1`, futures `pu`). */
  private runFrom = 0;
  /** A snapshot newer than every update so far, waiting for the update that bridges it. */
  private pending: { readonly line: number; readonly id: number; readonly row: number } | undefined;

  /**
   * @param markBroken Marks a tape row {@link BookSync.Broken}.
   */
  constructor(
    private readonly rule: ChainRule,
    private readonly symbol: string,
    private readonly log: FaultLog,
    private readonly markBroken: (row: number) => void,
  ) {}

  /** Checks the depth update at tape `row` against the one before and a waiting snapshot. */
  update(line: number, ids: DepthIds, row: number): void {
    const from = this.rule === "spot" ? ids.first - 1 : (ids.previous as number);
    const before = this.lastId;
    const broken = before !== undefined && from !== before;
    const pending = this.pending;
    const resolves = pending !== undefined && ids.last >= pending.id;
    const bridges = resolves && from <= pending.id;
    if (broken) {
      this.log.record(
        "gap",
        line,
        this.rule === "spot"
          ? `${this.symbol} depth update U ${ids.first} after u ${before}`
          : `${this.symbol} depth update pu ${from} ≠ previous u ${before}`,
      );
      // A gap before the snapshot this update bridges does not touch the book rebuilt from it.
      if (!bridges) this.markBroken(row);
    }
    if (before === undefined || broken) this.runFrom = from;
    this.lastId = ids.last;
    if (!resolves) return;
    this.pending = undefined;
    if (bridges) return;
    this.markBroken(pending.row);
    // The missing updates are one gap: counted once, by the continuity check when it saw them.
    if (!broken)
      this.log.record(
        "gap",
        line,
        `${this.symbol} depth snapshot of line ${pending.line} (lastUpdateId ${pending.id}) not bridged: the next update starts after it (${this.rule === "spot" ? `U ${ids.first}` : `pu ${from}`})`,
      );
  }

  /** Checks the snapshot at tape `row` against the updates received so far. */
  snapshot(line: number, id: number, row: number): void {
    const last = this.lastId;
    if (last === undefined || id > last) {
      this.pending = { line, id, row };
      return;
    }
    this.pending = undefined;
    if (id >= this.runFrom) return;
    this.markBroken(row);
    this.log.record(
      "gap",
      line,
      `${this.symbol} depth snapshot lastUpdateId ${id} is older than the updates received (they follow u ${this.runFrom}): the updates between are missing`,
    );
  }
}
