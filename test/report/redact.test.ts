/**
 * Fixture secrets are assembled at run time (armour lines split in the source),
 * so the secrets step finds nothing to report in this file.
 */
import { describe, expect, it } from "vitest";
import { MIN_LINE_LENGTH, MIN_REDACTED_LENGTH, NO_SECRETS, REDACTED, Redactor } from "../../src/report/redact.js";

/** Four 76-character base64 lines of made-up key material and a short last one, as in a PEM body. */
const KEY_BODY = (() => {
  const base64 = Buffer.from(Array.from({ length: 228 }, (_, i) => (i * 151 + 17) % 256)).toString("base64");
  return [...(base64.match(/.{76}/g) ?? []), "AAAECzQ1Ng=="];
})();
const BEGIN = `-----BEGIN ${"OPENSSH"} PRIVATE KEY-----`;
const END = `-----END ${"OPENSSH"} PRIVATE KEY-----`;
/** A multi-line secret as a key file holds it: LF endings, a final newline. */
const KEY = `${BEGIN}\n${KEY_BODY.join("\n")}\n${END}\n`;
const TOKEN = ["tok", "live", "9f8e7d6c5b4a39281706f5e4"].join("_");

/** Where the base64 characters that depend only on bytes `from` to `from + length` start and end. */
function base64Span(from: number, length: number): { first: number; last: number } {
  return { first: Math.ceil((8 * from) / 6), last: Math.floor((8 * (from + length)) / 6) };
}

/** Feeds `chunks` through a redacting stream and returns everything the sink received. */
function streamed(redactor: Redactor, chunks: readonly (string | Uint8Array)[]): { output: string; writes: string[] } {
  const writes: string[] = [];
  const writer = redactor.stream({
    write(chunk) {
      expect(typeof chunk).toBe("string");
      writes.push(String(chunk));
    },
  });
  for (const chunk of chunks) writer.write(chunk);
  writer.end();
  return { output: writes.join(""), writes };
}

describe("Redactor.redact", () => {
  it("replaces every occurrence of every secret", () => {
    const redactor = new Redactor(["hunter2-secret", "tok_9f8e7d"]);
    expect(redactor.redact("pw=hunter2-secret token=tok_9f8e7d again hunter2-secret")).toBe(
      `pw=${REDACTED} token=${REDACTED} again ${REDACTED}`,
    );
    expect(redactor.redact("nothing to hide")).toBe("nothing to hide");
  });

  it("replaces a secret containing another as a whole", () => {
    const redactor = new Redactor(["abcd", "xxabcdyy"]);
    expect(redactor.redact("1 xxabcdyy 2 abcd 3")).toBe(`1 ${REDACTED} 2 ${REDACTED} 3`);
  });

  it("replaces overlapping occurrences as one, leaking no part of either", () => {
    const redactor = new Redactor(["abcdef12", "ef12gh34"]);
    expect(redactor.redact("<abcdef12gh34>")).toBe(`<${REDACTED}>`);
    expect(new Redactor(["aaaa"]).redact("aaaaaa!")).toBe(`${REDACTED}!`);
  });

  it("redacts the base64 and URL-encoded forms", () => {
    const secret = "p@ss w/rd+42?";
    const redactor = new Redactor([secret]);
    const base64 = Buffer.from(secret).toString("base64");
    expect(redactor.redact(`Authorization: Basic ${base64}`)).toBe(`Authorization: Basic ${REDACTED}`);
    expect(redactor.redact(`https://h/?k=${encodeURIComponent(secret)}&x=1`)).toBe(`https://h/?k=${REDACTED}&x=1`);
    expect(redactor.redact(`raw ${secret}`)).toBe(`raw ${REDACTED}`);
    expect(base64.endsWith("==")).toBe(true);
    expect(redactor.redact(`unpadded inside longer base64: ${base64.slice(0, -2)}QUJD`)).toBe(
      `unpadded inside longer base64: ${REDACTED}QUJD`,
    );
  });

  it(`ignores secrets shorter than ${MIN_REDACTED_LENGTH} characters`, () => {
    const redactor = new Redactor(["", "a", "ab", "abc"]);
    expect(redactor.redact("a ab abc abcd")).toBe("a ab abc abcd");
    expect(new Redactor(["abcd"]).redact("a ab abc abcd")).toBe(`a ab abc ${REDACTED}`);
  });

  it("accepts any iterable and de-duplicates", () => {
    const redactor = new Redactor(new Set(["s3cr3t-value"]).values());
    expect(redactor.redact("s3cr3t-value")).toBe(REDACTED);
    expect(new Redactor(["s3cr3t", "s3cr3t"]).redact("s3cr3t")).toBe(REDACTED);
  });
});

