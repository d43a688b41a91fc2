/**
 * Finds committed secrets in lines of text. The pipeline selects candidate
 * lines with grep (`git grep -n -I -E -i`, or `grep -rnI -E -i` without git)
 * and the {@link SECRET_PREFILTER} patterns, parses the output with
 * {@link parseGrepOutput}, and checks each line precisely with {@link scanLines}.
 * Findings never carry the secret itself, only a masked form.
 */
import { z } from "zod";
import { closedObject } from "../config/zod-issues.js";

/** What kind of secret a finding is. */
export type SecretKind = "private-key" | "github-token" | "slack-webhook" | "exchange-api-key" | "high-entropy-assignment";

/** One line of grep output. */
export interface GrepLine {
  /** Workspace-relative path, without a leading `./`. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** The line's text. */
  readonly text: string;
}

/** One secret found; `masked` shows at most its first 4 characters. */
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
/** Group 1 is the value; it must not run on into an identifier, member access or call. */
const EXCHANGE_KEY =
  /(?<![A-Za-z0-9])(?:binance|zerodha|kite)[A-Za-z0-9_]*?(?:api)?[_-]?(?:key|secret)["'`]?\s*[=:]\s*["'`]?([A-Za-z0-9]{16,})(?![A-Za-z0-9_.(-])/dgi;
/**
 * `name = value` in .env, TOML, YAML, JSON, Rust/TS/JS/Go/Ruby: the name ends in a secret-like
 * suffix; a type annotation (`: &str =`) is allowed before a quoted value. Group 2 is a quoted
 * value, group 3 an unquoted one (which must end the statement).
 */
const ASSIGNMENT =
  /(?<![\w.-])[\w.-]*?(?:secret|[_-]key|[_-]token|[_-]password|apikey)["'`]?\s*(?::\s*[&\w<>[\]' ,]+?\s+=(?!>)\s*(?=["'`])|:=|=>|=|:)\s*(?:(["'`])(.*?)\1|([^\s"'`,;(){}[\]]+)(?=\s*(?:$|[,;})\]#]|\/\/)))/dgi;

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
 * kind already covers its value.
 */
export function scanLines(lines: readonly GrepLine[], policy: SecretPolicy): SecretFinding[] {
  const isAllowed = allowMatcher(policy);
  return lines
    .filter((line) => !isAllowed(line.file) && !line.text.includes(ALLOW_SECRET_MARKER))
    .flatMap((line) => scanLine(line.text).map((hit) => ({ file: line.file, line: line.line, kind: hit.kind, masked: hit.masked })));
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

/** The value must contain a digit, so identifiers (`binance_key: someVariableName`) are not reported. */
function exchangeKey(text: string): Hit | undefined {
  for (const match of text.matchAll(EXCHANGE_KEY)) {
    const value = match[1];
    const at = match.indices?.[1]?.[0];
    if (value === undefined || at === undefined) continue;
    if (/\d/.test(value) && !isPlaceholder(value)) return hit("exchange-api-key", value, at);
  }
  return undefined;
}

function highEntropyAssignment(text: string, taken: readonly Hit[]): Hit | undefined {
  for (const match of text.matchAll(ASSIGNMENT)) {
    const group = match[2] === undefined ? 3 : 2;
    const value = match[group];
    const at = match.indices?.[group]?.[0];
    if (value === undefined || at === undefined) continue;
    const overlaps = taken.some((other) => at < other.end && other.start < at + value.length);
    if (!overlaps && isLikelySecret(value, group === 2)) return hit("high-entropy-assignment", value, at);
  }
  return undefined;
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
