/**
 * Keeps the values of secrets a run holds out of everything it prints or
 * writes: logs, reports, captured command output, structured step data.
 *
 * Text is searched for every *form* a secret can take in output: as given, with
 * its line endings changed, one line of it alone, base64 (at every byte
 * alignment, so it is found inside `base64(user:secret)`), base64url,
 * URL-encoded and JSON-escaped. All forms are searched in one pass
 * ({@link FormIndex}), so the cost grows with the text, not with the number of
 * forms. Structures are redacted string by string before they are serialised
 * ({@link Redactor.redactJson}), never as their JSON text, whose escaping would
 * hide a secret's `\n`, `"` or `\` from the search.
 */

/** What a secret is replaced with. */
export const REDACTED = "[REDACTED]";

/**
 * Secrets shorter than this (leading and trailing whitespace not counted) are
 * ignored: replacing every `1` or `ab` in the output would mangle it, and values
 * that short cannot be kept secret anyway. A secret that is all whitespace is
 * ignored too. Any longer value is redacted even when it is a common word
 * (`password`): the redactor cannot tell a weak secret from a coincidence, and
 * `[REDACTED]` in place of a word is better than the secret in a log.
 */
export const MIN_REDACTED_LENGTH = 4;

/**
 * Shortest line of a multi-line secret (a PEM key's body lines, say) that is
 * redacted on its own. A line of 16 characters from a key's base64 holds about
 * 96 bits, which no unrelated output repeats; shorter lines (a key's last line,
 * `}` of a JSON credential file) would match ordinary text. The armour lines
 * `-----BEGIN … -----` and `-----END … -----` name the key's type, are the same
 * in every key and are never treated as secret.
 */
export const MIN_LINE_LENGTH = 16;

/**
 * Shortest base64 text cut from a secret's encoding that is redacted: the
 * encoding at a shifted byte alignment, or without the characters it shares
 * with its neighbours. 8 base64 characters are 48 bits, which random output
 * repeats once in about 10¹⁴ positions. The secret's own base64 (aligned, as a
 * whole, with or without padding) is redacted whatever its length, as its raw value is.
 */
export const MIN_SHIFTED_BASE64_LENGTH = 8;

/** Where a redacting writer sends its output. */
export interface TextSink {
  write(chunk: string | Uint8Array): void;
}

/** Redacts what is written to it in chunks; `end()` flushes what it holds back. */
export interface RedactingWriter {
  write(chunk: string | Uint8Array): void;
  end(): void;
}

/** Characters `start` to `end` (exclusive) of a text. */
interface Range {
  start: number;
  end: number;
}

/** Replaces every occurrence of every form of a set of secrets with {@link REDACTED}. */
export class Redactor {
  readonly #index: FormIndex;

