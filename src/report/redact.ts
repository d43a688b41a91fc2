/**
 * Keeps the values of secrets a run holds out of everything it prints or
 * writes: logs, reports, captured command output.
 */

/** What a secret is replaced with. */
export const REDACTED = "[REDACTED]";

/**
 * Secrets shorter than this are ignored: replacing every `1` or `ab` in the
 * output would mangle it, and values that short cannot be kept secret anyway.
 */
export const MIN_REDACTED_LENGTH = 4;

/** Where a redacting writer sends its output. */
export interface TextSink {
  write(chunk: string | Uint8Array): void;
}

/** Redacts what is written to it in chunks; `end()` flushes what it holds back. */
export interface RedactingWriter {
  write(chunk: string | Uint8Array): void;
  end(): void;
}

interface Range {
  start: number;
  end: number;
}

/** Replaces every occurrence of a set of secrets (and their base64 and URL-encoded forms) with {@link REDACTED}. */
export class Redactor {
  /** Every form of every secret, longest first. */
  readonly #forms: readonly string[];

  /** @param secrets Values to hide; those shorter than {@link MIN_REDACTED_LENGTH} are ignored. */
  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_REDACTED_LENGTH) continue;
      for (const form of encodedForms(secret)) forms.add(form);
    }
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
  }

  /**
   * `text` with every occurrence of every secret replaced by {@link REDACTED}.
   * Overlapping occurrences (or a secret containing another) are replaced as one whole.
   */
  redact(text: string): string {
    if (this.#forms.length === 0) return text;
    return replaceRanges(text, coveredRanges(text, this.#forms));
  }

  /**
   * A writer that redacts text arriving in chunks, even a secret split across
   * chunks: it holds back the last (longest secret length − 1) characters, counting
   * the encoded forms, until
   * more arrives or `end()` is called. Byte chunks are decoded as UTF-8, keeping
   * multi-byte characters split across chunks whole. Writes strings to `sink`.
   */
  stream(sink: TextSink): RedactingWriter {
    return redactingWriter(this, this.#forms, sink);
  }
}

/** A redactor with no secrets: `redact` returns its input unchanged. */
export const NO_SECRETS: Redactor = new Redactor([]);

function encodedForms(secret: string): string[] {
  const base64 = Buffer.from(secret, "utf8").toString("base64");
  // Unpadded too: inside a longer base64 text the padding is absent.
  const forms = [secret, base64, base64.replace(/=+$/, "")];
  try {
    forms.push(encodeURIComponent(secret));
  } catch {
    // A lone surrogate has no URL-encoded form.
  }
  return forms;
}

/** Every occurrence of every form, sorted and with overlapping ones merged. */
function coveredRanges(text: string, forms: readonly string[]): Range[] {
  const found: Range[] = [];
  for (const form of forms) {
    for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) found.push({ start: at, end: at + form.length });
  }
  found.sort((a, b) => a.start - b.start);
  const merged: Range[] = [];
  for (const range of found) {
    const last = merged.at(-1);
    if (last !== undefined && range.start < last.end) last.end = Math.max(last.end, range.end);
    else merged.push(range);
  }
  return merged;
}

function replaceRanges(text: string, ranges: readonly Range[]): string {
  let out = "";
  let from = 0;
  for (const range of ranges) {
    out += text.slice(from, range.start) + REDACTED;
    from = range.end;
  }
  return out + text.slice(from);
}

function redactingWriter(redactor: Redactor, forms: readonly string[], sink: TextSink): RedactingWriter {
  const hold = Math.max(0, (forms[0]?.length ?? 0) - 1);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let pending = "";
  const emit = (text: string) => {
    if (text !== "") sink.write(redactor.redact(text));
  };
  return {
    write(chunk) {
      // A string after bytes flushes the decoder first, so output stays in order.
      pending += typeof chunk === "string" ? decoder.decode() + chunk : decoder.decode(chunk, { stream: true });
      const cut = safeCut(pending, hold, forms);
      emit(pending.slice(0, cut));
      pending = pending.slice(cut);
    },
    end() {
      emit(pending + decoder.decode());
      pending = "";
    },
  };
}

/**
 * How much of `text` can be redacted and written now: all but the last `hold`
 * characters (which may begin a secret), moved back so it splits neither a
 * secret found whole nor a surrogate pair.
 */
function safeCut(text: string, hold: number, forms: readonly string[]): number {
  let cut = text.length - hold;
  if (cut <= 0) return 0;
  for (const range of coveredRanges(text, forms)) {
    if (range.start < cut && cut < range.end) cut = range.start;
  }
  const before = text.charCodeAt(cut - 1);
  return before >= 0xd800 && before <= 0xdbff ? cut - 1 : cut;
}
