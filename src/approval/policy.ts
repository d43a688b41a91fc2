/**
 * The `[approval]` table of shriven-pipeline.toml: before any production host is touched, `required` (at
 * least two) DISTINCT people other than the release tag's verified author must have approved it, nobody may
 * have rejected it, and a wait timer (`wait_minutes` from a time the pipeline records) must have run out.
 * `[[approval.approvers]]` names who may sign approval files, with their minisign public keys, and the SSH key
 * each signs release tags with. Production reads this table from the default branch, never from the tagged
 * commit (see trusted-policy.ts).
 */
import { z } from "zod";
import { type PublicKey, parsePublicKey } from "../adapters/minisign.js";
import { ConfigError } from "../core/errors.js";
import { closedObject, describeIssues } from "../core/zod-issues.js";

/** One person who may sign approval files. */
export interface Approver {
  /** Their name, as written in their approval files (compared ignoring case, like GitHub logins). */
  readonly name: string;
  /** The minisign public key their approval files are checked against. */
  readonly publicKey: PublicKey;
  /** The SSH public key (`ssh-ed25519 AAAA…`, no comment) their signed release tags are checked against. */
  readonly sshKey?: string;
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
  /** The GitHub environments whose deployment reviews of the run count as approvals. */
  readonly githubEnvironments: readonly string[];
}

/** The two GitHub environments, each requiring one reviewer, whose approvals production counts by default. */
export const DEFAULT_GITHUB_ENVIRONMENTS = ["production-approval-1", "production-approval-2"] as const;

/** An OpenSSH public key line: its type and base64 key, an optional comment after. */
const SSH_KEY =
  /^((?:ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-rsa) [A-Za-z0-9+/]+={0,2})(?: [^\n]*)?$/;

/** Approvals production needs by default (and at least). */
export const DEFAULT_REQUIRED_APPROVALS = 2;

/** Minutes from the tag's creation until production may be deployed, by default. */
export const DEFAULT_WAIT_MINUTES = 30;

/** Where signed approval files are looked for, relative to the workspace. */
export const DEFAULT_APPROVALS_DIR = ".shriven-pipeline/approvals";

/** Longest wait timer accepted: a week. */
const MAX_WAIT_MINUTES = 7 * 24 * 60;
/** Most approvals that may be required. */
const MAX_REQUIRED = 20;

/** What an approver's name may be: a GitHub login's characters, at most 64 of them. */
export const APPROVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?$/;

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
  ssh_key: z
    .string({ error: "expected an SSH public key line (ssh-ed25519 AAAA…), the key the approver signs release tags with" })
    .regex(SSH_KEY, { error: "expected an SSH public key line such as ssh-ed25519 AAAA… (the content of the key's .pub file)" })
    .optional(),
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
  github_environments: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,255}$/, { error: "expected a GitHub environment name" }), {
      error: "expected an array of GitHub environment names",
    })
    .min(1, { error: "expected at least one environment" })
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

/** Applies the defaults to a validated `[approval]` table. */
export function approvalPolicyFrom(raw: z.output<typeof approvalSchema> | undefined): ApprovalPolicy {
  return {
    required: raw?.required ?? DEFAULT_REQUIRED_APPROVALS,
    waitMinutes: raw?.wait_minutes ?? DEFAULT_WAIT_MINUTES,
    approvers: (raw?.approvers ?? []).map((a, i) => ({
      name: a.name,
      publicKey: parsePublicKey(a.public_key, `approval.approvers.${i}.public_key`),
      ...(a.ssh_key === undefined ? {} : { sshKey: (SSH_KEY.exec(a.ssh_key) as RegExpExecArray)[1] as string }),
    })),
    approvalsDir: raw?.approvals_dir ?? DEFAULT_APPROVALS_DIR,
    githubEnvironments: raw?.github_environments ?? [...DEFAULT_GITHUB_ENVIRONMENTS],
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
