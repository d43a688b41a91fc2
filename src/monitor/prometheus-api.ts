/**
 * `[monitor] source = "prometheus"`: each poll reads a host's engine series
 * from Prometheus's HTTP API (an instant query, `GET /api/v1/query`), the same
 * series the always-on alerting rules judge, instead of scraping the host.
 * Whatever Prometheus cannot vouch for (an error, warnings, a result that is
 * not a vector, no data, NaN or infinite values, a target it failed to
 * scrape, data older than the maximum age) is an error naming the host and
 * the query: a failed poll, never a healthy one.
 */
import { readFileSync } from "node:fs";
import type { MetricSample } from "./prometheus.js";

/** Credentials for Prometheus, named by where they are read from (never the value itself). */
export type PrometheusAuth =
  | { readonly kind: "bearer" | "basic"; readonly from: "env"; readonly name: string }
  | { readonly kind: "bearer" | "basic"; readonly from: "file"; readonly path: string };

/** How to read hosts' series from Prometheus. */
export interface PrometheusSettings {
  /** Base URL, e.g. `http://127.0.0.1:9090` (a path prefix is kept). */
  readonly url: string;
  /** The target label that identifies a host (`instance` by default). */
  readonly label: string;
  /** Series older than this are stale (default twice the scrape interval). */
  readonly maxAgeMs: number;
  readonly auth?: PrometheusAuth;
}

/** Longest API answer accepted, in bytes. */
export const MAX_PROMETHEUS_BYTES = 4 * 1024 * 1024;

/** The PromQL selector of one host's engine series and Prometheus's `up` for it. */
export function hostSeriesQuery(label: string, value: string): string {
  return `{__name__=~"shriven_.+|up", ${label}=${promString(value)}}`;
}

/** The query of the time Prometheus last scraped the host (`timestamp(up{…})`). */
export function lastScrapeQuery(label: string, value: string): string {
  return `timestamp(up{${label}=${promString(value)}})`;
}

function promString(value: string): string {
  return JSON.stringify(value);
}

interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly timestampMs: number;
  readonly text: string;
}

/**
 * Builds a reader of one host's samples from Prometheus: the engine series and `up` for the host
 * (`instance` is the value of `settings.label` that identifies it), turned into the samples
 * {@link evaluate} judges (`__name__` becomes the name; every other label is kept).
 * @throws Error naming the host and the query for every answer that cannot be trusted.
 */
export function prometheusReader(
  settings: PrometheusSettings,
  io: { readonly fetch?: typeof fetch; readonly now?: () => number; readonly timeoutMs: number },
): (host: string, instance: string) => Promise<MetricSample[]> {
  const now = io.now ?? Date.now;
  return async (host, instance) => {
    const at = now();
    const target = `${settings.label}="${instance}"`;
    const query = hostSeriesQuery(settings.label, instance);
    const series = await instantQuery(settings, io, host, query, at);
    if (series.length === 0)
      throw new Error(`${host}: no data for host ${host} (${target}) in Prometheus: query ${query} returned an empty vector`);
    const samples: MetricSample[] = [];
    for (const sample of series) {
      const { __name__: name, ...labels } = sample.metric;
      if (name === undefined) throw new Error(`${host}: query ${query} returned a series without __name__`);
      const shown = `${name}{${Object.entries(labels)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
        .join(",")}}`;
      const value = Number(sample.text);
      if (!Number.isFinite(value))
        throw new Error(
          `${host}: ${shown} is ${sample.text} in Prometheus (query ${query}); a value that is not a finite number is not judged healthy`,
        );
      stale(settings, host, query, at, sample.timestampMs);
      if (name === "up") {
        if (value !== 1)
          throw new Error(
            `${host}: Prometheus's last scrape of ${target} failed (up = ${sample.text}; query ${query}): the engine is down or unreachable`,
          );
        continue;
      }
      samples.push({ name, labels, value });
    }
    if (samples.length === 0)
      throw new Error(`${host}: no data for host ${host} (${target}): query ${query} returned no shriven_ series, only up`);
    const scrapeQuery = lastScrapeQuery(settings.label, instance);
    const scrapes = await instantQuery(settings, io, host, scrapeQuery, at);
    if (scrapes.length === 0)
      throw new Error(`${host}: no data for host ${host} (${target}): query ${scrapeQuery} returned an empty vector`);
    for (const scrape of scrapes) {
      const seconds = Number(scrape.text);
      if (!Number.isFinite(seconds)) throw new Error(`${host}: query ${scrapeQuery} returned ${scrape.text}, not a time`);
      stale(settings, host, scrapeQuery, at, seconds * 1000);
    }
    return samples;
  };
}

