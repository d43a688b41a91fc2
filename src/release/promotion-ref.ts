/**
 * Promotion records across CI runs. In CI the staging stage runs in a
 * throwaway Dagger container, so the ref it writes there
 * (`refs/shriven-pipeline/promotions/<commit>`) dies with it; the module
 * prints the record after the stage's output instead, one line
 *
 *     promotion <commit> <promotion.json, base64> <promotion.json.minisig, base64>
 *
 * under {@link PROMOTION_RECORD_HEADER}, and the staging workflow publishes it
 * with `shriven-pipeline promotion push --records stage-output.txt`: the ref
 * is fetched, the record committed on top of it and pushed with a lease,
 * retried (bounded) when another run pushed first. The production workflow
 * fetches the tagged commit's ref before the stage, which verifies the
 * signature: nothing here is trusted for being on the ref, only for verifying.
 */
import { backoff, git, pipelineIdentity, REJECTED_PUSH } from "../adapters/git.js";
import { PROMOTION_FILE, PROMOTION_FORMAT, type SignedPromotion } from "./promotion.js";
import { PromotionStoreError, promotionRef } from "./promotion-store.js";

/** The line before the printed record in a stage's output. */
export const PROMOTION_RECORD_HEADER = "Promotion record of this run";

/** A record as a stage run printed it. */
export interface PrintedPromotion {
  readonly commit: string;
  readonly signed: SignedPromotion;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Where a fetched copy of the remote's record is kept in the local repository. */
const FETCHED_REF = "refs/shriven-pipeline/fetched-promotion";

function decode(field: string, what: string, where: string): string {
  const bytes = Buffer.from(field, "base64");
  if (field.length % 4 !== 0 || !BASE64.test(field) || bytes.toString("base64") !== field)
    throw new PromotionStoreError(`${where}: ${what} is not base64`);
  const text = bytes.toString("utf8");
  if (Buffer.from(text, "utf8").toString("base64") !== field) throw new PromotionStoreError(`${where}: ${what} is not UTF-8 text`);
  return text;
}

/**
 * The promotion records printed in a stage's `output` (read from `source`): the `promotion …` lines right after
 * the LAST header. The module prints its header after the CLI has exited, so anything the workspace's own code
 * printed (a test, a build script) comes before it and is never read as a record. Each is checked for form (a commit id, base64 of a JSON record of that commit and of a minisign
 * signature); the signature is verified where it counts, by production.
 * @throws PromotionStoreError naming `source` and the line when a record line is malformed.
 */
export function promotionsIn(output: string, source: string): PrintedPromotion[] {
  const lines = output.split("\n");
  const header = lines.findLastIndex((l) => l.startsWith(PROMOTION_RECORD_HEADER));
  if (header === -1) return [];
  const found: PrintedPromotion[] = [];
  for (let i = header + 1; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, "");
    if (!line.startsWith("promotion ")) break;
    const where = `${source} line ${i + 1}`;
    const fields = line.split(" ");
    if (fields.length !== 4)
      throw new PromotionStoreError(`${where}: expected "promotion <commit> <record> <signature>", got ${fields.length} fields`);
    const [, commit, recordField, signatureField] = fields as [string, string, string, string];
    if (!COMMIT.test(commit)) throw new PromotionStoreError(`${where}: ${JSON.stringify(commit.slice(0, 80))} is not a commit id`);
    const text = decode(recordField, PROMOTION_FILE, where);
    const signature = decode(signatureField, `${PROMOTION_FILE}.minisig`, where);
    let record: { format?: unknown; commit?: unknown };
    try {
      record = JSON.parse(text) as typeof record;
    } catch {
      throw new PromotionStoreError(`${where}: ${PROMOTION_FILE} is not JSON`);
    }
    if (typeof record !== "object" || record === null || record.format !== PROMOTION_FORMAT)
      throw new PromotionStoreError(`${where}: ${PROMOTION_FILE} is not a ${PROMOTION_FORMAT} record`);
    if (record.commit !== commit)
      throw new PromotionStoreError(`${where}: the record is of ${String(record.commit)}, the line names ${commit}`);
    if (!signature.startsWith("untrusted comment: ")) throw new PromotionStoreError(`${where}: the signature is not a minisign signature`);
    found.push({ commit, signed: { text, signature } });
  }
  return found;
}

