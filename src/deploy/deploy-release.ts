/**
 * Deploying a signed release to the pinned hosts of an environment.
 *
 * On each host, under its deploy root:
 *
 *     releases/<version>/            the binary, its .minisig, SHA256SUMS, manifest.json
 *     releases/.partial-<nonce>/     an upload in progress (never becomes current)
 *     current -> releases/<version>  switched atomically (rename of a new symlink)
 *     .deploy-lock/holder.json       one deploy at a time (mkdir is atomic)
 *     secrets/exchange.env           the exchange keys the start command reads (exchange-keys.ts)
 *
 * A deploy: verify the signatures locally → lock every host → upload to a
 * partial folder, check SHA-256 on the host, rename into place, write the
 * exchange keys (when `exchange_keys` is on) → switch
 * `current` and restart on each host → health checks → on any failure switch
 * every switched host back to its own previous release and restart (a host
 * that had none is stopped and its `current` removed, as before its first
 * deploy) → prune old releases → unlock (on every path). Anything that fails
 * leaves the previous release serving.
 *
 * The hosts are reached through a `RemoteTransport` (context.ts): OpenSSH, ssh
 * in a container (the Dagger module), or the local transport of local targets.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSha256Sums } from "../release/checksums.js";
import { type ReleaseVerification, verifyRelease } from "../release/verify-release.js";
import { type DeployContext, PINNED_KEY } from "./context.js";
import { STOPPED, stopAndClear, switchTo } from "./current-link.js";
import { DeployRefused } from "./deploy-refused.js";
import { type ExchangeKeysFile, installExchangeKeys } from "./exchange-keys.js";
import { healthCheck } from "./health-check.js";
import { releaseLocks, takeLocks } from "./locks.js";
import { type DeployOutcome, type HostOutcome, restoredSummary } from "./outcome.js";
import type { DeployHost } from "./policy.js";
import { pruneReleases } from "./prune.js";
import { versionOf } from "./release-version.js";
import { restart } from "./service.js";
import { type ReleaseArtifact, stageReleaseFiles, uploadRelease } from "./upload.js";

/** A host switched to the new release, and what it served before. */
interface Switched {
  readonly host: DeployHost;
  readonly previous: string | undefined;
}

/**
 * The release's binary for the inventory, from a verified release folder: its version and commit from the
 * signed SHA256SUMS's trusted comment (never from build.json, which is not signed: a version names a folder on
 * every host).
 */
function releaseArtifact(releaseDir: string, binary: string, signed: ReleaseVerification["signed"]): ReleaseArtifact {
  if (signed === undefined)
    throw new DeployRefused(`the signed SHA256SUMS of ${releaseDir} names no version and commit in its trusted comment`);
  const version = versionOf(signed.version);
  const entries = parseSha256Sums(readFileSync(join(releaseDir, "SHA256SUMS"), "utf8"), join(releaseDir, "SHA256SUMS"));
  const entry = entries.find((e) => e.name.startsWith(`${binary}-${version}-`));
  if (entry === undefined) throw new DeployRefused(`the release in ${releaseDir} has no ${binary} binary for ${version}`);
  return { version, commit: signed.commit, artifact: entry.name, sha256: entry.sha256 };
}

