/**
 * Minisign-compatible keys and signatures, made and checked with Node's crypto.
 *
 * Formats, from minisign's documentation (https://jedisct1.github.io/minisign/, "Signature format",
 * "Public key format", "Secret key format") and checked against the files `minisign` 0.11 writes
 * (its `src/minisign.h` and `src/minisign.c`):
 *
 * Public key file (`minisign.pub`):
 *
 *     untrusted comment: minisign public key <KEY ID>
 *     base64("Ed" ‖ key_id[8] ‖ public_key[32])
 *
 * Secret key file (`minisign.key`), one base64 line after an untrusted comment line:
 *
 *     "Ed" ‖ kdf_alg[2] ‖ "B2" ‖ kdf_salt[32] ‖ kdf_opslimit[8] ‖ kdf_memlimit[8] ‖ keynum_sk[104]
 *     keynum_sk = key_id[8] ‖ secret_key[64] ‖ checksum[32]
 *     checksum  = BLAKE2b-256("Ed" ‖ key_id ‖ secret_key)
 *
 * `kdf_alg` is "Sc" (scrypt; `keynum_sk` is then XOR-encrypted with a key derived from a password) or
 * two zero bytes for a key made with `minisign -G -W` (`keynum_sk` in clear). minisign 0.11 writes an
 * all-zero checksum into `-W` keys and does not check the checksum of unencrypted keys.
 * `secret_key` is libsodium's Ed25519 secret key: seed[32] ‖ public_key[32].
 *
 * Signature file (`<file>.minisig`):
 *
 *     untrusted comment: <one line>
 *     base64(sig_alg[2] ‖ key_id[8] ‖ signature[64])
 *     trusted comment: <one line>
 *     base64(global_signature[64])
 *
 * `sig_alg` "ED" (the default): signature = Ed25519(BLAKE2b-512(file)); legacy "Ed" (`minisign -S -l`):
 * signature = Ed25519(file). global_signature = Ed25519(signature ‖ trusted comment bytes), which binds the
 * trusted comment to the signature; the untrusted comment is not signed.
 *
 * The key id is 8 bytes; minisign prints it as the little-endian 64-bit number they encode, in upper-case
 * hex (so the bytes appear reversed), see {@link keyIdHex}.
 */
import { createHash, createPrivateKey, createPublicKey, sign as ed25519Sign, verify as ed25519Verify, type KeyObject } from "node:crypto";
import { blake2b } from "@noble/hashes/blake2.js";
import { ConfigError, PipelineError } from "../core/errors.js";

/** A key that signs; the private half stays inside `sign` and is never a property of the object. */
export type SigningKey = {
  /** The 8-byte key id minisign stores in keys and signatures. */
  readonly keyId: Buffer;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** Raw Ed25519 signature (64 bytes) of `data`. */
  sign(data: Buffer): Buffer;
};

/** A minisign public key: what a `.pub` file holds. */
export type PublicKey = {
  /** The 8-byte key id. */
  readonly keyId: Buffer;
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
};

/** Options of {@link signFile}. */
export type SignOptions = {
  /** The signed comment; defaults to minisign's `timestamp:<unix seconds>\tfile:<fileName>\thashed`. */
  trustedComment?: string;
  /** The unsigned first line; defaults to minisign's `signature from minisign secret key`. */
  untrustedComment?: string;
  /** The signed file's base name, for the default trusted comment. */
  fileName?: string;
  /** The time for the default trusted comment (default: now). */
  now?: Date;
};

/** What {@link verifySignature} vouches for. */
export type VerifiedSignature = {
  /** The trusted comment, covered by the global signature. */
  trustedComment: string;
  /** The signer's key id, as {@link keyIdHex} prints it. */
  keyId: string;
  /** True for "ED" (BLAKE2b-512 prehashed) signatures, false for legacy "Ed" ones. */
  prehashed: boolean;
};

/** A `.minisig` file is malformed or does not verify; the message names the file and what failed. */
export class SignatureError extends PipelineError {
  override readonly name: string = "SignatureError";

  /**
   * @param source The signature file (or the artifact it signs) the problem is about.
   * @param problem What failed, naming the line where it is a format problem.
   */
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    super(`${source}: ${problem}`);
  }
}

