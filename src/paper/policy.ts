/**
 * `[paper]` in shriven-pipeline.toml: how paper trading replays market data
 * through the engine, and the gates on the outcome.
 */
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";
import { type DataFaultPolicy, DEFAULT_FAULT_POLICY, MARKET_TYPES, type MarketType } from "../market/types.js";

const argv = z
  .array(z.string({ error: "expected a string" }).min(1, { error: "expected a non-empty string" }), {
    error: "expected an array of strings",
  })
  .min(1, { error: "expected a command" });

const milliseconds = z
  .number({ error: "expected milliseconds" })
  .min(0, { error: "expected 0 or more" })
  .max(60_000, { error: "expected at most 60000 (a minute)" });

const bps = z
  .number({ error: "expected basis points" })
  .min(-100, { error: "expected at least -100" })
  .max(1000, { error: "expected at most 1000" });

const faultAction = z.enum(["fail", "skip"], { error: "expected fail or skip" }).optional();

/** Schema of `[paper]`. */
export const paperPolicySchema = closedObject({
  engine_command: argv.optional(),
  build_command: argv.optional(),
  data: z.array(z.string({ error: "expected a path" }).min(1), { error: "expected an array of paths" }).optional(),
  order_latency_ms: milliseconds.optional(),
  response_latency_ms: milliseconds.optional(),
  maker_fee_bps: bps.optional(),
  taker_fee_bps: bps.optional(),
  require_profit: z.boolean({ error: "expected true or false" }).optional(),
  latency_p99_limit_us: z.number({ error: "expected µs" }).positive({ error: "expected µs above 0" }).optional(),
  observed_p99_limit_us: z.number({ error: "expected µs" }).positive({ error: "expected µs above 0" }).optional(),
  memory_warn_percent: z.number({ error: "expected a percentage" }).positive().optional(),
  memory_fail_percent: z.number({ error: "expected a percentage" }).positive().optional(),
  message_timeout_seconds: z.number({ error: "expected seconds" }).positive().max(3600).optional(),
  max_gap_seconds: z.number({ error: "expected seconds" }).positive().optional(),
  min_market_seconds: z.number({ error: "expected seconds" }).min(0, { error: "expected 0 or more seconds" }).optional(),
  market: z.enum(MARKET_TYPES, { error: 'expected "spot", "usdm" or "coinm"' }).optional(),
  cache_dir: z.string({ error: "expected a path" }).min(1).optional(),
  pin_cpu: z.boolean({ error: "expected true or false" }).optional(),
  faults: closedObject({
    malformed: faultAction,
    unsorted: faultAction,
    duplicate: faultAction,
    gap: faultAction,
    crossed: faultAction,
  }).optional(),
})
  .refine((p) => (p.order_latency_ms ?? 5) + (p.response_latency_ms ?? 5) > 0, {
    path: ["order_latency_ms"],
    error: "order_latency_ms + response_latency_ms must be above 0 (a replay needs simulated time between an order and its answer)",
  })
  .refine((p) => (p.memory_fail_percent ?? 20) > (p.memory_warn_percent ?? 10), {
    path: ["memory_fail_percent"],
    error: "expected more than memory_warn_percent",
  });

/** Paper-trading settings, defaults applied. */
export interface PaperPolicy {
  /** Starts the engine in paper mode (relative paths from the workspace). */
  readonly engineCommand: readonly string[];
  /** Builds what `engineCommand` runs. */
  readonly buildCommand: readonly string[];
  /** Market data files (relative to the workspace), replayed merged in time order. */
  readonly data: readonly string[];
  /** Engine → exchange latency in simulated time. */
  readonly orderLatencyMs: number;
  /** Exchange → engine latency in simulated time. */
  readonly responseLatencyMs: number;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  /** The "paper trading profitable" gate: net P&L after fees must be above 0. */
  readonly requireProfit: boolean;
  /** Limit of the engine-reported processing time p99 (the pipeline document's order latency p99 < 100 µs). */
  readonly latencyP99LimitUs: number;
  /** Limit of the harness-observed reply time p99 (pipe, scheduling and engine together). */
  readonly observedP99LimitUs: number;
  /** Engine RSS growth: warn above, fail above (the pipeline document's alert levels). */
  readonly memoryWarnPercent: number;
  readonly memoryFailPercent: number;
  readonly messageTimeoutMs: number;
  readonly maxGapSeconds: number;
  /**
   * Shortest market data the staging stage replays, first to last event: the
   * pipeline document's "1 hour of historical data" by default.
   */
  readonly minMarketSeconds: number;
  /** The Binance market of every data file; told by each file's own messages when unset (never guessed). */
  readonly market: MarketType | undefined;
  /** Parse cache of market data, relative to the workspace. */
  readonly cacheDir: string;
  readonly faults: DataFaultPolicy;
  /** Run the harness and the engine on one CPU during the replay (Linux, with taskset; see cpu-pin.ts). */
  readonly pinCpu: boolean;
}

/** Applies the defaults to `[paper]`. */
export function paperPolicyFrom(raw: z.output<typeof paperPolicySchema> | undefined): PaperPolicy {
  return {
    engineCommand: raw?.engine_command ?? ["target/release/shriven-quant", "paper"],
    buildCommand: raw?.build_command ?? ["cargo", "build", "--release", "--package", "engine"],
    data: raw?.data ?? [],
    orderLatencyMs: raw?.order_latency_ms ?? 5,
    responseLatencyMs: raw?.response_latency_ms ?? 5,
    // Binance spot's standard rates: 0.1 % maker and taker.
    makerFeeBps: raw?.maker_fee_bps ?? 10,
    takerFeeBps: raw?.taker_fee_bps ?? 10,
    requireProfit: raw?.require_profit ?? true,
    latencyP99LimitUs: raw?.latency_p99_limit_us ?? 100,
    observedP99LimitUs: raw?.observed_p99_limit_us ?? 5000,
    memoryWarnPercent: raw?.memory_warn_percent ?? 10,
    memoryFailPercent: raw?.memory_fail_percent ?? 20,
    messageTimeoutMs: (raw?.message_timeout_seconds ?? 5) * 1000,
    maxGapSeconds: raw?.max_gap_seconds ?? 60,
    minMarketSeconds: raw?.min_market_seconds ?? 3600,
    market: raw?.market,
    cacheDir: raw?.cache_dir ?? ".shriven-pipeline/cache/market",
    pinCpu: raw?.pin_cpu ?? true,
    faults: { ...DEFAULT_FAULT_POLICY, ...Object.fromEntries(Object.entries(raw?.faults ?? {}).filter(([, v]) => v !== undefined)) },
  };
}
