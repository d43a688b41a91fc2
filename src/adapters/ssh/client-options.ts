/**
 * The OpenSSH client settings every ssh and scp of a deploy runs with: no user
 * or system configuration in play, strict host-key checking against the pinned
 * keys only, public-key authentication with the deploy key alone, nothing forwarded.
 */

/** Default seconds to wait for the TCP connection and the SSH banner. */
export const DEFAULT_CONNECT_TIMEOUT_S = 10;

/**
 * The `-o` options of every ssh and scp (scp passes them on to its ssh), without the `-o`s: the host's
 * SSH session and the Dagger module's container transport both use this list, so they cannot drift.
 * Connection sharing (ControlMaster) only when a `controlPath` is given.
 */
export function sshClientOptions(settings: {
  readonly knownHostsFile: string;
  readonly connectTimeoutSeconds: number;
  readonly controlPath?: string;
}): string[] {
  return [
    "BatchMode=yes",
    "StrictHostKeyChecking=yes",
    `UserKnownHostsFile=${settings.knownHostsFile}`,
    "GlobalKnownHostsFile=/dev/null",
    "CheckHostIP=no",
    "UpdateHostKeys=no",
    "HashKnownHosts=no",
    "VerifyHostKeyDNS=no",
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "AddKeysToAgent=no",
    "PreferredAuthentications=publickey",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    "ForwardAgent=no",
    "ForwardX11=no",
    "ClearAllForwardings=yes",
    "PermitLocalCommand=no",
    "ProxyCommand=none",
    // SshSession: one authenticated connection per host, reused by every later ssh and scp of the session: a deploy
    // runs a dozen commands per host. The socket is in the session's 0700 folder; close() stops the masters.
    ...(settings.controlPath === undefined ? [] : ["ControlMaster=auto", `ControlPath=${settings.controlPath}`, "ControlPersist=300"]),
    "RequestTTY=no",
    `ConnectTimeout=${settings.connectTimeoutSeconds}`,
    "ServerAliveInterval=15",
    "ServerAliveCountMax=3",
    "LogLevel=ERROR",
  ];
}