describe("Redactor.redact: the forms a secret takes in output", () => {
  const redactor = new Redactor([KEY, TOKEN]);

  it("redacts a multi-line secret whose line endings were changed, either way", () => {
    expect(redactor.redact(`got ${KEY.replaceAll("\n", "\r\n")}end`)).toBe(`got ${REDACTED}end`);
    const crlf = new Redactor([KEY.replaceAll("\n", "\r\n")]);
    expect(crlf.redact(`got ${KEY}end`)).toBe(`got ${REDACTED}end`);
  });

  it(`redacts each line of a multi-line secret printed alone, from ${MIN_LINE_LENGTH} characters on`, () => {
    const long = KEY_BODY.filter((line) => line.length >= MIN_LINE_LENGTH);
    expect(long).toHaveLength(4);
    for (const line of long) expect(redactor.redact(`  key line: ${line}\r\n`)).toBe(`  key line: ${REDACTED}\r\n`);
    const short = KEY_BODY.at(-1) as string;
    expect(short.length).toBeLessThan(MIN_LINE_LENGTH);
    expect(redactor.redact(`last: ${short}`)).toBe(`last: ${short}`);
  });

  it("never treats a PEM armour line as secret", () => {
    const text = `${BEGIN}\n(key elided)\n${END}\n`;
    expect(redactor.redact(text)).toBe(text);
  });

  it("redacts a multi-line secret in text that already is JSON", () => {
    expect(redactor.redact(JSON.stringify({ key: KEY }))).toBe(`{"key":"${REDACTED}"}`);
    expect(redactor.redact(JSON.stringify({ key: KEY.replaceAll("\n", "\r\n") }))).toBe(`{"key":"${REDACTED}"}`);
  });

  it('redacts a secret containing " and \\ in text that already is JSON', () => {
    const quoted = new Redactor(['pa"ss\\w0rd-Zq9']);
    expect(quoted.redact(JSON.stringify({ password: 'pa"ss\\w0rd-Zq9' }))).toBe(`{"password":"${REDACTED}"}`);
  });

  it("finds a secret inside the base64 of a longer value, at each of the three byte alignments", () => {
    for (const user of ["", "u", "ci", "bot:", "ci-bot:", "deploy-user:"]) {
      const basic = Buffer.from(`${user}${TOKEN}`).toString("base64");
      const { first } = base64Span(user.length, TOKEN.length);
      expect(redactor.redact(`Authorization: Basic ${basic}`)).toBe(`Authorization: Basic ${basic.slice(0, first)}${REDACTED}`);
      const inside = Buffer.from(`${user}${TOKEN}@host`).toString("base64");
      const span = base64Span(user.length, TOKEN.length);
      expect(redactor.redact(inside)).toBe(`${inside.slice(0, span.first)}${REDACTED}${inside.slice(span.last)}`);
    }
  });

  it("finds a secret inside base64url at each alignment", () => {
    for (const prefix of ["", "a", "ab"]) {
      const encoded = Buffer.from(`${prefix}${TOKEN}@x=1`).toString("base64url");
      const { first, last } = base64Span(prefix.length, TOKEN.length);
      expect(redactor.redact(encoded)).toBe(`${encoded.slice(0, first)}${REDACTED}${encoded.slice(last)}`);
    }
    const special = "k>?~k>?~k>?~k>?~";
    expect(Buffer.from(special).toString("base64")).toMatch(/[+/]/);
    expect(new Redactor([special]).redact(Buffer.from(special).toString("base64url"))).toBe(REDACTED);
  });

  it("redacts the URL-encoded forms, percent and form style", () => {
    const secret = "p@ss w/rd+42?";
    const special = new Redactor([secret]);
    expect(special.redact(`?${new URLSearchParams({ password: secret })}`)).toBe(`?password=${REDACTED}`);
    expect(special.redact(`/login/${encodeURIComponent(secret)}/`)).toBe(`/login/${REDACTED}/`);
  });

  it("redacts a secret given with the trailing newline of the file it was read from", () => {
    expect(new Redactor([`${TOKEN}\n`]).redact(`token=${TOKEN}&next=1`)).toBe(`token=${REDACTED}&next=1`);
  });
});

