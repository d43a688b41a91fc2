/**
 * Deploying a signed release to the pinned hosts of an environment, and
 * rolling back to a retained one.
 *
 * On each host, under its deploy root:
 *
 *     releases/<version>/            the binary, its .minisig, SHA256SUMS, manifest.json
 *     releases/.partial-<nonce>/     an upload in progress (never becomes current)
 *     current -> releases/<version>  switched atomically (rename of a new symlink)
 *     .deploy-lock/holder.json       one deploy at a time (mkdir is atomic)
 *
 * A deploy: verify the signatures locally → lock every host → upload to a
 * partial folder, check SHA-256 on the host, rename into place → switch
 * `current` and restart on each host → health checks → on any failure switch
 * every host back and restart → prune old releases → unlock (on every path).
 * Anything that fails leaves the previous release serving.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatSha256Sums, parseSha256Sums } from "../release/checksums.js";
import { type PublicKey, parsePublicKey, verifySignature } from "../release/minisign.js";
import { verifyRelease } from "../release/verify-release.js";
import type { DeployHost, HealthCheck, Inventory } from "./inventory.js";
import type { SshSession } from "./ssh.js";

/**
 * What deploys need from a connection to the hosts: the OpenSSH session on the
 * host (`SshSession`), or ssh run inside a container in the Dagger module.
 */
export type RemoteTransport = Pick<SshSession, "run" | "upload" | "download">;

/** The deploy could not start (lock held, release not verified); nothing was switched. */
export class DeployRefused extends Error {
  override readonly name = "DeployRefused";
}

/** What happened on one host. */
export interface HostOutcome {
  readonly host: string;
  /** The release `current` pointed to before (`releases/1.2.0`), if any. */
  readonly previous: string | undefined;
  readonly result: "deployed" | "rolled-back" | "not-switched" | "failed";
  readonly detail: string;
}

/** The outcome of a deploy or rollback. */
export interface DeployOutcome {
  readonly action: "deploy" | "rollback";
  readonly environment: string;
  readonly version: string;
  /** deployed: every host serves the version; rolled-back: it was switched and put back; failed: not switched. */
  readonly status: "deployed" | "rolled-back" | "failed";
  readonly summary: string;
  readonly hosts: readonly HostOutcome[];
}

/** The outcome as text: a title line, then one line per host (no trailing newline). */
export function renderOutcome(outcome: DeployOutcome): string {
  const icon = outcome.status === "deployed" ? "✅" : "❌";
  const title =
    outcome.action === "deploy"
      ? `Deploy ${outcome.version} to ${outcome.environment}`
      : `Rollback of ${outcome.environment} to ${outcome.version}`;
  return [
    `${icon} ${title}: ${outcome.status} — ${outcome.summary}`,
    ...outcome.hosts.map((h) => `    ${h.host}: ${h.result} — ${h.detail}`),
  ].join("\n");
}

/** The audit-log entry of a deploy or rollback: who, what version, which hosts (with what they ran before), the result. */
export function deployAuditEntry(
  outcome: DeployOutcome,
  actor: string,
  extra: Readonly<Record<string, string>> = {},
): { kind: "deploy" | "rollback"; actor: string; data: Record<string, string | readonly Record<string, string | null>[]> } {
  return {
    kind: outcome.action,
    actor,
    data: {
      environment: outcome.environment,
      version: outcome.version,
      status: outcome.status,
      summary: outcome.summary,
      hosts: outcome.hosts.map((h) => ({ host: h.host, result: h.result, previous: h.previous ?? null })),
      ...extra,
    },
  };
}

/** Options shared by deploy and rollback. */
export interface DeployContext {
  readonly inventory: Inventory;
  readonly session: RemoteTransport;
  /** The pinned release public key (minisign .pub text). */
  readonly publicKeyText: string;
  readonly who: string;
  /** Remove a lock another deploy left, reporting its holder. */
  readonly breakLock?: boolean;
  readonly signal?: AbortSignal;
  /** Waits between health-check attempts; injectable so tests need not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  /** Told the holder of each lock broken with `breakLock`, so it can be reported. */
  readonly onLockBroken?: (host: string, holder: string) => void;
  /** Variables of the service's start, stop and health commands (the profile's TRADING_MODE in a stage run). */
  readonly serviceEnv?: ServiceEnv;
  /** Test hook: runs after the upload to a host, before its checksums are checked there. */
  readonly afterUpload?: (host: DeployHost, partialDir: string) => Promise<void>;
}

