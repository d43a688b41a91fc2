/**
 * Release provenance: the in-toto Statement v1 / SLSA Provenance v1 document,
 * its validation field by field, and the DSSE envelope that signs it.
 */
import { createPublicKey, generateKeyPairSync, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseRfc3339 } from "../../../src/core/rfc3339.js";
import { BUILD_TYPE, buildProvenance, type ProvenanceInput } from "../../../src/release/provenance/build.js";
import {
  type DsseEnvelope,
  ed25519KeyId,
  ed25519Signer,
  IN_TOTO_PAYLOAD_TYPE,
  pae,
  rawEd25519PublicKey,
  signEnvelope,
  verifyEnvelope,
} from "../../../src/release/provenance/dsse.js";
import { ProvenanceError } from "../../../src/release/provenance/error.js";
import { SLSA_PROVENANCE_V1, STATEMENT_TYPE, validateProvenance } from "../../../src/release/provenance/statement.js";

const hex = (char: string, length = 64) => char.repeat(length);

const INPUT: ProvenanceInput = {
  subjects: [
    { name: "shriven-engine-x86_64-unknown-linux-gnu", sha256: hex("a") },
    { name: "shriven-engine-x86_64-unknown-linux-gnu.sig", sha256: hex("b") },
  ],
  repository: "https://github.com/shrivenquant/shrivenquant",
  ref: "refs/tags/v1.2.3",
  commit: "0123456789abcdef0123456789abcdef01234567",
  toolchainImage: { ref: "ghcr.io/shrivenquant/rust-toolchain:1.80", sha256: hex("c") },
  builderId: "https://github.com/shrivenquant/shriven-pipeline/builder/production@v1",
  invocationId: "https://github.com/shrivenquant/shrivenquant/actions/runs/42/attempts/1",
  startedOn: new Date("2026-03-01T10:00:00Z"),
  finishedOn: new Date("2026-03-01T10:25:30.500Z"),
  releaseProfile: { lto: "fat", "codegen-units": 1, "target-cpu": "x86-64-v3", "panic-abort": true },
  reports: [
    { name: "reports/production.json", sha256: hex("d") },
    { name: "reports/production.junit.xml", sha256: hex("e") },
  ],
};

type Json = Record<string, unknown>;

/** A fresh, plain-JSON copy of the statement built from {@link INPUT}. */
function statement(): Json {
  return JSON.parse(JSON.stringify(buildProvenance(INPUT))) as Json;
}

/** The object at a dotted path (array indices as numbers). */
function at(root: Json, path: string): Json {
  let node: unknown = root;
  for (const key of path.split(".")) node = (node as Json)[key];
  return node as Json;
}

function ed25519() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, raw: rawEd25519PublicKey(publicKey) };
}

/** The statement inside an envelope, decoded without verification. */
function payloadOf(envelope: DsseEnvelope): Json {
  return JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")) as Json;
}

function reencoded(envelope: DsseEnvelope, change: (statement: Json) => void): DsseEnvelope {
  const payload = payloadOf(envelope);
  change(payload);
  return { ...envelope, payload: Buffer.from(JSON.stringify(payload)).toString("base64") };
}

function problemsOf(action: () => unknown): readonly string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ProvenanceError) return error.problems;
    throw error;
  }
  throw new Error("expected a ProvenanceError");
}