describe("Redactor: hostile secrets", () => {
  it(`ignores empty secrets, secrets under ${MIN_REDACTED_LENGTH} characters without their surrounding whitespace, and all-whitespace ones`, () => {
    const text = "a abc    x \t\n  \r\n y  ab  z";
    const hostile = new Redactor(["", "a", "abc", "    ", "\t\n  \r\n", "  ab  "]);
    expect(hostile.redact(text)).toBe(text);
    const writes: string[] = [];
    const writer = hostile.stream({ write: (chunk) => writes.push(String(chunk)) });
    writer.write(text);
    expect(writes).toEqual([text]);
  });

  it("redacts a secret that is a common word wherever the word appears", () => {
    expect(new Redactor(["password"]).redact("enter password: password1")).toBe(`enter ${REDACTED}: ${REDACTED}1`);
  });

  it("redacts a secret with a lone surrogate, which has no URL-encoded form", () => {
    expect(new Redactor(["ab\ud800cd"]).redact("x ab\ud800cd y")).toBe(`x ${REDACTED} y`);
  });
});

describe("Redactor.redactJson", () => {
  const redactor = new Redactor([KEY, TOKEN, "12345678"]);

  it("redacts every string of a structure before it is serialised, object keys included", () => {
    const basic = Buffer.from(`ci-bot:${TOKEN}`).toString("base64");
    const data = {
      log: `connecting\n${KEY}done`,
      lines: KEY.split("\n"),
      nested: [{ header: `Basic ${basic}` }],
      [TOKEN]: "named by the secret",
      at: new Date(0),
    };
    const redacted = redactor.redactJson(data);
    const json = JSON.stringify(redacted);
    for (const line of KEY_BODY.slice(0, 4)) expect(json).not.toContain(line);
    expect(json).not.toContain(TOKEN);
    expect(redacted).toEqual({
      log: `connecting\n${REDACTED}done`,
      lines: [BEGIN, REDACTED, REDACTED, REDACTED, REDACTED, KEY_BODY.at(-1), END, ""],
      nested: [{ header: `Basic ${basic.slice(0, base64Span("ci-bot:".length, TOKEN.length).first)}${REDACTED}` }],
      [REDACTED]: "named by the secret",
      at: "1970-01-01T00:00:00.000Z",
    });
  });

  it("keeps numbers, booleans and null, which are measurements, not printed text", () => {
    expect(redactor.redactJson({ n: 12345678, s: "12345678", ok: true, none: null, skipped: undefined })).toEqual({
      n: 12345678,
      s: REDACTED,
      ok: true,
      none: null,
    });
    expect(redactor.redactJson(undefined)).toBeUndefined();
    expect(redactor.redactJson(["12345678", 12345678])).toEqual([REDACTED, 12345678]);
  });

  it("keeps apart keys that become the same, losing no value", () => {
    expect(redactor.redactJson({ [TOKEN]: 1, [REDACTED]: 2, [KEY_BODY[0] as string]: 3 })).toEqual({
      [REDACTED]: 1,
      [`${REDACTED} (2)`]: 2,
      [`${REDACTED} (3)`]: 3,
    });
  });

  it("makes the same JSON as before when there is nothing to hide", () => {
    const data = { a: [1, "x", { b: null }], when: new Date(0), gone: undefined };
    expect(NO_SECRETS.redactJson(data)).toEqual(JSON.parse(JSON.stringify(data)));
  });
});