const SIG_ALG = Buffer.from("Ed");
const SIG_ALG_PREHASHED = Buffer.from("ED");
const KDF_SCRYPT = Buffer.from("Sc");
const KDF_NONE = Buffer.from([0, 0]);
const CHECKSUM_ALG = Buffer.from("B2");
const KEY_ID_BYTES = 8;
const PUBLIC_KEY_BYTES = 32;
const SEED_BYTES = 32;
const SIGNATURE_BYTES = 64;
/** "Ed" ‖ key_id ‖ public key. */
const PUBLIC_KEY_FILE_BYTES = 2 + KEY_ID_BYTES + PUBLIC_KEY_BYTES;
/** sig_alg ‖ kdf_alg ‖ chk_alg ‖ salt ‖ opslimit ‖ memlimit ‖ key_id ‖ sk ‖ checksum. */
const SECRET_KEY_FILE_BYTES = 2 + 2 + 2 + 32 + 8 + 8 + KEY_ID_BYTES + 64 + 32;
const KEYNUM_OFFSET = 2 + 2 + 2 + 32 + 8 + 8;
/** sig_alg ‖ key_id ‖ signature. */
const SIGNATURE_LINE_BYTES = 2 + KEY_ID_BYTES + SIGNATURE_BYTES;
const UNTRUSTED_PREFIX = "untrusted comment: ";
const TRUSTED_PREFIX = "trusted comment: ";
const DEFAULT_UNTRUSTED_COMMENT = "signature from minisign secret key";
/** minisign reads comment lines into 1024-byte (untrusted) and 8192-byte (trusted) buffers, prefix and newline included. */
const UNTRUSTED_LINE_MAX_BYTES = 1024 - 2;
const TRUSTED_LINE_MAX_BYTES = 8192 - 2;
const HOW_TO_GET_A_KEY =
  "use an unencrypted minisign key (minisign -G -W, or minisign -C -W to remove the password of an existing one) or a raw Ed25519 private key";

/** DER prefixes that wrap a raw Ed25519 seed (PKCS#8) or public key (SPKI) for Node's crypto. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The key id as minisign prints it: the 8 bytes read as a little-endian 64-bit number, 16 upper-case hex digits. */
export function keyIdHex(keyId: Buffer): string {
  if (keyId.length !== KEY_ID_BYTES) throw new RangeError(`a key id is ${KEY_ID_BYTES} bytes, got ${keyId.length}`);
  return Buffer.from(keyId).reverse().toString("hex").toUpperCase();
}

/**
 * The key id as minisign itself prints it (`%" PRIX64 "`): no leading zeros,
 * so `0A1B…` is `A1B…`. Used where our files must match minisign's byte for byte.
 */
export function minisignKeyIdText(keyId: Buffer): string {
  return keyIdHex(keyId).replace(/^0+(?=.)/, "");
}

/** The text of a minisign `.pub` file for `key`. */
export function formatPublicKey(key: PublicKey): string {
  const bytes = Buffer.concat([SIG_ALG, key.keyId, key.publicKey]);
  return `${UNTRUSTED_PREFIX}minisign public key ${minisignKeyIdText(key.keyId)}\n${bytes.toString("base64")}\n`;
}

/**
 * Reads a minisign public key: the text of a `.pub` file, or its bare base64 line (what `minisign -P` takes).
 * @param source Where the text came from, for error messages.
 * @throws ConfigError naming `source` and the problem.
 */
export function parsePublicKey(text: string, source: string): PublicKey {
  const fail = (problem: string): never => {
    throw new ConfigError(source, [problem]);
  };
  const line = keyDataLine(text, fail, "public key", "a minisign public key file or its base64 line");
  const bytes = decodeBase64(line) ?? fail("the public key is not valid base64");
  if (bytes.length !== PUBLIC_KEY_FILE_BYTES) {
    fail(`the public key is ${bytes.length} bytes, expected ${PUBLIC_KEY_FILE_BYTES} ("Ed", 8-byte key id, 32-byte Ed25519 key)`);
  }
  if (!bytes.subarray(0, 2).equals(SIG_ALG)) fail(`unsupported public key algorithm ${algName(bytes.subarray(0, 2))}, expected "Ed"`);
  const publicKey = bytes.subarray(2 + KEY_ID_BYTES);
  if (publicKeyObject(publicKey) === undefined) fail("the public key is not a valid Ed25519 key");
  return { keyId: Buffer.from(bytes.subarray(2, 2 + KEY_ID_BYTES)), publicKey: Buffer.from(publicKey) };
}

