/**
 * The production approval gate: before any production host is touched, `required` (at least two) DISTINCT
 * people other than the one who pushed the release tag must have approved it, nobody may have rejected it,
 * and a wait timer (`wait_minutes` after the tag was created) must have run out.
 *
 * A GitHub environment can require reviewers, but one reviewer's approval satisfies it, so the pipeline
 * counts the approvals itself, from two sources:
 *
 * - GitHub deployment reviews of the workflow run ({@link approvalsFromGitHub});
 * - signed approval files, for local and non-GitHub runs ({@link approvalsFromFiles}): in `approvals_dir`,
 *   `<approver>-<tag>.approval` holds
 *
 *       tag=v1.2.3
 *       commit=<40 hex digits>
 *       approver=asha
 *       at=2026-11-27T10:05:00Z
 *
 *   and `<approver>-<tag>.approval.minisig` is its minisign signature, made with the approver's secret key
 *   (`minisign -S -m asha-v1.2.3.approval`, or {@link writeSignedApproval}). It is checked against the public
 *   key `[[approval.approvers]]` gives for that person.
 *
 * {@link decideApproval} is pure (the time is passed in); {@link recordApprovals} writes what was counted to
 * the audit log.
 */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Octokit, RequestError } from "octokit";
import { z } from "zod";
import { type AuditEntry, appendAuditEntry, type LockOptions } from "../audit/audit-log.js";
import { closedObject, describeIssues } from "../config/zod-issues.js";
import { ConfigError } from "../core/errors.js";
import { DEFAULT_GITHUB_API, githubClient } from "../release/github-release.js";
import { type PublicKey, parsePublicKey, SignatureError, type SigningKey, signFile, verifySignature } from "../release/minisign.js";
import { Redactor } from "../report/redact.js";

/** Approvals production needs by default (and at least). */
export const DEFAULT_REQUIRED_APPROVALS = 2;

/** Minutes from the tag's creation until production may be deployed, by default. */
export const DEFAULT_WAIT_MINUTES = 30;

/** Where signed approval files are looked for, relative to the workspace. */
export const DEFAULT_APPROVALS_DIR = ".shriven-pipeline/approvals";

/** Time limit of the GitHub request, by default. */
export const DEFAULT_APPROVALS_TIMEOUT_MS = 30_000;

/** Longest wait timer accepted: a week. */
const MAX_WAIT_MINUTES = 7 * 24 * 60;
/** Most approvals that may be required. */
const MAX_REQUIRED = 20;
/** An approval file or its signature is a few lines; anything bigger is not one. */
const MAX_FILE_BYTES = 8 * 1024;
const MINUTE_MS = 60_000;

const APPROVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$/;
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const FILE_KEYS = ["tag", "commit", "approver", "at"] as const;

// ————————————————————————————————————————————— configuration —————————————————————————————————————————————

/** Why `text` is not a minisign public key, or undefined when it is one. */
function publicKeyProblem(text: string): string | undefined {
  try {
    parsePublicKey(text, "public_key");
    return undefined;
  } catch (error) {
    return error instanceof ConfigError ? error.problems.join("; ") : String(error);
  }
}

const approverSchema = closedObject({
  name: z
    .string({ error: "expected the approver's name (their GitHub login)" })
    .regex(APPROVER_NAME, { error: "expected a name of letters, digits and - _ . (at most 64 characters), such as a GitHub login" }),
  public_key: z
    .string({ error: "expected a minisign public key (the base64 line of the approver's .pub file)" })
    .superRefine((text, ctx) => {
      const problem = publicKeyProblem(text);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: `not a minisign public key: ${problem}` });
    }),
});

