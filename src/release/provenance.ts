/**
 * Build provenance for release binaries, verifiable offline: an in-toto
 * Statement v1 carrying a SLSA Provenance v1 predicate, signed in a DSSE
 * envelope with Ed25519.
 *
 * Specifications followed (each check below cites its section):
 * - in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 * - in-toto field types (TypeURI, ResourceURI, Timestamp): https://github.com/in-toto/attestation/blob/main/spec/v1/field_types.md
 * - in-toto DigestSet: https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md
 * - in-toto ResourceDescriptor: https://github.com/in-toto/attestation/blob/main/spec/v1/resource_descriptor.md
 * - in-toto parsing rules (unknown fields ignored): https://github.com/in-toto/attestation/blob/main/spec/v1/README.md#parsing-rules
 * - in-toto Envelope layer: https://github.com/in-toto/attestation/blob/main/spec/v1/envelope.md
 * - SLSA Provenance v1: https://slsa.dev/spec/v1.0/provenance
 * - DSSE envelope and protocol: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md,
 *   https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { describeIssues } from "../config/zod-issues.js";

/** `_type` of every in-toto Statement v1 (statement.md, field `_type`). */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** `predicateType` of SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance, "Schema"). */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

/** Our `buildDefinition.buildType`: the template of a shriven-pipeline release build. */
export const BUILD_TYPE = "https://github.com/shrivenquant/shriven-pipeline/release/v1";

/** DSSE `payloadType` of an in-toto statement (in-toto spec/v1/envelope.md, "Fields"). */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** Provenance that cannot be built, signed or verified. Each problem names the field or the check that failed. */
export class ProvenanceError extends Error {
  override readonly name = "ProvenanceError";

  /**
   * @param source What was being built or verified (an envelope file, or `provenance input`).
   * @param problems One line per problem, each naming the field.
   */
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}:${problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join("\n  ")}`}`);
  }
}

/** A named artifact and its SHA-256 (lowercase hex). */
export interface NamedDigest {
  readonly name: string;
  readonly sha256: string;
}

/** Everything {@link buildProvenance} records about one release build. */
export interface ProvenanceInput {
  /** The release binaries (and other published artifacts) the provenance is about. */
  readonly subjects: readonly NamedDigest[];
  /** Source repository URL, e.g. `https://github.com/shrivenquant/shrivenquant`. */
  readonly repository: string;
  /** The ref built, e.g. `refs/tags/v1.2.3`. */
  readonly ref: string;
  /** The commit the ref resolved to: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits. */
  readonly commit: string;
  /** The container image the toolchain ran in, pinned by digest. */
  readonly toolchainImage: { readonly ref: string; readonly sha256: string };
  /** URI of the build platform (SLSA `runDetails.builder.id`). */
  readonly builderId: string;
  /** Identifier of this run, e.g. a CI run URL or id. */
  readonly invocationId: string;
  readonly startedOn: Date;
  readonly finishedOn: Date;
  /** Cargo release profile settings the binaries were built with (lto, codegen-units, target-cpu, ...). */
  readonly releaseProfile: Readonly<Record<string, string | number | boolean>>;
  /** The stage reports produced by the build, recorded as byproducts. */
  readonly reports: readonly NamedDigest[];
  /** The pipeline stage that built the release; `production` unless given. */
  readonly stage?: string;
}

/** An in-toto ResourceDescriptor as {@link buildProvenance} writes it. */
export interface ResourceDescriptor {
  readonly name?: string;
  readonly uri?: string;
  readonly digest: Readonly<Record<string, string>>;
}

/** The in-toto Statement v1 with a SLSA Provenance v1 predicate that {@link buildProvenance} produces. */
export interface ProvenanceStatement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly { readonly name: string; readonly digest: { readonly sha256: string } }[];
  readonly predicateType: typeof SLSA_PROVENANCE_V1;
  readonly predicate: {
    readonly buildDefinition: {
      readonly buildType: string;
      readonly externalParameters: { readonly repository: string; readonly ref: string; readonly stage: string };
      readonly internalParameters: { readonly releaseProfile: Readonly<Record<string, string | number | boolean>> };
      readonly resolvedDependencies: readonly ResourceDescriptor[];
    };
    readonly runDetails: {
      readonly builder: { readonly id: string };
      readonly metadata: { readonly invocationId: string; readonly startedOn: string; readonly finishedOn: string };
      readonly byproducts: readonly ResourceDescriptor[];
    };
  };
}

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

