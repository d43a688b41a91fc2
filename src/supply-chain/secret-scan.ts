/**
 * Finds committed secrets in lines of text. The pipeline selects candidate
 * lines with grep (`git grep -n -I -E -i`, or `grep -rnI -E -i` without git)
 * and the {@link SECRET_PREFILTER} patterns, parses the output with
 * {@link parseGrepOutput}, and checks each line precisely with {@link scanLines}.
 * Findings never carry the secret itself, only a masked form.
 */
import { z } from "zod";
import { closedObject } from "../core/zod-issues.js";

/** What kind of secret a finding is; `unchecked-line` is a line too long to check (see {@link MAX_CHECKED_LINE_LENGTH}). */
export type SecretKind =
  | "private-key"
  | "github-token"
  | "slack-webhook"
  | "exchange-api-key"
  | "high-entropy-assignment"
  | "unchecked-line";

/** One line of grep output. */
export interface GrepLine {
  /** Workspace-relative path, without a leading `./`. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** The line's text. */
  readonly text: string;
}

/** One secret found; `masked` shows at most its first 4 characters (for an unchecked line, its length). */
export interface SecretFinding {
  readonly file: string;
  readonly line: number;
  readonly kind: SecretKind;
  readonly masked: string;
}

/** Files allowed to hold secret-looking text (test fixtures, docs), each with a reason. */
export interface SecretPolicy {
  /** `path` is a glob (`**`, `*`, `?`); one without `/` also matches the file's base name at any depth. */
  readonly allow: readonly { readonly path: string; readonly reason: string }[];
}

/** A line containing this text is never reported. */
export const ALLOW_SECRET_MARKER = "shriven-pipeline: allow-secret";

/**
 * Longest line checked precisely (in UTF-16 code units, 1 MiB of ASCII). The
 * checks are linear, a few tens of milliseconds per MiB, so this bound is not
 * about blow-ups: it keeps one synchronous check short, since nothing else
 * (the step's timeout included) runs while it does. Source and config lines
 * are far shorter; a longer line that the grep prefilter selected is
 * generated or embedded data (a minified bundle, an inlined file) that may hold
 * anything, so it is reported as `unchecked-line` and fails the step like a
 * secret, rather than passing unread: allow the file in `[secrets]` with a
 * reason, or split the line.
 */
export const MAX_CHECKED_LINE_LENGTH = 1_048_576;

/** Shortest literal reported as a high-entropy assignment. */
export const MIN_ASSIGNED_SECRET_LENGTH = 20;

/** Least Shannon entropy (bits per character) of a literal reported as a high-entropy assignment. */
export const MIN_SECRET_ENTROPY = 3.5;

/**
 * POSIX extended regular expressions (for `grep -E -i -e … -e …`) selecting
 * every line {@link scanLines} could report; broader than the precise checks.
 */
export const SECRET_PREFILTER: readonly string[] = [
  "-----BEGIN [A-Z ]*PRIVATE KEY",
  "gh[pousr]_[A-Za-z0-9]{36}",
  "github_pat_[A-Za-z0-9_]{22}",
  "hooks\\.slack\\.com/services/",
  "(binance|zerodha|kite)[A-Za-z0-9_-]*(key|secret)",
  "(secret|[_-]key|[_-]token|[_-]password|apikey)[\"'`]?[[:space:]]*[:=]",
];

/** A finding within one line, before the file and line are attached. */
interface Hit {
  readonly kind: SecretKind;
  readonly start: number;
  readonly end: number;
  readonly masked: string;
}

const PRIVATE_KEY = /-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/;
const GITHUB_TOKEN = /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/;
const SLACK_WEBHOOK = /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/;
/**
 * The precise checks below are linear in a line's length: none backtracks over
 * what an earlier attempt already read. (The single regular expressions they
 * replace were cubic on spaces after `a_key:`, 14 s for 4 kB, and quadratic on
 * repeated names, `a_key=a_key=…`; while one ran, the event loop, and with it
 * the step's timeout, stood still.)
 */