  /** @param secrets Values to hide; see {@link MIN_REDACTED_LENGTH} for those that are ignored. */
  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) for (const form of secretForms(String(secret))) forms.add(form);
    this.#index = new FormIndex([...forms]);
  }

  /**
   * `text` with every occurrence of every form of every secret replaced by {@link REDACTED}.
   * Overlapping occurrences (or a secret containing another) are replaced as one whole.
   */
  redact(text: string): string {
    if (this.#index.empty) return text;
    const search = new FormSearch(this.#index);
    search.append(text);
    return replaceRanges(text, search.ranges(), text.length);
  }

  /**
   * A JSON copy of `value` (what `JSON.parse(JSON.stringify(value))` gives)
   * with every string in it redacted before it is serialised, object keys
   * included. Numbers, booleans and null are kept: they are measurements, not
   * text a command printed. Two keys that become the same are kept apart by a
   * ` (2)`, ` (3)`, … suffix, so no value is lost.
   */
  redactJson<T>(value: T): T {
    const replacer = (_key: string, member: unknown): unknown => {
      if (typeof member === "string") return this.redact(member);
      if (member === null || typeof member !== "object" || Array.isArray(member)) return member;
      return this.#redactKeys(member as Record<string, unknown>);
    };
    const text: string | undefined = JSON.stringify(value, replacer);
    return (text === undefined ? undefined : JSON.parse(text)) as T;
  }

  /**
   * A writer that redacts text arriving in chunks, even a secret split across
   * chunks: it holds back the last (longest form's length − 1) characters until
   * more arrives or `end()` is called, and never splits a surrogate pair. Byte
   * chunks are decoded as UTF-8, keeping multi-byte characters split across
   * chunks whole. Writes strings to `sink`.
   */
  stream(sink: TextSink): RedactingWriter {
    return redactingWriter(this.#index, sink);
  }

  #redactKeys(object: Record<string, unknown>): Record<string, unknown> {
    const keys = Object.keys(object);
    if (keys.every((key) => this.redact(key) === key)) return object;
    const renamed: Record<string, unknown> = Object.create(null);
    for (const key of keys) {
      const redacted = this.redact(key);
      let name = redacted;
      for (let n = 2; Object.hasOwn(renamed, name); n++) name = `${redacted} (${n})`;
      renamed[name] = object[key];
    }
    return renamed;
  }
}

const ARMOUR_LINE = /^-----(?:BEGIN|END) [^-]+-----$/;

/** Every form of `secret` that output may carry; none when the secret is too short to redact. */
function secretForms(secret: string): string[] {
  const trimmed = secret.trim();
  if (trimmed.length < MIN_REDACTED_LENGTH) return [];
  const lf = (text: string) => text.replaceAll("\r\n", "\n");
  const crlf = (text: string) => lf(text).replaceAll("\n", "\r\n");
  // A value read from a file often ends in a newline that its printed form lacks.
  const wholes = new Set([secret, lf(secret), crlf(secret), trimmed, lf(trimmed), crlf(trimmed)]);
  const forms: string[] = [];
  for (const whole of wholes) forms.push(...escapedForms(whole), ...base64Forms(whole));
  for (const line of lf(trimmed).split("\n")) {
    const part = line.trim();
    if (part !== trimmed && part.length >= MIN_LINE_LENGTH && !ARMOUR_LINE.test(part)) forms.push(...escapedForms(part));
  }
  return forms;
}

/** The text, URL-encoded (percent and form style) and JSON-escaped (for output that already is JSON). */
function escapedForms(text: string): string[] {
  const forms = [text, JSON.stringify(text).slice(1, -1)];
  try {
    const encoded = encodeURIComponent(text);
    forms.push(encoded, new URLSearchParams([["", text]]).toString().slice(1));
  } catch {
    // A lone surrogate has no URL-encoded form.
  }
  return forms;
}

/**
 * Base64 and base64url of `text` at the three byte alignments it can have
 * inside a longer encoded value. At alignment `p` (p bytes before it), the
 * characters that also cover a neighbouring byte are dropped; the forms for the
 * end of the encoded value keep its last character and padding, which depend on
 * nothing after it.
 */
function base64Forms(text: string): string[] {
  const bytes = Buffer.from(text, "utf8");
  const forms: string[] = [];
  for (const p of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(p), bytes]).toString("base64");
    const first = Math.ceil((8 * p) / 6);
    const atEnd = encoded.slice(first);
    const inside = encoded.slice(first, Math.floor((8 * (p + bytes.length)) / 6));
    const unpadded = atEnd.replace(/=+$/, "");
    const whole = p === 0 ? [atEnd, unpadded] : [];
    const cut = [inside, ...(p === 0 ? [] : [atEnd, unpadded])].filter((form) => form.length >= MIN_SHIFTED_BASE64_LENGTH);
    for (const form of [...whole, ...cut]) forms.push(form, form.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, ""));
  }
  return forms;
}

/**
 * All forms of a redactor, indexed for one search of a text. The text is
 * sampled every `stride` characters (stride = shortest form's length − GRAM + 1),
 * so every occurrence of a form covers a sample whose GRAM characters lie inside
 * it, at an offset below `stride`. The index holds the hash of each form's
 * grams at those offsets; a sampled gram is looked up in a bit filter, then in
 * the table, and only a hit compares a whole form. The cost is about GRAM / stride
 * hash steps per character of text, whatever the number of forms.
 */
class FormIndex {
  /** No forms: nothing is ever found. */
  readonly empty: boolean;
  /** The longest form's length. */
  readonly longest: number;
  readonly stride: number;
  readonly #filter = new Uint32Array(FILTER_BITS / 32);
  readonly #byGram = new Map<number, GramEntry[]>();