const LOCK = `
root="$1"; holder="$2"
mkdir -p "$root/releases" || exit 3
if mkdir "$root/.deploy-lock" 2>/dev/null; then printf '%s\\n' "$holder" > "$root/.deploy-lock/holder.json"; exit 0; fi
cat "$root/.deploy-lock/holder.json" 2>/dev/null
exit 10`;
const UNLOCK = `
lock="$1/.deploy-lock"
[ -d "$lock" ] || exit 0
grep -qF -- "$2" "$lock/holder.json" 2>/dev/null || exit 11
rm -rf -- "$lock"`;
const BREAK_LOCK = `rm -rf -- "$1/.deploy-lock"`;
const PREPARE = `
rm -rf -- "$1"/releases/.partial-*
mkdir -p -- "$1/releases/.partial-$2"`;
const COMMIT = `
root="$1"; version="$2"; nonce="$3"; binary="$4"
d="$root/releases/.partial-$nonce"
(cd "$d" && sha256sum -c --strict --quiet SHA256SUMS) || { rm -rf -- "$d"; exit 20; }
chmod 0755 "$d/$binary"
if [ -e "$root/releases/$version" ]; then
  if cmp -s "$d/SHA256SUMS" "$root/releases/$version/SHA256SUMS" && (cd "$root/releases/$version" && sha256sum -c --strict --quiet SHA256SUMS); then
    rm -rf -- "$d"; exit 0
  fi
  # Another build under the same version: never replace the one serving.
  [ "$(readlink "$root/current" 2>/dev/null)" = "releases/$version" ] && { rm -rf -- "$d"; echo "releases/$version is serving with other content"; exit 22; }
  rm -rf -- "$root/releases/$version"
fi
mv -- "$d" "$root/releases/$version"`;
const SWITCH = `
root="$1"; target="$2"
[ -d "$root/$target" ] || { echo "no $target"; exit 30; }
prev=$(readlink "$root/current" 2>/dev/null || true)
ln -sfn -- "$target" "$root/.current.tmp" && mv -T -- "$root/.current.tmp" "$root/current" || exit 31
printf '%s' "$prev"`;
const SERVICE = `
root="$1"; shift
cd "$root" || exit 40
SHRIVEN_CURRENT="$root/current"; export SHRIVEN_CURRENT
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do export "$1" || exit 41; shift; done
shift
exec "$@"`;

/** Variables the service commands get (such as TRADING_MODE); names are checked, values passed as they are. */
export type ServiceEnv = Readonly<Record<string, string>>;

function serviceArgs(host: DeployHost, argv: readonly string[], env: ServiceEnv = {}): string[] {
  const assignments = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DeployRefused(`${JSON.stringify(name)} is not an environment variable name`);
    return `${name}=${value}`;
  });
  return [host.path, ...assignments, "--", ...argv];
}
const RETAIN = `
cd "$1/releases" || exit 0
keep="$2"; cur="$3"; prev="$4"; n=0
for d in $(ls -1t); do
  case "$d" in .partial-*) continue;; esac
  n=$((n + 1))
  if [ "$n" -le "$keep" ] || [ "releases/$d" = "$cur" ] || [ "releases/$d" = "$prev" ]; then continue; fi
  rm -rf -- "$d" && echo "$d"
done`;
const EXISTS = `[ -f "$1/releases/$2/$3" ] && [ -f "$1/releases/$2/$3.minisig" ]`;

/** Runs `argv` on `host` in its deploy root (with $SHRIVEN_CURRENT and `env` set), as the service commands run. */
export function runInDeployRoot(
  session: RemoteTransport,
  host: DeployHost,
  argv: readonly string[],
  timeoutMs: number,
  env?: ServiceEnv,
): ReturnType<RemoteTransport["run"]> {
  return session.run(host, SERVICE, serviceArgs(host, argv, env), { timeoutMs });
}

function versionOf(tagOrVersion: string): string {
  const version = tagOrVersion.replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version))
    throw new DeployRefused(`${JSON.stringify(tagOrVersion)} is not a release version such as v1.2.3`);
  return version;
}

