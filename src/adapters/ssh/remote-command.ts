/** The remote command line of a script, quoted so that the remote shell never interpolates an argument. */
import type { SshHost } from "./host.js";

/**
 * The remote command line of a script: `sh -c <script> sh <args…>`, every word single-quoted, so args are
 * never interpolated into the script.
 * @throws TypeError when the script or an argument contains a NUL character.
 */
export function remoteCommand(host: SshHost, script: string, args: readonly string[]): string {
  for (const text of [script, ...args]) {
    if (text.includes("\0")) throw new TypeError(`${host.name}: a remote script and its arguments cannot contain NUL characters`);
  }
  return ["sh", "-c", script, "sh", ...args].map(shellQuote).join(" ");
}

/** Single-quotes `text` for a POSIX shell: nothing inside is expanded; `'` becomes `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