/** Schema of the `[approval]` table of shriven-pipeline.toml. */
export const approvalSchema = closedObject({
  required: z
    .int({ error: "expected a whole number of approvals" })
    .min(DEFAULT_REQUIRED_APPROVALS, {
      error: `expected at least ${DEFAULT_REQUIRED_APPROVALS}: production needs two approvers besides the tag author`,
    })
    .max(MAX_REQUIRED, { error: `expected at most ${MAX_REQUIRED}` })
    .optional(),
  wait_minutes: z
    .int({ error: "expected a whole number of minutes" })
    .min(0, { error: "expected 0 or more minutes" })
    .max(MAX_WAIT_MINUTES, { error: `expected at most ${MAX_WAIT_MINUTES} minutes (a week)` })
    .optional(),
  approvers: z.array(approverSchema, { error: "expected an array of { name, public_key } tables" }).optional(),
  approvals_dir: z
    .string({ error: "expected a path" })
    .min(1, { error: "expected a non-empty path" })
    .refine((s) => !s.includes("\0"), { error: "contains a NUL byte" })
    .optional(),
}).superRefine((table, ctx) => {
  const names = new Map<string, number>();
  const keys = new Map<string, number>();
  (table.approvers ?? []).forEach((approver, i) => {
    const name = approver.name.toLowerCase();
    const sameName = names.get(name);
    if (sameName !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["approvers", i, "name"],
        message: `${approver.name} is already approvers.${sameName}.name (names are compared ignoring case); each approver is listed once`,
      });
    } else names.set(name, i);
    if (publicKeyProblem(approver.public_key) !== undefined) return;
    const key = parsePublicKey(approver.public_key, "public_key");
    const id = Buffer.concat([key.keyId, key.publicKey]).toString("hex");
    const sameKey = keys.get(id);
    if (sameKey !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["approvers", i, "public_key"],
        message: `the same key as approvers.${sameKey} (${table.approvers?.[sameKey]?.name}); each approver needs their own key`,
      });
    } else keys.set(id, i);
  });
});

/** One person who may sign approval files. */
export interface Approver {
  /** Their name, as written in their approval files (compared ignoring case, like GitHub logins). */
  readonly name: string;
  /** The minisign public key their approval files are checked against. */
  readonly publicKey: PublicKey;
}

/** Approval settings, defaults applied. */
export interface ApprovalPolicy {
  /** Distinct approvers needed, the tag author not counting (at least 2). */
  readonly required: number;
  /** Minutes from the tag's creation before production may be deployed. */
  readonly waitMinutes: number;
  /** Who may sign approval files, with their keys. */
  readonly approvers: readonly Approver[];
  /** Folder of the signed approval files, relative to the workspace. */
  readonly approvalsDir: string;
}

/** Applies the defaults to a validated `[approval]` table. */
export function approvalPolicyFrom(raw: z.output<typeof approvalSchema> | undefined): ApprovalPolicy {
  return {
    required: raw?.required ?? DEFAULT_REQUIRED_APPROVALS,
    waitMinutes: raw?.wait_minutes ?? DEFAULT_WAIT_MINUTES,
    approvers: (raw?.approvers ?? []).map((a, i) => ({
      name: a.name,
      publicKey: parsePublicKey(a.public_key, `approval.approvers.${i}.public_key`),
    })),
    approvalsDir: raw?.approvals_dir ?? DEFAULT_APPROVALS_DIR,
  };
}

/**
 * Validates an `[approval]` table on its own (for a caller that reads it outside the pipeline config) and
 * applies the defaults.
 * @param source The file it came from, for the error.
 * @throws ConfigError with one line per problem, each naming the key (`approval.approvers.1.name: …`).
 */
export function parseApprovalTable(raw: unknown, source: string): ApprovalPolicy {
  const parsed = approvalSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(source, describeIssues(parsed.error.issues.map((issue) => ({ ...issue, path: ["approval", ...issue.path] }))));
  }
  return approvalPolicyFrom(parsed.data);
}

// ————————————————————————————————————————————— approvals —————————————————————————————————————————————

/** Where an approval or rejection came from. */
export type ApprovalSource = "github" | "file";

/** Someone approved the release. */
export interface Approval {
  /** A GitHub login or a configured approver's name. */
  readonly approver: string;
  /** When it was given (the file's `at`), or, for GitHub, when it was read (GitHub does not say). */
  readonly at: Date;
  readonly source: ApprovalSource;
  /** Where it was found: the file, or the environments and comment of the GitHub review. */
  readonly detail?: string;
}

/** Someone rejected the release: that alone refuses it. */
export interface Rejection {
  readonly approver: string;
  readonly at: Date;
  readonly source: ApprovalSource;
  /** The reviewer's comment, if any. */
  readonly comment?: string;
}

/** An approval that was not counted, and why. */
export interface IgnoredApproval {
  /** Who it claims to be from (for an unreadable file, the name in the file name). */
  readonly approver: string;
  readonly reason: string;
  /** The approval file, for approvals that came from one. */
  readonly file?: string;
}

/** Fetching approvals failed; the message says what was being done and why, never the token. */
export class ApprovalError extends Error {
  override readonly name = "ApprovalError";