function stale(settings: PrometheusSettings, host: string, query: string, at: number, timestampMs: number): void {
  const age = at - timestampMs;
  if (age > settings.maxAgeMs)
    throw new Error(
      `${host}: stale data in Prometheus: the newest sample is ${Math.round(age / 1000)} s old (at ${new Date(timestampMs).toISOString()}), more than ${settings.maxAgeMs / 1000} s (query ${query})`,
    );
}

/** Reads the configured credentials into an Authorization header; errors name the variable or file, never the value. */
function authorization(auth: PrometheusAuth | undefined): string | undefined {
  if (auth === undefined) return undefined;
  let secret: string | undefined;
  if (auth.from === "env") {
    secret = process.env[auth.name];
    if (secret === undefined || secret.trim() === "")
      throw new Error(`Prometheus ${auth.kind} credentials: environment variable ${auth.name} is not set`);
  } else {
    try {
      secret = readFileSync(auth.path, "utf8");
    } catch (error) {
      throw new Error(
        `Prometheus ${auth.kind} credentials: cannot read ${auth.path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    if (secret.trim() === "") throw new Error(`Prometheus ${auth.kind} credentials: ${auth.path} is empty`);
  }
  secret = secret.trim();
  if (auth.kind === "bearer") return `Bearer ${secret}`;
  if (!secret.includes(":"))
    throw new Error(`Prometheus basic credentials from ${auth.from === "env" ? auth.name : auth.path}: expected user:password`);
  return `Basic ${Buffer.from(secret).toString("base64")}`;
}

/** One instant query; the vector it returned, or an error naming the host, the query and what was wrong. */
async function instantQuery(
  settings: PrometheusSettings,
  io: { readonly fetch?: typeof fetch; readonly timeoutMs: number },
  host: string,
  query: string,
  at: number,
): Promise<VectorSample[]> {
  const url = new URL(`${settings.url.replace(/\/+$/, "")}/api/v1/query`);
  url.searchParams.set("query", query);
  url.searchParams.set("time", (at / 1000).toFixed(3));
  const fail = (problem: string): never => {
    throw new Error(`${host}: Prometheus query ${query} at ${settings.url} ${problem}`);
  };
  const header = authorization(settings.auth);
  let response: Response;
  try {
    response = await (io.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(io.timeoutMs),
      redirect: "error",
      headers: { accept: "application/json", ...(header === undefined ? {} : { authorization: header }) },
    });
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `timed out after ${io.timeoutMs / 1000} s` : causeText(error);
    return fail(`failed: ${reason}`);
  }
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_PROMETHEUS_BYTES) {
    await response.body?.cancel();
    fail(`answered ${length} bytes, more than ${MAX_PROMETHEUS_BYTES}`);
  }
  const text = await response.text();
  if (text.length > MAX_PROMETHEUS_BYTES) fail(`answered more than ${MAX_PROMETHEUS_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return fail(`answered HTTP ${response.status} with malformed JSON: ${excerpt(text)}`);
  }
  const answer = isRecord(body) ? body : {};
  if (answer.status === "error" || response.status !== 200) {
    const kind = typeof answer.errorType === "string" ? answer.errorType : "no errorType";
    const why = typeof answer.error === "string" ? answer.error : excerpt(text);
    return fail(`answered HTTP ${response.status}, error ${kind}: ${why}`);
  }
  if (answer.status !== "success") return fail(`answered status ${excerpt(JSON.stringify(answer.status ?? null))}, not "success"`);
  if (Array.isArray(answer.warnings) && answer.warnings.length > 0)
    fail(`answered with warnings (the data may be partial): ${answer.warnings.map((w) => excerpt(String(w))).join("; ")}`);
  const data = isRecord(answer.data) ? answer.data : fail("answered without data");
  if (data.resultType !== "vector") fail(`returned a ${excerpt(String(data.resultType))} result, not a vector`);
  if (!Array.isArray(data.result)) return fail("returned a vector without a result list");
  return data.result.map((entry, index) => vectorSample(entry, (problem) => fail(`returned a malformed sample ${index + 1}: ${problem}`)));
}

function vectorSample(entry: unknown, fail: (problem: string) => never): VectorSample {
  if (!isRecord(entry) || !isRecord(entry.metric)) return fail("expected {metric, value}");
  const metric: Record<string, string> = {};
  for (const [key, value] of Object.entries(entry.metric)) {
    if (typeof value !== "string") fail(`label ${key} is not a string`);
    metric[key] = value as string;
  }
  const value = entry.value;
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "number" || typeof value[1] !== "string")
    return fail('expected value [unix seconds, "number"]');
  return { metric, timestampMs: value[0] * 1000, text: value[1] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function causeText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}