/**
 * Loads a key that signs, from either
 * - the text of an unencrypted minisign secret key file (`minisign -G -W`), with or without its
 *   `untrusted comment:` line; encrypted minisign keys are refused; or
 * - a raw Ed25519 private key on one line: the 32-byte seed, or the 64-byte seed ‖ public key
 *   (libsodium's secret key), written as hex (64 or 128 hex digits) or as padded standard base64
 *   (44 or 88 characters). Its key id is the first 8 bytes of BLAKE2b-512(public key).
 *
 * No error message, property or string form of the result contains the private key.
 * @param source Where the text came from (a file name, or an environment variable's name), for error messages.
 * @throws ConfigError naming `source` and the problem.
 */
export function loadSigningKey(text: string, source: string): SigningKey {
  const fail = (problem: string): never => {
    throw new ConfigError(source, [problem]);
  };
  const line = keyDataLine(text, fail, "key", "a minisign secret key file or a raw Ed25519 private key");
  if (/^(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{128})$/.test(line)) return rawSigningKey(Buffer.from(line, "hex"), fail);
  const bytes =
    decodeBase64(line) ??
    fail(
      "the key is neither hex nor valid base64; expected a minisign secret key file or a raw Ed25519 private key (32-byte seed or 64-byte seed and public key)",
    );
  try {
    if (bytes.length === SEED_BYTES || bytes.length === SEED_BYTES + PUBLIC_KEY_BYTES) return rawSigningKey(bytes, fail);
    return minisignSigningKey(bytes, fail);
  } finally {
    bytes.fill(0);
  }
}

/**
 * The text of a `.minisig` file for `data`, prehashed ("ED") like minisign's default.
 * @throws SignatureError if a comment has a line break or is longer than minisign reads.
 */
export function signFile(data: Buffer, key: SigningKey, options: SignOptions = {}): string {
  const untrusted = options.untrustedComment ?? DEFAULT_UNTRUSTED_COMMENT;
  const trusted = options.trustedComment ?? defaultTrustedComment(options);
  checkComment("untrusted comment", untrusted, UNTRUSTED_PREFIX, UNTRUSTED_LINE_MAX_BYTES);
  checkComment("trusted comment", trusted, TRUSTED_PREFIX, TRUSTED_LINE_MAX_BYTES);
  const signature = key.sign(blake2b512(data));
  const globalSignature = key.sign(Buffer.concat([signature, Buffer.from(trusted, "utf8")]));
  const signatureLine = Buffer.concat([SIG_ALG_PREHASHED, key.keyId, signature]).toString("base64");
  return `${UNTRUSTED_PREFIX}${untrusted}\n${signatureLine}\n${TRUSTED_PREFIX}${trusted}\n${globalSignature.toString("base64")}\n`;
}

/**
 * Checks a `.minisig` file against `data` and the expected signer, like `minisign -V`: both prehashed ("ED")
 * and legacy ("Ed") signatures are accepted; the result says which.
 * @param source The signature file's name, for error messages.
 * @throws SignatureError naming what failed: the malformed line, an unknown algorithm, another signer's key id,
 *   a signature that does not match the file, or a trusted comment that does not match its global signature.
 */
export function verifySignature(data: Buffer, minisigText: string, publicKey: PublicKey, source: string): VerifiedSignature {
  const fail = (problem: string): never => {
    throw new SignatureError(source, problem);
  };
  const parsed = parseSignatureFile(minisigText, fail);
  const keyId = keyIdHex(parsed.keyId);
  if (!parsed.keyId.equals(publicKey.keyId)) fail(`signed by key ${keyId}, expected key ${keyIdHex(publicKey.keyId)}`);
  const verifier = publicKeyObject(publicKey.publicKey) ?? fail("the expected public key is not a valid Ed25519 key");
  const message = parsed.prehashed ? blake2b512(data) : data;
  if (!ed25519Verify(null, message, verifier, parsed.signature)) {
    fail(`the signature does not match the file (key ${keyId}): the file was changed or the signature is corrupt`);
  }
  const signedComment = Buffer.concat([parsed.signature, Buffer.from(parsed.trustedComment, "utf8")]);
  if (!ed25519Verify(null, signedComment, verifier, parsed.globalSignature)) {
    fail("the trusted comment does not match its global signature (line 3 or 4 was changed)");
  }
  return { trustedComment: parsed.trustedComment, keyId, prehashed: parsed.prehashed };
}