async function takeLocks(
  context: DeployContext,
  version: string,
  action: string,
): Promise<{ holder: string; nonce: string; locked: DeployHost[] }> {
  const nonce = randomBytes(8).toString("hex");
  const holder = JSON.stringify({ who: context.who, at: (context.now?.() ?? new Date()).toISOString(), action, version, nonce });
  // Every host answers with its pinned key before anything is written anywhere.
  for (const host of context.inventory.hosts) {
    try {
      const probe = await context.session.run(host, "true", [], { timeoutMs: 30_000 });
      if (probe.exitCode !== 0) throw new Error(`exit ${probe.exitCode}: ${probe.stderr.trim()}`);
    } catch (error) {
      throw new DeployRefused(`${host.name}: ${(error as Error).message}; nothing was written on any host`);
    }
  }
  const locked: DeployHost[] = [];
  for (const host of context.inventory.hosts) {
    let result: Awaited<ReturnType<RemoteTransport["run"]>>;
    try {
      result = await context.session.run(host, LOCK, [host.path, holder], { timeoutMs: 30_000 });
    } catch (error) {
      await releaseLocks(context, locked, nonce);
      throw new DeployRefused(`${host.name}: ${(error as Error).message}`);
    }
    if (result.exitCode === 10 && context.breakLock === true) {
      context.onLockBroken?.(host.name, result.stdout.trim());
      await context.session.run(host, BREAK_LOCK, [host.path], { timeoutMs: 30_000 });
      result = await context.session.run(host, LOCK, [host.path, holder], { timeoutMs: 30_000 });
    }
    if (result.exitCode !== 0) {
      await releaseLocks(context, locked, nonce);
      if (result.exitCode === 10)
        throw new DeployRefused(
          `${host.name}: another deploy holds the lock: ${result.stdout.trim() || "(no holder recorded)"}; wait for it, or if it is stale, rerun with --break-lock`,
        );
      throw new DeployRefused(`${host.name}: cannot take the deploy lock (exit ${result.exitCode}): ${result.stderr.trim()}`);
    }
    locked.push(host);
  }
  return { holder, nonce, locked };
}

async function releaseLocks(context: DeployContext, hosts: readonly DeployHost[], nonce: string): Promise<void> {
  for (const host of hosts) await context.session.run(host, UNLOCK, [host.path, nonce], { timeoutMs: 30_000 }).catch(() => undefined);
}

async function restart(context: DeployContext, host: DeployHost): Promise<string | undefined> {
  const { inventory, session } = context;
  await session.run(host, SERVICE, serviceArgs(host, inventory.stop, context.serviceEnv), { timeoutMs: 60_000 });
  const started = await session.run(host, SERVICE, serviceArgs(host, inventory.start, context.serviceEnv), { timeoutMs: 60_000 });
  return started.exitCode === 0 ? undefined : `start failed (exit ${started.exitCode}): ${started.stderr.trim().split("\n").at(-1) ?? ""}`;
}

