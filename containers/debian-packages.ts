/**
 * How the pipeline's containers add Debian packages: by name only, at the
 * version the image's own suites carry today (containers/images.ts says why),
 * with the package lists removed again so the layer holds only the packages.
 * What got installed is read back with `dpkg-query` (src/dagger/container-record.ts).
 */

/** A Debian package name (Debian Policy 5.6.7): no version, no release, no architecture qualifier. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * The exec that installs `packages` (names only) from the image's configured suites.
 * @throws TypeError for anything but a bare package name (a `name=version` pin among them).
 */
export function aptInstall(packages: readonly string[]): string[] {
  const bad = packages.filter((name) => !PACKAGE_NAME.test(name));
  if (packages.length === 0 || bad.length > 0)
    throw new TypeError(`apt-get install takes bare Debian package names, not ${JSON.stringify(bad.length > 0 ? bad : packages)}`);
  return ["sh", "-c", `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")} && rm -rf /var/lib/apt/lists/*`];
}
