/**
 * Minisign keys and signatures made and checked with Node's crypto, against the real minisign CLI
 * (0.11, the Debian package): what we sign it verifies, what it signs we verify, and both reject the
 * same tampering.
 */
import { spawnSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { blake2b } from "@noble/hashes/blake2.js";
import { describe, expect, it } from "vitest";
import {
  formatPublicKey,
  keyIdHex,
  loadSigningKey,
  minisignKeyIdText,
  parsePublicKey,
  SignatureError,
  type SigningKey,
  signFile,
  verifySignature,
} from "../../src/adapters/minisign.js";
import { ConfigError } from "../../src/core/errors.js";
import { tempDir } from "../helpers/temp.js";
import { needs } from "../helpers/tools.js";

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the real minisign in `cwd` with no input (so a password prompt fails instead of waiting). */
function minisign(cwd: string, ...args: string[]): Run {
  const result = spawnSync("minisign", args, { cwd, input: "", encoding: "utf8", timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A fresh unencrypted minisign key pair in `dir` (pub, sec). */
function generateKeyPair(dir: string): { pub: string; sec: string } {
  const run = minisign(dir, "-G", "-W", "-f", "-p", "pub", "-s", "sec");
  expect(run.code, run.stderr).toBe(0);
  return { pub: readFileSync(join(dir, "pub"), "utf8"), sec: readFileSync(join(dir, "sec"), "utf8") };
}

/** Raw Ed25519 public key of a 32-byte seed, with Node's crypto. */
function publicKeyOf(seed: Buffer): Buffer {
  const privateKey = createPrivateKey({
    key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]),
    format: "der",
    type: "pkcs8",
  });
  return (createPublicKey(privateKey).export({ format: "der", type: "spki" }) as Buffer).subarray(12);
}

/** Bytes of a minisign secret key file (see the format in src/adapters/minisign.ts), with fields to corrupt. */
function secretKeyBytes(
  seed: Buffer,
  options: { keyId?: Buffer; checksum?: "valid" | "zero"; kdf?: string; sigAlg?: string; chkAlg?: string } = {},
): Buffer {
  const keyId = options.keyId ?? Buffer.from("0102030405060708", "hex");
  const sk = Buffer.concat([seed, publicKeyOf(seed)]);
  const sigAlg = Buffer.from(options.sigAlg ?? "Ed");
  const checksum = options.checksum === "zero" ? Buffer.alloc(32) : Buffer.from(blake2b(Buffer.concat([sigAlg, keyId, sk]), { dkLen: 32 }));
  const kdf = options.kdf === undefined ? Buffer.alloc(2) : Buffer.from(options.kdf);
  return Buffer.concat([sigAlg, kdf, Buffer.from(options.chkAlg ?? "B2"), Buffer.alloc(32 + 8 + 8), keyId, sk, checksum]);
}

function secretKeyFile(bytes: Buffer): string {
  return `untrusted comment: minisign encrypted secret key\n${bytes.toString("base64")}\n`;
}

/** Replaces the character at `index` of `text` with a different one of the same base64/ASCII class. */
function flipChar(text: string, index: number): string {
  const c = text[index] as string;
  const replacement = c === "A" ? "B" : "A";
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

function lineOf(text: string, n: number): string {
  return text.split("\n")[n - 1] as string;
}

function replaceLine(text: string, n: number, replacement: string): string {
  const lines = text.split("\n");
  lines[n - 1] = replacement;
  return lines.join("\n");
}

/** The error `fn` throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, none was thrown");
}

/** A recognisable seed: bytes 0xa0..0xbf. */
const MARKER_SEED = Buffer.from(Array.from({ length: 32 }, (_, i) => 0xa0 + i));
const NOW = new Date("2026-01-02T03:04:05Z");

describe("keyIdHex", () => {
  it("prints minisign's way in .pub comments: no leading zeros, as its %PRIX64 does", () => {
    const id = Buffer.from("627375f65d3e0e05", "hex");
    expect(keyIdHex(id)).toBe("050E3E5DF6757362");
    expect(minisignKeyIdText(id)).toBe("50E3E5DF6757362");
    expect(minisignKeyIdText(Buffer.alloc(8))).toBe("0");
  });

  it("prints the 8 bytes as minisign does: a little-endian number in upper-case hex", () => {
    // From a real `minisign -G`: key id bytes 09 10 a0 7b 65 67 58 12, printed as 125867657BA01009.
    expect(keyIdHex(Buffer.from("0910a07b65675812", "hex"))).toBe("125867657BA01009");
  });
});

describe("signatures made by minisign 0.11 (recorded)", () => {
  // A throwaway key pair and signatures of "hello\n" made with the real CLI; only the public key is kept.
  const pub = "untrusted comment: minisign public key 125867657BA01009\nRWQJEKB7ZWdYEihWlwa7CLlORV1F0boxkPaAVLHwLNL9NPtvy3eV6oUP\n";
  const prehashed =
    "untrusted comment: signature from minisign secret key\n" +
    "RUQJEKB7ZWdYEhb7RKMdLZz3mWDtCOQOhc6d0bW8bNEGjXSNS/0Wdt5zE5+YUbFbt6zwxCV9hNGZkGU7emiYCsKKiQ+ffvbSaA8=\n" +
    "trusted comment: trusted text\n" +
    "Fl3jQFZUcwRSkuxZNH/nBqf8M6osZgNryqCKUNCUZuOXyZis+o8zcxMgvvspwA+L2VGjjrj8K97Skg5sS0TjDw==\n";
  const legacy =
    "untrusted comment: signature from minisign secret key\n" +
    "RWQJEKB7ZWdYEiQQk2tnsmBd7EPMuxB1zzfjLekKsmwMea/y8l3EUy53f4wjX7LoMmGP9acWSpOnFl1QJZ0zsPqLpHSMO3FEVg8=\n" +
    "trusted comment: timestamp:1795764182\tfile:f\n" +
    "ci9LuGGLop06jLLcy2ry5fCh7npveHg27DRQXakTlyzgo5CdaIuiJpuEwZL7+tA5cEMLV1i+oeYoe5KPTr/8DQ==\n";
  const data = Buffer.from("hello\n");

  it("reads the .pub and formats it back byte for byte", () => {
    const key = parsePublicKey(pub, "minisign.pub");
    expect(keyIdHex(key.keyId)).toBe("125867657BA01009");
    expect(formatPublicKey(key)).toBe(pub);
  });

  it("verifies the prehashed and the legacy signature", () => {
    const key = parsePublicKey(pub, "minisign.pub");
    expect(verifySignature(data, prehashed, key, "f.minisig")).toEqual({
      trustedComment: "trusted text",
      keyId: "125867657BA01009",
      prehashed: true,
    });
    expect(verifySignature(data, legacy, key, "f.minisig")).toEqual({
      trustedComment: "timestamp:1795764182\tfile:f",
      keyId: "125867657BA01009",
      prehashed: false,
    });
    expect(() => verifySignature(Buffer.from("hello!\n"), prehashed, key, "f.minisig")).toThrow(/signature does not match the file/);
  });

  it("accepts CRLF line ends", () => {
    const key = parsePublicKey(pub.replaceAll("\n", "\r\n"), "minisign.pub");
    expect(verifySignature(data, prehashed.replaceAll("\n", "\r\n"), key, "f.minisig").trustedComment).toBe("trusted text");
  });
});

describe("interop with the real minisign CLI", needs("minisign"), () => {
  it("loads the secret key minisign -G -W makes (all-zero checksum), with or without its comment line", () => {
    const dir = tempDir();
    const { pub, sec } = generateKeyPair(dir);
    const secBytes = Buffer.from(lineOf(sec, 2), "base64");
    expect(secBytes.subarray(0, 6)).toEqual(Buffer.from("Ed\0\0B2", "latin1"));
    expect(secBytes.subarray(126).every((b) => b === 0)).toBe(true); // what minisign 0.11 writes for -W keys
    const key = loadSigningKey(sec, "sec");
    expect(formatPublicKey(key)).toBe(pub);
    expect(parsePublicKey(pub, "pub")).toEqual({ keyId: key.keyId, publicKey: key.publicKey });
    expect(parsePublicKey(lineOf(pub, 2), "-P")).toEqual({ keyId: key.keyId, publicKey: key.publicKey });
    expect(formatPublicKey(loadSigningKey(lineOf(sec, 2), "sec"))).toBe(pub);
  });

  it("files we sign verify with minisign -V, -Q prints the trusted comment, -H accepts them as prehashed", () => {
    const dir = tempDir();
    const { sec } = generateKeyPair(dir);
    const key = loadSigningKey(sec, "sec");
    const data = Buffer.from("a release binary\0\xff".repeat(1000), "latin1");
    writeFileSync(join(dir, "app"), data);
    writeFileSync(join(dir, "app.minisig"), signFile(data, key, { fileName: "app", now: NOW }));

    const verified = minisign(dir, "-V", "-p", "pub", "-m", "app");
    expect(verified).toEqual({
      code: 0,
      stdout: `Signature and comment signature verified\nTrusted comment: timestamp:${NOW.getTime() / 1000}\tfile:app\thashed\n`,
      stderr: "",
    });
    expect(minisign(dir, "-V", "-Q", "-p", "pub", "-m", "app")).toEqual({
      code: 0,
      stdout: `timestamp:1767323045\tfile:app\thashed\n`,
      stderr: "",
    });
    expect(minisign(dir, "-V", "-q", "-p", "pub", "-m", "app")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(minisign(dir, "-V", "-H", "-p", "pub", "-m", "app").code).toBe(0);

    writeFileSync(
      join(dir, "app.minisig"),
      signFile(data, key, { trustedComment: "version:1.2.3 commit:abc", untrustedComment: "from the pipeline" }),
    );
    expect(minisign(dir, "-V", "-Q", "-p", "pub", "-m", "app")).toMatchObject({ code: 0, stdout: "version:1.2.3 commit:abc\n" });
  });

  it("files minisign signs verify with ours and give back the trusted comment", () => {
    const dir = tempDir();
    const { pub } = generateKeyPair(dir);
    writeFileSync(join(dir, "app"), "binary bytes\n");
    expect(minisign(dir, "-S", "-s", "sec", "-m", "app", "-t", "trusted text").code).toBe(0);
    const publicKey = parsePublicKey(pub, "pub");
    const result = verifySignature(
      readFileSync(join(dir, "app")),
      readFileSync(join(dir, "app.minisig"), "utf8"),
      publicKey,
      "app.minisig",
    );
    expect(result).toEqual({ trustedComment: "trusted text", keyId: keyIdHex(publicKey.keyId), prehashed: true });
    expect(pub).toContain(`minisign public key ${minisignKeyIdText(publicKey.keyId)}\n`);

    expect(minisign(dir, "-S", "-s", "sec", "-m", "app").code).toBe(0);
    const byDefault = verifySignature(
      readFileSync(join(dir, "app")),
      readFileSync(join(dir, "app.minisig"), "utf8"),
      publicKey,
      "app.minisig",
    );
    expect(byDefault.trustedComment).toMatch(/^timestamp:\d+\tfile:app\thashed$/);
  });

  it("legacy (minisign -S -l) signatures verify with ours, as not prehashed", () => {
    const dir = tempDir();
    const { pub } = generateKeyPair(dir);
    writeFileSync(join(dir, "app"), "legacy\n");
    expect(minisign(dir, "-S", "-l", "-s", "sec", "-m", "app", "-t", "old style").code).toBe(0);
    const sig = readFileSync(join(dir, "app.minisig"), "utf8");
    expect(Buffer.from(lineOf(sig, 2), "base64").subarray(0, 2).toString()).toBe("Ed");
    expect(verifySignature(Buffer.from("legacy\n"), sig, parsePublicKey(pub, "pub"), "app.minisig")).toMatchObject({
      trustedComment: "old style",
      prehashed: false,
    });
    expect(minisign(dir, "-V", "-H", "-p", "pub", "-m", "app").code).toBe(1); // minisign -H refuses legacy ones
  });

  describe.each([
    ["ours", (_dir: string, key: SigningKey, data: Buffer) => signFile(data, key, { trustedComment: "trusted text" })],
    [
      "minisign's",
      (dir: string) => {
        expect(minisign(dir, "-S", "-s", "sec", "-m", "app", "-t", "trusted text").code).toBe(0);
        return readFileSync(join(dir, "app.minisig"), "utf8");
      },
    ],
  ])("tampering with %s signature is rejected by both", (_, makeSignature) => {
    function setUp(): {
      dir: string;
      key: SigningKey;
      data: Buffer;
      sig: string;
      check: (data: Buffer, sig: string) => { ours: Error; theirs: Run };
    } {
      const dir = tempDir();
      const { sec } = generateKeyPair(dir);
      const key = loadSigningKey(sec, "sec");
      const data = Buffer.from("the artifact\n");
      writeFileSync(join(dir, "app"), data);
      const sig = makeSignature(dir, key, data);
      writeFileSync(join(dir, "app.minisig"), sig);
      expect(minisign(dir, "-V", "-p", "pub", "-m", "app").code).toBe(0);
      expect(verifySignature(data, sig, key, "app.minisig").trustedComment).toBe("trusted text");
      const check = (tamperedData: Buffer, tamperedSig: string) => {
        writeFileSync(join(dir, "app"), tamperedData);
        writeFileSync(join(dir, "app.minisig"), tamperedSig);
        return {
          ours: thrown(() => verifySignature(tamperedData, tamperedSig, key, "app.minisig")),
          theirs: minisign(dir, "-V", "-p", "pub", "-m", "app"),
        };
      };
      return { dir, key, data, sig, check };
    }

    it("a flipped byte in the artifact", () => {
      const { data, sig, check } = setUp();
      const tampered = Buffer.from(data);
      tampered[3] = (tampered[3] as number) ^ 0x01;
      const { ours, theirs } = check(tampered, sig);
      expect(ours).toBeInstanceOf(SignatureError);
      expect(ours.message).toMatch(/^app\.minisig: the signature does not match the file/);
      expect(theirs.code).not.toBe(0);
      expect(theirs.stderr).toContain("Signature verification failed");
    });

    it("a flipped byte in the signature line", () => {
      const { data, sig, check } = setUp();
      // Character 40 of line 2 encodes bytes 30-32: inside the 64-byte signature, after "ED" and the key id.
      const { ours, theirs } = check(data, replaceLine(sig, 2, flipChar(lineOf(sig, 2), 40)));
      expect(ours.message).toMatch(/the signature does not match the file/);
      expect(theirs.code).not.toBe(0);
      expect(theirs.stderr).toContain("Signature verification failed");
    });

    it("a changed trusted comment", () => {
      const { data, sig, check } = setUp();
      const { ours, theirs } = check(data, replaceLine(sig, 3, "trusted comment: trusted tExt"));
      expect(ours.message).toBe("app.minisig: the trusted comment does not match its global signature (line 3 or 4 was changed)");
      expect(theirs.code).not.toBe(0);
      expect(theirs.stderr).toContain("Comment signature verification failed");
    });

    it("a flipped byte in the global signature", () => {
      const { data, sig, check } = setUp();
      const { ours, theirs } = check(data, replaceLine(sig, 4, flipChar(lineOf(sig, 4), 10)));
      expect(ours.message).toMatch(/trusted comment does not match its global signature/);
      expect(theirs.code).not.toBe(0);
    });
  });

  it("a signature by another key: both name the two key ids the same way", () => {
    const dir = tempDir();
    const { pub } = generateKeyPair(dir);
    const expected = parsePublicKey(pub, "pub");
    const other = loadSigningKey(MARKER_SEED.toString("hex"), "other key");
    writeFileSync(join(dir, "app"), "x");
    writeFileSync(join(dir, "app.minisig"), signFile(Buffer.from("x"), other, { trustedComment: "t" }));
    const theirs = minisign(dir, "-V", "-p", "pub", "-m", "app");
    expect(theirs.code).toBe(1);
    expect(theirs.stderr).toContain(
      `is ${minisignKeyIdText(other.keyId)}\nbut the key id in the public key is ${minisignKeyIdText(expected.keyId)}`,
    );
    expect(() => verifySignature(Buffer.from("x"), readFileSync(join(dir, "app.minisig"), "utf8"), expected, "app.minisig")).toThrow(
      `app.minisig: signed by key ${keyIdHex(other.keyId)}, expected key ${keyIdHex(expected.keyId)}`,
    );
  });

  it.each([
    ["32-byte seed in hex", MARKER_SEED.toString("hex")],
    ["32-byte seed in base64", MARKER_SEED.toString("base64")],
    [
      "64-byte seed and public key in hex",
      Buffer.concat([MARKER_SEED, publicKeyOf(MARKER_SEED)])
        .toString("hex")
        .toUpperCase(),
    ],
    ["64-byte seed and public key in base64", Buffer.concat([MARKER_SEED, publicKeyOf(MARKER_SEED)]).toString("base64")],
  ])("a raw Ed25519 key (%s) signs; its .pub works with minisign -V -p and -P", (_, text) => {
    const dir = tempDir();
    const key = loadSigningKey(`${text}\n`, "RELEASE_KEY");
    expect(key.publicKey).toEqual(publicKeyOf(MARKER_SEED));
    expect(key.keyId).toEqual(createHash("blake2b512").update(key.publicKey).digest().subarray(0, 8));
    writeFileSync(join(dir, "pub"), formatPublicKey(key));
    writeFileSync(join(dir, "app"), "raw-key artifact");
    writeFileSync(join(dir, "app.minisig"), signFile(Buffer.from("raw-key artifact"), key, { fileName: "app", now: NOW }));
    expect(minisign(dir, "-V", "-Q", "-p", "pub", "-m", "app")).toEqual({
      code: 0,
      stdout: "timestamp:1767323045\tfile:app\thashed\n",
      stderr: "",
    });
    expect(minisign(dir, "-V", "-q", "-P", lineOf(formatPublicKey(key), 2), "-m", "app").code).toBe(0);
  });

  it("a key file with a non-zero, valid checksum loads, and minisign signs with it too", () => {
    const dir = tempDir();
    const file = secretKeyFile(secretKeyBytes(MARKER_SEED, { checksum: "valid" }));
    writeFileSync(join(dir, "sec"), file);
    const key = loadSigningKey(file, "sec");
    writeFileSync(join(dir, "pub"), formatPublicKey(key));
    writeFileSync(join(dir, "app"), "x");
    expect(minisign(dir, "-S", "-s", "sec", "-m", "app", "-t", "by minisign").code).toBe(0);
    expect(verifySignature(Buffer.from("x"), readFileSync(join(dir, "app.minisig"), "utf8"), key, "app.minisig").trustedComment).toBe(
      "by minisign",
    );
  });

  it("minisign refuses the corrupt inputs we refuse", () => {
    const dir = tempDir();
    const { pub, sec } = generateKeyPair(dir);
    writeFileSync(join(dir, "app"), "x");
    writeFileSync(join(dir, "app.minisig"), signFile(Buffer.from("x"), loadSigningKey(sec, "sec"), { trustedComment: "t" }));
    const sig = readFileSync(join(dir, "app.minisig"), "utf8");
    const unknownAlg = Buffer.from(lineOf(sig, 2), "base64");
    unknownAlg.write("EX", 0, "latin1");
    for (const bad of [
      sig.split("\n").slice(0, 3).join("\n"),
      replaceLine(sig, 2, "not base64!"),
      replaceLine(sig, 2, unknownAlg.toString("base64")),
    ]) {
      writeFileSync(join(dir, "app.minisig"), bad);
      expect(minisign(dir, "-V", "-p", "pub", "-m", "app").code).not.toBe(0);
      expect(() => verifySignature(Buffer.from("x"), bad, parsePublicKey(pub, "pub"), "app.minisig")).toThrow(SignatureError);
    }
  });
});

describe("signFile", () => {
  const key = loadSigningKey(MARKER_SEED.toString("hex"), "test key");

  it("writes minisign's four lines with the default comments, and verifies", () => {
    const text = signFile(Buffer.from("data"), key, { fileName: "app-1.0.0-x86_64-unknown-linux-gnu", now: NOW });
    const lines = text.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe("untrusted comment: signature from minisign secret key");
    expect(lines[2]).toBe("trusted comment: timestamp:1767323045\tfile:app-1.0.0-x86_64-unknown-linux-gnu\thashed");
    expect(lines[4]).toBe("");
    const line2 = Buffer.from(lines[1] as string, "base64");
    expect(line2.subarray(0, 2).toString()).toBe("ED");
    expect(line2.subarray(2, 10)).toEqual(key.keyId);
    expect(verifySignature(Buffer.from("data"), text, key, "sig")).toEqual({
      trustedComment: "timestamp:1767323045\tfile:app-1.0.0-x86_64-unknown-linux-gnu\thashed",
      keyId: keyIdHex(key.keyId),
      prehashed: true,
    });
  });

  it("refuses comments with a line break, and needs a file name for the default trusted comment", () => {
    expect(() => signFile(Buffer.from("d"), key, { trustedComment: "one\ntwo" })).toThrow(
      new SignatureError("trusted comment", "must be one line, but it contains a line break"),
    );
    expect(() => signFile(Buffer.from("d"), key, { trustedComment: "t", untrustedComment: "one\rtwo" })).toThrow(
      /untrusted comment: must be one line/,
    );
    expect(() => signFile(Buffer.from("d"), key, { fileName: "evil\nname", now: NOW })).toThrow(SignatureError);
    expect(() => signFile(Buffer.from("d"), key, { trustedComment: "x".repeat(9000) })).toThrow(/minisign reads at most 8190/);
    expect(() => signFile(Buffer.from("d"), key)).toThrow(/give a trustedComment or the fileName/);
  });

  it("signs the trusted comment as UTF-8", () => {
    const text = signFile(Buffer.from("d"), key, { trustedComment: "version:1.0 – ok ✓" });
    expect(verifySignature(Buffer.from("d"), text, key, "sig").trustedComment).toBe("version:1.0 – ok ✓");
  });
});

describe("malformed keys: each a clear ConfigError naming the source", () => {
  const load = (text: string) => thrown(() => loadSigningKey(text, "release.key"));

  it.each([
    ["empty", ""],
    ["whitespace", " \n\n "],
  ])("an %s key", (_, text) => {
    const error = load(text);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe("release.key: empty key: expected a minisign secret key file or a raw Ed25519 private key");
  });

  it("a comment line and no key", () => {
    expect(load("untrusted comment: minisign encrypted secret key\n").message).toMatch(/expected one line of key data .* found 0/);
  });

  it("a truncated secret key", () => {
    const line = secretKeyBytes(MARKER_SEED).toString("base64");
    expect(load(line.slice(0, 100)).message).toBe(
      "release.key: the minisign secret key is 75 bytes; expected a minisign secret key (158 bytes) or a raw Ed25519 private key (32 or 64 bytes)",
    );
    expect(load(line.slice(0, 101)).message).toMatch(/^release\.key: the key is neither hex nor valid base64/);
  });

  it("wrong base64", () => {
    expect(load("RWQAAEIy!!!!AAAA").message).toMatch(/neither hex nor valid base64/);
    expect(load(`${MARKER_SEED.toString("base64").slice(0, -1)}`).message).toMatch(/neither hex nor valid base64/); // padding missing
    expect(load(MARKER_SEED.toString("hex").slice(2)).message).toMatch(/neither hex nor valid base64/); // 31 bytes of hex
  });

  it("wrong algorithm bytes", () => {
    expect(load(secretKeyBytes(MARKER_SEED, { sigAlg: "Xx" }).toString("base64")).message).toBe(
      'release.key: unsupported signature algorithm "Xx" in the secret key, expected "Ed"',
    );
    expect(load(secretKeyBytes(MARKER_SEED, { chkAlg: "\x01\x02" }).toString("base64")).message).toBe(
      'release.key: unsupported checksum algorithm 0x0102 in the secret key, expected "B2"',
    );
    expect(load(secretKeyBytes(MARKER_SEED, { kdf: "Ar" }).toString("base64")).message).toMatch(/unsupported key derivation "Ar"/);
  });

  it("an encrypted key", () => {
    const error = load(secretKeyFile(secretKeyBytes(MARKER_SEED, { kdf: "Sc" })));
    expect(error.message).toMatch(/^release\.key: the minisign secret key is encrypted with a password, which is not supported here; /);
    expect(error.message).toContain("minisign -G -W");
    expect(error.message).toContain("raw Ed25519 private key");
  });

  it("a checksum mismatch", () => {
    const bytes = secretKeyBytes(MARKER_SEED, { checksum: "valid" });
    const corrupt = Buffer.from(bytes);
    corrupt[70] = (corrupt[70] as number) ^ 0x40; // a seed byte
    expect(load(corrupt.toString("base64")).message).toBe("release.key: checksum mismatch: the key is corrupt");
    const badChecksum = Buffer.from(bytes);
    badChecksum[150] = (badChecksum[150] as number) ^ 0x01;
    expect(load(badChecksum.toString("base64")).message).toBe("release.key: checksum mismatch: the key is corrupt");
  });

  it("a corrupt key with minisign's all-zero checksum: its public half no longer matches the seed", () => {
    const corrupt = secretKeyBytes(MARKER_SEED, { checksum: "zero" });
    corrupt[70] = (corrupt[70] as number) ^ 0x40;
    expect(load(corrupt.toString("base64")).message).toBe(
      "release.key: the public half of the secret key does not match its seed: the key is corrupt",
    );
    const raw = Buffer.concat([MARKER_SEED, publicKeyOf(MARKER_SEED)]);
    raw[40] = (raw[40] as number) ^ 0x01;
    expect(load(raw.toString("hex")).message).toMatch(/public half of the secret key does not match its seed/);
  });

  it("two lines of key data", () => {
    expect(load(`${MARKER_SEED.toString("hex")}\n${MARKER_SEED.toString("hex")}`).message).toMatch(
      /expected one line of key data .* found 2/,
    );
  });
});

describe("malformed public keys", () => {
  const pub = formatPublicKey(loadSigningKey(MARKER_SEED.toString("hex"), "k"));
  const bytes = Buffer.from(lineOf(pub, 2), "base64");

  it("of the wrong length", () => {
    expect(() => parsePublicKey(bytes.subarray(0, 41).toString("base64"), "minisign.pub")).toThrow(
      'minisign.pub: the public key is 41 bytes, expected 42 ("Ed", 8-byte key id, 32-byte Ed25519 key)',
    );
  });

  it("with another algorithm, bad base64, or nothing", () => {
    const other = Buffer.from(bytes);
    other.write("ED", 0, "latin1");
    expect(() => parsePublicKey(other.toString("base64"), "minisign.pub")).toThrow(
      'minisign.pub: unsupported public key algorithm "ED", expected "Ed"',
    );
    expect(() => parsePublicKey("untrusted comment: x\nRWQ*", "minisign.pub")).toThrow("minisign.pub: the public key is not valid base64");
    expect(() => parsePublicKey("", "minisign.pub")).toThrow(/empty public key/);
  });
});

describe("malformed signature files: each a SignatureError naming the file and line", () => {
  const key = loadSigningKey(MARKER_SEED.toString("hex"), "k");
  const data = Buffer.from("data");
  const sig = signFile(data, key, { trustedComment: "t" });
  const verify = (text: string) => thrown(() => verifySignature(data, text, key, "app.minisig"));

  it("with 3 lines", () => {
    const error = verify(sig.split("\n").slice(0, 3).join("\n"));
    expect(error).toBeInstanceOf(SignatureError);
    expect(error.message).toBe("app.minisig: expected 4 lines (untrusted comment, signature, trusted comment, global signature), found 3");
  });

  it("with a bad base64 line", () => {
    expect(verify(replaceLine(sig, 2, "RUQ?")).message).toBe("app.minisig: line 2: the signature is not valid base64");
    expect(verify(replaceLine(sig, 4, `${lineOf(sig, 4)}x`)).message).toBe("app.minisig: line 4: the global signature is not valid base64");
    expect(verify(replaceLine(sig, 2, Buffer.alloc(30).toString("base64"))).message).toBe(
      "app.minisig: line 2: the signature is 30 bytes, expected 74 (algorithm, 8-byte key id, 64-byte signature)",
    );
  });

  it("with an unknown algorithm", () => {
    const line = Buffer.from(lineOf(sig, 2), "base64");
    line.write("EX", 0, "latin1");
    expect(verify(replaceLine(sig, 2, line.toString("base64"))).message).toBe(
      'app.minisig: line 2: unknown signature algorithm "EX", expected "ED" or "Ed"',
    );
  });

  it("with the key id of another key", () => {
    const other = loadSigningKey(Buffer.alloc(32, 7).toString("base64"), "other");
    expect(verify(signFile(data, other, { trustedComment: "t" })).message).toBe(
      `app.minisig: signed by key ${keyIdHex(other.keyId)}, expected key ${keyIdHex(key.keyId)}`,
    );
  });

  it("without the comment prefixes", () => {
    expect(verify(replaceLine(sig, 1, "comment: x")).message).toBe('app.minisig: line 1: expected "untrusted comment: ..."');
    expect(verify(replaceLine(sig, 3, "t")).message).toBe('app.minisig: line 3: expected "trusted comment: ..."');
  });

  it("the untrusted comment is not signed", () => {
    expect(verifySignature(data, replaceLine(sig, 1, "untrusted comment: anything"), key, "app.minisig").trustedComment).toBe("t");
  });
});

describe("the private key never shows", () => {
  const pk = publicKeyOf(MARKER_SEED);
  const secretForms = [
    MARKER_SEED.toString("hex"),
    MARKER_SEED.toString("hex").toUpperCase(),
    MARKER_SEED.toString("base64"),
    MARKER_SEED.subarray(0, 30).toString("base64"),
    Buffer.concat([MARKER_SEED, pk]).toString("hex"),
    Buffer.concat([MARKER_SEED, pk]).toString("base64"),
  ];
  const expectNoSecret = (text: string) => {
    for (const form of secretForms) expect(text).not.toContain(form);
    expect(text.toLowerCase()).not.toContain(MARKER_SEED.subarray(0, 8).toString("hex"));
  };

  it.each([
    ["hex seed", MARKER_SEED.toString("hex")],
    ["base64 seed", MARKER_SEED.toString("base64")],
    ["hex seed and public key", Buffer.concat([MARKER_SEED, pk]).toString("hex")],
    ["minisign key file", secretKeyFile(secretKeyBytes(MARKER_SEED))],
  ])("in String, JSON.stringify and util.inspect of a key loaded from a %s", (_, text) => {
    const key = loadSigningKey(text, "release.key");
    expect(Object.keys(key).sort()).toEqual(["keyId", "publicKey", "sign"]);
    expectNoSecret(String(key));
    expectNoSecret(JSON.stringify(key));
    expectNoSecret(inspect(key, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }));
    expectNoSecret(`${key.sign(Buffer.from("x")).toString("hex")} ${key.sign(Buffer.from("x")).toString("base64")}`);
  });

  it("in any error thrown while loading a corrupt key built from it", () => {
    const valid = secretKeyBytes(MARKER_SEED, { checksum: "valid" });
    const flip = (bytes: Buffer, at: number) => {
      const copy = Buffer.from(bytes);
      copy[at] = (copy[at] as number) ^ 0x01;
      return copy;
    };
    const corrupt = [
      valid.toString("base64").slice(0, 100),
      valid.toString("base64").slice(0, 101),
      `${valid.toString("base64")}!`,
      secretKeyFile(secretKeyBytes(MARKER_SEED, { kdf: "Sc" })),
      secretKeyBytes(MARKER_SEED, { sigAlg: "Xx" }).toString("base64"),
      secretKeyBytes(MARKER_SEED, { chkAlg: "Zz" }).toString("base64"),
      flip(valid, 70).toString("base64"),
      flip(valid, 100).toString("base64"),
      flip(secretKeyBytes(MARKER_SEED, { checksum: "zero" }), 100).toString("base64"),
      MARKER_SEED.toString("hex").slice(1),
      `${MARKER_SEED.toString("hex")}00`,
      MARKER_SEED.toString("base64").slice(0, -1),
      `${MARKER_SEED.toString("hex")}\n${MARKER_SEED.toString("base64")}`,
      flip(Buffer.concat([MARKER_SEED, pk]), 40).toString("hex"),
      Buffer.concat([MARKER_SEED, pk, Buffer.from([0])]).toString("base64"),
    ];
    for (const text of corrupt) {
      const error = thrown(() => loadSigningKey(text, "release.key"));
      expect(error).toBeInstanceOf(ConfigError);
      expectNoSecret(error.message);
      expectNoSecret(inspect(error));
      expectNoSecret(JSON.stringify(error));
    }
  });
});