/** Runs the health check until it passes or the retries run out; the last failure, or undefined when healthy. */
async function healthCheck(context: DeployContext, host: DeployHost, health: HealthCheck): Promise<string | undefined> {
  const sleep = context.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let last = "";
  for (let attempt = 1; attempt <= health.retries; attempt++) {
    if (context.signal?.aborted) return "cancelled";
    if (health.command !== undefined) {
      const result = await context.session.run(host, SERVICE, serviceArgs(host, health.command, context.serviceEnv), {
        timeoutMs: health.timeoutMs,
      });
      if (result.exitCode === 0) return undefined;
      last = result.timedOut
        ? `timed out after ${health.timeoutMs / 1000} s`
        : `exit ${result.exitCode}: ${result.stdout.trim().split("\n").at(-1) ?? ""}`;
    } else if (health.url !== undefined) {
      try {
        const response = await fetch(health.url.replaceAll("{host}", host.address), { signal: AbortSignal.timeout(health.timeoutMs) });
        if (response.ok) return undefined;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
    }
    if (attempt < health.retries) await sleep(health.intervalMs);
  }
  return `health check failed ${health.retries} time(s): ${last}`;
}

async function switchTo(context: DeployContext, host: DeployHost, target: string): Promise<string | undefined> {
  const result = await context.session.run(host, SWITCH, [host.path, target], { timeoutMs: 30_000 });
  if (result.exitCode !== 0)
    throw new Error(`${host.name}: cannot switch current to ${target}: ${result.stdout.trim() || result.stderr.trim()}`);
  return result.stdout === "" ? undefined : result.stdout;
}

/** The release's binary for the inventory, from a verified release folder. */
function releaseArtifact(releaseDir: string, binary: string): { version: string; commit: string; artifact: string; sha256: string } {
  const build = JSON.parse(readFileSync(join(releaseDir, "build.json"), "utf8")) as { version?: string; commit?: string };
  const version = versionOf(build.version ?? "");
  const entries = parseSha256Sums(readFileSync(join(releaseDir, "SHA256SUMS"), "utf8"), join(releaseDir, "SHA256SUMS"));
  const entry = entries.find((e) => e.name.startsWith(`${binary}-${version}-`));
  if (entry === undefined) throw new DeployRefused(`the release in ${releaseDir} has no ${binary} binary for ${version}`);
  return { version, commit: build.commit ?? "", artifact: entry.name, sha256: entry.sha256 };
}

/**
 * Deploys the signed release in `releaseDir` to every host of the inventory.
 * @throws DeployRefused when it cannot start (release not verified, lock held); every other failure is in the outcome.
 */
export async function deployRelease(context: DeployContext & { readonly releaseDir: string }): Promise<DeployOutcome> {
  const { inventory, session } = context;
  const verified = await verifyRelease(context.releaseDir, context.publicKeyText, inventory.publicKey);
  if (!verified.ok) {
    const failed = verified.checks.filter((c) => !c.ok).map((c) => `${c.subject}: ${c.detail}`);
    throw new DeployRefused(`the release is not signed by the pinned key ${verified.keyId}: ${failed.join("; ")}`);
  }
  const { version, commit, artifact, sha256 } = releaseArtifact(context.releaseDir, inventory.binary);
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
    // The files every host gets, named for the service: the binary, its signature, their checksums, a manifest.
    const binaryFile = join(staging, inventory.binary);
    copyFileSync(join(context.releaseDir, artifact), binaryFile);
    copyFileSync(join(context.releaseDir, `${artifact}.minisig`), `${binaryFile}.minisig`);
    writeFileSync(join(staging, "SHA256SUMS"), formatSha256Sums([{ name: inventory.binary, sha256 }]));
    writeFileSync(
      join(staging, "manifest.json"),
      `${JSON.stringify({ version, commit, artifact, sha256, deployedBy: context.who, deployedAt: (context.now?.() ?? new Date()).toISOString() }, null, 2)}\n`,
    );
    const files = [inventory.binary, `${inventory.binary}.minisig`, "SHA256SUMS", "manifest.json"].map((f) => join(staging, f));
    for (const host of inventory.hosts) {
      try {
        const prepared = await session.run(host, PREPARE, [host.path, nonce], { timeoutMs: 30_000 });
        if (prepared.exitCode !== 0) throw new Error(`cannot prepare the upload: ${prepared.stderr.trim()}`);
        const partial = `${host.path}/releases/.partial-${nonce}`;
        await session.upload(host, files, partial, {
          timeoutMs: 600_000,
          ...(context.signal === undefined ? {} : { signal: context.signal }),
        });
        await context.afterUpload?.(host, partial);
        const committed = await session.run(host, COMMIT, [host.path, version, nonce, inventory.binary], { timeoutMs: 120_000 });
        if (committed.exitCode === 20 || committed.exitCode === 21)
          throw new Error(`SHA-256 mismatch on the host after upload: ${committed.stdout.trim() || committed.stderr.trim()}`);
        if (committed.exitCode === 22) throw new Error(committed.stdout.trim());
        if (committed.exitCode !== 0)
          throw new Error(`cannot put the release in place (exit ${committed.exitCode}): ${committed.stderr.trim()}`);
      } catch (error) {
        outcomes.set(host.name, { host: host.name, previous: undefined, result: "failed", detail: (error as Error).message });
        return outcome("failed", `${host.name}: ${(error as Error).message}; no host was switched`);
      }
    }
    const switched: { host: DeployHost; previous: string | undefined }[] = [];
    let failure: string | undefined;
    for (const host of inventory.hosts) {
      try {
        const previous = await switchTo(context, host, `releases/${version}`);
        switched.push({ host, previous });
        failure = await restart(context, host);
        failure ??= await healthCheck(context, host, inventory.health);
        if (failure !== undefined) failure = `${host.name}: ${failure}`;
      } catch (error) {
        failure = (error as Error).message;
      }
      if (failure !== undefined) break;
    }
    if (failure !== undefined) {
      // One host failing takes every switched host back.
      for (const { host, previous } of switched.reverse()) {
        const detail = failure.startsWith(`${host.name}:`) ? failure : `rolled back because ${failure}`;
        if (previous === undefined) {
          outcomes.set(host.name, { host: host.name, previous, result: "failed", detail: `${detail}; no previous release to go back to` });
          continue;
        }
        try {
          await switchTo(context, host, previous);
          const again = await restart(context, host);
          outcomes.set(host.name, {
            host: host.name,
            previous,
            result: "rolled-back",
            detail: again === undefined ? detail : `${detail}; ${again}`,
          });
        } catch (error) {
          outcomes.set(host.name, {
            host: host.name,
            previous,
            result: "failed",
            detail: `${detail}; switching back failed: ${(error as Error).message}`,
          });
        }
      }
      return outcome("rolled-back", `${failure}; every switched host is back on its previous release`);
    }
    for (const { host, previous } of switched) {
      const pruned = await session.run(host, RETAIN, [host.path, String(inventory.retain), `releases/${version}`, previous ?? ""], {
        timeoutMs: 60_000,
      });
      const removed = pruned.stdout.trim().split("\n").filter(Boolean);
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

/**
 * Switches every host back to a retained release, after re-verifying its
 * signature (downloaded from the host) against the pinned key, and checks health.
 * @throws DeployRefused when it cannot start (lock held, release missing or not signed by the key).
 */
export async function rollbackRelease(context: DeployContext & { readonly to: string }): Promise<DeployOutcome> {
  const { inventory, session } = context;
  const version = versionOf(context.to);
  const key: PublicKey = parsePublicKey(context.publicKeyText, inventory.publicKey);
  const outcomes = new Map<string, HostOutcome>();
  const { nonce, locked } = await takeLocks(context, version, "rollback");
  const scratch = mkdtempSync(join(tmpdir(), "shriven-rollback-"));
  try {
    for (const host of inventory.hosts) {
      const exists = await session.run(host, EXISTS, [host.path, version, inventory.binary], { timeoutMs: 30_000 });
      if (exists.exitCode !== 0)
        throw new DeployRefused(`${host.name}: release ${version} is not retained there (releases/${version}/${inventory.binary})`);
      const local = join(scratch, host.name);
      const remote = `${host.path}/releases/${version}/${inventory.binary}`;
      await session.download(host, remote, local, { timeoutMs: 600_000 });
      await session.download(host, `${remote}.minisig`, `${local}.minisig`, { timeoutMs: 60_000 });
      let comment: string;
      try {
        comment = verifySignature(
          readFileSync(local),
          readFileSync(`${local}.minisig`, "utf8"),
          key,
          `${host.name}:${remote}.minisig`,
        ).trustedComment;
      } catch (error) {
        throw new DeployRefused(`${host.name}: the retained ${version} binary does not verify: ${(error as Error).message}`);
      }
      if (!comment.split("\t").includes(`version:${version}`))
        throw new DeployRefused(`${host.name}: the retained binary's signature is for another version (${comment})`);
    }
    let failure: string | undefined;
    for (const host of inventory.hosts) {
      try {
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
    return {
      action: "rollback",
      environment: inventory.environment,
      version,
      status: failure === undefined ? "deployed" : "failed",
      summary: failure ?? `rolled back to ${version} on ${inventory.hosts.map((h) => h.name).join(", ")}`,
      hosts: inventory.hosts.map(
        (h) => outcomes.get(h.name) ?? { host: h.name, previous: undefined, result: "not-switched", detail: "not reached" },
      ),
    };
  } finally {
    await releaseLocks(context, locked, nonce);
    rmSync(scratch, { recursive: true, force: true });
  }
}
