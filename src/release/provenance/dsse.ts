/**
 * Signs provenance into a DSSE envelope with Ed25519, and verifies one offline.
 * - in-toto Envelope layer: https://github.com/in-toto/attestation/blob/main/spec/v1/envelope.md
 * - DSSE envelope and protocol: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md,
 *   https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { describeIssues } from "../../core/zod-issues.js";
import { ProvenanceError } from "./error.js";
import { decodeBase64, expectedError, optionalField, show } from "./field-formats.js";
import { type ProvenanceStatement, statementSchema, type VerifiedProvenance, validateProvenance } from "./statement.js";

/** A DSSE JSON envelope (DSSE envelope.md, "Standard JSON envelope"). */
export interface DsseEnvelope {
  readonly payloadType: string;
  /** Base64 of the serialized statement. */
  readonly payload: string;
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** Signs bytes with a private key the caller holds; {@link ed25519Signer} makes one from a Node key. */
export interface EnvelopeSigner {
  /** The DSSE KEYID hint written next to the signature. */
  readonly keyId: string;
  sign(data: Buffer): Buffer;
}

/** DSSE `payloadType` of an in-toto statement (in-toto spec/v1/envelope.md, "Fields"). */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/**
 * DSSE Pre-Authentication Encoding (protocol.md, "Signature Definition"):
 * `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where LEN is the ASCII
 * decimal byte length with no leading zeros and `type` is UTF-8 encoded.
 */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "ascii"), type, Buffer.from(` ${body.length} `, "ascii"), body]);
}

/** Key id of an Ed25519 public key: the SHA-256 (lowercase hex) of its 32 raw bytes. */
export function ed25519KeyId(rawPublicKey: Buffer): string {
  return createHash("sha256").update(rawPublicKey).digest("hex");
}

/**
 * A Node public key from a raw 32-byte Ed25519 public key (RFC 8037 JWK `{ kty: "OKP", crv: "Ed25519", x }`).
 * @throws ProvenanceError when the key is not 32 bytes.
 */
export function ed25519PublicKey(rawPublicKey: Buffer, source = "public key"): KeyObject {
  if (rawPublicKey.length !== 32)
    throw new ProvenanceError(source, [`is ${rawPublicKey.length} bytes; expected a raw 32-byte Ed25519 public key`]);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: rawPublicKey.toString("base64url") }, format: "jwk" });
}

/** The raw 32 bytes of an Ed25519 key (public, or the public half of a private key), e.g. to publish for verifiers. */
export function rawEd25519PublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || jwk.x === undefined)
    throw new ProvenanceError("signing key", ["is not an Ed25519 key"]);
  return Buffer.from(jwk.x, "base64url");
}

/** An {@link EnvelopeSigner} for an Ed25519 private key; the key id defaults to {@link ed25519KeyId} of its public key. */
export function ed25519Signer(privateKey: KeyObject, keyId?: string): EnvelopeSigner {
  if (privateKey.type !== "private" || privateKey.asymmetricKeyType !== "ed25519")
    throw new ProvenanceError("signing key", ["is not an Ed25519 private key"]);
  return {
    keyId: keyId ?? ed25519KeyId(rawEd25519PublicKey(privateKey)),
    sign: (data) => cryptoSign(null, data, privateKey),
  };
}

/**
 * Signs a provenance statement into a DSSE envelope: the payload is the
 * statement's JSON, and the signature covers PAE(payloadType, payload) (DSSE protocol.md, "Protocol", To sign).
 * @throws ProvenanceError when the statement is not valid provenance; nothing invalid is signed.
 */
export function signEnvelope(statement: ProvenanceStatement, signer: EnvelopeSigner): DsseEnvelope {
  const problems = validateProvenance(statement);
  if (problems.length > 0) throw new ProvenanceError("provenance to sign", problems);
  const body = Buffer.from(JSON.stringify(statement), "utf8");
  const sig = signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, body));
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: body.toString("base64"),
    signatures: [{ keyid: signer.keyId, sig: sig.toString("base64") }],
  };
}

