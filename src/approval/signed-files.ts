/**
 * Approvals from signed files, for local and non-GitHub runs: in `approvals_dir`, `<approver>-<tag>.approval`
 * holds
 *
 *     tag=v1.2.3
 *     commit=<40 hex digits>
 *     approver=asha
 *     at=2026-11-27T10:05:00Z
 *
 * and `<approver>-<tag>.approval.minisig` is its minisign signature, made with the approver's secret key
 * (`minisign -S -m asha-v1.2.3.approval`, or {@link writeSignedApproval}). It is checked against the public
 * key `[[approval.approvers]]` gives for that person.
 */

import type { Dirent } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type PublicKey, SignatureError, type SigningKey, signFile, verifySignature } from "../adapters/minisign.js";
import { errorCode, messageOf } from "../core/error-chain.js";
import { parseRfc3339, rfc3339Utc } from "../core/rfc3339.js";
import { ApprovalError } from "./approval-error.js";
import type { Approval, IgnoredApproval } from "./approvals.js";
import { APPROVER_NAME, type ApprovalPolicy, type Approver } from "./policy.js";

/** What an approval file says. */
export interface ApprovalFields {
  readonly tag: string;
  /** The commit the tag points at (40 or 64 lower-case hex digits). */
  readonly commit: string;
  readonly approver: string;
  /** When the approval was given. */
  readonly at: Date;
}

/** What {@link approvalsFromFiles} found. */
export interface FileApprovals {
  /** Approvals whose signature, approver, tag and commit check out. */
  readonly approvals: Approval[];
  /** Approval files of the tag that do not, each with the reason. */
  readonly invalid: IgnoredApproval[];
}

/** An approval file or its signature is a few lines; anything bigger is not one. */
const MAX_FILE_BYTES = 8 * 1024;

const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const FILE_KEYS = ["tag", "commit", "approver", "at"] as const;

/** The file name of `approver`'s approval of `tag`; its signature is this name plus `.minisig`. */
export function approvalFileName(approver: string, tag: string): string {
  return `${approver}-${tag}.approval`;
}

/** The text of an approval file. */
export function approvalFileText(fields: ApprovalFields): string {
  return `tag=${fields.tag}\ncommit=${fields.commit}\napprover=${fields.approver}\nat=${rfc3339Utc(fields.at)}\n`;
}

/**
 * Writes `<dir>/<approver>-<tag>.approval` and its minisign signature made with `key` (the approver's
 * secret key, from `loadSigningKey`): what an approver runs instead of `minisign -S`.
 * @returns The approval file's path.
 */
export async function writeSignedApproval(dir: string, fields: ApprovalFields, key: SigningKey): Promise<string> {
  const file = join(dir, approvalFileName(fields.approver, fields.tag));
  const text = Buffer.from(approvalFileText(fields), "utf8");
  const signature = signFile(text, key, { trustedComment: `approval of ${fields.tag} (${fields.commit}) by ${fields.approver}` });
  await writeFile(file, text, { mode: 0o644 });
  await writeFile(`${file}.minisig`, signature, { mode: 0o644 });
  return file;
}

/**
 * Reads the approval files of `expected.tag` in `dir` (`*-<tag>.approval`; a missing folder holds none) and
 * checks each: its `.minisig` must verify with a configured approver's public key, the `approver=` in it must
 * be that key's owner (and match the file name), and its tag and commit must be the ones being deployed.
 * Files of other tags are not looked at.
 * @throws ApprovalError if `expected` is malformed or the folder cannot be read.
 */
export async function approvalsFromFiles(
  dir: string,
  policy: Pick<ApprovalPolicy, "approvers">,
  expected: { readonly tag: string; readonly commit: string },
): Promise<FileApprovals> {
  const commit = expected.commit.toLowerCase();
  if (!COMMIT.test(commit)) throw new ApprovalError(`commit ${JSON.stringify(expected.commit)} is not a 40-hex-digit commit id`);
  if (expected.tag === "" || /[\s/\\]/.test(expected.tag)) throw new ApprovalError(`${JSON.stringify(expected.tag)} is not a tag name`);
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === "ENOENT") return { approvals: [], invalid: [] };
    throw new ApprovalError(`${dir}: cannot read the approvals folder (${errorCode(error) ?? messageOf(error)})`);
  }
  const suffix = `-${expected.tag}.approval`;
  const names = entries
    .filter((e) => e.name.endsWith(suffix) && e.name.length > suffix.length)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const approvals: Approval[] = [];
  const invalid: IgnoredApproval[] = [];
  for (const entry of names) {
    const file = join(dir, entry.name);
    const named = entry.name.slice(0, -suffix.length);
    const outcome = entry.isFile()
      ? await checkApprovalFile(file, named, policy.approvers, { tag: expected.tag, commit })
      : { approver: named, reason: "not a regular file" };
    if ("reason" in outcome) invalid.push({ approver: outcome.approver, reason: outcome.reason, file });
    else approvals.push({ approver: outcome.approver, at: outcome.at, source: "file", detail: file });
  }
  return { approvals, invalid };
}

