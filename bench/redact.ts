/**
 * Redaction of 1 MB of build output, the hot path of every step's log: the
 * whole text at once, and streamed line by line as a step's log is. Reported
 * as ratios of medians in the same process:
 * - against encoding the text as UTF-8, which writing the log does anyway;
 * - with an RSA-4096 key among the secrets (a few hundred forms: every line,
 *   base64 at three alignments, URL- and JSON-escaped) against four tokens
 *   alone: all forms are searched in one pass, so this stays near 1;
 * - streamed line by line against the whole text at once;
 * - a 4-character secret against the four tokens: the text is sampled every
 *   (shortest form − 3) characters, so very short secrets cost the most.
 *
 * Usage: npx tsx bench/redact.ts [--repeats N]
 */
import { generateKeyPairSync } from "node:crypto";
import { parseArgs } from "node:util";
import { Redactor } from "../src/report/redact.js";

const { values } = parseArgs({ options: { repeats: { type: "string", default: "21" } } });
const repeats = Number(values.repeats);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: expected a whole number ≥ 1, got ${values.repeats}`);

const TOKENS = [
  ["gh", "p_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"].join(""),
  ["xo", "xb-", "1234567890-abcdefghijklmnop"].join(""),
  "Zk7Qp2Lm9Xw4Rt8Vb6Nc3Hy5Js1Df0Ga",
  ["https://hooks.slack.com", "/services/T01ABCDEFG/B02HIJKLMN/aBcDeFgHiJkLmNoPqRsTuVwX"].join(""),
];
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 4096,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

const lines: string[] = [];
for (let size = 0, i = 0; size < 1_000_000; i++) {
  const line = `   Compiling crate-${i} v0.${i % 100}.3 (/work/src/crates/crate-${i % 100}) warning: unused variable \`x${i}\` at src/lib.rs:${i % 300}:9`;
  lines.push(line);
  size += line.length + 1;
}
const text = `${lines.join("\n")}\n`;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function time(run: () => unknown, times = repeats): number {
  run();
  const samples = Array.from({ length: times }, () => {
    const started = performance.now();
    run();
    return performance.now() - started;
  });
  return median(samples);
}

function streamed(redactor: Redactor): string {
  const out: string[] = [];
  const writer = redactor.stream({ write: (chunk) => out.push(String(chunk)) });
  for (const line of lines) writer.write(`${line}\n`);
  writer.end();
  return out.join("");
}

const tokens = new Redactor(TOKENS);
const withKey = new Redactor([...TOKENS, privateKey]);
if (streamed(withKey) !== withKey.redact(text)) throw new Error("streamed and whole-text redaction differ");

const encodeMs = time(() => Buffer.from(text, "utf8"));
const tokensMs = time(() => tokens.redact(text));
const keyMs = time(() => withKey.redact(text));
const streamMs = time(() => streamed(withKey), Math.max(1, Math.floor(repeats / 3)));
const short = new Redactor(["x9Qz"]);
const shortMs = time(() => short.redact(text));

const ms = (value: number) => `${value.toFixed(2)} ms`;
console.log(`redaction of ${(text.length / 1e6).toFixed(2)} MB of build output (${lines.length} lines), medians of ${repeats} runs`);
console.log(`  UTF-8 encoding (the log write)  ${ms(encodeMs)}`);
console.log(`  4 tokens, whole text            ${ms(tokensMs)}   ratio to the encoding ${(tokensMs / encodeMs).toFixed(2)}`);
console.log(
  `  4 tokens + RSA-4096 key         ${ms(keyMs)}   ratio to 4 tokens ${(keyMs / tokensMs).toFixed(2)} (≈ 1: cost does not grow with forms)`,
);
console.log(
  `  same, streamed line by line     ${ms(streamMs)}   ratio to the whole text ${(streamMs / keyMs).toFixed(2)}, to the encoding ${(streamMs / encodeMs).toFixed(2)}`,
);
console.log(`  one 4-character secret          ${ms(shortMs)}   ratio to 4 tokens ${(shortMs / tokensMs).toFixed(2)}`);
