/**
 * Rolling back: every host switched to a retained release, after its
 * signature (downloaded from the host) is re-verified against the pinned key,
 * then restarted and health-checked; or each host put back where it was before
 * a deploy, a host that had no release stopped.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PublicKey, parsePublicKey, SignatureError, verifySignature } from "../adapters/minisign.js";
import { type DeployContext, PINNED_KEY } from "./context.js";
import { STOPPED, stopAndClear, switchTo } from "./current-link.js";
import { DeployRefused } from "./deploy-refused.js";
import { healthCheck } from "./health-check.js";
import { releaseLocks, takeLocks } from "./locks.js";
import type { DeployOutcome, HostOutcome } from "./outcome.js";
import { versionOf } from "./release-version.js";
import { restart } from "./service.js";

const EXISTS = `[ -f "$1/releases/$2/$3" ] && [ -f "$1/releases/$2/$3.minisig" ]`;

/**
 * Switches every host back to a retained release, after re-verifying its
 * signature (downloaded from the host) against the pinned key, and checks health.
 * @throws DeployRefused when it cannot start (lock held, release missing or not signed by the key).
 */
export async function rollbackRelease(context: DeployContext & { readonly to: string }): Promise<DeployOutcome> {
  const version = versionOf(context.to);
  return rollBackHosts(context, new Map(context.inventory.hosts.map((h) => [h.name, version])));
}

/**
 * Puts every host of `deployed` (a deploy that succeeded) back where it was before it: each on its own
 * previous release, re-verified and health-checked as {@link rollbackRelease} does; a host that had none is
 * stopped and its `current` removed. Hosts with different histories each go back to their own release.
 * @throws DeployRefused when it cannot start (lock held, a release missing or not signed by the key, a host
 *   that was not part of the deploy).
 */
export async function restorePreviousReleases(context: DeployContext & { readonly deployed: DeployOutcome }): Promise<DeployOutcome> {
  const before = new Map(context.deployed.hosts.map((h) => [h.host, h.previous]));
  const targets = new Map<string, string | undefined>();
  for (const host of context.inventory.hosts) {
    if (!before.has(host.name)) throw new DeployRefused(`${host.name} was not part of the deploy of ${context.deployed.version}`);
    const previous = before.get(host.name);
    targets.set(host.name, previous === undefined ? undefined : versionOf(previous.replace(/^releases\//, "")));
  }
  return rollBackHosts(context, targets);
}

/** The trusted comment of a signature made by one of `keys` (the pinned one first), or why none verifies it. */
function verifiedComment(data: Buffer, minisig: string, keys: readonly PublicKey[], source: string): string | Error {
  let first: Error | undefined;
  for (const key of keys) {
    try {
      return verifySignature(data, minisig, key, source).trustedComment;
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      first ??= error;
    }
  }
  return first ?? new Error("no key to verify it with");
}

/** The one version every host goes to, if they all go to the same. */
function sameVersion(targets: ReadonlyMap<string, string | undefined>): string | undefined {
  const versions = new Set(targets.values());
  return versions.size === 1 ? [...versions][0] : undefined;
}

/** `1.0.0`, or, when the hosts go to different places, `1.0.0 on a, nothing on b (stopped)`. */
function targetsLabel(targets: ReadonlyMap<string, string | undefined>): string {
  return (
    sameVersion(targets) ??
    [...targets].map(([host, v]) => (v === undefined ? `nothing on ${host} (stopped)` : `${v} on ${host}`)).join(", ")
  );
}

/**
 * Checks that every host retains its target release and that the binary there, downloaded into `scratch`, is
 * signed by one of `keys` for that version.
 * @throws DeployRefused when one is missing or does not verify.
 */
async function verifyRetained(
  context: DeployContext,
  targets: ReadonlyMap<string, string | undefined>,
  keys: readonly PublicKey[],
  scratch: string,
): Promise<void> {
  const { inventory, session } = context;
  for (const host of inventory.hosts) {
    const version = targets.get(host.name);
    if (version === undefined) continue;
    const exists = await session.run(host, EXISTS, [host.path, version, inventory.binary], { timeoutMs: 30_000 });
    if (exists.exitCode !== 0)
      throw new DeployRefused(`${host.name}: release ${version} is not retained there (releases/${version}/${inventory.binary})`);
    const local = join(scratch, host.name);
    const remote = `${host.path}/releases/${version}/${inventory.binary}`;
    await session.download(host, remote, local, { timeoutMs: 600_000 });
    await session.download(host, `${remote}.minisig`, `${local}.minisig`, { timeoutMs: 60_000 });
    const comment = verifiedComment(readFileSync(local), readFileSync(`${local}.minisig`, "utf8"), keys, `${host.name}:${remote}.minisig`);
    if (comment instanceof Error)
      throw new DeployRefused(`${host.name}: the retained ${version} binary does not verify: ${comment.message}`);
    if (!comment.split("\t").includes(`version:${version}`))
      throw new DeployRefused(`${host.name}: the retained binary's signature is for another version (${comment})`);
  }
}

/** Takes each host to its target: a retained version (verified first, on every host), or nothing (stopped). */
async function rollBackHosts(context: DeployContext, targets: ReadonlyMap<string, string | undefined>): Promise<DeployOutcome> {
  const { inventory } = context;
  const label = targetsLabel(targets);
  const keys: PublicKey[] = [
    parsePublicKey(context.publicKeyText, inventory.publicKey ?? PINNED_KEY),
    ...(context.formerKeys ?? []).map((text, i) => parsePublicKey(text, `former local key ${i + 1}`)),
  ];
  const outcomes = new Map<string, HostOutcome>();
  const { nonce, locked } = await takeLocks(context, label, "rollback");
  const scratch = mkdtempSync(join(tmpdir(), "shriven-rollback-"));
  try {
    await verifyRetained(context, targets, keys, scratch);
    let failure: string | undefined;
    for (const host of inventory.hosts) {
      const version = targets.get(host.name);
      try {
        if (version === undefined) {
          const { previous, problem } = await stopAndClear(context, host);
          outcomes.set(host.name, {
            host: host.name,
            previous,
            result: problem === undefined ? "stopped" : "failed",
            detail: problem ?? STOPPED,
          });
          if (problem !== undefined) failure ??= `${host.name}: ${problem}`;
          continue;
        }
        const previous = await switchTo(context, host, `releases/${version}`);
        const problem = (await restart(context, host)) ?? (await healthCheck(context, host, inventory.health));
        outcomes.set(host.name, {
          host: host.name,
          previous,
          result: problem === undefined ? "deployed" : "failed",
          detail: problem ?? `current → releases/${version}${previous === undefined ? "" : ` (was ${previous})`}`,
        });
        if (problem !== undefined) failure ??= `${host.name}: ${problem}`;
      } catch (error) {
        outcomes.set(host.name, { host: host.name, previous: undefined, result: "failed", detail: (error as Error).message });
        failure ??= (error as Error).message;
      }
    }
    const names = inventory.hosts.map((h) => h.name).join(", ");
    return {
      action: "rollback",
      environment: inventory.environment,
      version: label,
      status: failure === undefined ? "deployed" : "failed",
      summary: failure ?? (sameVersion(targets) === undefined ? `rolled back to ${label}` : `rolled back to ${label} on ${names}`),
      hosts: inventory.hosts.map(
        (h) => outcomes.get(h.name) ?? { host: h.name, previous: undefined, result: "not-switched", detail: "not reached" },
      ),
    };
  } finally {
    await releaseLocks(context, locked, nonce);
    rmSync(scratch, { recursive: true, force: true });
  }
}