// ---------------------------------------------------------------------------
// Field formats
// ---------------------------------------------------------------------------

/**
 * Why `value` is not a case-normalized URI, or `undefined` when it is one.
 * TypeURI and ResourceURI (field_types.md, "TypeURI", "ResourceURI"): a URI per
 * RFC 3986 that "MUST be case normalized as per section 6.2.2.1 of RFC 3986,
 * meaning that the scheme and authority MUST be in lowercase".
 */
function uriProblem(value: string): string | undefined {
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
const SHA256_HEX = /^[0-9a-f]{64}$/;
const GIT_COMMIT_HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Why `value` is not a valid digest for `algorithm`, or `undefined`. */
function digestProblem(algorithm: string, value: string): string | undefined {
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

/** A parsed RFC 3339 date-time. */
export interface Rfc3339Time {
  readonly date: Date;
  /** Whether the offset was `Z` (UTC), as in-toto Timestamps require. */
  readonly utc: boolean;
}

/**
 * Parses an RFC 3339 `date-time` (RFC 3339 section 5.6), checking each field's
 * range (RFC 3339 section 5.7) and the day of the month. `T` and `Z` may be
 * lowercase (section 5.6, NOTE). Returns `undefined` when `text` is not one.
 */
export function parseRfc3339(text: string): Rfc3339Time | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = match[7] === undefined ? 0 : Number(`0${match[7]}`);
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  // Section 5.7: hour 00-23, minute 00-59, second 00-60 (60 only for a leap second).
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (match[9] !== undefined) {
    const offsetHour = Number(match[10]);
    const offsetMinute = Number(match[11]);
    if (offsetHour > 23 || offsetMinute > 59) return undefined;
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, Math.min(second, 59), Math.floor(fraction * 1000));
  return { date, utc: match[9] === undefined };
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Why `value` is not an in-toto Timestamp, or `undefined`. field_types.md,
 * "Timestamp": "MUST be in RFC 3339 format in the UTC timezone ("Z")".
 */
function timestampProblem(value: string): string | undefined {
  const parsed = parseRfc3339(value);
  if (parsed === undefined) return `expected an RFC 3339 timestamp such as 2026-01-02T03:04:05Z, found ${show(value)}`;
  if (!parsed.utc) return `expected a UTC ("Z") timestamp (in-toto field_types.md, Timestamp), found ${show(value)}`;
  return undefined;
}

/** Standard or URL-safe base64, padded or not (DSSE protocol.md: verifiers MUST accept either). */
function decodeBase64(text: string): Buffer | undefined {
  const standard = /^[A-Za-z0-9+/]*={0,2}$/.test(text);
  const urlSafe = /^[A-Za-z0-9_-]*={0,2}$/.test(text);
  if (!standard && !urlSafe) return undefined;
  const unpadded = text.replace(/=+$/, "");
  if (unpadded.length % 4 === 1) return undefined;
  if (unpadded.length !== text.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(unpadded, standard ? "base64" : "base64url");
}

/** A short rendering of a found value for a problem line. */
function show(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

/** A zod error callback: `missing (expected X)` or `expected X, found Y`. */
function expected(what: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined ? `missing (expected ${what})` : `expected ${what}, found ${show(issue.input)}`;
}

/**
 * in-toto parsing rules (spec/v1/README.md#parsing-rules) and SLSA "Parsing
 * rules": "Unset, null, and empty field values MUST be interpreted
 * equivalently", so optional fields accept null.
 */
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

const uri = (what: string) =>
  z.string({ error: expected(`${what} (a URI)`) }).superRefine((value, ctx) => {
    const problem = uriProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

const timestamp = () =>
  z.string({ error: expected("an RFC 3339 UTC timestamp") }).superRefine((value, ctx) => {
    const problem = timestampProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** digest_set.md, "Fields": a JSON object mapping algorithm name to a string encoding of the digest; "one or more". */
const digestSet = () =>
  z
    .record(z.string(), z.string({ error: expected("a digest string") }), { error: expected("an object mapping algorithm to digest") })
    .superRefine((digests, ctx) => {
      if (Object.keys(digests).length === 0) ctx.addIssue({ code: "custom", message: "names no digest; a DigestSet holds one or more" });
      for (const [algorithm, value] of Object.entries(digests)) {
        const problem = digestProblem(algorithm, value);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, path: [algorithm] });
      }
    });

/** resource_descriptor.md, "Schema" and "Fields". */
const resourceDescriptorShape = {
  name: optional(z.string({ error: expected("a string") })),
  uri: optional(uri("a ResourceURI")),
  digest: optional(digestSet()),
  // resource_descriptor.md "content": bytes, converted to base64 in JSON.
  content: optional(
    z
      .string({ error: expected("base64 content") })
      .refine((value) => decodeBase64(value) !== undefined, { error: "expected base64 content" }),
  ),
  downloadLocation: optional(uri("a ResourceURI")),
  mediaType: optional(z.string({ error: expected("a media type string") })),
  annotations: optional(z.record(z.string(), z.unknown(), { error: expected("an object") })),
};

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (typeof value === "object" && Object.keys(value).length === 0);
}

/**
 * resource_descriptor.md, "Fields": "a ResourceDescriptor MUST specify one of
 * `uri`, `digest` or `content` at a minimum".
 */
const resourceDescriptor = () =>
  z.looseObject(resourceDescriptorShape, { error: expected("an object (a ResourceDescriptor)") }).superRefine((descriptor, ctx) => {
    if (isUnset(descriptor.uri) && isUnset(descriptor.digest) && isUnset(descriptor.content))
      ctx.addIssue({ code: "custom", message: "a ResourceDescriptor must set one of uri, digest or content" });
  });

/** statement.md, `subject`: ResourceDescriptors; "Each element MUST have `digest` set." */
const subjectSchema = z.looseObject(
  { ...resourceDescriptorShape, digest: digestSet() },
  { error: expected("an object (a ResourceDescriptor with a digest)") },
);

/** A JSON object (not an array, not null). */
const jsonObject = (what: string) => z.record(z.string(), z.unknown(), { error: expected(what) });

/** https://slsa.dev/spec/v1.0/provenance, "BuildDefinition". */
const buildDefinitionSchema = z.looseObject(
  {
    // "BuildDefinition": REQUIRED `buildType`, a TypeURI.
    buildType: uri("the build type"),
    // "BuildDefinition": REQUIRED `externalParameters`, an object. Empty counts as unset (parsing rules).
    externalParameters: jsonObject("an object of the build's external parameters").refine((value) => Object.keys(value).length > 0, {
      error: "is empty; it is REQUIRED and an empty object counts as unset (SLSA parsing rules)",
    }),
    // "BuildDefinition": optional `internalParameters`, an object.
    internalParameters: optional(jsonObject("an object")),
    // "BuildDefinition": optional `resolvedDependencies`, an array of ResourceDescriptor.
    resolvedDependencies: optional(z.array(resourceDescriptor(), { error: expected("an array of ResourceDescriptors") })),
  },
  { error: expected("an object (SLSA BuildDefinition)") },
);

/** https://slsa.dev/spec/v1.0/provenance, "RunDetails", "Builder", "BuildMetadata". */
const runDetailsSchema = z.looseObject(
  {
    // "RunDetails": REQUIRED `builder`; "Builder": REQUIRED `id`, a TypeURI.
    builder: z.looseObject(
      {
        id: uri("the builder id"),
        builderDependencies: optional(z.array(resourceDescriptor(), { error: expected("an array of ResourceDescriptors") })),
        // "Builder": `version` is a map (string→string).
        version: optional(z.record(z.string(), z.string({ error: expected("a version string") }), { error: expected("an object") })),
      },
      { error: expected("an object (SLSA Builder)") },
    ),
    // "BuildMetadata": no field REQUIRED; startedOn/finishedOn are Timestamps.
    metadata: optional(
      z
        .looseObject(
          {
            invocationId: optional(z.string({ error: expected("a string") })),
            startedOn: optional(timestamp()),
            finishedOn: optional(timestamp()),
          },
          { error: expected("an object (SLSA BuildMetadata)") },
        )
        .superRefine((metadata, ctx) => {
          // Our own sanity check, not a spec requirement: a build cannot finish before it starts.
          if (typeof metadata.startedOn === "string" && typeof metadata.finishedOn === "string") {
            const started = parseRfc3339(metadata.startedOn)?.date.getTime() ?? 0;
            const finished = parseRfc3339(metadata.finishedOn)?.date.getTime() ?? 0;
            if (finished < started)
              ctx.addIssue({ code: "custom", message: `finishedOn is before startedOn (${metadata.startedOn})`, path: ["finishedOn"] });
          }
        }),
    ),
    // "RunDetails": optional `byproducts`, an array of ResourceDescriptor.
    byproducts: optional(z.array(resourceDescriptor(), { error: expected("an array of ResourceDescriptors") })),
  },
  { error: expected("an object (SLSA RunDetails)") },
);

const statementSchema = z.looseObject(
  {
    // statement.md `_type`: "Always `https://in-toto.io/Statement/v1` for this version of the spec."
    _type: z.literal(STATEMENT_TYPE, {
      error: (issue) => `${issue.input === undefined ? "missing" : `found ${show(issue.input)}`}; expected "${STATEMENT_TYPE}"`,
    }),
    // statement.md `subject`: array of ResourceDescriptor, required; an empty array counts as unset (parsing rules).
    subject: z
      .array(subjectSchema, { error: expected("an array of subjects") })
      .min(1, { error: "is empty; the statement must name at least one subject artifact" }),
    // statement.md `predicateType`: string (TypeURI), required; SLSA "Schema": https://slsa.dev/provenance/v1.
    predicateType: z.string({ error: expected("the predicate type (a URI)") }).superRefine((value, ctx) => {
      const problem =
        uriProblem(value) ??
        (value === SLSA_PROVENANCE_V1 ? undefined : `expected "${SLSA_PROVENANCE_V1}" (SLSA Provenance v1), found ${show(value)}`);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
    // SLSA "Provenance": REQUIRED `buildDefinition` and `runDetails`.
    predicate: z.looseObject(
      { buildDefinition: buildDefinitionSchema, runDetails: runDetailsSchema },
      { error: expected("an object (SLSA Provenance v1 predicate)") },
    ),
  },
  { error: expected("an object (an in-toto Statement)") },
);

/** A statement that passed {@link validateProvenance}; unknown (extension) fields are kept. */
export type VerifiedProvenance = z.output<typeof statementSchema>;

/**
 * Checks `statement` against the in-toto Statement v1 and SLSA Provenance v1
 * field requirements. Unknown fields are ignored, as the in-toto parsing rules require.
 * @returns One line per problem, each starting with the dotted field path
 *   (e.g. `predicate.runDetails.builder.id: missing (expected the builder id (a URI))`); empty when valid.
 */
export function validateProvenance(statement: unknown): string[] {
  const parsed = statementSchema.safeParse(statement);
  return parsed.success ? [] : describeIssues(parsed.error.issues);
}

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

/** The problems of a build's inputs, each naming the input field. */
function inputProblems(input: ProvenanceInput): string[] {
  const problems: string[] = [];
  const checkDigests = (field: string, list: readonly NamedDigest[]) => {
    const seen = new Set<string>();
    list.forEach((item, index) => {
      if (item.name.trim() === "") problems.push(`${field}[${index}].name: is empty`);
      else if (seen.has(item.name)) problems.push(`${field}[${index}].name: ${show(item.name)} is listed twice`);
      seen.add(item.name);
      if (!SHA256_HEX.test(item.sha256))
        problems.push(`${field}[${index}].sha256: expected 64 lowercase hex digits, found ${show(item.sha256)}`);
    });
  };
  if (input.subjects.length === 0) problems.push("subjects: is empty; provenance must be about at least one artifact");
  checkDigests("subjects", input.subjects);
  checkDigests("reports", input.reports);
  const repositoryProblem = uriProblem(input.repository);
  if (repositoryProblem !== undefined) problems.push(`repository: ${repositoryProblem}`);
  if (input.ref.trim() === "" || /\s/.test(input.ref))
    problems.push(`ref: expected a git ref such as refs/tags/v1.2.3, found ${show(input.ref)}`);
  if (!GIT_COMMIT_HEX.test(input.commit)) problems.push(`commit: expected 40 (or 64) lowercase hex digits, found ${show(input.commit)}`);
  if (input.toolchainImage.ref.trim() === "" || /\s/.test(input.toolchainImage.ref))
    problems.push(`toolchainImage.ref: expected an image reference, found ${show(input.toolchainImage.ref)}`);
  if (!SHA256_HEX.test(input.toolchainImage.sha256))
    problems.push(`toolchainImage.sha256: expected 64 lowercase hex digits, found ${show(input.toolchainImage.sha256)}`);
  const builderProblem = uriProblem(input.builderId);
  if (builderProblem !== undefined) problems.push(`builderId: ${builderProblem}`);
  if (input.invocationId.trim() === "") problems.push("invocationId: is empty");
  if (Number.isNaN(input.startedOn.getTime())) problems.push("startedOn: is an invalid Date");
  if (Number.isNaN(input.finishedOn.getTime())) problems.push("finishedOn: is an invalid Date");
  else if (input.finishedOn.getTime() < input.startedOn.getTime()) problems.push("finishedOn: is before startedOn");
  for (const [key, value] of Object.entries(input.releaseProfile)) {
    if (typeof value === "number" && !Number.isFinite(value)) problems.push(`releaseProfile.${key}: ${value} cannot be written as JSON`);
  }
  if (input.stage !== undefined && input.stage.trim() === "") problems.push("stage: is empty");
  return problems;
}

/** `git+<repository>@<ref>`, the SLSA example form of a resolved source (provenance "BuildDefinition" example). */
function sourceUri(repository: string, ref: string): string {
  const base = repository.startsWith("git+") || repository.startsWith("git:") ? repository : `git+${repository}`;
  return `${base}@${ref}`;
}

/** A container image reference as a URI: kept when it already has a scheme, else `docker://<ref>`. */
function imageUri(ref: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//.test(ref) ? ref : `docker://${ref}`;
}

/**
 * Builds the in-toto Statement v1 with a SLSA Provenance v1 predicate for a release build.
 * @throws ProvenanceError (source `provenance input`) naming each bad input field.
 */
export function buildProvenance(input: ProvenanceInput): ProvenanceStatement {
  const problems = inputProblems(input);
  if (problems.length > 0) throw new ProvenanceError("provenance input", problems);
  const statement: ProvenanceStatement = {
    _type: STATEMENT_TYPE,
    subject: input.subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { repository: input.repository, ref: input.ref, stage: input.stage ?? "production" },
        internalParameters: { releaseProfile: { ...input.releaseProfile } },
        resolvedDependencies: [
          { uri: sourceUri(input.repository, input.ref), digest: { gitCommit: input.commit } },
          { uri: imageUri(input.toolchainImage.ref), digest: { sha256: input.toolchainImage.sha256 } },
        ],
      },
      runDetails: {
        builder: { id: input.builderId },
        metadata: {
          invocationId: input.invocationId,
          startedOn: input.startedOn.toISOString(),
          finishedOn: input.finishedOn.toISOString(),
        },
        byproducts: input.reports.map((r) => ({ name: r.name, digest: { sha256: r.sha256 } })),
      },
    },
  };
  const invalid = validateProvenance(statement);
  if (invalid.length > 0) throw new ProvenanceError("provenance input", invalid);
  return statement;
}

// ---------------------------------------------------------------------------
// DSSE
// ---------------------------------------------------------------------------

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
    payload: z.string({ error: expected("a base64 string") }),
    payloadType: z.string({ error: expected("a string") }),
    signatures: z
      .array(
        z.looseObject(
          {
            // envelope.md: "Empty fields may be omitted", so keyid may be absent.
            keyid: optional(z.string({ error: expected("a string") })),
            sig: z.string({ error: expected("a base64 string") }),
          },
          { error: expected("an object with keyid and sig") },
        ),
        { error: expected("an array of signatures") },
      )
      .min(1, { error: "is empty; the envelope carries no signature" }),
  },
  { error: expected("an object (a DSSE envelope)") },
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
