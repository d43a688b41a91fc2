/**
 * The promotion record: what a passing staging run vouches for, signed with
 * the release key, so production deploys exactly what staging validated.
 *
 * The record names the commit, the SHA-256 of every released binary, the
 * digests of the staging reports (tests, benchmarks, paper trading, smoke),
 * the test hosts and the time on the pipeline's own clock. Its minisign
 * signature's trusted comment binds the file name and the commit. Production
 * reads it back, verifies it with the pinned release public key, requires its
 * commit to be the tag's, and accepts a build only when every binary is
 * bit-for-bit the one staging validated.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { keyIdHex, type PublicKey, type SigningKey, signFile, verifySignature } from "../adapters/minisign.js";
import { PipelineError } from "../core/errors.js";
import { parseRfc3339 } from "../core/rfc3339.js";
import { describeIssues } from "../core/zod-issues.js";

/** The record's format id. */
export const PROMOTION_FORMAT = "shriven-pipeline/promotion/v1";

/** The record's file name (also in the signature's trusted comment). */
export const PROMOTION_FILE = "promotion.json";

/** One released binary as staging built and validated it. */
export interface PromotedArtifact {
  /** Cargo's binary name (the file name carries the version, which differs between staging and production). */
  readonly binary: string;
  /** The file staging released. */
  readonly name: string;
  readonly sha256: string;
}

/** One staging report the record vouches for: the step's result as reported, and the SHA-256 of its JSON. */
export interface PromotedReport {
  readonly step: string;
  readonly status: string;
  readonly summary: string;
  readonly sha256: string;
}

/** What a passing staging run vouches for. */
export interface PromotionRecord {
  readonly format: typeof PROMOTION_FORMAT;
  readonly commit: string;
  /** When staging passed, on the pipeline's own clock (RFC 3339): the approval wait starts here. */
  readonly promotedAt: string;
  readonly artifacts: readonly PromotedArtifact[];
  readonly reports: readonly PromotedReport[];
  /** The test hosts staging deployed to and smoke-tested. */
  readonly testHosts: readonly string[];
  /** The staging run's page, when there is one. */
  readonly run?: string;
  /** The signing key's id. */
  readonly keyId: string;
}

/** A record with its detached minisign signature, as stored. */
export interface SignedPromotion {
  /** The record's bytes (JSON), exactly as signed. */
  readonly text: string;
  /** The `.minisig` text. */
  readonly signature: string;
}

/** No valid promotion record: production refuses, naming the commit and why. */
export class PromotionRefused extends PipelineError {
  override readonly name: string = "PromotionRefused";
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: "expected 64 lowercase hex digits" });

const recordSchema = z.strictObject({
  format: z.literal(PROMOTION_FORMAT, { error: `expected "${PROMOTION_FORMAT}"` }),
  commit: z.string().regex(/^[0-9a-f]{40}$/, { error: "expected a 40-digit commit id" }),
  promotedAt: z.string().refine((v) => parseRfc3339(v) !== undefined, { error: "expected an RFC 3339 time" }),
  artifacts: z
    .array(z.strictObject({ binary: z.string().min(1), name: z.string().min(1), sha256: sha256Hex }))
    .min(1, { error: "expected at least one artifact" }),
  reports: z.array(z.strictObject({ step: z.string(), status: z.string(), summary: z.string(), sha256: sha256Hex })),
  testHosts: z.array(z.string()),
  run: z.string().optional(),
  keyId: z.string().regex(/^[0-9A-F]{16}$/, { error: "expected a 16-digit key id" }),
});

/** The SHA-256 of `text`, hex. */
export function sha256Of(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Signs `record` (its JSON, as stored) with the release key. */
export function signPromotion(record: Omit<PromotionRecord, "format" | "keyId">, key: SigningKey, now: Date): SignedPromotion {
  const full: PromotionRecord = { format: PROMOTION_FORMAT, ...record, keyId: keyIdHex(key.keyId) };
  const text = `${JSON.stringify(full, null, 2)}\n`;
  const signature = signFile(Buffer.from(text), key, {
    trustedComment: `timestamp:${Math.floor(now.getTime() / 1000)}\tfile:${PROMOTION_FILE}\tcommit:${record.commit}`,
    untrustedComment: `promotion of ${record.commit} signed by shriven-pipeline key ${full.keyId}`,
  });
  return { text, signature };
}

/** The `name:` field of a trusted comment (`timestamp:…\tfile:…\tcommit:…`). */
export function commentField(trustedComment: string, name: string): string | undefined {
  return trustedComment
    .split("\t")
    .find((part) => part.startsWith(`${name}:`))
    ?.slice(name.length + 1);
}

/**
 * The record of `commit`, verified: signed by one of `keys`, its trusted comment naming the record file and
 * `commit`, its content well formed and for `commit`.
 * @throws PromotionRefused naming the commit and what failed.
 */
export function verifyPromotion(signed: SignedPromotion, keys: readonly PublicKey[], commit: string): PromotionRecord {
  const refuse = (why: string): never => {
    throw new PromotionRefused(`the promotion record of ${commit} is refused: ${why}`);
  };
  if (keys.length === 0) refuse("no pinned release public key to verify it with");
  const problems: string[] = [];
  let trustedComment: string | undefined;
  for (const key of keys) {
    try {
      trustedComment = verifySignature(Buffer.from(signed.text), signed.signature, key, `${PROMOTION_FILE}.minisig`).trustedComment;
      break;
    } catch (error) {
      problems.push(`key ${keyIdHex(key.keyId)}: ${(error as Error).message}`);
    }
  }
  if (trustedComment === undefined) return refuse(`its signature does not verify with the pinned release key (${problems.join("; ")})`);
  if (commentField(trustedComment, "file") !== PROMOTION_FILE || commentField(trustedComment, "commit") !== commit)
    refuse(`its signature's trusted comment is for another record: ${trustedComment}`);
  let raw: unknown;
  try {
    raw = JSON.parse(signed.text);
  } catch {
    return refuse(`${PROMOTION_FILE} is not JSON`);
  }
  const parsed = recordSchema.safeParse(raw);
  if (!parsed.success) return refuse(`${PROMOTION_FILE}: ${describeIssues(parsed.error.issues).join("; ")}`);
  if (parsed.data.commit !== commit) refuse(`it is the record of ${parsed.data.commit}, not of ${commit}`);
  return parsed.data as PromotionRecord;
}

/**
 * Why `built` is not what `record` promoted, or `undefined` when every binary is bit-for-bit the one staging
 * validated (same binaries, same SHA-256 each).
 */
export function promotionMismatch(
  record: PromotionRecord,
  built: readonly { readonly binary: string; readonly sha256: string }[],
): string | undefined {
  const promoted = new Map(record.artifacts.map((a) => [a.binary, a.sha256]));
  const problems: string[] = [];
  for (const artifact of built) {
    const expected = promoted.get(artifact.binary);
    if (expected === undefined) problems.push(`${artifact.binary} was not built by staging`);
    else if (expected !== artifact.sha256)
      problems.push(
        `${artifact.binary} has SHA-256 ${artifact.sha256}, staging validated ${expected}: the rebuild is not bit-for-bit identical`,
      );
  }
  for (const binary of promoted.keys())
    if (!built.some((a) => a.binary === binary)) problems.push(`${binary}, validated by staging, was not built`);
  return problems.length === 0 ? undefined : problems.join("; ");
}
