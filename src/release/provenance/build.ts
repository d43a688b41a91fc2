/**
 * Builds the provenance of a release build: the SLSA build definition (source, toolchain image, Debian
 * packages, release profile) and run details (builder, times, reports) of https://slsa.dev/spec/v1.0/provenance.
 */
import { ProvenanceError } from "./error.js";
import { show, uriProblem } from "./field-formats.js";
import { type ProvenanceStatement, SLSA_PROVENANCE_V1, STATEMENT_TYPE, validateProvenance } from "./statement.js";

/** A named artifact and its SHA-256 (lowercase hex). */
export interface NamedDigest {
  readonly name: string;
  readonly sha256: string;
}

/** A Debian package installed in the build's container, as `dpkg-query` reported it. */
export interface DebianPackage {
  readonly name: string;
  /** The installed version, epoch included (`1:3.19.0-1`). */
  readonly version: string;
  /** dpkg's architecture (`amd64`, `arm64`, `all`). */
  readonly architecture: string;
  /** The Debian release, as a package URL's `distro` qualifier names it (`debian-12`). */
  readonly distro: string;
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
  /** Debian packages added to the toolchain image, at their installed versions; each becomes a resolved dependency. */
  readonly toolchainPackages?: readonly DebianPackage[];
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

/** Our `buildDefinition.buildType`: the template of a shriven-pipeline release build. */
export const BUILD_TYPE = "https://github.com/shrivenquant/shriven-pipeline/release/v1";

/** Debian Policy 5.6.7 (package names) and 5.6.12 (`[epoch:]upstream[-revision]`, upstream starting with a digit). */
const DEBIAN_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEBIAN_VERSION = /^(?:\d+:)?\d[A-Za-z0-9.+~:-]*$/;
const DEBIAN_WORD = /^[a-z0-9][a-z0-9.-]*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const GIT_COMMIT_HEX = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

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
  const packages = new Set<string>();
  (input.toolchainPackages ?? []).forEach((pkg, index) => {
    const field = `toolchainPackages[${index}]`;
    if (!DEBIAN_NAME.test(pkg.name)) problems.push(`${field}.name: expected a Debian package name, found ${show(pkg.name)}`);
    if (!DEBIAN_VERSION.test(pkg.version)) problems.push(`${field}.version: expected a Debian version, found ${show(pkg.version)}`);
    if (!DEBIAN_WORD.test(pkg.architecture))
      problems.push(`${field}.architecture: expected a dpkg architecture such as amd64, found ${show(pkg.architecture)}`);
    if (!DEBIAN_WORD.test(pkg.distro))
      problems.push(`${field}.distro: expected a Debian release such as debian-12, found ${show(pkg.distro)}`);
    const key = `${pkg.name}:${pkg.architecture}`;
    if (packages.has(key)) problems.push(`${field}: ${show(key)} is listed twice`);
    packages.add(key);
  });
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
 * A Debian package as a package URL (purl spec, type `deb`): `pkg:deb/debian/<name>@<version>?arch=…&distro=…`,
 * the version percent-encoded (its epoch colon, a `+`).
 */
function debianPackageUri(pkg: DebianPackage): string {
  return `pkg:deb/debian/${pkg.name}@${encodeURIComponent(pkg.version)}?arch=${pkg.architecture}&distro=${pkg.distro}`;
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
          ...(input.toolchainPackages ?? []).map((pkg) => ({ name: pkg.name, uri: debianPackageUri(pkg) })),
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
