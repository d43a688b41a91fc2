/**
 * Reading market-data files into one tape: format detection (gzip, capture
 * or CSV), one reader per file, the files merged by time, and a parse cache
 * keyed by the file bytes and the options, so a second read of the same data
 * is a file read instead of a parse.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { endianness } from "node:os";
import { basename, dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { z } from "zod";
import { readFailure } from "../core/read-text-file.js";
import { parseBinanceCapture } from "./binance-capture.js";
import { type CsvKind, parseBinanceCsv } from "./binance-csv.js";
import { FAULT_KINDS } from "./faults.js";
import { mergeTapes } from "./merge-tapes.js";
import {
  type DataFaultPolicy,
  DEFAULT_FAULT_POLICY,
  IGNORED_KINDS,
  MARKET_TYPES,
  MarketDataError,
  type MarketTape,
  type MarketType,
  VENUES,
} from "./types.js";

/** File formats {@link readMarketData} reads. */
export type MarketFormat = "auto" | "binance-capture" | "binance-trades-csv" | "binance-aggtrades-csv";

/** Options of {@link readMarketData}. */
export interface ReadMarketOptions {
  /** What to do with each fault kind; {@link DEFAULT_FAULT_POLICY} by default. */
  readonly policy?: DataFaultPolicy;
  /** Folder of the parse cache; no caching without it. */
  readonly cacheDir?: string;
  /** The format of every file; detected per file by default. */
  readonly format?: MarketFormat;
  /** The symbol of CSV rows, when the file name does not tell it. */
  readonly symbol?: string;
  /** Longest quiet time between consecutive events that is not a gap; 60 by default. */
  readonly maxGapSeconds?: number;
  /** The market of every file (`[paper] market`); told by each file's lines by default. */
  readonly market?: MarketType;
}

/** The tape of all files, and per file whether it came from the cache. */
export interface MarketData {
  readonly tape: MarketTape;
  readonly cached: boolean[];
}

/** Bumped whenever a reader's output for the same bytes and options changes, so old cache files are not used. */
export const READER_FORMAT_VERSION = 2;

/** Largest decompressed file read; V8 strings stop a little below 512 MiB anyway. */
const MAX_TEXT_BYTES = 500 * 1024 * 1024;

const CACHE_MAGIC = Buffer.from("MKTTAPE\u0001", "latin1");

/**
 * Reads market-data files (plain or gzip'd Binance captures and CSVs) into
 * one tape, merged by time when there are several.
 * @throws MarketDataError naming the file (and line) that cannot be used.
 */
export async function readMarketData(paths: string | readonly string[], options: ReadMarketOptions = {}): Promise<MarketData> {
  const list = typeof paths === "string" ? [paths] : [...paths];
  if (list.length === 0) throw new MarketDataError("no market-data files given");
  const tapes: MarketTape[] = [];
  const cached: boolean[] = [];
  for (const path of list) {
    const read = await readOne(path, options);
    tapes.push(read.tape);
    cached.push(read.cached);
  }
  return { tape: tapes.length === 1 ? (tapes[0] as MarketTape) : mergeTapes(tapes), cached };
}

/** One file, from the cache when it holds it. */
async function readOne(path: string, options: ReadMarketOptions): Promise<{ tape: MarketTape; cached: boolean }> {
  const bytes = await readBytes(path);
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x504b0304) throw new MarketDataError(`${path}: is a zip archive; unzip it first`);
  if (path.toLowerCase().endsWith(".zip")) throw new MarketDataError(`${path}: a .zip file; unzip it first`);
  const cacheFile = options.cacheDir === undefined ? undefined : join(options.cacheDir, `${cacheKey(bytes, path, options)}.tape`);
  if (cacheFile !== undefined) {
    const hit = await loadCachedTape(cacheFile, path);
    if (hit !== undefined) return { tape: hit, cached: true };
  }
  const tape = parseText(decodeText(bytes, path), path, options);
  if (cacheFile !== undefined) await saveCachedTape(cacheFile, tape);
  return { tape, cached: false };
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new MarketDataError(`${path}: ${readFailure(error)}`);
  }
}

