/**
 * The Prometheus text exposition format (version 0.0.4), as `shriven-quant serve`
 * and every Prometheus exporter print it: parsed into samples, malformed lines refused.
 */
import { PipelineError } from "../core/errors.js";

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** May be `NaN` or ±`Infinity` (`NaN`, `+Inf`, `-Inf` in the text). */
  readonly value: number;
  /** Milliseconds since the epoch, when the line carries a timestamp. */
  readonly timestampMs?: number;
}

/** A line of a metrics exposition is malformed. */
export class MetricsParseError extends PipelineError {
  override readonly name: string = "MetricsParseError";

  /**
   * @param source Where the text came from (a URL, a host and command).
   * @param line 1-based line number.
   * @param problem What is wrong with the line.
   */
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${source} line ${line}: ${problem}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const METRIC_TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)inf(inity)?$/i;
const TIMESTAMP = /^-?\d+$/;

/**
 * Parses the Prometheus text exposition format (version 0.0.4): `# HELP` and
 * `# TYPE` lines (checked), other comments (skipped), samples with optional
 * labels (escapes `\\`, `\"` and `\n` in values), values including `NaN`,
 * `+Inf` and `-Inf`, and optional timestamps.
 * @param source Named in errors, e.g. the URL the text came from.
 * @throws MetricsParseError naming the first malformed line.
 */
export function parsePrometheusText(text: string, source: string): MetricSample[] {
  const samples: MetricSample[] = [];
  const typed = new Set<string>();
  const sampled = new Set<string>();
  const series = new Set<string>();
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const fail = (problem: string): never => {
      throw new MetricsParseError(source, index + 1, problem);
    };
    const line = (lines[index] ?? "").replace(/\r$/, "").replace(/^[ \t]+/, "");
    if (line === "") continue;
    if (line.startsWith("#")) {
      checkComment(line, typed, sampled, fail);
      continue;
    }
    const sample = parseSample(line, fail);
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
      .map(([label, value]) => `${label}=${JSON.stringify(value)}`)
      .join(",")}}`;
    if (series.has(key)) fail(`duplicate series ${key}`);
    series.add(key);
    sampled.add(sample.name);
    samples.push(sample);
  }
  return samples;
}

function checkComment(line: string, typed: Set<string>, sampled: ReadonlySet<string>, fail: (problem: string) => never): void {
  const tokens = line
    .slice(1)
    .trim()
    .split(/[ \t]+/);
  const keyword = tokens[0];
  if (keyword !== "HELP" && keyword !== "TYPE") return;
  const name = tokens[1] ?? "";
  if (name === "" || METRIC_NAME.exec(name)?.[0] !== name) fail(`# ${keyword} needs a valid metric name, got ${quote(name)}`);
  if (keyword === "HELP") return;
  const kind = tokens[2] ?? "";
  if (tokens.length !== 3 || !METRIC_TYPES.has(kind))
    fail(`# TYPE ${name} needs one of counter, gauge, histogram, summary, untyped, got ${quote(tokens.slice(2).join(" "))}`);
  if (typed.has(name)) fail(`second # TYPE line for ${name}`);
  const members = [name, `${name}_sum`, `${name}_count`, `${name}_bucket`];
  if (members.some((member) => sampled.has(member))) fail(`# TYPE ${name} after samples of ${name}`);
  typed.add(name);
}

function parseSample(line: string, fail: (problem: string) => never): MetricSample {
  const name = METRIC_NAME.exec(line)?.[0];
  if (name === undefined) fail(`expected a metric name, got ${quote(line)}`);
  let rest = line.slice(name.length).replace(/^[ \t]+/, "");
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = parseLabels(rest.slice(1), name, labels, fail);
    if (rest !== "" && !/^[ \t]/.test(rest)) fail(`expected a space after the labels of ${name}`);
  }
  const tokens = rest.trim() === "" ? [] : rest.trim().split(/[ \t]+/);
  if (tokens.length === 0) fail(`${name} has no value`);
  if (tokens.length > 2) fail(`${name}: unexpected ${quote(tokens.slice(2).join(" "))} after the value and timestamp`);
  const value = parseValue(tokens[0] ?? "");
  if (value === undefined) fail(`${name}: invalid value ${quote(tokens[0] ?? "")}`);
  const sample: MetricSample = { name, labels, value };
  const timestamp = tokens[1];
  if (timestamp === undefined) return sample;
  if (!TIMESTAMP.test(timestamp) || !Number.isSafeInteger(Number(timestamp)))
    fail(`${name}: invalid timestamp ${quote(timestamp)} (expected integer milliseconds)`);
  return { ...sample, timestampMs: Number(timestamp) };
}

/** Parses `name="value",…}` into `labels`; returns what follows the `}`. */
function parseLabels(text: string, metric: string, labels: Record<string, string>, fail: (problem: string) => never): string {
  let rest = text;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, "");
    if (rest.startsWith("}")) return rest.slice(1);
    const label = LABEL_NAME.exec(rest)?.[0];
    if (label === undefined) fail(`${metric}: expected a label name or }, got ${quote(rest)}`);
    if (Object.hasOwn(labels, label)) fail(`${metric}: label ${label} given twice`);
    rest = rest.slice(label.length).replace(/^[ \t]+/, "");
    if (!rest.startsWith("=")) fail(`${metric}: expected = after label ${label}`);
    rest = rest.slice(1).replace(/^[ \t]+/, "");
    if (!rest.startsWith('"')) fail(`${metric}: the value of label ${label} must be in double quotes`);
    let value = "";
    let offset = 1;
    for (;;) {
      const char = rest[offset];
      if (char === undefined) fail(`${metric}: the value of label ${label} is not closed with "`);
      if (char === '"') break;
      if (char === "\\") {
        const escaped = rest[offset + 1];
        if (escaped === "\\" || escaped === '"') value += escaped;
        else if (escaped === "n") value += "\n";
        else fail(`${metric}: invalid escape \\${escaped ?? ""} in the value of label ${label} (only \\\\, \\" and \\n)`);
        offset += 2;
        continue;
      }
      value += char;
      offset++;
    }
    labels[label] = value;
    rest = rest.slice(offset + 1).replace(/^[ \t]+/, "");
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (!rest.startsWith("}")) fail(`${metric}: expected , or } after label ${label}`);
  }
}

function parseValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  const infinity = INFINITY.exec(token);
  if (infinity !== null) return infinity[1] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(token)) return Number.NaN;
  return undefined;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
