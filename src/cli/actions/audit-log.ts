/**
 * `shriven-pipeline audit-log`: check, prune and read the tamper-evident audit
 * log that deployments, rollbacks, stage results, benchmarks and approvals are
 * recorded in (see src/audit-log/).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { keyIdHex, loadSigningKey, parsePublicKey } from "../../adapters/minisign.js";
import { AuditLogError } from "../../audit-log/audit-log-error.js";
import { type AuditRefLocation, DEFAULT_AUDIT_REF, fetchAuditRef, publishAuditLog } from "../../audit-log/git-ref.js";
import { readAuditLog } from "../../audit-log/log-lines.js";
import { AUDIT_RECORDS_HEADER, DEFAULT_AUDIT_LOG } from "../../audit-log/policy.js";
import { pruneAuditLog } from "../../audit-log/prune.js";
import { type AuditVerification, verifyAuditBytes, verifyAuditLog } from "../../audit-log/verify.js";
import { UsageError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import { type OptionValues, parseOptions, text } from "../args.js";
import type { CliCommand } from "../command.js";
import type { GateIo } from "../io.js";
import { runIdentity } from "../run-identity.js";
import { SIGNING_KEY_ENV } from "../secrets.js";

const SUBCOMMANDS =
  "verify [--file F | --from-ref REF [--remote origin]] [--public-key minisign.pub] | prune --signing-key-file F [--days 90] | show [--last N] | push [--remote origin] [--ref REF] [--records F]";

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

/** Runs `audit-log` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = ({ positionals }, io) => auditLogCommand(positionals, io);

/**
 * `audit-log verify [--source DIR] [--file F] [--public-key minisign.pub]`,
 * `audit-log prune [--source DIR] [--file F] [--days 90] [--signing-key-file F (default: $RELEASE_SIGNING_KEY)] [--break-stale-lock]`,
 * `audit-log show [--source DIR] [--file F] [--last N]`,
 * `audit-log push [--source DIR] [--file F] [--remote origin] [--ref refs/shriven-pipeline/audit] [--records F]`,
 * `audit-log verify --from-ref REF [--remote origin] [--source DIR] [--public-key minisign.pub]`.
 * Exit code 0, or 1 when the log does not verify or cannot be read or pruned.
 */
export async function auditLogCommand(args: readonly string[], io: GateIo & { readonly stderr: GateIo["stdout"] }): Promise<number> {
  const [subcommand, ...rest] = args;
  try {
    if (subcommand === "verify") return await verify(rest, io);
    if (subcommand === "push") return await push(rest, io);
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

/** The git location of `--source` (default: the current folder), `--remote` and `--ref`/`--from-ref`. */
function refLocation(values: OptionValues, io: GateIo, ref: string | undefined): AuditRefLocation {
  const remote = text(values.remote);
  return {
    repoDir: resolve(io.cwd, text(values.source) ?? "."),
    ...(remote === undefined ? {} : { remote }),
    ...(ref === undefined ? {} : { ref }),
  };
}

async function verify(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    ...FILE_OPTIONS,
    "public-key": { type: "string" },
    "from-ref": { type: "string" },
    remote: { type: "string" },
  });
  const keyFile = text(values["public-key"]);
  const publicKey = keyFile === undefined ? undefined : parsePublicKey(readTextFile(resolve(io.cwd, keyFile)), keyFile);
  const fromRef = text(values["from-ref"]);
  let result: AuditVerification;
  let shown: string;
  if (fromRef !== undefined) {
    if (text(values.file) !== undefined) throw new UsageError("audit-log verify: give --file or --from-ref, not both");
    const location = refLocation(values, io, fromRef);
    const fetched = await fetchAuditRef(location);
    if (fetched.commit === undefined)
      throw new AuditLogError(`${location.remote ?? "origin"} ${fromRef}`, ["the ref does not exist: nothing was published there"]);
    result = verifyAuditBytes(fetched.bytes, publicKey);
    shown = `${location.remote ?? "origin"} ${fromRef} at ${fetched.commit.slice(0, 12)}`;
  } else {
    const file = logFile(values, io);
    result = verifyAuditLog(file, publicKey === undefined ? {} : { publicKey });
    shown = relative(io.cwd, file) || file;
  }
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
        ? `    ❌ ${what}: signature NOT checked, so the log does not verify (give the trusted --public-key minisign.pub)`
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

async function push(args: readonly string[], io: GateIo): Promise<number> {
  const values = parseOptions(args, {
    ...FILE_OPTIONS,
    remote: { type: "string" },
    ref: { type: "string" },
    records: { type: "string" },
    "break-stale-lock": { type: "boolean" },
  });
  const records = text(values.records);
  let file = logFile(values, io);
  if (records !== undefined) {
    // The Dagger module's output: the audit records it printed become a log of their own, published as the run's entries.
    file = join(mkdtempSync(join(tmpdir(), "shriven-audit-records-")), "audit.jsonl");
    writeFileSync(file, recordsOf(readTextFile(resolve(io.cwd, records))), { mode: 0o640 });
  }
  const location = refLocation(values, io, text(values.ref));
  const result = await publishAuditLog(file, {
    ...location,
    committer: runIdentity(io.env).who,
    breakStaleLock: values["break-stale-lock"] === true,
  });
  const head = verifyAuditLog(file).head;
  io.stdout.write(
    `${result.pushed ? `Pushed ${result.added} entr${result.added === 1 ? "y" : "ies"}` : "Nothing new to push"} to ${location.remote ?? "origin"} ${location.ref ?? DEFAULT_AUDIT_REF} (commit ${result.commit.slice(0, 12)}, ${result.attempts} attempt${result.attempts === 1 ? "" : "s"})${head === undefined ? "" : `; chain head seq ${head.seq} sha256 ${head.sha256}`}\n`,
  );
  return 0;
}

/**
 * The audit lines a stage run printed, as log bytes: the lines right after the LAST "Audit records of this run".
 * The module prints that header after the CLI has exited, so lines the workspace's own code printed earlier (a
 * test could print a header and forged entries) are never published.
 */
function recordsOf(output: string): string {
  const lines = output.split("\n");
  const header = lines.findLastIndex((l) => l.startsWith(AUDIT_RECORDS_HEADER));
  if (header === -1) return "";
  const records: string[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.startsWith('{"seq":')) break;
    records.push(`${line}\n`);
  }
  return records.join("");
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