  /** @param status The HTTP status GitHub answered with, when it answered. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What {@link approvalsFromGitHub} needs. */
export interface GitHubApprovalsOptions {
  /** A token that can read the repository's Actions (`actions: read`). Never appears in errors or results. */
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  /** The workflow run whose deployment reviews are read (`github.run_id`). */
  readonly runId: number;
  /** Count only reviews of this environment (compared ignoring case); default: reviews of every environment. */
  readonly environment?: string;
  /** API root: default `https://api.github.com`; GitHub Enterprise Server: `https://HOST/api/v3`. */
  readonly baseUrl?: string;
  /** Time limit of the request in milliseconds (default {@link DEFAULT_APPROVALS_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** The time recorded for each review (default: now); GitHub's response carries no time of its own. */
  readonly now?: Date;
  /** Transport override, for tests. */
  readonly request?: { readonly fetch?: typeof fetch };
}

/** The reviews of a workflow run. */
export interface GitHubReviews {
  readonly approvals: Approval[];
  /** Any of these refuses the release. */
  readonly rejections: Rejection[];
}

const reviewSchema = z.object({
  state: z.string(),
  comment: z.string().nullable().optional(),
  environments: z.array(z.object({ name: z.string().optional() }).loose()).optional(),
  user: z.object({ login: z.string().min(1) }).loose(),
});

/**
 * Reads the deployment reviews of a workflow run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`):
 * `approved` reviews become approvals and `rejected` ones rejections, of `user.login`; pending ones are left out.
 * @throws ApprovalError naming the run and the cause (bad options, token refused, run not found, network error).
 */
export async function approvalsFromGitHub(options: GitHubApprovalsOptions): Promise<GitHubReviews> {
  const redactor = new Redactor([options.token]);
  try {
    return await fetchReviews(options);
  } catch (error) {
    if (error instanceof ApprovalError) throw new ApprovalError(redactor.redact(error.message), error.status);
    throw new ApprovalError(redactor.redact(`${what(options)}: ${messageOf(error)}`));
  }
}

function what(options: GitHubApprovalsOptions): string {
  return `reading the approvals of run ${options.runId} of ${options.owner}/${options.repo}`;
}

async function fetchReviews(options: GitHubApprovalsOptions): Promise<GitHubReviews> {
  checkGitHubOptions(options);
  const now = options.now ?? new Date();
  let data: unknown;
  try {
    const response = await client(options).rest.actions.getReviewsForRun({
      owner: options.owner,
      repo: options.repo,
      run_id: options.runId,
    });
    data = response.data;
  } catch (error) {
    throw new ApprovalError(
      `${what(options)}: ${describeFailure(error, options)}`,
      error instanceof RequestError ? error.status : undefined,
    );
  }
  const parsed = z.array(reviewSchema).safeParse(data);
  if (!parsed.success) throw new ApprovalError(`${what(options)}: GitHub answered with an unexpected response`);
  const wanted = options.environment?.toLowerCase();
  const approvals: Approval[] = [];
  const rejections: Rejection[] = [];
  for (const review of parsed.data) {
    const environments = (review.environments ?? []).flatMap((e) => (e.name === undefined ? [] : [e.name]));
    if (wanted !== undefined && !environments.some((name) => name.toLowerCase() === wanted)) continue;
    const comment = review.comment ?? "";
    const where = `GitHub review of run ${options.runId}${environments.length > 0 ? ` (${environments.join(", ")})` : ""}`;
    if (review.state === "approved") {
      approvals.push({ approver: review.user.login, at: now, source: "github", detail: comment === "" ? where : `${where}: ${comment}` });
    } else if (review.state === "rejected") {
      rejections.push({ approver: review.user.login, at: now, source: "github", ...(comment === "" ? {} : { comment }) });
    }
  }
  return { approvals, rejections };
}

function checkGitHubOptions(options: GitHubApprovalsOptions): void {
  if (typeof options.token !== "string" || options.token.trim() === "") throw new ApprovalError("no GitHub token given");
  if (!/^[A-Za-z0-9_.-]+$/.test(options.owner) || !/^[A-Za-z0-9_.-]+$/.test(options.repo)) {
    throw new ApprovalError(`${JSON.stringify(`${options.owner}/${options.repo}`)} is not a GitHub repository name (owner/repo)`);
  }
  if (!Number.isSafeInteger(options.runId) || options.runId <= 0)
    throw new ApprovalError(`run id ${options.runId} is not a positive whole number`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0)) throw new ApprovalError("timeoutMs must be a positive number");
  if (options.baseUrl !== undefined) {
    let protocol = "";
    try {
      protocol = new URL(options.baseUrl).protocol;
    } catch {
      // reported below
    }
    if (protocol !== "http:" && protocol !== "https:") throw new ApprovalError("baseUrl is not an http(s) URL");
  }
}

