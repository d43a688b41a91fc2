/**
 * Opening and closing a replay with the engine: `hello` both ways with the
 * protocol version checked, and at the end `end` answered by `bye`.
 */
import type { MarketTape } from "../market/types.js";
import type { EngineErrors } from "./engine-errors.js";
import { type EngineProcess, EngineStopped } from "./engine-process.js";
import { type EngineMessage, endLine, helloLine, PROTOCOL_VERSION, parseEngineLine, quoteLine } from "./protocol.js";

/** The engine gets at least this long to answer `hello` (it may still be starting). */
const MIN_HELLO_TIMEOUT_MS = 10_000;

/**
 * Says `hello` with the instruments, limits and trading mode, and checks the
 * engine's; returns the name the engine gave.
 *
 * @throws EngineStopped when the engine does not answer with a `hello` of this protocol version.
 */
export async function handshake(
  engine: EngineProcess,
  tape: MarketTape,
  limits: { readonly maxPosition: number; readonly maxDailyLoss: number },
  tradingMode: string,
  timeoutMs: number,
): Promise<string> {
  engine.write(helloLine(tape, limits, tradingMode));
  const line = await engine.nextLine(Math.max(timeoutMs, MIN_HELLO_TIMEOUT_MS));
  let reply: EngineMessage;
  try {
    reply = parseEngineLine(line);
  } catch (error) {
    throw new EngineStopped(`handshake failed: ${(error as Error).message}: ${quoteLine(line)}`);
  }
  if (reply.type !== "hello") throw new EngineStopped(`handshake failed: expected "hello", got: ${quoteLine(line)}`);
  if (reply.protocol !== PROTOCOL_VERSION)
    throw new EngineStopped(`protocol version mismatch: the engine speaks ${reply.protocol}, the harness ${PROTOCOL_VERSION}`);
  return reply.engine;
}

/**
 * Writes `end` as message `seq` and expects `bye` with the same seq; anything
 * else is an engine error.
 *
 * @throws EngineStopped when the engine exits or stays silent instead.
 */
export async function endReplay(engine: EngineProcess, seq: number, timeoutMs: number, errors: EngineErrors): Promise<void> {
  engine.write(endLine(seq));
  const line = await engine.nextLine(timeoutMs);
  let bye: EngineMessage | undefined;
  try {
    bye = parseEngineLine(line);
  } catch {
    bye = undefined;
  }
  if (bye?.type !== "bye" || bye.seq !== seq) errors.add(seq, `expected {"type":"bye","seq":${seq}}`, line);
}
