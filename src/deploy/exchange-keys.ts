/**
 * The environment's exchange keys on each host, for the engine only.
 *
 * A deploy takes the environment's exchange secrets from the run's variables
 * (`TEST_ZERODHA_API_KEY` … in test, `PROD_…` in production: the ones
 * secrets/preflight.ts lists) and writes them, under environment-neutral
 * names, to `<deploy root>/secrets/exchange.env` on every host before it
 * switches any:
 *
 *     secrets/                  0700, the SSH user's
 *     secrets/exchange.env      0600: ZERODHA_API_KEY='…' ZERODHA_API_SECRET='…' BINANCE_API_KEY='…' BINANCE_API_SECRET='…'
 *
 * The file travels on the SSH session's standard input (never in a command
 * line), preceded by its SHA-256, and lands in a temporary file (umask 077) of
 * the same folder, which is checked against that digest and renamed over the
 * old file; a file with the same content is left as it was. The service's
 * start command (service.ts) reads it with `set -a; . secrets/exchange.env`;
 * no other service command sees the keys, and nothing of them is ever in a
 * message.
 *
 * Each value is single-quoted, so the file is both a POSIX shell fragment and
 * a dotenv file: nothing in a value is expanded (`$(…)`, backquotes, `"`,
 * `\`, newlines of a PEM key stay as they are). A value with `'`, NUL or
 * another control character than newline and tab is refused.
 */
import { createHash } from "node:crypto";
import { ENVIRONMENT_SECRETS } from "../secrets/preflight.js";
import type { DeployContext } from "./context.js";
import { DeployRefused } from "./deploy-refused.js";
import type { DeployHost, Inventory } from "./policy.js";

/** The names the engine sees the keys by on a host, whatever the environment. */
export const EXCHANGE_KEY_NAMES = ["ZERODHA_API_KEY", "ZERODHA_API_SECRET", "BINANCE_API_KEY", "BINANCE_API_SECRET"] as const;

/** The keys' file, relative to a host's deploy root (outside `releases/`). */
export const EXCHANGE_KEYS_FILE = "secrets/exchange.env";

/** The keys' file as it is sent: its text and SHA-256 (hex). Never rendered. */
export interface ExchangeKeysFile {
  readonly text: string;
  readonly sha256: string;
}

/** The run's variable each host name is read from in `environment` (`ZERODHA_API_KEY` ← `TEST_ZERODHA_API_KEY`). */
export function exchangeKeySources(environment: Inventory["environment"]): ReadonlyMap<string, string> {
  const prefix = environment === "test" ? "TEST_" : "PROD_";
  const sources = new Map<string, string>();
  for (const name of EXCHANGE_KEY_NAMES) {
    const source = `${prefix}${name}`;
    if (!ENVIRONMENT_SECRETS[environment].includes(source)) throw new TypeError(`${source} is not a ${environment} secret`);
    sources.set(name, source);
  }
  return sources;
}

/** Why a value cannot go in the file, or undefined. Never includes the value. */
function valueProblem(value: string): string | undefined {
  if (value.includes("'")) return "contains a single quote (') the keys' file cannot hold";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\0-\x08\x0b-\x1f\x7f]/.test(value)) return "contains a control character (NUL, carriage return, escape…)";
  return undefined;
}

/**
 * The environment's keys' file, from the run's variables.
 * @throws DeployRefused naming each variable that is missing, empty or cannot be written (never a value).
 */
export function exchangeKeysFile(environment: Inventory["environment"], values: (name: string) => string | undefined): ExchangeKeysFile {
  const problems: string[] = [];
  const lines: string[] = [];
  for (const [name, source] of exchangeKeySources(environment)) {
    const value = values(source);
    const problem = value === undefined || value === "" ? "is not set" : valueProblem(value);
    if (problem !== undefined) problems.push(`${source} ${problem}`);
    else lines.push(`${name}='${value}'\n`);
  }
  if (problems.length > 0)
    throw new DeployRefused(
      `the ${environment} exchange keys cannot be delivered to the hosts, so no host was touched: ${problems.join("; ")} (or set [deploy.${environment}] exchange_keys = false)`,
    );
  const text = lines.join("");
  return { text, sha256: createHash("sha256").update(text).digest("hex") };
}

/**
 * Reads the digest, then the file, from standard input; writes the file into a temporary file of the same
 * folder (umask 077), checks its digest and renames it into place, unless the file in place is the same.
 * Prints `unchanged` or `written`.
 */
const INSTALL = `
root="$1"; d="$1/secrets"; f="$1/${EXCHANGE_KEYS_FILE}"
umask 077
IFS= read -r want || { echo "no digest on standard input" >&2; exit 60; }
[ -L "$d" ] && { echo "$d is a symbolic link" >&2; exit 61; }
mkdir -p -- "$d" && chmod 0700 -- "$d" || exit 61
[ -L "$f" ] && { echo "$f is a symbolic link" >&2; exit 61; }
t=$(mktemp "$d/.exchange.env.XXXXXX") || exit 62
cat >"$t" || { rm -f -- "$t"; exit 62; }
got=$(sha256sum <"$t") || { rm -f -- "$t"; exit 62; }
[ "\${got%% *}" = "$want" ] || { rm -f -- "$t"; echo "the keys' file arrived incomplete" >&2; exit 63; }
if [ -f "$f" ] && cmp -s -- "$t" "$f" && [ "$(stat -c %a -- "$f")" = 600 ]; then rm -f -- "$t"; echo unchanged; exit 0; fi
chmod 0600 -- "$t" && mv -f -- "$t" "$f" || { rm -f -- "$t"; exit 64; }
echo written`;

/**
 * Puts the keys' file on `host` (0600, in a 0700 folder, replaced atomically), or leaves the one there when
 * it is the same.
 * @throws Error saying what failed (never a value).
 */
export async function installExchangeKeys(
  context: Pick<DeployContext, "session">,
  host: DeployHost,
  keys: ExchangeKeysFile,
): Promise<"written" | "unchanged"> {
  const result = await context.session.run(host, INSTALL, [host.path], {
    input: `${keys.sha256}\n${keys.text}`,
    timeoutMs: 30_000,
  });
  const said = result.stdout.trim();
  if (result.exitCode === 0 && (said === "written" || said === "unchanged")) return said;
  throw new Error(
    `cannot write the exchange keys to ${host.path}/${EXCHANGE_KEYS_FILE} (exit ${result.exitCode}): ${result.stderr.trim().split("\n").at(-1) ?? ""}`,
  );
}
