/** Reading thrown values: their message, their Node/undici error code, and the chain of their causes. */

/** The message of an error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The `code` of a Node or undici error (`ECONNREFUSED`, `UND_ERR_SOCKET`), when it has one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

/** The `cause` of an error, when it has one. */
export function causeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined;
}

/** The error and its causes, outermost first, at most `depth` of them (a cause chain can loop). */
export function causeChain(error: unknown, depth = 5): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && chain.length < depth; e = causeOf(e)) chain.push(e);
  return chain;
}