/** Switches, restarts and health-checks host after host, stopping at the first failure. */
async function switchHosts(context: DeployContext, version: string): Promise<{ switched: Switched[]; failure: string | undefined }> {
  const switched: Switched[] = [];
  let failure: string | undefined;
  for (const host of context.inventory.hosts) {
    try {
      const previous = await switchTo(context, host, `releases/${version}`);
      switched.push({ host, previous });
      failure = await restart(context, host);
      failure ??= await healthCheck(context, host, context.inventory.health);
      if (failure !== undefined) failure = `${host.name}: ${failure}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    if (failure !== undefined) break;
  }
  return { switched, failure };
}

/** One host failing takes every switched host back, each to the release it served before (last switched first). */
async function restoreSwitched(context: DeployContext, switched: readonly Switched[], failure: string): Promise<HostOutcome[]> {
  const restored: HostOutcome[] = [];
  for (const { host, previous } of [...switched].reverse()) {
    const detail = failure.startsWith(`${host.name}:`) ? failure : `rolled back because ${failure}`;
    if (previous === undefined) {
      const { problem } = await stopAndClear(context, host);
      restored.push({
        host: host.name,
        previous,
        result: problem === undefined ? "stopped" : "failed",
        detail: `${detail}; ${problem === undefined ? STOPPED : `no previous release, and ${problem}`}`,
      });
      continue;
    }
    try {
      await switchTo(context, host, previous);
      const again = await restart(context, host);
      restored.push({
        host: host.name,
        previous,
        result: "rolled-back",
        detail: again === undefined ? detail : `${detail}; ${again}`,
      });
    } catch (error) {
      restored.push({
        host: host.name,
        previous,
        result: "failed",
        detail: `${detail}; switching back failed: ${(error as Error).message}`,
      });
    }
  }
  return restored;
}

/**
 * Deploys the signed release in `releaseDir` to every host of the inventory.
 * @throws DeployRefused when it cannot start (release not verified, lock held); every other failure is in the outcome.
 */
export async function deployRelease(
  context: DeployContext & {
    readonly releaseDir: string;
    /** The SHA-256 the binary must have (production: the one staging validated, from the promotion record). */
    readonly expectedSha256?: string;
    /** The environment's exchange keys (exchange-keys.ts), required when the inventory's `exchange_keys` is on. */
    readonly exchangeKeys?: ExchangeKeysFile;
  },
): Promise<DeployOutcome> {
  const { inventory, exchangeKeys } = context;
  if (inventory.exchangeKeys && exchangeKeys === undefined)
    throw new DeployRefused(
      `[deploy.${inventory.environment}] exchange_keys is on, but the deploy was given no exchange keys: no host was touched`,
    );
  const verified = await verifyRelease(context.releaseDir, context.publicKeyText, inventory.publicKey ?? PINNED_KEY);
  if (!verified.ok) {
    const failed = verified.checks.filter((c) => !c.ok).map((c) => `${c.subject}: ${c.detail}`);
    throw new DeployRefused(`the release is not signed by the pinned key ${verified.keyId}: ${failed.join("; ")}`);
  }
  const release = releaseArtifact(context.releaseDir, inventory.binary, verified.signed);
  if (context.expectedSha256 !== undefined && release.sha256 !== context.expectedSha256)
    throw new DeployRefused(
      `${release.artifact} has SHA-256 ${release.sha256}, not ${context.expectedSha256}: not the binary staging validated`,
    );
  const { version } = release;
  const staging = mkdtempSync(join(tmpdir(), "shriven-deploy-"));
  const outcomes = new Map<string, HostOutcome>();
  const outcome = (status: DeployOutcome["status"], summary: string): DeployOutcome => ({
    action: "deploy",
    environment: inventory.environment,
    version,
    status,
    summary,
    hosts: inventory.hosts.map(
      (h) => outcomes.get(h.name) ?? { host: h.name, previous: undefined, result: "not-switched", detail: "not reached" },
    ),
  });
  const { nonce, locked } = await takeLocks(context, version, "deploy");
  try {
    const files = stageReleaseFiles(context, staging, release);
    for (const host of inventory.hosts) {
      try {
        await uploadRelease(context, host, files, nonce, version);
        if (inventory.exchangeKeys && exchangeKeys !== undefined) await installExchangeKeys(context, host, exchangeKeys);
      } catch (error) {
        outcomes.set(host.name, { host: host.name, previous: undefined, result: "failed", detail: (error as Error).message });
        return outcome("failed", `${host.name}: ${(error as Error).message}; no host was switched`);
      }
    }
    const { switched, failure } = await switchHosts(context, version);
    if (failure !== undefined) {
      for (const restored of await restoreSwitched(context, switched, failure)) outcomes.set(restored.host, restored);
      return outcome("rolled-back", `${failure}; ${restoredSummary(switched.map(({ host }) => outcomes.get(host.name)))}`);
    }
    for (const { host, previous } of switched) {
      const removed = await pruneReleases(context, host, version, previous);
      outcomes.set(host.name, {
        host: host.name,
        previous,
        result: "deployed",
        detail: `current → releases/${version}${previous === undefined ? "" : ` (was ${previous})`}${removed.length > 0 ? `; pruned ${removed.join(", ")}` : ""}`,
      });
    }
    return outcome("deployed", `${version} serving on ${inventory.hosts.map((h) => h.name).join(", ")}`);
  } finally {
    await releaseLocks(context, locked, nonce);
    rmSync(staging, { recursive: true, force: true });
  }
}