describe("buildProvenance", () => {
  it("builds an in-toto Statement v1 with a SLSA Provenance v1 predicate", () => {
    const built = buildProvenance(INPUT);
    expect(built._type).toBe(STATEMENT_TYPE);
    expect(built.predicateType).toBe(SLSA_PROVENANCE_V1);
    expect(built.subject).toEqual([
      { name: "shriven-engine-x86_64-unknown-linux-gnu", digest: { sha256: hex("a") } },
      { name: "shriven-engine-x86_64-unknown-linux-gnu.sig", digest: { sha256: hex("b") } },
    ]);
    expect(built.predicate.buildDefinition).toEqual({
      buildType: BUILD_TYPE,
      externalParameters: { repository: INPUT.repository, ref: "refs/tags/v1.2.3", stage: "production" },
      internalParameters: { releaseProfile: INPUT.releaseProfile },
      resolvedDependencies: [
        {
          uri: "git+https://github.com/shrivenquant/shrivenquant@refs/tags/v1.2.3",
          digest: { gitCommit: "0123456789abcdef0123456789abcdef01234567" },
        },
        { uri: "docker://ghcr.io/shrivenquant/rust-toolchain:1.80", digest: { sha256: hex("c") } },
      ],
    });
    expect(built.predicate.runDetails).toEqual({
      builder: { id: INPUT.builderId },
      metadata: { invocationId: INPUT.invocationId, startedOn: "2026-03-01T10:00:00.000Z", finishedOn: "2026-03-01T10:25:30.500Z" },
      byproducts: [
        { name: "reports/production.json", digest: { sha256: hex("d") } },
        { name: "reports/production.junit.xml", digest: { sha256: hex("e") } },
      ],
    });
  });

  it("a full statement validates with no problems, also after a JSON round trip", () => {
    expect(validateProvenance(buildProvenance(INPUT))).toEqual([]);
    expect(validateProvenance(statement())).toEqual([]);
  });

  it("refuses bad inputs, naming each field", () => {
    const problems = problemsOf(() =>
      buildProvenance({
        ...INPUT,
        subjects: [
          { name: "a", sha256: hex("A") },
          { name: "a", sha256: hex("a") },
        ],
        commit: "abc123",
        repository: "github.com/shrivenquant/shrivenquant",
        toolchainImage: { ref: "ghcr.io/x:1", sha256: "sha256:deadbeef" },
        finishedOn: new Date("2026-03-01T09:00:00Z"),
        releaseProfile: { "opt-level": Number.NaN },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^subjects\[0\]\.sha256: expected 64 lowercase hex/),
      expect.stringMatching(/^subjects\[1\]\.name: "a" is listed twice/),
      expect.stringMatching(/^repository: expected a URI/),
      expect.stringMatching(/^commit: expected 40/),
      expect.stringMatching(/^toolchainImage\.sha256: /),
      "finishedOn: is before startedOn",
      expect.stringMatching(/^releaseProfile\.opt-level: NaN/),
    ]);
    expect(problemsOf(() => buildProvenance({ ...INPUT, subjects: [] }))).toEqual([expect.stringMatching(/^subjects: is empty/)]);
  });

  it("records the Debian packages added to the toolchain image as package URLs, after the image", () => {
    const built = buildProvenance({
      ...INPUT,
      toolchainPackages: [
        { name: "valgrind", version: "1:3.19.0-1", architecture: "amd64", distro: "debian-12" },
        { name: "libstdc++6", version: "12.2.0-14+deb12u1", architecture: "arm64", distro: "debian-12" },
      ],
    });
    expect(built.predicate.buildDefinition.resolvedDependencies.slice(1)).toEqual([
      { uri: "docker://ghcr.io/shrivenquant/rust-toolchain:1.80", digest: { sha256: hex("c") } },
      { name: "valgrind", uri: "pkg:deb/debian/valgrind@1%3A3.19.0-1?arch=amd64&distro=debian-12" },
      { name: "libstdc++6", uri: "pkg:deb/debian/libstdc++6@12.2.0-14%2Bdeb12u1?arch=arm64&distro=debian-12" },
    ]);
    expect(validateProvenance(JSON.parse(JSON.stringify(built)))).toEqual([]);
  });

  it("refuses Debian packages that are not name, version, architecture and release, naming each field", () => {
    const problems = problemsOf(() =>
      buildProvenance({
        ...INPUT,
        toolchainPackages: [
          { name: "Valgrind", version: "1:3.19.0-1", architecture: "amd64", distro: "debian-12" },
          { name: "git", version: "", architecture: "amd 64", distro: "debian 12" },
          { name: "git", version: "1:2.39.5-0+deb12u3", architecture: "amd 64", distro: "debian-12" },
        ],
      }),
    );
    expect(problems).toEqual([
      'toolchainPackages[0].name: expected a Debian package name, found "Valgrind"',
      'toolchainPackages[1].version: expected a Debian version, found ""',
      'toolchainPackages[1].architecture: expected a dpkg architecture such as amd64, found "amd 64"',
      'toolchainPackages[1].distro: expected a Debian release such as debian-12, found "debian 12"',
      'toolchainPackages[2].architecture: expected a dpkg architecture such as amd64, found "amd 64"',
      'toolchainPackages[2]: "git:amd 64" is listed twice',
    ]);
  });
});

