/**
 * Host-key pins: each host checked and its pin parsed (a known_hosts key line
 * or a SHA256 fingerprint) before anything is written or started, and the pin
 * a session holds for a host looked up.
 */
import { SshError } from "./errors.js";
import { endpoint, type SshHost } from "./host.js";
import { fingerprintOf, KEY_TYPES, keyBlob } from "./host-keys.js";

/** A pinned host as the session keeps it (and the container transport of the Dagger module). */
export interface Pinned {
  readonly host: SshHost;
  /** SHA256 fingerprint of the pinned key. */
  readonly fingerprint: string;
  /** `type base64` of the pinned key, when the pin was a key line. */
  readonly key: string | undefined;
}

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
/** DNS names, IPv4 and IPv6 addresses; never starting with "-", so never an option. */
const ADDRESS = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

/** Checks every host and parses its pin, before anything is written or started. */
export function pinsOf(hosts: readonly SshHost[]): Pinned[] {
  const pins = new Map<string, Pinned>();
  for (const host of hosts) {
    if (typeof host.name !== "string" || host.name.trim() === "") throw new SshError("an SSH host has no name");
    const problem = !ADDRESS.test(host.address)
      ? `address ${JSON.stringify(host.address)} is not a DNS name or IP address`
      : !Number.isInteger(host.port) || host.port < 1 || host.port > 65_535
        ? `port ${host.port} is not a TCP port`
        : !USER.test(host.user)
          ? `user ${JSON.stringify(host.user)} is not a plain user name`
          : undefined;
    if (problem !== undefined) throw new SshError(`${host.name}: ${problem}`, { host: host.name });
    const pin = parsePin(host);
    const previous = pins.get(endpoint(host));
    if (previous !== undefined && previous.fingerprint !== pin.fingerprint) {
      throw new SshError(
        `${host.name}: ${host.address}:${host.port} is pinned twice with different host keys (also as ${previous.host.name})`,
        {
          host: host.name,
        },
      );
    }
    if (previous === undefined || (previous.key === undefined && pin.key !== undefined)) pins.set(endpoint(host), pin);
  }
  return [...pins.values()];
}

/** A pin is a known_hosts key line (`type base64 [comment]`) or a SHA256 fingerprint. */
export function parsePin(host: SshHost): Pinned {
  const text = host.hostKey.trim();
  const fingerprint = FINGERPRINT.exec(text);
  if (fingerprint !== null) return { host, fingerprint: `SHA256:${fingerprint[1]}`, key: undefined };
  const [type, data] = text.split(/\s+/);
  if (!/[\r\n]/.test(text) && type !== undefined && data !== undefined && KEY_TYPES.has(type)) {
    const blob = keyBlob(type, data);
    if (blob !== undefined) return { host, fingerprint: fingerprintOf(blob), key: `${type} ${data}` };
  }
  throw new SshError(
    `${host.name}: the pinned host key is neither a single known_hosts key ("ssh-ed25519 AAAA…", "ecdsa-sha2-nistp256 …", "ssh-rsa …") nor a SHA256 fingerprint ("SHA256:…")`,
    { host: host.name },
  );
}

/**
 * The pin a session holds for `host`, which must be the same host with the same pinned key it was opened with.
 * @throws SshError otherwise.
 */
export function pinnedFor(pinned: ReadonlyMap<string, Pinned>, host: SshHost): Pinned {
  const pin = pinned.get(endpoint(host));
  let fingerprint: string | undefined;
  try {
    fingerprint = parsePin(host).fingerprint;
  } catch {
    // Reported below as not pinned.
  }
  if (pin === undefined || pin.fingerprint !== fingerprint) {
    throw new SshError(`${host.name} (${host.address}:${host.port}) was not pinned with this host key when this SSH session was opened`, {
      host: host.name,
    });
  }
  return pin;
}
