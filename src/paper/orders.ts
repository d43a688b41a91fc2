/**
 * What goes in and out of the simulated exchange: the orders the engine
 * sends, the reports the exchange makes of them, an order's state while the
 * exchange holds it, and the rounding that keeps float noise out of quantities.
 */
import type { Side } from "../market/types.js";

/** How an order trades: rests (`limit`), takes what it can now (`ioc`), or takes at any price (`market`). */
export type OrderType = "limit" | "ioc" | "market";

/** An order as it reaches the exchange. */
export interface OrderRequest {
  readonly clientId: string;
  /** Index into the tape's `symbols`. */
  readonly symbol: number;
  readonly side: Side;
  readonly type: OrderType;
  /** Limit price; required for `limit` and `ioc`, ignored for `market`. */
  readonly price?: number;
  readonly qty: number;
}

/** The exchange accepted an order. */
export interface AckReport {
  readonly type: "ack";
  readonly clientId: string;
  readonly t: number;
}

/** Part or all of an order traded. */
export interface FillReport {
  readonly type: "fill";
  readonly clientId: string;
  readonly t: number;
  readonly symbol: number;
  readonly side: Side;
  readonly price: number;
  readonly qty: number;
  /** Quote currency; negative is a rebate. */
  readonly fee: number;
  readonly liquidity: "maker" | "taker";
  /** Quantity still open after this fill. */
  readonly leaves: number;
}

/** An order was closed without trading the rest: at the engine's request, as an `ioc`, or at the end of data. */
export interface CancelledReport {
  readonly type: "cancelled";
  readonly clientId: string;
  readonly t: number;
  readonly reason: "requested" | "ioc" | "end";
}

/** The exchange refused an order. */
export interface RejectReport {
  readonly type: "reject";
  readonly clientId: string;
  readonly t: number;
  readonly reason: string;
}

/** The exchange refused a cancel. */
export interface CancelRejectReport {
  readonly type: "cancel_reject";
  readonly clientId: string;
  readonly t: number;
  readonly reason: string;
}

/** Every report the exchange makes. */
export type ExchangeReport = AckReport | FillReport | CancelledReport | RejectReport | CancelRejectReport;

/** An order while the exchange holds it; open resting orders also sit on their side of the book. */
export interface OrderState {
  readonly clientId: string;
  readonly symbol: number;
  readonly side: Side;
  readonly price: number;
  /** Arrival number: time priority among our orders. */
  readonly seq: number;
  /** `sign × price` of the order's own side: larger is more aggressive. */
  readonly key: number;
  leaves: number;
  /** Recorded quantity ahead of the order at its price (resting orders only). */
  queue: number;
  open: boolean;
}

/** Quantities are rounded to this step so that float noise (0.30000000000000004) never leaves a sliver open. */
const QTY_STEP = 1e12;

/** `x` rounded to 1e-12. */
export function roundQty(x: number): number {
  return Math.round(x * QTY_STEP) / QTY_STEP;
}