describe("validateProvenance", () => {
  // Each case: what is broken, how, and the field path the problem must name.
  const cases: [string, (s: Json) => void, string][] = [
    ["_type missing", (s) => delete s._type, "_type"],
    ["_type of another version", (s) => (s._type = "https://in-toto.io/Statement/v0.1"), "_type"],
    ["subject missing", (s) => delete s.subject, "subject"],
    ["subject empty", (s) => (s.subject = []), "subject"],
    ["subject not an array", (s) => (s.subject = { name: "x" }), "subject"],
    ["subject without digest", (s) => delete at(s, "subject.0").digest, "subject.0.digest"],
    ["subject with an empty digest set", (s) => (at(s, "subject.1").digest = {}), "subject.1.digest"],
    ["subject digest in uppercase hex", (s) => (at(s, "subject.0.digest").sha256 = hex("A")), "subject.0.digest.sha256"],
    ["subject digest of the wrong length", (s) => (at(s, "subject.0.digest").sha256 = "abcd"), "subject.0.digest.sha256"],
    ["subject digest not a string", (s) => (at(s, "subject.0.digest").sha256 = 42), "subject.0.digest.sha256"],
    ["predicateType missing", (s) => delete s.predicateType, "predicateType"],
    ["predicateType not a URI", (s) => (s.predicateType = "slsa provenance"), "predicateType"],
    ["predicateType of SLSA v0.2", (s) => (s.predicateType = "https://slsa.dev/provenance/v0.2"), "predicateType"],
    ["predicate missing", (s) => delete s.predicate, "predicate"],
    ["buildDefinition missing", (s) => delete at(s, "predicate").buildDefinition, "predicate.buildDefinition"],
    ["buildType missing", (s) => delete at(s, "predicate.buildDefinition").buildType, "predicate.buildDefinition.buildType"],
    [
      "buildType with an uppercase scheme",
      (s) => (at(s, "predicate.buildDefinition").buildType = "HTTPS://x.example/v1"),
      "predicate.buildDefinition.buildType",
    ],
    [
      "externalParameters missing",
      (s) => delete at(s, "predicate.buildDefinition").externalParameters,
      "predicate.buildDefinition.externalParameters",
    ],
    [
      "externalParameters an array",
      (s) => (at(s, "predicate.buildDefinition").externalParameters = ["x"]),
      "predicate.buildDefinition.externalParameters",
    ],
    [
      "externalParameters empty",
      (s) => (at(s, "predicate.buildDefinition").externalParameters = {}),
      "predicate.buildDefinition.externalParameters",
    ],
    [
      "internalParameters a string",
      (s) => (at(s, "predicate.buildDefinition").internalParameters = "lto"),
      "predicate.buildDefinition.internalParameters",
    ],
    [
      "resolved dependency with none of uri, digest, content",
      (s) => (at(s, "predicate.buildDefinition.resolvedDependencies")[0] = { name: "src" }),
      "predicate.buildDefinition.resolvedDependencies.0",
    ],
    [
      "resolved dependency with a short gitCommit",
      (s) => (at(s, "predicate.buildDefinition.resolvedDependencies.0.digest").gitCommit = "0123abc"),
      "predicate.buildDefinition.resolvedDependencies.0.digest.gitCommit",
    ],
    [
      "resolved dependency uri with an uppercase authority",
      (s) => (at(s, "predicate.buildDefinition.resolvedDependencies.1").uri = "docker://GHCR.io/x"),
      "predicate.buildDefinition.resolvedDependencies.1.uri",
    ],
    ["runDetails missing", (s) => delete at(s, "predicate").runDetails, "predicate.runDetails"],
    ["builder missing", (s) => delete at(s, "predicate.runDetails").builder, "predicate.runDetails.builder"],
    ["builder.id missing", (s) => delete at(s, "predicate.runDetails.builder").id, "predicate.runDetails.builder.id"],
    ["builder.id not a URI", (s) => (at(s, "predicate.runDetails.builder").id = "our CI"), "predicate.runDetails.builder.id"],
    [
      "startedOn without a time zone",
      (s) => (at(s, "predicate.runDetails.metadata").startedOn = "2026-03-01T10:00:00"),
      "predicate.runDetails.metadata.startedOn",
    ],
    [
      "startedOn with a space",
      (s) => (at(s, "predicate.runDetails.metadata").startedOn = "2026-03-01 10:00:00Z"),
      "predicate.runDetails.metadata.startedOn",
    ],
    [
      "startedOn on 30 February",
      (s) => (at(s, "predicate.runDetails.metadata").startedOn = "2026-02-30T10:00:00Z"),
      "predicate.runDetails.metadata.startedOn",
    ],
    [
      "finishedOn not in UTC",
      (s) => (at(s, "predicate.runDetails.metadata").finishedOn = "2026-03-01T12:25:30+02:00"),
      "predicate.runDetails.metadata.finishedOn",
    ],
    [
      "finishedOn before startedOn",
      (s) => (at(s, "predicate.runDetails.metadata").finishedOn = "2026-03-01T09:00:00Z"),
      "predicate.runDetails.metadata.finishedOn",
    ],
    [
      "byproduct digest not hex",
      (s) => (at(s, "predicate.runDetails.byproducts.0.digest").sha256 = hex("z")),
      "predicate.runDetails.byproducts.0.digest.sha256",
    ],
    ["byproducts not an array", (s) => (at(s, "predicate.runDetails").byproducts = "reports"), "predicate.runDetails.byproducts"],
  ];

  it.each(cases)("%s is reported", (_, breakIt, field) => {
    const broken = statement();
    breakIt(broken);
    const problems = validateProvenance(broken);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith(`${field}: `))).toBe(true);
  });

  it("reports every problem at once, not only the first", () => {
    const broken = statement();
    delete broken._type;
    delete at(broken, "predicate.runDetails.builder").id;
    expect(validateProvenance(broken)).toEqual([
      expect.stringMatching(/^_type: missing/),
      expect.stringMatching(/^predicate\.runDetails\.builder\.id: missing/),
    ]);
  });

  it("reports a value that is not an object at the top level", () => {
    expect(validateProvenance(null)).toEqual([expect.stringMatching(/^\(top level\): expected an object/)]);
    expect(validateProvenance("{}")).toEqual([expect.stringMatching(/^\(top level\): expected an object/)]);
  });

  it("ignores unknown fields and accepts null for optional ones (in-toto parsing rules)", () => {
    const s = statement();
    s.shriven_note = "extension";
    at(s, "predicate.runDetails").metadata = null;
    at(s, "predicate.buildDefinition").internalParameters = null;
    at(s, "subject.0.digest").someNewHash = "not-hex-is-fine-for-unknown-algorithms";
    at(s, "predicate.buildDefinition.resolvedDependencies")[2] = { uri: "pkg:cargo/serde@1.0.210" };
    expect(validateProvenance(s)).toEqual([]);
  });

  it("accepts the RFC 3339 forms the spec allows, with leap years and fractions", () => {
    expect(parseRfc3339("2024-02-29T23:59:60.25Z")?.utc).toBe(true);
    expect(parseRfc3339("2026-03-01T12:00:00+02:00")?.date.toISOString()).toBe("2026-03-01T10:00:00.000Z");
    expect(parseRfc3339("2026-03-01t10:00:00z")?.date.toISOString()).toBe("2026-03-01T10:00:00.000Z");
    for (const bad of ["2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01", "2026-01-01T00:00:00+2:00"]) {
      expect(parseRfc3339(bad), bad).toBeUndefined();
    }
  });
});