function client(options: GitHubApprovalsOptions): Octokit {
  return githubClient({ ...options, timeoutMs: options.timeoutMs ?? DEFAULT_APPROVALS_TIMEOUT_MS });
}

function describeFailure(error: unknown, options: GitHubApprovalsOptions): string {
  const { owner, repo } = options;
  if (!(error instanceof RequestError) || error.response === undefined) {
    const timedOut = chain(error).some((e) => e instanceof Error && e.name === "TimeoutError");
    const code = chain(error)
      .map(errorCode)
      .find((c) => c !== undefined);
    const cause = timedOut ? `timed out after ${options.timeoutMs ?? DEFAULT_APPROVALS_TIMEOUT_MS} ms` : (code ?? messageOf(error));
    return `cannot reach GitHub at ${originOf(options.baseUrl ?? DEFAULT_GITHUB_API)} (${cause})`;
  }
  const said = githubMessage(error.response.data);
  const status = error.status;
  if (status === 401) return `GitHub rejected the token (HTTP 401 ${said}); check that it is set, valid and not expired`;
  if (status === 403 || status === 429) {
    if (error.response.headers["x-ratelimit-remaining"] === "0" || /rate limit/i.test(said)) {
      return `GitHub rate limit exceeded (HTTP ${status} ${said}); re-run later`;
    }
    return `the token is not allowed to read this (HTTP ${status} ${said}); it needs actions: read on ${owner}/${repo}`;
  }
  if (status === 404) return `run ${options.runId} of ${owner}/${repo} not found, or the token cannot see it (HTTP 404 ${said})`;
  return `GitHub answered HTTP ${status} ${said}`.trimEnd();
}

function githubMessage(data: unknown): string {
  const parsed = z.object({ message: z.string() }).safeParse(data);
  if (!parsed.success) return "";
  return parsed.data.message.length > 300 ? `${parsed.data.message.slice(0, 300)}…` : parsed.data.message;
}

function chain(error: unknown): unknown[] {
  const errors: unknown[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    errors.push(e);
    e = typeof e === "object" && "cause" in e ? e.cause : undefined;
  }
  return errors;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "the configured baseUrl";
  }
}

// ————————————————————————————————————————————— approval files —————————————————————————————————————————————

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

/** The file name of `approver`'s approval of `tag`; its signature is this name plus `.minisig`. */
export function approvalFileName(approver: string, tag: string): string {
  return `${approver}-${tag}.approval`;
}

/** The text of an approval file. */
export function approvalFileText(fields: ApprovalFields): string {
  return `tag=${fields.tag}\ncommit=${fields.commit}\napprover=${fields.approver}\nat=${rfc3339(fields.at)}\n`;
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
  const at = new Date(atText);
  if (!RFC3339.test(atText) || Number.isNaN(at.getTime())) return `at ${JSON.stringify(atText)} is not an RFC 3339 time`;
  return { tag, commit, approver, at };
}

// ————————————————————————————————————————————— the decision —————————————————————————————————————————————

/** What {@link decideApproval} weighs. */
export interface ApprovalDecisionInput {
  /** Every approval found, from any source. */
  readonly approvals: readonly Approval[];
  /** Every rejection found; any one refuses the release. */
  readonly rejections?: readonly Rejection[];
  /** Approvals already found invalid (such as {@link FileApprovals.invalid}), passed on into `ignored`. */
  readonly invalid?: readonly IgnoredApproval[];
  /** Who pushed (created) the tag; their approval does not count. */
  readonly tagAuthor: string;
  readonly tagCreatedAt: Date;
  readonly now: Date;
  readonly policy: Pick<ApprovalPolicy, "required" | "waitMinutes">;
}

/** An approval that counted. */
export interface CountedApproval {
  readonly approver: string;
  readonly at: Date;
  readonly source: ApprovalSource;
}

/** The gate's verdict. */
export interface ApprovalDecision {
  readonly approved: boolean;
  /** One line: why it is approved, or every reason it is not. */
  readonly reason: string;
  /** One per distinct approver, earliest first. */
  readonly counted: CountedApproval[];
  /** Approvals that did not count, and why. */
  readonly ignored: IgnoredApproval[];
  /** The rejections, which refuse the release. */
  readonly rejections: Rejection[];
  /** When the wait timer ends (or ended). */
  readonly waitEndsAt: Date;
}

