import { describe, expect, it } from "vitest";
import { MIN_REDACTED_LENGTH, NO_SECRETS, REDACTED, Redactor } from "../../src/report/redact.js";

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

  it("keeps the order of mixed byte and string chunks", () => {
    const bytes = new TextEncoder().encode("é");
    const { output } = streamed(redactor, [bytes.subarray(0, 1), "?", bytes.subarray(1), `x${secret}`]);
    expect(output).toBe(`\uFFFD?\uFFFDx${REDACTED}`);
  });
});