type ParsedSignature = {
  prehashed: boolean;
  keyId: Buffer;
  signature: Buffer;
  trustedComment: string;
  globalSignature: Buffer;
};

function parseSignatureFile(text: string, fail: (problem: string) => never): ParsedSignature {
  const lines = textLines(text);
  if (lines.length !== 4) {
    fail(`expected 4 lines (untrusted comment, signature, trusted comment, global signature), found ${lines.length}`);
  }
  const [untrusted, signatureLine, trusted, globalLine] = lines as [string, string, string, string];
  if (!untrusted.startsWith(UNTRUSTED_PREFIX)) fail(`line 1: expected "${UNTRUSTED_PREFIX}..."`);
  const signatureBytes = decodeBase64(signatureLine) ?? fail("line 2: the signature is not valid base64");
  if (signatureBytes.length !== SIGNATURE_LINE_BYTES) {
    fail(
      `line 2: the signature is ${signatureBytes.length} bytes, expected ${SIGNATURE_LINE_BYTES} (algorithm, 8-byte key id, 64-byte signature)`,
    );
  }
  const algorithm = signatureBytes.subarray(0, 2);
  const prehashed = algorithm.equals(SIG_ALG_PREHASHED);
  if (!prehashed && !algorithm.equals(SIG_ALG)) fail(`line 2: unknown signature algorithm ${algName(algorithm)}, expected "ED" or "Ed"`);
  if (!trusted.startsWith(TRUSTED_PREFIX)) fail(`line 3: expected "${TRUSTED_PREFIX}..."`);
  const globalSignature = decodeBase64(globalLine) ?? fail("line 4: the global signature is not valid base64");
  if (globalSignature.length !== SIGNATURE_BYTES) {
    fail(`line 4: the global signature is ${globalSignature.length} bytes, expected ${SIGNATURE_BYTES}`);
  }
  return {
    prehashed,
    keyId: signatureBytes.subarray(2, 2 + KEY_ID_BYTES),
    signature: signatureBytes.subarray(2 + KEY_ID_BYTES),
    trustedComment: trusted.slice(TRUSTED_PREFIX.length),
    globalSignature,
  };
}

/** A minisign secret key file's decoded bytes → a signing key, checking algorithms, checksum and key pair. */
function minisignSigningKey(bytes: Buffer, fail: (problem: string) => never): SigningKey {
  if (bytes.length !== SECRET_KEY_FILE_BYTES) {
    const kind = bytes.subarray(0, 2).equals(SIG_ALG) ? "minisign secret key" : "key";
    fail(
      `the ${kind} is ${bytes.length} bytes; expected a minisign secret key (${SECRET_KEY_FILE_BYTES} bytes) or a raw Ed25519 private key (32 or 64 bytes)`,
    );
  }
  const algorithm = bytes.subarray(0, 2);
  const kdf = bytes.subarray(2, 4);
  const checksumAlgorithm = bytes.subarray(4, 6);
  if (!algorithm.equals(SIG_ALG)) fail(`unsupported signature algorithm ${algName(algorithm)} in the secret key, expected "Ed"`);
  if (!checksumAlgorithm.equals(CHECKSUM_ALG))
    fail(`unsupported checksum algorithm ${algName(checksumAlgorithm)} in the secret key, expected "B2"`);
  if (kdf.equals(KDF_SCRYPT))
    fail(`the minisign secret key is encrypted with a password, which is not supported here; ${HOW_TO_GET_A_KEY}`);
  if (!kdf.equals(KDF_NONE)) fail(`unsupported key derivation ${algName(kdf)} in the secret key, expected none (an unencrypted key)`);
  const keyId = bytes.subarray(KEYNUM_OFFSET, KEYNUM_OFFSET + KEY_ID_BYTES);
  const secretKey = bytes.subarray(KEYNUM_OFFSET + KEY_ID_BYTES, KEYNUM_OFFSET + KEY_ID_BYTES + SEED_BYTES + PUBLIC_KEY_BYTES);
  const checksum = bytes.subarray(KEYNUM_OFFSET + KEY_ID_BYTES + SEED_BYTES + PUBLIC_KEY_BYTES);
  // minisign 0.11 leaves the checksum of `-G -W` keys all zero; the seed/public-key check below still catches a corrupt key.
  if (!checksum.every((byte) => byte === 0)) {
    const expected = Buffer.from(blake2b(Buffer.concat([algorithm, keyId, secretKey]), { dkLen: 32 }));
    const matches = expected.equals(checksum);
    expected.fill(0);
    if (!matches) fail("checksum mismatch: the key is corrupt");
  }
  const id = Buffer.from(keyId);
  return keyFromSeed(secretKey, () => id, fail);
}

