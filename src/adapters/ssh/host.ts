/**
 * An SSH host as the deploy transports know it, and the names it goes by:
 * the key its pin is kept under and its name in known_hosts.
 */

/** A deploy target and the host key it must present. */
export interface SshHost {
  /** Name used in messages. */
  readonly name: string;
  /** IP address or DNS name. */
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** The pinned host key: a known_hosts-style key ("ssh-ed25519 AAAAC3…", optionally with a comment) or an OpenSSH SHA256 fingerprint ("SHA256:base64-no-padding"). */
  readonly hostKey: string;
}

/** The key pins are kept under: address (lower case) and port. */
export function endpoint(host: SshHost): string {
  return `${host.address.toLowerCase()}:${host.port}`;
}

/** How known_hosts names the host: the address for port 22, `[address]:port` otherwise. */
export function knownHostsName(host: SshHost): string {
  return host.port === 22 ? host.address : `[${host.address}]:${host.port}`;
}