describe("DSSE", () => {
  it("PAE matches the DSSE spec's known answer", () => {
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString("utf8")).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
    // LEN counts bytes, not characters.
    expect(pae("tÿpe", Buffer.from("bødy")).toString("utf8")).toBe("DSSEv1 5 tÿpe 5 bødy");
    expect(pae("", Buffer.alloc(0)).toString("utf8")).toBe("DSSEv1 0  0 ");
  });

  it("PAE reproduces the DSSE test vector's signed bytes (ECDSA P-256 signature from protocol.md)", () => {
    // protocol.md "Test Vectors": the key and the envelope, verified with our PAE.
    const toB64url = (decimal: string) => Buffer.from(BigInt(decimal).toString(16).padStart(64, "0"), "hex").toString("base64url");
    const key = createPublicKey({
      key: {
        kty: "EC",
        crv: "P-256",
        x: toB64url("46950820868899156662930047687818585632848591499744589407958293238635476079160"),
        y: toB64url("5640078356564379163099075877009565129882514886557779369047442380624545832820"),
      },
      format: "jwk",
    });
    const sig = Buffer.from("A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==", "base64");
    const body = Buffer.from("aGVsbG8gd29ybGQ=", "base64");
    expect(verify("sha256", pae("http://example.com/HelloWorld", body), { key, dsaEncoding: "ieee-p1363" }, sig)).toBe(true);
    expect(
      verify("sha256", pae("http://example.com/HelloWorld", Buffer.from("hello world!")), { key, dsaEncoding: "ieee-p1363" }, sig),
    ).toBe(false);
  });

  it("signs and verifies a round trip with a generated Ed25519 key", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey));
    expect(envelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(envelope.signatures).toEqual([{ keyid: ed25519KeyId(raw), sig: expect.any(String) }]);
    expect(Buffer.from(envelope.signatures[0]?.sig ?? "", "base64")).toHaveLength(64);
    const onDisk: unknown = JSON.parse(JSON.stringify(envelope));
    expect(verifyEnvelope(onDisk, raw, "provenance.intoto.json")).toEqual(statement());
  });

  it("accepts URL-safe base64 and signatures without a key id (DSSE: key ids are only hints)", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey, "release-key-2026"));
    const urlSafe = {
      ...envelope,
      payload: Buffer.from(envelope.payload, "base64").toString("base64url"),
      signatures: envelope.signatures.map((s) => ({ sig: Buffer.from(s.sig, "base64").toString("base64url") })),
    };
    expect(verifyEnvelope(urlSafe, raw, "p.json")).toEqual(statement());
    expect(verifyEnvelope(envelope, raw, "p.json", "release-key-2026")).toEqual(statement());
  });

  it("a changed subject digest inside the payload breaks verification", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey));
    const tampered = reencoded(envelope, (s) => {
      at(s, "subject.0.digest").sha256 = hex("f");
    });
    expect(validateProvenance(payloadOf(tampered))).toEqual([]);
    expect(problemsOf(() => verifyEnvelope(tampered, raw, "p.json"))).toEqual([expect.stringMatching(/^signature mismatch/)]);
  });

  it("a flipped byte in the signature breaks verification", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey));
    const sig = Buffer.from(envelope.signatures[0]?.sig ?? "", "base64");
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    const flipped = { ...envelope, signatures: [{ keyid: envelope.signatures[0]?.keyid ?? "", sig: sig.toString("base64") }] };
    expect(problemsOf(() => verifyEnvelope(flipped, raw, "p.json"))).toEqual([expect.stringMatching(/^signature mismatch/)]);
  });

  it("the wrong public key breaks verification, whether or not the key id matches", () => {
    const signer = ed25519();
    const other = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(signer.privateKey));
    expect(problemsOf(() => verifyEnvelope(envelope, other.raw, "p.json"))).toEqual([
      expect.stringMatching(new RegExp(`^signatures: no signature by key id ${ed25519KeyId(other.raw)}`)),
    ]);
    // Forcing the key id to match must still fail on the signature itself.
    expect(problemsOf(() => verifyEnvelope(envelope, other.raw, "p.json", ed25519KeyId(signer.raw)))).toEqual([
      expect.stringMatching(/^signature mismatch/),
    ]);
  });

  it("a changed payloadType is refused", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey));
    expect(problemsOf(() => verifyEnvelope({ ...envelope, payloadType: "application/json" }, raw, "p.json"))).toEqual([
      `payloadType: expected "${IN_TOTO_PAYLOAD_TYPE}", found "application/json"`,
    ]);
  });

  it("a malformed envelope is refused, naming the field", () => {
    const { privateKey, raw } = ed25519();
    const envelope = signEnvelope(buildProvenance(INPUT), ed25519Signer(privateKey));
    expect(problemsOf(() => verifyEnvelope({ ...envelope, signatures: [] }, raw, "p.json"))).toEqual([
      expect.stringMatching(/^malformed DSSE envelope: signatures: is empty/),
    ]);
    expect(problemsOf(() => verifyEnvelope({ payloadType: IN_TOTO_PAYLOAD_TYPE, signatures: envelope.signatures }, raw, "p.json"))).toEqual(
      [expect.stringMatching(/^malformed DSSE envelope: payload: missing/)],
    );
    expect(problemsOf(() => verifyEnvelope({ ...envelope, payload: "not base64!" }, raw, "p.json"))).toEqual([
      "malformed DSSE envelope: payload: not base64",
    ]);
    expect(problemsOf(() => verifyEnvelope([], raw, "p.json"))).toEqual([expect.stringMatching(/^malformed DSSE envelope: \(top level\)/)]);
    expect(problemsOf(() => verifyEnvelope(envelope, raw.subarray(0, 31), "p.json"))).toEqual([
      "is 31 bytes; expected a raw 32-byte Ed25519 public key",
    ]);
  });

  it("a correctly signed payload that is not valid provenance is refused, naming the field", () => {
    const { privateKey, raw } = ed25519();
    const bad = statement();
    delete at(bad, "predicate.runDetails.builder").id;
    const body = Buffer.from(JSON.stringify(bad));
    const signer = ed25519Signer(privateKey);
    const envelope = {
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: body.toString("base64"),
      signatures: [{ keyid: signer.keyId, sig: signer.sign(pae(IN_TOTO_PAYLOAD_TYPE, body)).toString("base64") }],
    };
    expect(problemsOf(() => verifyEnvelope(envelope, raw, "p.json"))).toEqual([
      expect.stringMatching(/^payload: predicate\.runDetails\.builder\.id: missing/),
    ]);
    // And signEnvelope refuses to sign it in the first place.
    expect(() => signEnvelope(bad as never, signer)).toThrow(/builder\.id/);
  });

  it("the error message names the source", () => {
    const { raw } = ed25519();
    expect(() => verifyEnvelope({}, raw, "dist/provenance.intoto.json")).toThrow(/^dist\/provenance\.intoto\.json:/);
  });
});