/** DSSE envelope.md, "Standard JSON envelope"; in-toto envelope.md: `signatures` is REQUIRED and an array. */
const envelopeSchema = z.looseObject(
  {
    payload: z.string({ error: expectedError("a base64 string") }),
    payloadType: z.string({ error: expectedError("a string") }),
    signatures: z
      .array(
        z.looseObject(
          {
            // envelope.md: "Empty fields may be omitted", so keyid may be absent.
            keyid: optionalField(z.string({ error: expectedError("a string") })),
            sig: z.string({ error: expectedError("a base64 string") }),
          },
          { error: expectedError("an object with keyid and sig") },
        ),
        { error: expectedError("an array of signatures") },
      )
      .min(1, { error: "is empty; the envelope carries no signature" }),
  },
  { error: expectedError("an object (a DSSE envelope)") },
);

/**
 * Verifies a DSSE envelope signed by the Ed25519 key `publicKey` and returns the provenance it carries.
 * Follows DSSE protocol.md, "Protocol", To verify: decode, narrow signatures by KEYID
 * (a hint only; signatures without one are tried too), verify against PAE, check the
 * payloadType, parse the payload; then the statement is checked with {@link validateProvenance}.
 * @param envelope The parsed JSON of the envelope.
 * @param publicKey The raw 32-byte Ed25519 public key.
 * @param source The envelope's file (or other origin), named in errors.
 * @param keyId The key id signatures must carry; {@link ed25519KeyId} of `publicKey` by default.
 * @throws ProvenanceError naming the problem: malformed envelope, wrong payloadType,
 *   no signature by that key id, signature mismatch, or invalid provenance in the payload.
 */
export function verifyEnvelope(envelope: unknown, publicKey: Buffer, source: string, keyId?: string): VerifiedProvenance {
  const key = ed25519PublicKey(publicKey, `${source}: public key`);
  const expectedKeyId = keyId ?? ed25519KeyId(publicKey);
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success)
    throw new ProvenanceError(
      source,
      describeIssues(parsed.error.issues).map((p) => `malformed DSSE envelope: ${p}`),
    );
  const { payloadType, payload, signatures } = parsed.data;
  // in-toto envelope.md, "Fields": payloadType MUST be application/vnd.in-toto+json (or a predicate-specific form, which we do not produce).
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw new ProvenanceError(source, [`payloadType: expected "${IN_TOTO_PAYLOAD_TYPE}", found ${show(payloadType)}`]);
  // protocol.md, To verify: "Reject if decoding fails."
  const body = decodeBase64(payload);
  if (body === undefined) throw new ProvenanceError(source, ["malformed DSSE envelope: payload: not base64"]);
  // protocol.md: KEYID "MUST NOT be used for security decisions; it may only be used to narrow the selection of possible keys".
  const candidates = signatures.filter((s) => s.keyid === undefined || s.keyid === null || s.keyid === "" || s.keyid === expectedKeyId);
  if (candidates.length === 0) {
    const found = signatures.map((s) => show(s.keyid)).join(", ");
    throw new ProvenanceError(source, [`signatures: no signature by key id ${expectedKeyId} (found key ids ${found})`]);
  }
  // protocol.md, To verify: "Verify SIGNATURE against PAE(UTF8(PAYLOAD_TYPE), SERIALIZED_BODY). Reject if the verification fails."
  const message = pae(payloadType, body);
  const verified = candidates.some((candidate) => {
    const sig = decodeBase64(candidate.sig);
    if (sig === undefined) return false;
    try {
      return cryptoVerify(null, message, key, sig);
    } catch {
      return false;
    }
  });
  if (!verified)
    throw new ProvenanceError(source, [
      `signature mismatch: no signature verifies with key ${expectedKeyId}; the envelope was altered or signed by another key`,
    ]);
  // protocol.md, To verify: "Parse SERIALIZED_BODY according to PAYLOAD_TYPE. Reject if the parsing fails."
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw new ProvenanceError(source, [`payload: signed, but not UTF-8 JSON (${(error as Error).message})`]);
  }
  const result = statementSchema.safeParse(statement);
  if (!result.success)
    throw new ProvenanceError(
      source,
      describeIssues(result.error.issues).map((p) => `payload: ${p}`),
    );
  return result.data;
}
