/** A release version as deploys and rollbacks take it. */
import { DeployRefused } from "./deploy-refused.js";

/**
 * The version of a tag or version (`v1.2.3` or `1.2.3`), without the `v`.
 * @throws DeployRefused when it is not a release version.
 */
export function versionOf(tagOrVersion: string): string {
  const version = tagOrVersion.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
    throw new DeployRefused(`${JSON.stringify(tagOrVersion)} is not a release version such as v1.2.3`);
  return version;
}
