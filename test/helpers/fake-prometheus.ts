/**
 * A server on 127.0.0.1 that speaks Prometheus's instant-query API (`GET /api/v1/query`) with answers in
 * the shapes Prometheus 2.42 (Debian's) gives, recorded from the real server: a success vector, a 400
 * `bad_data` and a 422 `execution` error, an empty vector. Each request is kept; closed after the file.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll } from "vitest";

/** What the server was asked. */
export interface PrometheusRequest {
  readonly path: string;
  readonly query: string | null;
  readonly time: string | null;
  readonly authorization: string | undefined;
}

/** An answer: a status and a body (an object is sent as JSON). */
export interface PrometheusAnswer {
  readonly status?: number;
  readonly body: unknown;
  readonly contentType?: string;
}

/** One series of a vector, as the API returns it. */
export interface VectorEntry {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** `{"status":"success","data":{"resultType":"vector","result":[…]}}` */
export function vectorAnswer(result: readonly VectorEntry[]): PrometheusAnswer {
  return { body: { status: "success", data: { resultType: "vector", result } } };
}

/** Recorded: `query={__name__=~"shriven_.+", instance="x"` (unclosed brace). */
export const BAD_DATA: PrometheusAnswer = {
  status: 400,
  body: {
    status: "error",
    errorType: "bad_data",
    error: 'invalid parameter "query": 1:38: parse error: unexpected end of input inside braces',
  },
};

/** Recorded: `timestamp({__name__=~"up|scrape_duration_seconds", …})`. */
export const EXECUTION_ERROR: PrometheusAnswer = {
  status: 422,
  body: { status: "error", errorType: "execution", error: "vector cannot contain metrics with the same labelset" },
};

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Starts a server answering each query with `answer(request)`. */
export async function fakePrometheus(
  answer: (request: PrometheusRequest) => PrometheusAnswer,
): Promise<{ url: string; requests: PrometheusRequest[] }> {
  const requests: PrometheusRequest[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const request: PrometheusRequest = {
      path: url.pathname,
      query: url.searchParams.get("query"),
      time: url.searchParams.get("time"),
      authorization: req.headers.authorization,
    };
    requests.push(request);
    const reply = url.pathname.endsWith("/api/v1/query")
      ? answer(request)
      : { status: 404, body: "404 page not found\n", contentType: "text/plain" };
    const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status ?? 200, { "content-type": reply.contentType ?? "application/json" });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}
