/** The environment the ssh, scp and ssh-keyscan children of a session get. */

/** Environment variables ssh children get from ours; everything else (agent sockets, secrets) stays out. */
const PASSED_ENV = new Set(["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR"]);

/** The environment of ssh children: only the harmless basics, so no agent socket or secret reaches them. */
export function childEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (PASSED_ENV.has(name) || name.startsWith("LC_"))) env[name] = value;
  }
  return env;
}