  constructor(forms: readonly string[]) {
    const lengths = forms.map((form) => form.length);
    this.empty = forms.length === 0;
    this.longest = Math.max(0, ...lengths);
    this.stride = Math.max(1, Math.min(...lengths) - GRAM + 1);
    for (const form of forms) {
      for (let offset = 0; offset < this.stride; offset++) {
        const hash = gramHash(form, offset);
        const bit = Math.imul(hash, MIX) >>> FILTER_SHIFT;
        this.#filter[bit >>> 5] = (this.#filter[bit >>> 5] as number) | (1 << (bit & 31));
        const entries = this.#byGram.get(hash);
        if (entries === undefined) this.#byGram.set(hash, [{ form, offset }]);
        else entries.push({ form, offset });
      }
    }
  }

  /** The forms whose gram at some offset below `stride` may be the one at `at` in `text`. */
  candidates(text: string, at: number): readonly GramEntry[] {
    const hash = gramHash(text, at);
    const bit = Math.imul(hash, MIX) >>> FILTER_SHIFT;
    if (((this.#filter[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return NONE;
    return this.#byGram.get(hash) ?? NONE;
  }
}

/** A form and where in it a gram is. */
interface GramEntry {
  readonly form: string;
  readonly offset: number;
}

/** Characters hashed at each sample; every form is at least {@link MIN_REDACTED_LENGTH} long. */
const GRAM = MIN_REDACTED_LENGTH;
/** Multiplier of the gram hash. */
const BASE = 0x01000193;
/** A hash's filter bit is the top bits of the hash times this (Fibonacci hashing). */
const MIX = 0x9e3779b1;
const FILTER_SHIFT = 14;
const FILTER_BITS = 2 ** (32 - FILTER_SHIFT);
const NONE: readonly GramEntry[] = [];

function gramHash(text: string, at: number): number {
  let hash = 0;
  for (let i = at; i < at + GRAM; i++) hash = (Math.imul(hash, BASE) + text.charCodeAt(i)) | 0;
  return hash;
}

/** What redaction reads of a text: a string, or a {@link FormSearch}'s pending text. */
interface TextView {
  readonly length: number;
  charCodeAt(index: number): number;
  slice(from: number, to: number): string;
}

/**
 * The search of a text that grows at its end and is written out from its
 * start: each character is sampled once, and a form that may begin in the text
 * but runs past its end stays open until enough text has come to decide. The
 * text is kept as the chunks that came, never joined into one string on each
 * write: joining would copy the held-back text (a key's length) per chunk.
 */
class FormSearch implements TextView {
  readonly #index: FormIndex;
  /** The text not yet dropped, as it came. */
  #pieces: string[] = [];
  #length = 0;
  /** The next position to sample. */
  #next = 0;
  /** Forms that may start at `start` but run past the text so far. */
  #open: { readonly start: number; readonly form: string }[] = [];
  /** Occurrences found, in no particular order. */
  #found: Range[] = [];

  constructor(index: FormIndex) {
    this.#index = index;
  }

  get length(): number {
    return this.#length;
  }

  charCodeAt(index: number): number {
    let at = index;
    for (const piece of this.#pieces) {
      if (at < piece.length) return piece.charCodeAt(at);
      at -= piece.length;
    }
    return Number.NaN;
  }

  slice(from: number, to: number): string {
    let out = "";
    let offset = 0;
    for (const piece of this.#pieces) {
      if (offset >= to) break;
      const end = offset + piece.length;
      if (end > from) out += piece.slice(Math.max(0, from - offset), to - offset);
      offset = end;
    }
    return out;
  }

  /** Adds `chunk` to the text and finds what it completes. */
  append(chunk: string): void {
    if (chunk === "") return;
    const before = this.#length;
    this.#pieces.push(chunk);
    this.#length += chunk.length;
    // Many small chunks are joined once in a while, so reading a character stays cheap.
    if (this.#pieces.length > MAX_PIECES) this.#pieces = [this.#pieces.join("")];
    if (this.#index.empty) return;
    if (this.#open.length > 0) this.#open = this.#open.filter((open) => !this.#decided(open.start, open.form));
    // The first sample left starts at most GRAM − 1 characters before the chunk.
    const base = Math.min(this.#next, before);
    const end = this.slice(base, before) + chunk;
    let at = this.#next;
    for (; at + GRAM <= this.#length; at += this.#index.stride) {
      for (const { form, offset } of this.#index.candidates(end, at - base)) {
        const start = at - offset;
        if (start >= 0 && !this.#decided(start, form)) this.#open.push({ start, form });
      }
    }
    this.#next = at;
  }

  /** The occurrences found so far, sorted, overlapping ones merged. */
  ranges(): readonly Range[] {
    if (this.#found.length < 2) return this.#found;
    const merged: Range[] = [];
    for (const range of this.#found.sort((a, b) => a.start - b.start)) {
      const last = merged.at(-1);
      if (last !== undefined && range.start < last.end) last.end = Math.max(last.end, range.end);
      else merged.push({ ...range });
    }
    this.#found = merged;
    return merged;
  }

  /** Forgets the first `count` characters of the text (written out, with no form open or found across them). */
  drop(count: number): void {
    let left = count;
    while (left > 0 && this.#pieces.length > 0) {
      const first = this.#pieces[0] as string;
      if (first.length <= left) {
        this.#pieces.shift();
        left -= first.length;
      } else {
        this.#pieces[0] = first.slice(left);
        left = 0;
      }
    }
    this.#length -= count;
    this.#next -= count;
    if (this.#open.length > 0) this.#open = this.#open.map((open) => ({ start: open.start - count, form: open.form }));
    if (this.#found.length > 0) {
      this.#found = this.#found
        .filter((range) => range.start >= count)
        .map((range) => ({ start: range.start - count, end: range.end - count }));
    }
  }

  /** Whether the text shows if `form` starts at `start`; records it when it does. */
  #decided(start: number, form: string): boolean {
    const end = start + form.length;
    if (end > this.#length) return false;
    if (this.slice(start, end) === form) this.#found.push({ start, end });
    return true;
  }
}

/** Chunks kept apart before they are joined. */
const MAX_PIECES = 64;

/** `text` up to `until`, with `ranges` (sorted, disjoint) replaced; none may cross `until`. */
function replaceRanges(text: TextView, ranges: readonly Range[], until: number): string {
  let out = "";
  let from = 0;
  for (const range of ranges) {
    if (range.start >= until) break;
    out += text.slice(from, range.start) + REDACTED;
    from = range.end;
  }
  return out + text.slice(from, until);
}

function redactingWriter(index: FormIndex, sink: TextSink): RedactingWriter {
  const hold = Math.max(0, index.longest - 1);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const search = new FormSearch(index);
  /** Whether the decoder may hold part of a character. */
  let decoding = false;
  const flush = (): string => {
    const rest = decoding ? decoder.decode() : "";
    decoding = false;
    return rest;
  };
  return {
    write(chunk) {
      // A string after bytes flushes the decoder first, so output stays in order.
      if (typeof chunk === "string") search.append(flush() + chunk);
      else {
        decoding = true;
        search.append(decoder.decode(chunk, { stream: true }));
      }
      const ranges = search.ranges();
      const cut = safeCut(search, hold, ranges);
      if (cut === 0) return;
      sink.write(replaceRanges(search, ranges, cut));
      search.drop(cut);
    },
    end() {
      search.append(flush());
      if (search.length > 0) sink.write(replaceRanges(search, search.ranges(), search.length));
      search.drop(search.length);
    },
  };
}

/**
 * How much of `text` can be written now: all but the last `hold` characters
 * (which may begin a form), moved back so it splits neither a form found whole
 * nor a surrogate pair.
 */
function safeCut(text: TextView, hold: number, ranges: readonly Range[]): number {
  let cut = text.length - hold;
  for (;;) {
    if (cut <= 0) return 0;
    const at = cut;
    const split = ranges.find((range) => range.start < at && at < range.end);
    if (split !== undefined) cut = split.start;
    else if (isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
    else return cut;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** A redactor with no secrets: `redact` returns its input unchanged. */
export const NO_SECRETS: Redactor = new Redactor([]);