describe("NO_SECRETS", () => {
  it("returns text unchanged", () => {
    const text = "anything at all, [REDACTED] included ✓";
    expect(NO_SECRETS.redact(text)).toBe(text);
  });

  it("streams text through unchanged, at once", () => {
    const { output, writes } = streamed(NO_SECRETS, ["ab", "cd", new TextEncoder().encode("é")]);
    expect(output).toBe("abcdé");
    expect(writes).toEqual(["ab", "cd", "é"]);
  });
});

describe("Redactor.stream", () => {
  const secret = "SeCrEt-42-token";
  const redactor = new Redactor([secret, "short1"]);
  const text = `start ${secret} middle short1 ${secret}${secret} end`;
  const expected = redactor.redact(text);

  it("redacts a secret split across 2 chunks at every point", () => {
    for (let i = 0; i <= text.length; i++) {
      expect(streamed(redactor, [text.slice(0, i), text.slice(i)]).output).toBe(expected);
    }
  });

  it("redacts a secret split across 3 chunks at every pair of points", () => {
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(streamed(redactor, [text.slice(0, i), text.slice(i, j), text.slice(j)]).output).toBe(expected);
      }
    }
  });

  it("redacts a text written one character at a time", () => {
    expect(streamed(redactor, [...text]).output).toBe(expected);
  });

  it("holds back only the last (longest form length - 1) characters until end()", () => {
    // The longest form of "abcd" is its base64, "YWJjZA==": 7 characters are held back.
    const writes: string[] = [];
    const writer = new Redactor(["abcd"]).stream({ write: (chunk) => writes.push(String(chunk)) });
    writer.write("01234");
    expect(writes).toEqual([]);
    writer.write("56789");
    expect(writes).toEqual(["012"]);
    writer.write("ABCDEFG");
    expect(writes).toEqual(["012", "3456789"]);
    writer.end();
    expect(writes).toEqual(["012", "3456789", "ABCDEFG"]);
    writer.end();
    expect(writes).toHaveLength(3);
  });

  it("redacts overlapping secrets split across chunks", () => {
    const overlapping = new Redactor(["abcdef12", "ef12gh34"]);
    const input = "x abcdef12gh34 y";
    for (let i = 0; i <= input.length; i++) {
      expect(streamed(overlapping, [input.slice(0, i), input.slice(i)]).output).toBe(`x ${REDACTED} y`);
    }
  });

  it("decodes UTF-8 bytes split inside multi-byte characters", () => {
    const unicode = new Redactor(["ключ-🔑-secret"]);
    const input = "héllo € ключ-🔑-secret 🎉 done";
    const bytes = new TextEncoder().encode(input);
    for (let i = 0; i <= bytes.length; i++) {
      const { output } = streamed(unicode, [bytes.subarray(0, i), bytes.subarray(i)]);
      expect(output).toBe(`héllo € ${REDACTED} 🎉 done`);
    }
  });

  it("writes no lone surrogate halves when a string chunk splits an emoji", () => {
    const unicode = new Redactor(["abcd"]);
    const input = "🎉🎉🎉🎉🎉";
    for (let i = 0; i <= input.length; i++) {
      const { output, writes } = streamed(unicode, [input.slice(0, i), input.slice(i)]);
      expect(output).toBe(input);
      for (const write of writes) expect(Buffer.from(write, "utf8").toString("utf8")).toBe(write);
    }
  });

  it("redacts base64 and URL-encoded forms split across chunks", () => {
    const special = "p@ss w/rd+42?";
    const encoded = new Redactor([special]);
    const input = `a=${encodeURIComponent(special)} b=${Buffer.from(special).toString("base64")}`;
    for (let i = 0; i <= input.length; i++) {
      expect(streamed(encoded, [input.slice(0, i), input.slice(i)]).output).toBe(`a=${REDACTED} b=${REDACTED}`);
    }
  });

  it("redacts each form of a secret split across 2 chunks at every point", () => {
    const forms = new Redactor([KEY, TOKEN, 'pa"ss\\w0rd-Zq9', "p@ss w/rd+42?"]);
    const input = [
      `crlf: ${KEY.replaceAll("\n", "\r\n")}`,
      `one line: ${KEY_BODY[1]}`,
      `basic: ${Buffer.from(`ci-bot:${TOKEN}`).toString("base64")}`,
      `json: ${JSON.stringify({ key: KEY, password: 'pa"ss\\w0rd-Zq9' })}`,
      `form: ${new URLSearchParams({ p: "p@ss w/rd+42?" })}`,
      `base64url: ${Buffer.from(`ab${TOKEN}@x`).toString("base64url")}`,
    ].join("\n");
    const expected = forms.redact(input);
    for (const line of expected.split("\n")) expect(line).toContain(REDACTED);
    for (const part of [...KEY_BODY.slice(0, 4), TOKEN, "w0rd-Zq9", "w%2Frd"]) expect(expected).not.toContain(part);
    for (let i = 0; i <= input.length; i++) expect(streamed(forms, [input.slice(0, i), input.slice(i)]).output).toBe(expected);
  });

  it("redacts a multi-line secret in JSON split across 3 chunks", () => {
    const input = `{"key":${JSON.stringify(KEY)}}`;
    const expected = `{"key":"${REDACTED}"}`;
    expect(new Redactor([KEY]).redact(input)).toBe(expected);
    const redactor = new Redactor([KEY]);
    for (let i = 0; i <= input.length; i += 5) {
      for (let j = i; j <= input.length; j += 7) {
        expect(streamed(redactor, [input.slice(0, i), input.slice(i, j), input.slice(j)]).output).toBe(expected);
      }
    }
  });

  it("redacts the forms of a secret with an emoji, split between bytes and inside the surrogate pair", () => {
    const secret = "ключ-🔑-Zq9x7w";
    const emoji = new Redactor([secret]);
    const basic = Buffer.from(`u:${secret}`).toString("base64");
    const input = `raw ${secret} url ${encodeURIComponent(secret)} basic ${basic} end 🎉`;
    const expected = emoji.redact(input);
    expect(expected).toBe(`raw ${REDACTED} url ${REDACTED} basic ${basic.slice(0, base64Span(2, 0).first)}${REDACTED} end 🎉`);
    const bytes = new TextEncoder().encode(input);
    for (let i = 0; i <= bytes.length; i++) expect(streamed(emoji, [bytes.subarray(0, i), bytes.subarray(i)]).output).toBe(expected);
    for (let i = 0; i <= input.length; i++) {
      const { output, writes } = streamed(emoji, [input.slice(0, i), input.slice(i)]);
      expect(output).toBe(expected);
      for (const write of writes) expect(Buffer.from(write, "utf8").toString("utf8")).toBe(write);
    }
  });

  it("keeps the order of mixed byte and string chunks", () => {
    const bytes = new TextEncoder().encode("é");
    const { output } = streamed(redactor, [bytes.subarray(0, 1), "?", bytes.subarray(1), `x${secret}`]);
    expect(output).toBe(`\uFFFD?\uFFFDx${REDACTED}`);
  });
});