/** What {@link publishPromotion} did. */
export interface PublishedPromotion {
  readonly ref: string;
  /** The commit the ref now names. */
  readonly commit: string;
  /** Whether a new commit was pushed (false: the remote already held this very record). */
  readonly pushed: boolean;
  readonly attempts: number;
}

/**
 * Pushes `printed` to `remote` as `refs/shriven-pipeline/promotions/<commit>`, on top of what the remote holds
 * (an earlier staging run of the same commit stays in the ref's history).
 * @throws PromotionStoreError when git fails, or every round was rejected.
 */
export async function publishPromotion(
  repoDir: string,
  printed: PrintedPromotion,
  options: { readonly remote?: string; readonly attempts?: number; readonly committer?: string } = {},
): Promise<PublishedPromotion> {
  const remote = options.remote ?? "origin";
  if (remote.startsWith("-")) throw new PromotionStoreError(`${remote}: a remote may not start with '-'`);
  const ref = promotionRef(printed.commit);
  const attempts = options.attempts ?? 5;
  const run = async (args: readonly string[], input?: string, env?: Record<string, string>): Promise<string> => {
    const result = await git(repoDir, args, input, env);
    if (!result.ok) throw new PromotionStoreError(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout.toString("utf8").trim();
  };
  const rejections: string[] = [];
  for (let round = 1; round <= attempts; round++) {
    const fetched = await git(repoDir, ["fetch", "--quiet", "--no-tags", "--", remote, `+${ref}:${FETCHED_REF}`]);
    if (!fetched.ok && !/couldn't find remote ref|no such ref/i.test(fetched.stderr))
      throw new PromotionStoreError(`git fetch ${remote} ${ref} failed: ${fetched.stderr}`);
    const parent = fetched.ok ? await run(["rev-parse", "--verify", `${FETCHED_REF}^{commit}`]) : undefined;
    const blobs = [
      await run(["hash-object", "-w", "--stdin"], printed.signed.text),
      await run(["hash-object", "-w", "--stdin"], printed.signed.signature),
    ];
    const tree = await run(["mktree"], `100644 blob ${blobs[0]}\t${PROMOTION_FILE}\n100644 blob ${blobs[1]}\t${PROMOTION_FILE}.minisig\n`);
    if (parent !== undefined && (await run(["rev-parse", `${parent}^{tree}`])) === tree)
      return { ref, commit: parent, pushed: false, attempts: round };
    const identity = pipelineIdentity(options.committer ?? "shriven-pipeline");
    const commit = await run(
      ["commit-tree", tree, ...(parent === undefined ? [] : ["-p", parent]), "-m", `promotion of ${printed.commit}`],
      undefined,
      identity,
    );
    const lease = `--force-with-lease=${ref}:${parent ?? ""}`;
    const pushed = await git(repoDir, ["push", "--quiet", "--no-verify", lease, "--", remote, `${commit}:${ref}`]);
    if (pushed.ok) return { ref, commit, pushed: true, attempts: round };
    if (!REJECTED_PUSH.test(pushed.stderr)) throw new PromotionStoreError(`git push ${remote} ${ref} failed: ${pushed.stderr}`);
    rejections.push(pushed.stderr.split("\n")[0] ?? "rejected");
    await backoff(round);
  }
  throw new PromotionStoreError(
    `the push of ${ref} to ${remote} was rejected ${attempts} times (other runs kept pushing first): ${rejections.join("; ")}`,
  );
}
