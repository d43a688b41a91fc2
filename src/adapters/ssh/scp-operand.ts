/** scp's operands for a host: its host part, and a remote file named so that scp's globbing cannot widen it. */
import type { SshHost } from "./host.js";

/** The host part of an scp operand; IPv6 addresses in brackets. */
export function scpHost(host: SshHost): string {
  return host.address.includes(":") ? `[${host.address}]` : host.address;
}

/** The scp operand naming one remote file: scp globs the remote source; escaped, the path names exactly one file. */
export function scpRemoteOperand(host: SshHost, remotePath: string): string {
  return `${scpHost(host)}:${remotePath.replace(/[\\*?[\]]/g, "\\$&")}`;
}