const EXCHANGE_NAME_START = /(?<![A-Za-z0-9])(?:binance|zerodha|kite)/gi;
const WORD_RUN = /[A-Za-z0-9_]*/y;
const KEY_WORD_END = /(?:key|secret)$/i;
const DASHED_KEY_WORD = /-(?:key|secret)/iy;
const EXCHANGE_SEPARATOR = /["'`]?\s*[=:]\s*["'`]?/y;
const ALNUM_RUN = /[A-Za-z0-9]*/y;

/** A name of a `name = value` assignment: a run of these characters… */
const NAME = /[\w.-]+/g;
/** …ending in one of these (tested on its last 9 characters, the longest suffix). */
const SECRET_NAME_SUFFIX = /(?:secret|[_-]key|[_-]token|[_-]password|apikey)$/i;
const SPACES = /\s*/y;
/** A type annotation before a quoted value (`: &str =`, `: Option<String> =`), with the spaces around it. */
const TYPE_AND_SPACES = /[&\w<>[\]' ,\s]*/y;
const TYPE = /^[&\w<>[\]' ,]+$/;
/** An unquoted value's characters. */
const VALUE_RUN = /[^\s"'`,;(){}[\]]*/y;
/** After an unquoted value and spaces: the end of the line, or one of these. */
const AFTER_VALUE = new Set([",", ";", "}", ")", "]", "#"]);
const LINE_BREAK = /[\n\r\u2028\u2029]/;

/** Values that are references or placeholders, not secrets. */
const PLACEHOLDERS: readonly RegExp[] = [
  /\$\{/, // ${VAR}, ${{ secrets.X }}
  /^\$[A-Za-z_]\w*$/, // $VAR
  /^env:\/\//i,
  /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/, // the name of an environment variable
  /^<.*>$/,
  /x{4,}|\*{4,}/i,
  /change[-_]?me|replace[-_]?me|placeholder|example|dummy|redacted/i,
  /^your|here$/i,
  /^(.)\1*$/,
  /\s/,
];

/**
 * Parses `git grep -n -I` / `grep -rnI` output (`path:line:text`). The first
 * `:<digits>:` ends the path; a leading `./` is removed; other lines are ignored.
 */
export function parseGrepOutput(output: string): GrepLine[] {
  return output.split(/\r?\n/).flatMap((row) => {
    const match = /^(.+?):(\d+):(.*)$/.exec(row);
    if (match === null) return [];
    const [, file = "", line = "", text = ""] = match;
    return [{ file: stripDotSlash(file), line: Number(line), text }];
  });
}

/**
 * Reports the secrets in `lines`: at most one finding per line per kind, in
 * line order. Files allowed by `policy` and lines with {@link ALLOW_SECRET_MARKER}
 * are skipped. A high-entropy assignment is not reported when a more specific
 * kind already covers its value. A line longer than {@link MAX_CHECKED_LINE_LENGTH}
 * is reported as one `unchecked-line` finding, unread.
 */
export function scanLines(lines: readonly GrepLine[], policy: SecretPolicy): SecretFinding[] {
  const isAllowed = allowMatcher(policy);
  return lines
    .filter((line) => !isAllowed(line.file) && !line.text.includes(ALLOW_SECRET_MARKER))
    .flatMap((line) =>
      (line.text.length > MAX_CHECKED_LINE_LENGTH ? [uncheckedLine(line.text)] : scanLine(line.text)).map((hit) => ({
        file: line.file,
        line: line.line,
        kind: hit.kind,
        masked: hit.masked,
      })),
    );
}

/** Shannon entropy of `value` in bits per character (0 for an empty string). */
export function shannonEntropy(value: string): number {
  const chars = [...value];
  const counts = new Map<string, number>();
  for (const char of chars) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / chars.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** The `[secrets]` table of the pipeline config; unknown keys are errors. */
export const secretPolicySchema = closedObject({
  allow: z
    .array(
      closedObject({
        path: z.string({ error: "expected a glob string" }).min(1, { error: "expected a non-empty glob" }),
        reason: z.string({ error: "expected a string" }).trim().min(1, { error: "expected a non-empty reason" }),
      }),
      { error: "expected an array of { path, reason } tables" },
    )
    .optional(),
});

/** The `[secrets]` table as validated by {@link secretPolicySchema}. */
export type SecretPolicyConfig = z.infer<typeof secretPolicySchema>;

/** The policy from a validated `[secrets]` table; no table means nothing is allowed. */
export function secretPolicyFrom(raw: SecretPolicyConfig | undefined): SecretPolicy {
  return { allow: raw?.allow ?? [] };
}

function scanLine(text: string): Hit[] {
  const specific = [privateKey(text), githubToken(text), slackWebhook(text), exchangeKey(text)].filter((hit) => hit !== undefined);
  const generic = highEntropyAssignment(text, specific);
  return (generic === undefined ? specific : [...specific, generic]).sort((a, b) => a.start - b.start);
}

function uncheckedLine(text: string): Hit {
  return {
    kind: "unchecked-line",
    start: 0,
    end: text.length,
    masked: `(${text.length} chars, over the ${MAX_CHECKED_LINE_LENGTH} checked)`,
  };
}

function privateKey(text: string): Hit | undefined {
  const match = PRIVATE_KEY.exec(text);
  // The BEGIN line names the key type only; it is not secret.
  return match ? { kind: "private-key", start: match.index, end: match.index + match[0].length, masked: match[0] } : undefined;
}

function githubToken(text: string): Hit | undefined {
  const match = GITHUB_TOKEN.exec(text);
  return match ? hit("github-token", match[0], match.index) : undefined;
}

function slackWebhook(text: string): Hit | undefined {
  const match = SLACK_WEBHOOK.exec(text);
  return match ? hit("slack-webhook", match[0], match.index) : undefined;
}

/**
 * `binance_api_key = "…"`: a name starting with an exchange, ending in `key` or
 * `secret`, and a value of 16+ letters and digits that does not run on into an
 * identifier, member access or call. The value must contain a digit, so
 * identifiers (`binance_key: someVariableName`) are not reported.
 */
function exchangeKey(text: string): Hit | undefined {
  /** The end of the last word run read, and where it was read from: names in one run share it. */
  let run = { from: 0, end: 0 };
  let from = 0;
  for (const name of text.matchAll(EXCHANGE_NAME_START)) {
    if (name.index < from) continue;
    const rest = name.index + name[0].length;
    if (rest < run.from || rest > run.end) run = { from: rest, end: sticky(WORD_RUN, text, rest) ?? rest };
    let nameEnd = run.end;
    if (text[nameEnd] === "-") {
      const dashed = sticky(DASHED_KEY_WORD, text, nameEnd);
      if (dashed === undefined) continue;
      nameEnd = dashed;
    } else if (!KEY_WORD_END.test(text.slice(Math.max(rest, nameEnd - 6), nameEnd))) continue;
    const valueStart = sticky(EXCHANGE_SEPARATOR, text, nameEnd);
    if (valueStart === undefined) continue;
    const valueEnd = sticky(ALNUM_RUN, text, valueStart) ?? valueStart;
    if (valueEnd - valueStart < 16 || /[_.(-]/.test(text[valueEnd] ?? "")) continue;
    from = valueEnd;
    const value = text.slice(valueStart, valueEnd);
    if (/\d/.test(value) && !isPlaceholder(value)) return hit("exchange-api-key", value, valueStart);
  }
  return undefined;
}

function highEntropyAssignment(text: string, taken: readonly Hit[]): Hit | undefined {
  for (const { value, at, quoted } of assignments(text)) {
    const overlaps = taken.some((other) => at < other.end && other.start < at + value.length);
    if (!overlaps && isLikelySecret(value, quoted)) return hit("high-entropy-assignment", value, at);
  }
  return undefined;
}

/** The value of an assignment, where it starts, and where the assignment ends. */
interface Assigned {
  readonly value: string;
  readonly at: number;
  readonly quoted: boolean;
  readonly end: number;
}

/**
 * `name = value` in .env, TOML, YAML, JSON, Rust/TS/JS/Go/Ruby, left to right, not
 * overlapping: the name ends in a secret-like suffix; the separator is `:`, `:=`,
 * `=>` or `=`, or a type annotation (`: &str =`) before a quoted value; the
 * value is quoted, or unquoted and ending the statement (followed by the end of
 * the line, `,;})]`, or a `#` or `//` comment).
 */
function* assignments(text: string): Generator<Assigned> {
  const runs = new ValueRuns(text);
  let from = 0;
  for (const name of text.matchAll(NAME)) {
    if (name.index < from || !SECRET_NAME_SUFFIX.test(name[0].slice(-9))) continue;
    const found = assignedAfter(text, name.index + name[0].length, runs);
    if (found === undefined) continue;
    yield found;
    from = found.end;
  }
}

/** The assignment after a name ending at `nameEnd` (and perhaps a closing quote), trying the separators in turn. */
function assignedAfter(text: string, nameEnd: number, runs: ValueRuns): Assigned | undefined {
  const at = skipSpaces(text, isQuote(text[nameEnd]) ? nameEnd + 1 : nameEnd);
  if (text[at] === ":") {
    return typedValue(text, at + 1) ?? (text[at + 1] === "=" ? valueAt(text, at + 2, runs) : undefined) ?? valueAt(text, at + 1, runs);
  }
  if (text[at] === "=") return (text[at + 1] === ">" ? valueAt(text, at + 2, runs) : undefined) ?? valueAt(text, at + 1, runs);
  return undefined;
}

/** After `:`: a type, spaces, `=` (not `=>`), and a quoted value. */
function typedValue(text: string, from: number): Assigned | undefined {
  const equals = sticky(TYPE_AND_SPACES, text, from) ?? from;
  if (text[equals] !== "=" || text[equals + 1] === ">" || !isTypeAndSpaces(text.slice(from, equals))) return undefined;
  const start = skipSpaces(text, equals + 1);
  return isQuote(text[start]) ? quotedValue(text, start) : undefined;
}

/** Whether `region` is spaces, a type of 1+ characters (a space is one), then 1+ spaces. */
function isTypeAndSpaces(region: string): boolean {
  const type = region.trim();
  if (type === "") return region.slice(0, -1).includes(" ");
  return TYPE.test(type) && /\s$/.test(region);
}

/** A quoted or unquoted value after spaces from `from`. */
function valueAt(text: string, from: number, runs: ValueRuns): Assigned | undefined {
  const start = skipSpaces(text, from);
  if (isQuote(text[start])) return quotedValue(text, start);
  const run = runs.at(start);
  if (run.end === start) return undefined;
  // The longest part of the run that ends the statement: all of it, or up to its last `#` or `//`.
  const end = endsStatement(text, run.end) ? run.end : run.lastComment;
  return end > start ? { value: text.slice(start, end), at: start, quoted: false, end } : undefined;
}

/** The text between the quote at `start` and the next same quote on the line. */
function quotedValue(text: string, start: number): Assigned | undefined {
  const close = text.indexOf(text[start] as string, start + 1);
  if (close === -1 || LINE_BREAK.test(text.slice(start + 1, close))) return undefined;
  return { value: text.slice(start + 1, close), at: start + 1, quoted: true, end: close + 1 };
}

function endsStatement(text: string, at: number): boolean {
  const next = skipSpaces(text, at);
  return next === text.length || AFTER_VALUE.has(text[next] as string) || text.startsWith("//", next);
}

/**
 * The run of unquoted-value characters at a position, and the last `#` or `//`
 * in it; remembered, because the values of names inside one run (`a_key=b_key=…`)
 * share it and reading it again for each would be quadratic.
 */
class ValueRuns {
  #from = 0;
  #end = 0;
  #lastComment = -1;

  constructor(private readonly text: string) {}

  at(start: number): { readonly end: number; readonly lastComment: number } {
    if (start < this.#from || start >= this.#end) {
      this.#from = start;
      this.#end = sticky(VALUE_RUN, this.text, start) ?? start;
      const run = this.text.slice(start, this.#end);
      const comment = Math.max(run.lastIndexOf("#"), run.lastIndexOf("//"));
      this.#lastComment = comment === -1 ? -1 : start + comment;
    }
    return { end: this.#end, lastComment: this.#lastComment };
  }
}

/** Where a match of the sticky `pattern` at `at` ends, or undefined when it does not match there. */
function sticky(pattern: RegExp, text: string, at: number): number | undefined {
  pattern.lastIndex = at;
  return pattern.test(text) ? pattern.lastIndex : undefined;
}

function skipSpaces(text: string, at: number): number {
  return sticky(SPACES, text, at) ?? at;
}

function isQuote(char: string | undefined): boolean {
  return char === '"' || char === "'" || char === "`";
}

function isLikelySecret(value: string, quoted: boolean): boolean {
  if (value.length < MIN_ASSIGNED_SECRET_LENGTH || isPlaceholder(value)) return false;
  return (quoted || !isCodeReference(value)) && shannonEntropy(value) >= MIN_SECRET_ENTROPY;
}

/** An unquoted value of letters, `_`, `.` and `:` without digits is code (`apiKey: settings.apiKey,`), not a literal. */
function isCodeReference(value: string): boolean {
  return /^[A-Za-z_][A-Za-z_.:]*$/.test(value);
}

function isPlaceholder(value: string): boolean {
  return PLACEHOLDERS.some((pattern) => pattern.test(value));
}

function hit(kind: SecretKind, secret: string, start: number): Hit {
  return { kind, start, end: start + secret.length, masked: mask(secret) };
}

/** First 4 characters, an ellipsis and the length: enough to find the value, never enough to use it. */
function mask(secret: string): string {
  return `${secret.slice(0, 4)}…(${secret.length} chars)`;
}

function allowMatcher(policy: SecretPolicy): (file: string) => boolean {
  const globs = policy.allow.map((entry) => {
    const path = stripDotSlash(entry.path);
    return { pattern: globToRegExp(path), anyDepth: !path.includes("/") };
  });
  return (file) => {
    const path = stripDotSlash(file);
    const base = path.slice(path.lastIndexOf("/") + 1);
    return globs.some((glob) => glob.pattern.test(path) || (glob.anyDepth && glob.pattern.test(base)));
  };
}

const GLOB_TOKENS: Readonly<Record<string, string>> = { "**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]" };

/** `**` matches across directories, `*` and `?` within one; everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/\*\*\/|\*\*|\*|\?|[.+^${}()|[\]\\]/g, (token) => GLOB_TOKENS[token] ?? `\\${token}`);
  return new RegExp(`^${source}$`);
}

function stripDotSlash(path: string): string {
  return path.replace(/^(?:\.\/)+/, "");
}
