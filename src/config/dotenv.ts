/**
 * A strict reader for `.env`-style files. Popular parsers skip lines they do
 * not understand; a pipeline that guards money must not, so every line is
 * either a comment, blank, or `KEY=VALUE`, and anything else is an error
 * naming the file and line.
 */
import { ConfigError } from "../core/errors.js";

/** One assignment read from an env file. */
export interface EnvEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOUBLE_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\", $: "$" };

/**
 * Parses env-file text. Supports `KEY=value`, `export KEY=value`, `#` comments,
 * `'single'` (literal) and `"double"` (with `\n \t \" \\` escapes) quotes, and
 * trailing ` # comments` after unquoted or quoted values.
 * @param text File contents.
 * @param file Name used in error messages.
 * @throws ConfigError listing every bad line; duplicates are errors too.
 */
export function parseEnvFile(text: string, file: string): EnvEntry[] {
  if (text.includes("\0")) throw new ConfigError(file, ["contains a NUL byte: not a text env file"]);
  const entries: EnvEntry[] = [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const body = trimmed.replace(/^export\s+/, "");
    const eq = body.indexOf("=");
    if (eq < 0) {
      problems.push(`line ${line}: expected KEY=VALUE, found no "="`);
      return;
    }
    const key = body.slice(0, eq).trim();
    if (!KEY.test(key)) {
      problems.push(`line ${line}: ${quoteForError(key)} is not a valid variable name (letters, digits, _; not starting with a digit)`);
      return;
    }
    const value = parseValue(body.slice(eq + 1).trim());
    if (typeof value !== "string") {
      problems.push(`line ${line}: ${key}: ${value.error}`);
      return;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push(`line ${line}: ${key} is already set on line ${earlier}`);
      return;
    }
    seen.set(key, line);
    entries.push({ key, value, line });
  });
  if (problems.length > 0) throw new ConfigError(file, problems);
  return entries;
}

function parseValue(text: string): string | { error: string } {
  const quote = text[0];
  if (quote !== '"' && quote !== "'") {
    const value = text.replace(/\s+#.*$/, "");
    if (/["'`]/.test(value)) return { error: "unquoted value contains a quote character; quote the whole value" };
    return value;
  }
  let out = "";
  for (let i = 1; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === quote) {
      const rest = text.slice(i + 1).trim();
      if (rest !== "" && !rest.startsWith("#")) return { error: "unexpected text after the closing quote" };
      return out;
    }
    if (quote === '"' && ch === "\\") {
      const next = text[i + 1];
      const escaped = next === undefined ? undefined : DOUBLE_ESCAPES[next];
      if (escaped === undefined) return { error: `unknown escape \\${next ?? ""} in double-quoted value` };
      out += escaped;
      i++;
      continue;
    }
    out += ch;
  }
  return { error: `missing closing ${quote}` };
}

/** Quotes a variable name for an error; long names are cut, values are never shown. */
function quoteForError(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
