/**
 * What ssh's (and scp's) own messages mean: a host key mismatch, failed
 * authentication, an unreachable host, or another failure, each as the error a
 * user can act on.
 */
import { HostKeyMismatch, SshError } from "./errors.js";
import type { SshHost } from "./host.js";
import type { Pinned } from "./pins.js";

/** What a failure of a remote script's connection may have left: added to its messages. */
export const REMOTE_SCRIPT_UNSURE = " (the script may have partly run)";

/** Longest part of ssh's own output quoted in an error. */
const DETAIL_LIMIT = 600;

const FINGERPRINT_IN_TEXT = /SHA256:[A-Za-z0-9+/]{43}/g;

const HOST_KEY_FAILURE =
  /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key is known for .* requested strict checking|Host key for .* has changed/i;
const AUTH_FAILURE = /Permission denied \(|Too many authentication failures|No more authentication methods/i;
const CONNECT_FAILURE =
  /ssh: connect to host|Could not resolve hostname|Connection refused|Connection timed out|No route to host|Network is unreachable|kex_exchange_identification|banner exchange|Connection (?:closed|reset) by/i;

/** Whether ssh's own messages say the connection failed (host key, authentication or network), as opposed to a remote exit 255. */
export function isSshFailure(text: string): boolean {
  return HOST_KEY_FAILURE.test(text) || AUTH_FAILURE.test(text) || CONNECT_FAILURE.test(text);
}

/**
 * Turns ssh's (or scp's) own messages into the error they mean; `unsure` is added to messages
 * of failures that may come after the remote side started. On a host key failure whose text names
 * no other key, `scan` is asked for the fingerprints the host presents (its failure counts as none).
 */
export async function sshFailure(
  host: SshHost,
  pin: Pinned,
  text: string,
  what: string,
  unsure: string,
  scan: () => Promise<readonly string[]>,
): Promise<SshError> {
  if (HOST_KEY_FAILURE.test(text)) {
    let presented = [...new Set(text.match(FINGERPRINT_IN_TEXT) ?? [])].filter((fp) => fp !== pin.fingerprint);
    if (presented.length === 0) {
      presented = [...(await scan().catch(() => []))];
    }
    return new HostKeyMismatch(host, presented, pin.fingerprint);
  }
  const detail = lastLines(text);
  if (AUTH_FAILURE.test(text)) {
    return new SshError(`${host.name}: authentication as ${host.user}@${host.address}:${host.port} with the deploy key failed: ${detail}`, {
      host: host.name,
    });
  }
  if (CONNECT_FAILURE.test(text)) {
    return new SshError(`${host.name}: cannot reach ${host.user}@${host.address}:${host.port} (${what}): ${detail}`, { host: host.name });
  }
  return new SshError(`${host.name}: ${what} on ${host.user}@${host.address}:${host.port} failed${unsure}: ${detail}`, {
    host: host.name,
  });
}

/** The last meaningful lines of ssh's output, short enough for a message. */
export function lastLines(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^@+$/.test(line));
  const tail = lines.slice(-3).join(" / ");
  return tail.length > DETAIL_LIMIT ? `…${tail.slice(-DETAIL_LIMIT)}` : tail;
}
