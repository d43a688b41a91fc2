/**
 * The in-toto Statement v1 carrying a SLSA Provenance v1 predicate, and its validation field by field.
 *
 * Specifications followed (each check below cites its section):
 * - in-toto Statement v1: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md
 * - in-toto ResourceDescriptor: https://github.com/in-toto/attestation/blob/main/spec/v1/resource_descriptor.md
 * - in-toto parsing rules (unknown fields ignored): https://github.com/in-toto/attestation/blob/main/spec/v1/README.md#parsing-rules
 * - SLSA Provenance v1: https://slsa.dev/spec/v1.0/provenance
 */
import { z } from "zod";
import { parseRfc3339 } from "../../core/rfc3339.js";
import { describeIssues } from "../../core/zod-issues.js";
import { decodeBase64, digestProblem, expectedError, optionalField, show, timestampProblem, uriProblem } from "./field-formats.js";

/**
 * An in-toto ResourceDescriptor as `buildProvenance` writes it: a digest, or for a Debian package
 * only its package URL (dpkg keeps no digest of the `.deb` it installed).
 */
export interface ResourceDescriptor {
  readonly name?: string;
  readonly uri?: string;
  readonly digest?: Readonly<Record<string, string>>;
}

/** The in-toto Statement v1 with a SLSA Provenance v1 predicate that `buildProvenance` produces. */
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

/** `_type` of every in-toto Statement v1 (statement.md, field `_type`). */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** `predicateType` of SLSA Provenance v1 (https://slsa.dev/spec/v1.0/provenance, "Schema"). */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

const uri = (what: string) =>
  z.string({ error: expectedError(`${what} (a URI)`) }).superRefine((value, ctx) => {
    const problem = uriProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

const timestamp = () =>
  z.string({ error: expectedError("an RFC 3339 UTC timestamp") }).superRefine((value, ctx) => {
    const problem = timestampProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** digest_set.md, "Fields": a JSON object mapping algorithm name to a string encoding of the digest; "one or more". */
const digestSet = () =>
  z
    .record(z.string(), z.string({ error: expectedError("a digest string") }), {
      error: expectedError("an object mapping algorithm to digest"),
    })
    .superRefine((digests, ctx) => {
      if (Object.keys(digests).length === 0) ctx.addIssue({ code: "custom", message: "names no digest; a DigestSet holds one or more" });
      for (const [algorithm, value] of Object.entries(digests)) {
        const problem = digestProblem(algorithm, value);
        if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, path: [algorithm] });
      }
    });

/** resource_descriptor.md, "Schema" and "Fields". */
const resourceDescriptorShape = {
  name: optionalField(z.string({ error: expectedError("a string") })),
  uri: optionalField(uri("a ResourceURI")),
  digest: optionalField(digestSet()),
  // resource_descriptor.md "content": bytes, converted to base64 in JSON.
  content: optionalField(
    z
      .string({ error: expectedError("base64 content") })
      .refine((value) => decodeBase64(value) !== undefined, { error: "expected base64 content" }),
  ),
  downloadLocation: optionalField(uri("a ResourceURI")),
  mediaType: optionalField(z.string({ error: expectedError("a media type string") })),
  annotations: optionalField(z.record(z.string(), z.unknown(), { error: expectedError("an object") })),
};

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (typeof value === "object" && Object.keys(value).length === 0);
}

/**
 * resource_descriptor.md, "Fields": "a ResourceDescriptor MUST specify one of
 * `uri`, `digest` or `content` at a minimum".
 */
const resourceDescriptor = () =>
  z.looseObject(resourceDescriptorShape, { error: expectedError("an object (a ResourceDescriptor)") }).superRefine((descriptor, ctx) => {
    if (isUnset(descriptor.uri) && isUnset(descriptor.digest) && isUnset(descriptor.content))
      ctx.addIssue({ code: "custom", message: "a ResourceDescriptor must set one of uri, digest or content" });
  });

/** statement.md, `subject`: ResourceDescriptors; "Each element MUST have `digest` set." */
const subjectSchema = z.looseObject(
  { ...resourceDescriptorShape, digest: digestSet() },
  { error: expectedError("an object (a ResourceDescriptor with a digest)") },
);

/** A JSON object (not an array, not null). */
const jsonObject = (what: string) => z.record(z.string(), z.unknown(), { error: expectedError(what) });

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
    internalParameters: optionalField(jsonObject("an object")),
    // "BuildDefinition": optional `resolvedDependencies`, an array of ResourceDescriptor.
    resolvedDependencies: optionalField(z.array(resourceDescriptor(), { error: expectedError("an array of ResourceDescriptors") })),
  },
  { error: expectedError("an object (SLSA BuildDefinition)") },
);

/** https://slsa.dev/spec/v1.0/provenance, "RunDetails", "Builder", "BuildMetadata". */
const runDetailsSchema = z.looseObject(
  {
    // "RunDetails": REQUIRED `builder`; "Builder": REQUIRED `id`, a TypeURI.
    builder: z.looseObject(
      {
        id: uri("the builder id"),
        builderDependencies: optionalField(z.array(resourceDescriptor(), { error: expectedError("an array of ResourceDescriptors") })),
        // "Builder": `version` is a map (string→string).
        version: optionalField(
          z.record(z.string(), z.string({ error: expectedError("a version string") }), { error: expectedError("an object") }),
        ),
      },
      { error: expectedError("an object (SLSA Builder)") },
    ),
    // "BuildMetadata": no field REQUIRED; startedOn/finishedOn are Timestamps.
    metadata: optionalField(
      z
        .looseObject(
          {
            invocationId: optionalField(z.string({ error: expectedError("a string") })),
            startedOn: optionalField(timestamp()),
            finishedOn: optionalField(timestamp()),
          },
          { error: expectedError("an object (SLSA BuildMetadata)") },
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
    byproducts: optionalField(z.array(resourceDescriptor(), { error: expectedError("an array of ResourceDescriptors") })),
  },
  { error: expectedError("an object (SLSA RunDetails)") },
);

/** Schema of an in-toto Statement v1 with a SLSA Provenance v1 predicate; unknown (extension) fields are kept. */
export const statementSchema = z.looseObject(
  {
    // statement.md `_type`: "Always `https://in-toto.io/Statement/v1` for this version of the spec."
    _type: z.literal(STATEMENT_TYPE, {
      error: (issue) => `${issue.input === undefined ? "missing" : `found ${show(issue.input)}`}; expected "${STATEMENT_TYPE}"`,
    }),
    // statement.md `subject`: array of ResourceDescriptor, required; an empty array counts as unset (parsing rules).
    subject: z
      .array(subjectSchema, { error: expectedError("an array of subjects") })
      .min(1, { error: "is empty; the statement must name at least one subject artifact" }),
    // statement.md `predicateType`: string (TypeURI), required; SLSA "Schema": https://slsa.dev/provenance/v1.
    predicateType: z.string({ error: expectedError("the predicate type (a URI)") }).superRefine((value, ctx) => {
      const problem =
        uriProblem(value) ??
        (value === SLSA_PROVENANCE_V1 ? undefined : `expected "${SLSA_PROVENANCE_V1}" (SLSA Provenance v1), found ${show(value)}`);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
    // SLSA "Provenance": REQUIRED `buildDefinition` and `runDetails`.
    predicate: z.looseObject(
      { buildDefinition: buildDefinitionSchema, runDetails: runDetailsSchema },
      { error: expectedError("an object (SLSA Provenance v1 predicate)") },
    ),
  },
  { error: expectedError("an object (an in-toto Statement)") },
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