/** A raw 32-byte seed or 64-byte seed ‖ public key → a signing key whose id is BLAKE2b-512(public key)[0..8]. */
function rawSigningKey(bytes: Buffer, fail: (problem: string) => never): SigningKey {
  try {
    return keyFromSeed(bytes, (publicKey) => Buffer.from(blake2b512(publicKey).subarray(0, KEY_ID_BYTES)), fail);
  } finally {
    bytes.fill(0);
  }
}

/**
 * `secretKey` is a seed, or seed ‖ public key (whose public half must match the seed). The private key
 * lives on only as a KeyObject inside the returned `sign` closure.
 */
function keyFromSeed(secretKey: Buffer, keyIdOf: (publicKey: Buffer) => Buffer, fail: (problem: string) => never): SigningKey {
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, secretKey.subarray(0, SEED_BYTES)]);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } finally {
    der.fill(0);
  }
  const publicKey = spkiPublicKey(createPublicKey(privateKey));
  if (secretKey.length > SEED_BYTES && !publicKey.equals(secretKey.subarray(SEED_BYTES))) {
    fail("the public half of the secret key does not match its seed: the key is corrupt");
  }
  return Object.freeze({
    keyId: keyIdOf(publicKey),
    publicKey,
    sign: (data: Buffer): Buffer => ed25519Sign(null, data, privateKey),
  });
}

function spkiPublicKey(key: KeyObject): Buffer {
  return (key.export({ format: "der", type: "spki" }) as Buffer).subarray(SPKI_ED25519_PREFIX.length);
}

/** A raw 32-byte Ed25519 public key as a KeyObject, or undefined if it is not one. */
function publicKeyObject(raw: Buffer): KeyObject | undefined {
  if (raw.length !== PUBLIC_KEY_BYTES) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
}

/** The one data line of a key text, after an optional `untrusted comment:` line. */
function keyDataLine(text: string, fail: (problem: string) => never, what: string, expected: string): string {
  const lines = textLines(text.trim()).map((line) => line.trim());
  if (lines.length === 0 || lines.every((line) => line === "")) fail(`empty ${what}: expected ${expected}`);
  const data = lines[0]?.startsWith("untrusted comment:") ? lines.slice(1) : lines;
  if (data.length !== 1 || data[0] === "") {
    fail(`expected one line of ${what} data (after an optional "untrusted comment:" line), found ${data.length}`);
  }
  return data[0] as string;
}

/** Lines of `text` without their `\n` / `\r\n` ends; a final line break does not start another line. */
function textLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Strict standard base64 (padded, canonical, the alphabet minisign writes), or undefined. */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) {
    bytes.fill(0);
    return undefined;
  }
  return bytes;
}

function blake2b512(data: Buffer): Buffer {
  return createHash("blake2b512").update(data).digest();
}

/** Two algorithm bytes, quoted when printable, otherwise in hex. */
function algName(bytes: Buffer): string {
  return /^[\x20-\x7e]{2}$/.test(bytes.toString("latin1")) ? JSON.stringify(bytes.toString("latin1")) : `0x${bytes.toString("hex")}`;
}

function defaultTrustedComment(options: SignOptions): string {
  if (options.fileName === undefined) throw new TypeError("signFile: give a trustedComment or the fileName for the default one");
  const seconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return `timestamp:${seconds}\tfile:${options.fileName}\thashed`;
}

function checkComment(what: string, comment: string, prefix: string, maxLineBytes: number): void {
  if (/[\r\n]/.test(comment)) throw new SignatureError(what, "must be one line, but it contains a line break");
  const bytes = Buffer.byteLength(prefix + comment, "utf8");
  if (bytes > maxLineBytes) throw new SignatureError(what, `is ${bytes} bytes with its prefix; minisign reads at most ${maxLineBytes}`);
}