/** The file's text: gunzipped when it starts with the gzip magic bytes, UTF-8, without NUL bytes. */
function decodeText(bytes: Buffer, path: string): string {
  let plain = bytes;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      plain = gunzipSync(bytes, { maxOutputLength: MAX_TEXT_BYTES });
    } catch (error) {
      const reason =
        (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE"
          ? `more than ${MAX_TEXT_BYTES} bytes uncompressed`
          : (error as Error).message;
      throw new MarketDataError(`${path}: corrupt or truncated gzip data (${reason})`);
    }
  }
  if (plain.length > MAX_TEXT_BYTES)
    throw new MarketDataError(`${path}: file is ${plain.length} bytes; at most ${MAX_TEXT_BYTES} supported`);
  const nul = plain.indexOf(0);
  if (nul >= 0) throw new MarketDataError(`${path}: line ${lineAt(plain, nul)}: binary data (a NUL byte), not a text market-data file`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch {
    throw new MarketDataError(`${path}: not UTF-8 text (binary data?), not a market-data file`);
  }
}

/** The 1-based line of byte `offset`. */
function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) line++;
  return line;
}

/** The reader for the format: given, or from the first non-blank line (`<digits> {` is a capture, anything else CSV). */
function parseText(text: string, path: string, options: ReadMarketOptions): MarketTape {
  const detector = { policy: options.policy ?? DEFAULT_FAULT_POLICY, maxGapSeconds: options.maxGapSeconds ?? 60 };
  const format = options.format ?? "auto";
  const capture = format === "binance-capture" || (format === "auto" && /^\s*\d+ \{/.test(text.slice(0, 4096)));
  if (capture) return parseBinanceCapture(text, path, { ...detector, market: options.market });
  const kind: CsvKind | undefined =
    format === "binance-trades-csv" ? "trades" : format === "binance-aggtrades-csv" ? "aggTrades" : undefined;
  return parseBinanceCsv(text, path, { ...detector, symbol: options.symbol, kind, market: options.market });
}

/**
 * The cache key: sha256 of the file bytes, the reader format version, the file
 * name (CSV symbols come from it) and every option that changes the tape.
 */
export function cacheKey(bytes: Buffer, path: string, options: ReadMarketOptions): string {
  const policy = options.policy ?? DEFAULT_FAULT_POLICY;
  const facts = {
    version: READER_FORMAT_VERSION,
    file: createHash("sha256").update(bytes).digest("hex"),
    name: basename(path),
    format: options.format ?? "auto",
    symbol: options.symbol ?? null,
    maxGapSeconds: options.maxGapSeconds ?? 60,
    market: options.market ?? null,
    policy: FAULT_KINDS.map((kind) => policy[kind]),
    endian: endianness(),
  };
  return createHash("sha256").update(JSON.stringify(facts)).digest("hex");
}

const headerSchema = z.object({
  symbols: z.array(
    z.object({
      symbol: z.string(),
      venue: z.enum(VENUES),
      market: z.enum(MARKET_TYPES),
      priceDecimals: z.number().int().min(0),
      qtyDecimals: z.number().int().min(0),
    }),
  ),
  baseNs: z.string().regex(/^-?\d{1,30}$/),
  length: z.number().int().min(0),
  levels: z.number().int().min(0),
  bodyBytes: z.number().int().min(0),
  bodySha256: z.string().regex(/^[0-9a-f]{64}$/),
  faults: z.array(
    z.object({
      kind: z.enum(["malformed", "unsorted", "duplicate", "gap", "crossed"]),
      count: z.number().int().min(1),
      firstLine: z.number().int().min(1),
      first: z.string(),
    }),
  ),
  ignored: z.array(
    z.object({
      kind: z.enum(IGNORED_KINDS),
      count: z.number().int().min(1),
      firstLine: z.number().int().min(1),
      reason: z.string(),
    }),
  ),
});

type TypedArray = Float64Array | Uint32Array | Uint16Array | Uint8Array;

/** The tape's arrays in cache order: widest elements first. */
function columnsOf(tape: MarketTape): readonly TypedArray[] {
  return [
    tape.t,
    tape.price,
    tape.qty,
    tape.price2,
    tape.qty2,
    tape.id,
    tape.id2,
    tape.levelPrice,
    tape.levelQty,
    tape.line,
    tape.levelStart,
    tape.levelCount,
    tape.symbol,
    tape.kind,
    tape.side,
    tape.levelSide,
  ];
}

/** Bytes of the arrays of a tape with `n` events and `m` levels. */
function bodyBytes(n: number, m: number): number {
  return n * (7 * 8 + 3 * 4 + 2 + 1 + 1) + m * (2 * 8 + 1);
}

/**
 * Writes the tape to the cache: magic, header length, a JSON header, then the
 * raw array bytes; through a temporary file renamed into place, so a reader
 * never sees half a file. A cache that cannot be written is no error.
 */
async function saveCachedTape(file: string, tape: MarketTape): Promise<void> {
  const body = columnsOf(tape).map((column) => Buffer.from(column.buffer, column.byteOffset, column.byteLength));
  const header = Buffer.from(
    JSON.stringify({
      symbols: tape.symbols,
      baseNs: tape.baseNs.toString(),
      length: tape.length,
      levels: tape.levelPrice.length,
      bodyBytes: bodyBytes(tape.length, tape.levelPrice.length),
      bodySha256: body.reduce((hash, part) => hash.update(part), createHash("sha256")).digest("hex"),
      faults: tape.faults,
      ignored: tape.ignored,
    }),
  );
  const size = Buffer.alloc(4);
  size.writeUInt32LE(header.length);
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(temp, Buffer.concat([CACHE_MAGIC, size, header, ...body]));
    await rename(temp, file);
  } catch {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** The cached tape, or undefined when the file is absent, truncated, corrupt or not a cache file. */
async function loadCachedTape(file: string, source: string): Promise<MarketTape | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  try {
    return decodeCachedTape(bytes, source);
  } catch {
    return undefined;
  }
}

/** Decodes a cache file, or undefined (or a throw) when anything does not add up. */
function decodeCachedTape(bytes: Buffer, source: string): MarketTape | undefined {
  const start = CACHE_MAGIC.length + 4;
  if (bytes.length < start || !bytes.subarray(0, CACHE_MAGIC.length).equals(CACHE_MAGIC)) return undefined;
  const headerEnd = start + bytes.readUInt32LE(CACHE_MAGIC.length);
  if (headerEnd > bytes.length) return undefined;
  const parsed = headerSchema.safeParse(JSON.parse(bytes.subarray(start, headerEnd).toString("utf8")));
  if (!parsed.success) return undefined;
  const header = parsed.data;
  const n = header.length;
  const m = header.levels;
  if (header.bodyBytes !== bodyBytes(n, m) || bytes.length - headerEnd !== header.bodyBytes) return undefined;
  const body = bytes.subarray(headerEnd);
  if (createHash("sha256").update(body).digest("hex") !== header.bodySha256) return undefined;
  let offset = body.byteOffset;
  /** The next `count` elements, copied into a fresh, aligned buffer. */
  const next = <T extends TypedArray>(make: (buffer: ArrayBuffer) => T, count: number, width: number): T => {
    const column = make(body.buffer.slice(offset, offset + count * width) as ArrayBuffer);
    offset += count * width;
    return column;
  };
  const f64 = (count: number) => next((b) => new Float64Array(b), count, 8);
  const tape: MarketTape = {
    source,
    symbols: header.symbols,
    baseNs: BigInt(header.baseNs),
    length: n,
    faults: header.faults,
    ignored: header.ignored,
    t: f64(n),
    price: f64(n),
    qty: f64(n),
    price2: f64(n),
    qty2: f64(n),
    id: f64(n),
    id2: f64(n),
    levelPrice: f64(m),
    levelQty: f64(m),
    line: next((b) => new Uint32Array(b), n, 4),
    levelStart: next((b) => new Uint32Array(b), n, 4),
    levelCount: next((b) => new Uint32Array(b), n, 4),
    symbol: next((b) => new Uint16Array(b), n, 2),
    kind: next((b) => new Uint8Array(b), n, 1),
    side: next((b) => new Uint8Array(b), n, 1),
    levelSide: next((b) => new Uint8Array(b), m, 1),
  };
  return consistent(tape) ? tape : undefined;
}

/** Whether every kind, side, symbol index and level range of the tape is possible. */
function consistent(tape: MarketTape): boolean {
  for (let i = 0; i < tape.length; i++) {
    const kind = tape.kind[i] as number;
    const side = tape.side[i] as number;
    const start = tape.levelStart[i] as number;
    const count = tape.levelCount[i] as number;
    if (kind < 1 || kind > 4 || side > 2 || (tape.symbol[i] as number) >= tape.symbols.length) return false;
    if (start + count > tape.levelPrice.length) return false;
  }
  for (const side of tape.levelSide) if (side < 1 || side > 2) return false;
  return true;
}
