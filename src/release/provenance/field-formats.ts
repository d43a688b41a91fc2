/**
 * The field formats of in-toto attestations, each check citing its section, and how a problem with a field
 * is written:
 * - in-toto field types (TypeURI, ResourceURI, Timestamp): https://github.com/in-toto/attestation/blob/main/spec/v1/field_types.md
 * - in-toto DigestSet: https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md
 * - in-toto parsing rules (unknown fields ignored): https://github.com/in-toto/attestation/blob/main/spec/v1/README.md#parsing-rules
 * - DSSE protocol (base64 forms): https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 */
import type { z } from "zod";
import { parseRfc3339 } from "../../core/rfc3339.js";

/**
 * Why `value` is not a case-normalized URI, or `undefined` when it is one.
 * TypeURI and ResourceURI (field_types.md, "TypeURI", "ResourceURI"): a URI per
 * RFC 3986 that "MUST be case normalized as per section 6.2.2.1 of RFC 3986,
 * meaning that the scheme and authority MUST be in lowercase".
 */
export function uriProblem(value: string): string | undefined {
  // RFC 3986 section 3: URI = scheme ":" hier-part; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(value);
  if (match === null) return `expected a URI with a scheme (RFC 3986 section 3), found ${show(value)}`;
  const [, scheme = "", rest = ""] = match;
  if (rest === "") return `expected a URI, found only the scheme ${show(value)}`;
  // RFC 3986 section 2: whitespace and control characters never appear in a URI.
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code <= 0x20 || code === 0x7f) return `expected a URI, found whitespace or a control character in ${show(value)}`;
  }
  if (scheme !== scheme.toLowerCase())
    return `the URI scheme must be lowercase (in-toto field_types.md, RFC 3986 section 6.2.2.1): ${show(value)}`;
  if (rest.startsWith("//")) {
    const authority = rest.slice(2).split(/[/?#]/, 1)[0] ?? "";
    if (authority !== authority.toLowerCase())
      return `the URI authority must be lowercase (in-toto field_types.md, RFC 3986 section 6.2.2.1): ${show(value)}`;
  }
  return undefined;
}

/**
 * Lowercase-hex lengths of the digest algorithms the DigestSet spec names
 * (digest_set.md, "Supported algorithms"); `undefined` for variable-length ones.
 */
const HEX_DIGEST_LENGTHS: Readonly<Record<string, readonly number[] | undefined>> = {
  sha256: [64],
  sha224: [56],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  shake128: undefined,
  shake256: undefined,
  blake2b: undefined,
  blake2s: undefined,
  ripemd160: [40],
  sm3: [64],
  gost: undefined,
  sha1: [40],
  md5: [32],
  // digest_set.md "dirHash": titled `dirHash`, keyed `dirHash1` in its example; SHA-256 in hex.
  dirHash: [64],
  dirHash1: [64],
  // digest_set.md "gitCommit, gitTree, gitBlob, gitTag": lowercase hex SHA-1 (40) or SHA-256 (64).
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
};

const LOWER_HEX = /^[0-9a-f]+$/;

/** Why `value` is not a valid digest for `algorithm`, or `undefined`. */
export function digestProblem(algorithm: string, value: string): string | undefined {
  if (!Object.hasOwn(HEX_DIGEST_LENGTHS, algorithm)) {
    // digest_set.md "Guidelines": new algorithms document their own encoding, so only emptiness is checkable.
    return value === "" ? "empty digest value" : undefined;
  }
  // digest_set.md "Fields": "The named standard algorithms below use lowercase hex encoding."
  if (!LOWER_HEX.test(value)) return `expected lowercase hex (in-toto DigestSet), found ${show(value)}`;
  const lengths = HEX_DIGEST_LENGTHS[algorithm];
  if (lengths !== undefined && !lengths.includes(value.length))
    return `expected ${lengths.join(" or ")} hex digits for ${algorithm}, found ${value.length}`;
  if (lengths === undefined && value.length % 2 !== 0) return `expected whole bytes of hex, found ${value.length} digits`;
  return undefined;
}

/**
 * Why `value` is not an in-toto Timestamp, or `undefined`. field_types.md,
 * "Timestamp": "MUST be in RFC 3339 format in the UTC timezone ("Z")".
 */
export function timestampProblem(value: string): string | undefined {
  const parsed = parseRfc3339(value);
  if (parsed === undefined) return `expected an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, found ${show(value)}`;
  if (!parsed.utc) return `expected a UTC ("Z") timestamp (in-toto field_types.md, Timestamp), found ${show(value)}`;
  return undefined;
}

/** Standard or URL-safe base64, padded or not (DSSE protocol.md: verifiers MUST accept either). */
export function decodeBase64(text: string): Buffer | undefined {
  const standard = /^[A-Za-z0-9+/]*={0,2}$/.test(text);
  const urlSafe = /^[A-Za-z0-9_-]*={0,2}$/.test(text);
  if (!standard && !urlSafe) return undefined;
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== text.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, standard ? "base64" : "base64url");
}

/** A short rendering of a found value for a problem line. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/** A zod error callback: `missing (expected X)` or `expected X, found Y`. */
export function expectedError(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing (expected ${what})` : `expected ${what}, found ${show(issue.input)}`;
}

/**
 * in-toto parsing rules (spec/v1/README.md#parsing-rules) and SLSA "Parsing
 * rules": "Unset, null, and empty field values MUST be interpreted
 * equivalently", so optional fields accept null.
 */
export function optionalField<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}
