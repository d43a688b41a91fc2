/**
 * The checkpoint entry a pruned log starts with: its data, the bytes its signature covers, and its checks.
 *
 * Retention (design of the checkpoint): pruning removes the entries older than N days and writes, as the new
 * first line, ONE checkpoint entry that takes the place of the last removed entry — same `seq`, same `at`
 * (`prunedThroughSeq`, `lastRemovedAt`) and `prev` = the SHA-256 of that removed line (`prunedThroughHash`).
 * The kept entries are not rewritten: the first one still records that removed line's hash as its `prev`, so
 * a checkpoint's "chain hash" is `prunedThroughHash`, not the hash of its own line; the checkpoint's own bytes
 * are protected instead by an Ed25519 signature over all its fields ({@link checkpointMessage}). A checkpoint
 * is cumulative: it stands for entries 1…`prunedThroughSeq` (`prunedEntries` always equals that number), so
 * pruning again folds the old checkpoint into the new one.
 */
import { createPublicKey, verify as ed25519Verify } from "node:crypto";
import { z } from "zod";
import { keyIdHex, type PublicKey } from "../adapters/minisign.js";
import { timestampKey } from "../core/rfc3339.js";
import { closedObject } from "../core/zod-issues.js";
import { type AuditEntry, hashSchema, timestampSchema } from "./entry.js";

/** The `data` of a checkpoint entry. */
export const checkpointDataSchema = closedObject({
  prunedEntries: z.int().min(1),
  prunedThroughSeq: z.int().min(1),
  prunedThroughHash: hashSchema,
  firstRemovedAt: timestampSchema,
  lastRemovedAt: timestampSchema,
  prunedAt: timestampSchema,
  keyId: z.string().regex(/^[0-9A-F]{16}$/, "expected a minisign key id: 16 upper-case hex digits"),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "expected a base64 Ed25519 signature (64 bytes)"),
});

/** The `data` of a checkpoint entry, checked. */
export type CheckpointData = z.infer<typeof checkpointDataSchema>;

const CHECKPOINT_TAG = "shriven-pipeline audit-log checkpoint v1";
/** DER prefix that wraps a raw Ed25519 public key (SPKI) for Node's crypto. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * The exact bytes a checkpoint's signature covers: a JSON array of a version tag and every field of the
 * checkpoint entry but the signature, in a fixed order.
 */
export function checkpointMessage(checkpoint: {
  seq: number;
  at: string;
  actor: string;
  prev: string;
  data: Omit<CheckpointData, "signature">;
}): Buffer {
  const { data } = checkpoint;
  return Buffer.from(
    JSON.stringify([
      CHECKPOINT_TAG,
      checkpoint.seq,
      checkpoint.at,
      checkpoint.actor,
      checkpoint.prev,
      data.prunedEntries,
      data.prunedThroughSeq,
      data.prunedThroughHash,
      data.firstRemovedAt,
      data.lastRemovedAt,
      data.prunedAt,
      data.keyId,
    ]),
    "utf8",
  );
}

/**
 * Checks a checkpoint's own fields and its signature against the trusted release public key. A checkpoint
 * that cannot be verified — no key given, another key's id, a bad signature — is a problem: it stands for
 * entries nobody can see any more, so only the trusted key may vouch for it.
 */
export function checkCheckpoint(
  entry: AuditEntry,
  data: CheckpointData,
  publicKey: PublicKey | undefined,
): { problems: string[]; verified: boolean | "no key given" } {
  const problems: string[] = [];
  if (entry.seq !== data.prunedThroughSeq)
    problems.push(`checkpoint seq ${entry.seq} differs from data.prunedThroughSeq ${data.prunedThroughSeq}`);
  if (entry.prev !== data.prunedThroughHash) problems.push("checkpoint prev differs from data.prunedThroughHash");
  if (data.prunedEntries !== data.prunedThroughSeq) {
    problems.push(
      `checkpoint data.prunedEntries ${data.prunedEntries} differs from data.prunedThroughSeq ${data.prunedThroughSeq}: a checkpoint stands for entries 1–${data.prunedThroughSeq}`,
    );
  }
  if (entry.at !== data.lastRemovedAt) problems.push(`checkpoint at ${entry.at} differs from data.lastRemovedAt ${data.lastRemovedAt}`);
  const first = timestampKey(data.firstRemovedAt) as string;
  const last = timestampKey(data.lastRemovedAt) as string;
  if (first > last)
    problems.push(`checkpoint data.firstRemovedAt ${data.firstRemovedAt} is after data.lastRemovedAt ${data.lastRemovedAt}`);
  if (last > (timestampKey(data.prunedAt) as string)) {
    problems.push(`checkpoint data.lastRemovedAt ${data.lastRemovedAt} is after data.prunedAt ${data.prunedAt}: it prunes the future`);
  }
  if (publicKey === undefined) {
    problems.push(
      `checkpoint signed by key ${data.keyId} cannot be verified: no trusted public key was given (audit-log verify --public-key minisign.pub)`,
    );
    return { problems, verified: "no key given" };
  }
  const expected = keyIdHex(publicKey.keyId);
  if (data.keyId !== expected) {
    problems.push(
      `checkpoint signed by key ${data.keyId}, but the trusted public key is ${expected}: a checkpoint of a foreign key is refused (forged, or the wrong key was given)`,
    );
    return { problems, verified: false };
  }
  const { signature, ...signed } = data;
  let valid = false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey.publicKey]), format: "der", type: "spki" });
    valid = ed25519Verify(null, checkpointMessage({ ...entry, data: signed }), key, Buffer.from(signature, "base64"));
  } catch {
    valid = false;
  }
  if (!valid) problems.push(`checkpoint signature does not verify with key ${expected}: the checkpoint was edited or forged`);
  return { problems, verified: valid };
}