type FileOutcome = { approver: string; at: Date } | { approver: string; reason: string };

async function checkApprovalFile(
  file: string,
  named: string,
  approvers: readonly Approver[],
  expected: { tag: string; commit: string },
): Promise<FileOutcome> {
  const bad = (reason: string, approver = named): FileOutcome => ({ approver, reason });
  const data = await readSmall(file);
  if (typeof data === "string") return bad(data);
  const signature = await readSmall(`${file}.minisig`);
  if (typeof signature === "string") return bad(`no usable signature: ${signature}`);
  const fields = parseApprovalFile(data.toString("utf8"));
  const claimed = typeof fields === "string" ? undefined : fields.approver;
  const claimedApprover = claimed === undefined ? undefined : findApprover(approvers, claimed);

  const signer = approvers.find((a) => verifies(data, signature, a.publicKey, file) === undefined);
  if (signer === undefined) {
    if (claimed !== undefined && claimedApprover === undefined) {
      return bad(`unknown approver ${claimed}: not one of the approvers in [approval] (and no approver's key signed it)`, claimed);
    }
    const against = claimedApprover ?? findApprover(approvers, named);
    if (against === undefined) return bad(`unknown approver ${named}: not one of the approvers in [approval]`);
    const problem = verifies(data, signature, against.publicKey, file) ?? "does not verify";
    return bad(`forged or corrupt signature: not made by ${against.name}'s key over this file (${problem})`, claimed ?? named);
  }
  if (typeof fields === "string") return bad(`malformed approval file: ${fields}`, signer.name);
  if (fields.approver.toLowerCase() !== signer.name.toLowerCase()) {
    return bad(`the file names approver ${fields.approver}, but it is signed with ${signer.name}'s key`, fields.approver);
  }
  if (named.toLowerCase() !== signer.name.toLowerCase()) {
    return bad(
      `the file name is for ${named}, but it is ${signer.name}'s approval; name it ${approvalFileName(signer.name, expected.tag)}`,
      signer.name,
    );
  }
  if (fields.tag !== expected.tag) return bad(`wrong tag: it approves ${fields.tag}, not ${expected.tag}`, signer.name);
  if (fields.commit.toLowerCase() !== expected.commit) {
    return bad(`wrong commit: it approves ${fields.commit}, but ${expected.tag} is ${expected.commit}`, signer.name);
  }
  return { approver: signer.name, at: fields.at };
}

/** Why the signature does not verify with `key`, or undefined when it does. */
function verifies(data: Buffer, signature: Buffer, key: PublicKey, file: string): string | undefined {
  try {
    verifySignature(data, signature.toString("utf8"), key, `${file}.minisig`);
    return undefined;
  } catch (error) {
    if (error instanceof SignatureError) return error.problem;
    throw error;
  }
}

function findApprover(approvers: readonly Approver[], name: string): Approver | undefined {
  const wanted = name.toLowerCase();
  return approvers.find((a) => a.name.toLowerCase() === wanted);
}

/** The file's bytes, or why they cannot be had. */
async function readSmall(file: string): Promise<Buffer | string> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return `${file} is not a regular file`;
    if (info.size > MAX_FILE_BYTES) return `${file} is ${info.size} bytes, more than an approval file has (${MAX_FILE_BYTES})`;
    return await readFile(file);
  } catch (error) {
    const code = errorCode(error);
    return code === "ENOENT" ? `${file} is missing` : `cannot read ${file} (${code ?? messageOf(error)})`;
  }
}

/** The fields of an approval file's text, or what is wrong with it. */
export function parseApprovalFile(text: string): ApprovalFields | string {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const values = new Map<string, string>();
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const eq = line.indexOf("=");
    if (eq <= 0) return `line ${i + 1}: expected key=value`;
    const key = line.slice(0, eq);
    if (!(FILE_KEYS as readonly string[]).includes(key))
      return `line ${i + 1}: unknown key ${JSON.stringify(key)}; expected ${FILE_KEYS.join(", ")}`;
    if (values.has(key)) return `line ${i + 1}: ${key} is given twice`;
    values.set(key, line.slice(eq + 1));
  }
  const missing = FILE_KEYS.filter((key) => !values.has(key));
  if (missing.length > 0) return `missing ${missing.join(", ")}`;
  const tag = values.get("tag") as string;
  const commit = values.get("commit") as string;
  const approver = values.get("approver") as string;
  const atText = values.get("at") as string;
  if (tag === "") return "tag is empty";
  if (!COMMIT.test(commit.toLowerCase())) return `commit ${JSON.stringify(commit)} is not a 40-hex-digit commit id`;
  if (!APPROVER_NAME.test(approver)) return `approver ${JSON.stringify(approver)} is not a name`;
  const at = parseRfc3339(atText)?.date;
  if (at === undefined) return `at ${JSON.stringify(atText)} is not an RFC 3339 time`;
  return { tag, commit, approver, at };
}
