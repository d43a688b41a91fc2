/** Reading the host keys out of `ssh-keyscan`'s output. */
import { SshError } from "./errors.js";
import { lastLines } from "./failure.js";
import type { SshHost } from "./host.js";
import { fingerprintOf, KEY_TYPES, keyBlob } from "./host-keys.js";

/** The host keys (`type base64`) and their SHA256 fingerprints in `ssh-keyscan` output; lines of unknown types or bad keys are skipped. */
export function scannedHostKeys(keyscanOutput: string): { key: string; fingerprint: string }[] {
  const keys: { key: string; fingerprint: string }[] = [];
  for (const line of keyscanOutput.split("\n")) {
    const [, type, data] = line.trim().split(/\s+/);
    if (type === undefined || data === undefined || !KEY_TYPES.has(type)) continue;
    const blob = keyBlob(type, data);
    if (blob !== undefined) keys.push({ key: `${type} ${data}`, fingerprint: fingerprintOf(blob) });
  }
  return keys;
}

/**
 * The keys in `ssh-keyscan`'s output for `host`.
 * @throws SshError saying why, when it read none.
 */
export function scannedKeysOf(
  host: SshHost,
  outcome: { readonly stdout: string; readonly stderr: string; readonly timedOut: boolean },
): { key: string; fingerprint: string }[] {
  const keys = scannedHostKeys(outcome.stdout);
  if (keys.length > 0) return keys;
  const why = outcome.timedOut ? "timed out" : lastLines(outcome.stderr.replace(/^#.*$/gm, "")) || "no SSH server answered";
  throw new SshError(`${host.name}: cannot read the host keys of ${host.address}:${host.port} to check the pinned fingerprint: ${why}`, {
    host: host.name,
  });
}
