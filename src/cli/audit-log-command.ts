/**
 * `shriven-pipeline audit-log`: check, prune and read the tamper-evident audit
 * log that deployments, rollbacks, stage results, benchmarks and approvals are
 * recorded in (see src/audit/audit-log.ts).
 */
import { join, relative, resolve } from "node:path";
import { AuditLogError, DEFAULT_AUDIT_LOG, pruneAuditLog, readAuditLog, verifyAuditLog } from "../audit/audit-log.js";
import { readTextFile } from "../config/read-text-file.js";
import { UsageError } from "../core/errors.js";
import { keyIdHex, loadSigningKey, parsePublicKey } from "../release/minisign.js";
import { type OptionValues, parseOptions, text } from "./args.js";
import type { GateIo } from "./gate-commands.js";
import { SIGNING_KEY_ENV } from "./release-commands.js";
import { runIdentity } from "./run-identity.js";

const SUBCOMMANDS = "verify [--file F] [--public-key minisign.pub] | prune --signing-key-file F [--days 90] | show [--last N]";

/** A whole number ≥ 1 from an option, or `fallback` when it is not given. */
function count(name: string, value: unknown, fallback: number | undefined): number | undefined {
  const given = text(value);
  if (given === undefined) return fallback;
  const n = Number(given);
  if (!/^\d+$/.test(given) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${name}: expected a whole number ≥ 1, got ${JSON.stringify(given)}`);
  return n;
}

const FILE_OPTIONS = { source: { type: "string" }, file: { type: "string" } } as const;

/** The log: `--file` (from the current folder), or the default one under `--source` (default: the current folder). */
function logFile(values: OptionValues, io: GateIo): string {
  const file = text(values.file);
  return file !== undefined ? resolve(io.cwd, file) : join(resolve(io.cwd, text(values.source) ?? "."), DEFAULT_AUDIT_LOG);
}

/**
 * `audit-log verify [--source DIR] [--file F] [--public-key minisign.pub]`,
 * `audit-log prune [--source DIR] [--file F] [--days 90] [--signing-key-file F (default: $RELEASE_SIGNING_KEY)] [--break-stale-lock]`,
 * `audit-log show [--source DIR] [--file F] [--last N]`.
 * Exit code 0, or 1 when the log does not verify or cannot be read or pruned.
 */
export async function auditLogCommand(args: readonly string[], io: GateIo & { readonly stderr: GateIo["stdout"] }): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === "verify") return verify(rest, io);
    if (subcommand === "prune") return prune(rest, io);
    if (subcommand === "show") return show(rest, io);
  } catch (error) {
    if (!(error instanceof AuditLogError)) throw error;
    io.stderr.write(`shriven-pipeline: ${error.message}\n`);
    return 1;
  }
  throw new UsageError(
    subcommand === undefined
      ? `audit-log needs a subcommand: ${SUBCOMMANDS}`
      : `audit-log: unknown subcommand ${JSON.stringify(subcommand)}; expected ${SUBCOMMANDS}`,
  );
}

function verify(args: readonly string[], io: GateIo): number {
  const values = parseOptions(args, { ...FILE_OPTIONS, "public-key": { type: "string" } });
  const file = logFile(values, io);
  const keyFile = text(values["public-key"]);
  const publicKey = keyFile === undefined ? undefined : parsePublicKey(readTextFile(resolve(io.cwd, keyFile)), keyFile);
  const result = verifyAuditLog(file, publicKey === undefined ? {} : { publicKey });
  const shown = relative(io.cwd, file) || file;
  const lines: string[] = [];
  if (result.ok) lines.push(`✅ audit log verifies: ${result.entries} entr${result.entries === 1 ? "y" : "ies"} (${shown})`);
  else {
    lines.push(...result.problems.map((p) => `❌ line ${p.line}: ${p.problem}`));
    lines.push(
      `❌ audit log does NOT verify: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in ${result.entries} lines (${shown})`,
    );
  }
  const checkpoint = result.checkpoint;
  if (checkpoint !== undefined) {
    const what = `checkpoint (line ${checkpoint.line}): entries 1–${checkpoint.prunedThroughSeq} pruned (${checkpoint.firstRemovedAt} to ${checkpoint.lastRemovedAt}) on ${checkpoint.prunedAt}, signed by key ${checkpoint.keyId}`;
    lines.push(
      checkpoint.verified === "no key given"
        ? `    ⚠️ ${what}: signature NOT checked (give --public-key minisign.pub)`
        : `    ${what}: signature ${checkpoint.verified ? "verified" : "INVALID"}`,
    );
  }
  if (result.head !== undefined) {
    lines.push(
      `    head: line ${result.head.line}, seq ${result.head.seq}, sha256 ${result.head.sha256} (record it elsewhere to pin the end of the log)`,
    );
  }
  io.stdout.write(`${lines.join("\n")}\n`);
  return result.ok ? 0 : 1;
}

function prune(args: readonly string[], io: GateIo): number {
  const values = parseOptions(args, {
    ...FILE_OPTIONS,
    days: { type: "string" },
    "signing-key-file": { type: "string" },
    "break-stale-lock": { type: "boolean" },
  });
  const file = logFile(values, io);
  const days = count("days", values.days, 90) as number;
  const keyFile = text(values["signing-key-file"]);
  const keyText = keyFile !== undefined ? readTextFile(resolve(io.cwd, keyFile)) : io.env[SIGNING_KEY_ENV];
  if (keyText === undefined || keyText.trim() === "") {
    throw new UsageError(
      `audit-log prune needs a signing key for its checkpoint: --signing-key-file FILE or the ${SIGNING_KEY_ENV} secret`,
    );
  }
  const signer = loadSigningKey(keyText, keyFile ?? SIGNING_KEY_ENV);
  const result = pruneAuditLog(file, {
    now: new Date(),
    maxAgeDays: days,
    signer,
    actor: runIdentity(io.env).who,
    breakStaleLock: values["break-stale-lock"] === true,
  });
  const shown = relative(io.cwd, file) || file;
  if (result.checkpoint === undefined) {
    io.stdout.write(`Nothing to prune: no entry of ${shown} is older than ${days} days (${result.kept} kept)\n`);
    return 0;
  }
  const n = result.pruned.length;
  io.stdout.write(
    [
      `Pruned ${n} entr${n === 1 ? "y" : "ies"} older than ${days} days from ${shown} into a checkpoint signed by key ${keyIdHex(signer.keyId)}:`,
      ...(result.replacedCheckpoint === undefined
        ? []
        : [`    - the earlier checkpoint of entries 1–${result.replacedCheckpoint.seq} (folded into the new one)`]),
      ...result.pruned.map((p) => `    - seq ${p.seq}  ${p.at}  ${p.kind} by ${p.actor}`),
      `    kept ${result.kept} entr${result.kept === 1 ? "y" : "ies"}; the checkpoint stands for entries 1–${result.checkpoint.seq}`,
      `    check: shriven-pipeline audit-log verify --file ${shown} --public-key minisign.pub`,
      "",
    ].join("\n"),
  );
  return 0;
}

function show(args: readonly string[], io: GateIo): number {
  const values = parseOptions(args, { ...FILE_OPTIONS, last: { type: "string" } });
  const file = logFile(values, io);
  const last = count("last", values.last, undefined);
  const lines = readAuditLog(file, last === undefined ? {} : { last });
  if (lines.length === 0) {
    io.stdout.write(`(the audit log ${relative(io.cwd, file) || file} is empty)\n`);
    return 0;
  }
  io.stdout.write(
    `${lines
      .map(({ line, entry, problem }) =>
        entry === undefined
          ? `line ${line}  ⚠️ ${problem}`
          : `line ${line}  seq ${entry.seq}  ${entry.at}  ${entry.kind.padEnd(10)} ${entry.actor}  ${JSON.stringify(entry.data)}`,
      )
      .join("\n")}\n`,
  );
  return 0;
}