/** The reason an approval by the tag's author is ignored. */
export const SELF_APPROVAL_REASON = "the tag author cannot approve their own release";

/**
 * Decides the gate: counts distinct approvers (names compared ignoring case; the earliest approval of each
 * counts), leaving out the tag author; refuses on any rejection, on fewer than `policy.required` approvals,
 * and while `now` is before `tagCreatedAt` + `policy.waitMinutes`. Pure: the time is `now`.
 * @throws RangeError if a time is an invalid Date.
 */
export function decideApproval(input: ApprovalDecisionInput): ApprovalDecision {
  for (const [name, date] of [
    ["tagCreatedAt", input.tagCreatedAt],
    ["now", input.now],
  ] as const) {
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError(`${name}: an invalid Date`);
  }
  const { required, waitMinutes } = input.policy;
  const author = input.tagAuthor.trim().toLowerCase();
  const counted: CountedApproval[] = [];
  const ignored: IgnoredApproval[] = [...(input.invalid ?? [])];
  const seen = new Set<string>();
  const byTime = [...input.approvals].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const approval of byTime) {
    const name = approval.approver.trim();
    const key = name.toLowerCase();
    if (key === "") ignored.push({ approver: name, reason: "no approver name" });
    else if (author !== "" && key === author) ignored.push({ approver: name, reason: SELF_APPROVAL_REASON });
    else if (seen.has(key)) ignored.push({ approver: name, reason: "already counted: an approver counts once" });
    else {
      seen.add(key);
      counted.push({ approver: name, at: approval.at, source: approval.source });
    }
  }

  const problems: string[] = [];
  const rejections = [...(input.rejections ?? [])];
  if (rejections.length > 0) {
    const who = rejections.map((r) => `${r.approver} (${r.source}${r.comment === undefined ? "" : `: ${r.comment}`})`);
    problems.push(`rejected by ${who.join(", ")}`);
  }
  const names = counted.map((c) => c.approver).join(", ");
  if (counted.length < required) {
    problems.push(`${counted.length} of ${required} approvals${counted.length > 0 ? ` (${names})` : ""}`);
  }
  const waitEndsAt = new Date(input.tagCreatedAt.getTime() + waitMinutes * MINUTE_MS);
  const leftMs = waitEndsAt.getTime() - input.now.getTime();
  if (leftMs > 0) {
    const minutes = Math.ceil(leftMs / MINUTE_MS);
    problems.push(`wait timer: ${minutes} minute${minutes === 1 ? "" : "s"} left (until ${rfc3339(waitEndsAt)})`);
  }
  const ignoredNote = ignored.length > 0 ? `; ignored: ${ignored.map((i) => `${i.approver || "(no name)"}: ${i.reason}`).join("; ")}` : "";
  const reason =
    problems.length > 0
      ? `${problems.join("; ")}${ignoredNote}`
      : `approved by ${names} (${counted.length} of ${required} required); the wait timer ended at ${rfc3339(waitEndsAt)}${ignoredNote}`;
  return { approved: problems.length === 0, reason, counted, ignored, rejections, waitEndsAt };
}

/** RFC 3339 UTC, without milliseconds when they are zero. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, "Z");
}

/**
 * Appends one `approval` entry to the audit log per counted approval (data: approver, source, tag, at, and the
 * commit when given), in the decision's order, whether or not the decision approved the release. The entry's own
 * time is now (the log's times may not go backwards); the approval's time is `data.at`.
 * @param actor Who ran the gate (the CI actor or user).
 * @throws AuditLogError if the log cannot be appended to.
 */
export function recordApprovals(
  auditFile: string,
  decision: Pick<ApprovalDecision, "counted">,
  options: { readonly tag: string; readonly actor: string; readonly commit?: string } & LockOptions,
): AuditEntry[] {
  const { tag, actor, commit, ...lock } = options;
  return decision.counted.map((approval) =>
    appendAuditEntry(
      auditFile,
      {
        kind: "approval",
        actor,
        data: {
          approver: approval.approver,
          source: approval.source,
          tag,
          at: approval.at.toISOString(),
          ...(commit === undefined ? {} : { commit }),
        },
      },
      lock,
    ),
  );
}
