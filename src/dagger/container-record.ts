/**
 * What a container of the pipeline is made of, read from the container
 * itself: the images by digest (containers/images.ts) and the Debian packages
 * the pipeline added, at the versions `dpkg-query` says are installed. The
 * packages are installed unpinned, so this record is how a dev report and a
 * release's provenance name them exactly.
 */
import { type Container, ReturnType } from "@dagger.io/dagger";
import { DEBIAN_RELEASE } from "../../containers/images.js";
import { PipelineError } from "../core/errors.js";
import type { ContainerRecord } from "../report/report.js";
import { execFailure } from "../runners/exec-failure.js";

/** A package as dpkg reports it installed. */
export type InstalledPackage = ContainerRecord["packages"][number];

/** The container's packages could not be read; the message says which and why. */
export class ContainerRecordError extends PipelineError {
  override readonly name: string = "ContainerRecordError";
}

/**
 * One line per package: dpkg's status abbreviation (`ii ` = installed, no error), name, version,
 * architecture, tab-separated. dpkg-query expands `${…}` and `\t`, `\n` itself; no shell runs.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's --showformat fields, not a JavaScript template
const SHOW_FORMAT = "--showformat=${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n";

/** dpkg's status abbreviation of an installed package with no error flag: any wanted state, then `i`. */
const INSTALLED = /^[uihrp]i ?$/;

/** A Debian version (Debian Policy 5.6.12): `[epoch:]upstream[-revision]`, the upstream version starting with a digit. */
const DEBIAN_VERSION = /^(?:\d+:)?\d[A-Za-z0-9.+~:-]*$/;

/** A dpkg architecture name (`amd64`, `arm64`, `all`). */
const ARCHITECTURE = /^[a-z0-9-]+$/;

/** The exec that lists `packages` as {@link parseInstalledPackages} reads them. */
export function dpkgQueryArgv(packages: readonly string[]): string[] {
  return ["dpkg-query", "--show", SHOW_FORMAT, ...packages];
}

/**
 * Reads `dpkg-query` output ({@link dpkgQueryArgv}): each of `wanted` installed exactly once, with a
 * Debian version and an architecture, in the order asked.
 * @throws ContainerRecordError naming each package that is missing, not installed, listed twice or malformed.
 */
export function parseInstalledPackages(output: string, wanted: readonly string[]): InstalledPackage[] {
  const problems: string[] = [];
  const found = new Map<string, InstalledPackage>();
  output.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    const fields = line.split("\t");
    const [status = "", name = "", version = "", architecture = ""] = fields;
    const where = `line ${index + 1}`;
    if (fields.length !== 4) problems.push(`${where}: expected status, name, version and architecture separated by tabs`);
    else if (!wanted.includes(name)) problems.push(`${where}: ${JSON.stringify(name)} was not asked for`);
    else if (!INSTALLED.test(status)) problems.push(`${name}: not installed (dpkg status ${JSON.stringify(status.trim())})`);
    else if (!DEBIAN_VERSION.test(version)) problems.push(`${name}: ${JSON.stringify(version)} is not a Debian version`);
    else if (!ARCHITECTURE.test(architecture)) problems.push(`${name}: ${JSON.stringify(architecture)} is not a dpkg architecture`);
    else if (found.has(name)) problems.push(`${name}: listed twice`);
    else found.set(name, { name, version, architecture });
  });
  for (const name of wanted) if (!found.has(name) && !problems.some((p) => p.startsWith(`${name}:`))) problems.push(`${name}: not listed`);
  if (problems.length > 0) throw new ContainerRecordError(`dpkg-query: ${problems.join("; ")}`);
  return wanted.map((name) => found.get(name) as InstalledPackage);
}

/**
 * An image reference pinned by digest, split into the reference and its digest.
 * @throws TypeError when `reference` carries no `@sha256:` digest.
 */
export function pinnedImage(reference: string): ContainerRecord["images"][number] {
  const match = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/.exec(reference);
  if (match === null) throw new TypeError(`${JSON.stringify(reference)} is not pinned by a sha256 digest`);
  return { ref: match[1] as string, digest: match[2] as string };
}

/**
 * The record of `container`, built from `images` and with `packages` added: their installed versions are
 * read there with `dpkg-query` (an exec the engine caches with the layer it reads).
 * @throws ContainerRecordError when dpkg-query fails or does not list every package installed.
 */
export async function containerRecord(
  container: Container,
  images: readonly string[],
  packages: readonly string[],
): Promise<ContainerRecord> {
  const queried = container.withExec(dpkgQueryArgv(packages), { expect: ReturnType.Any });
  let exitCode: number;
  let stdout: string;
  let stderr: string;
  try {
    [exitCode, stdout, stderr] = await Promise.all([queried.exitCode(), queried.stdout(), queried.stderr()]);
  } catch (error) {
    const failure = execFailure(error);
    if (failure === undefined) throw error;
    ({ exitCode, stdout, stderr } = failure);
  }
  if (exitCode !== 0)
    throw new ContainerRecordError(`dpkg-query exited with ${exitCode}: ${stderr.trim() || stdout.trim() || "no output"}`);
  return { images: images.map(pinnedImage), distro: DEBIAN_RELEASE, packages: parseInstalledPackages(stdout, packages) };
}
