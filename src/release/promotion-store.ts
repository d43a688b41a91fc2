/**
 * Where promotion records live: a git ref per commit in the workspace's
 * repository, `refs/shriven-pipeline/promotions/<commit>`, pointing at a
 * commit whose tree holds `promotion.json` and `promotion.json.minisig` (a
 * later staging run of the same commit adds a commit on top). A ref travels
 * with the repository: a local staging run leaves it where the local
 * production rehearsal looks, and CI pushes and fetches it like a branch
 * (`git push origin 'refs/shriven-pipeline/promotions/*'`). Its content is
 * trusted only after the signature is verified (see promotion.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command, ExecResult } from "../core/command.js";
import { PipelineError } from "../core/errors.js";
import { PROMOTION_FILE, type SignedPromotion } from "./promotion.js";

/** The ref prefix of promotion records. */
export const PROMOTION_REFS = "refs/shriven-pipeline/promotions";

/** The ref of `commit`'s promotion record. */
export const promotionRef = (commit: string): string => `${PROMOTION_REFS}/${commit}`;

/** Runs a command through a step's runner (in the workspace). */
export type Exec = (command: Command) => Promise<ExecResult>;

/** Writing or reading the record's ref failed: the message names the git command. */
export class PromotionStoreError extends PipelineError {
  override readonly name: string = "PromotionStoreError";
}

async function git(exec: Exec, args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const result = await exec({ argv: ["git", ...args], env });
  if (result.exitCode !== 0)
    throw new PromotionStoreError(`git ${args.join(" ")} failed (exit ${result.exitCode ?? "none"}): ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/**
 * Stores `signed` as `commit`'s promotion record. `scratch` is a folder of the workspace (as the runner's
 * commands see it, `scratchHost` as this process sees it) for the files git hashes; it is removed afterwards.
 * @returns The ref written.
 */
export async function writePromotion(
  exec: Exec,
  commit: string,
  signed: SignedPromotion,
  scratch: { readonly host: string; readonly workspace: string },
): Promise<string> {
  mkdirSync(scratch.host, { recursive: true });
  try {
    writeFileSync(join(scratch.host, PROMOTION_FILE), signed.text);
    writeFileSync(join(scratch.host, `${PROMOTION_FILE}.minisig`), signed.signature);
    const index = { GIT_INDEX_FILE: join(scratch.workspace, "index") };
    for (const file of [PROMOTION_FILE, `${PROMOTION_FILE}.minisig`]) {
      const blob = await git(exec, ["hash-object", "-w", "--", join(scratch.workspace, file)]);
      await git(exec, ["update-index", "--add", "--cacheinfo", `100644,${blob},${file}`], index);
    }
    const tree = await git(exec, ["write-tree"], index);
    const ref = promotionRef(commit);
    const previous = await exec({ argv: ["git", "rev-parse", "--verify", "-q", `${ref}^{commit}`] });
    const parent = previous.exitCode === 0 ? ["-p", previous.stdout.trim()] : [];
    const who = { GIT_AUTHOR_NAME: "shriven-pipeline", GIT_AUTHOR_EMAIL: "pipeline@shriven.invalid" };
    const record = await git(exec, ["-c", "commit.gpgsign=false", "commit-tree", tree, ...parent, "-m", `promotion of ${commit}`], {
      ...who,
      GIT_COMMITTER_NAME: who.GIT_AUTHOR_NAME,
      GIT_COMMITTER_EMAIL: who.GIT_AUTHOR_EMAIL,
    });
    await git(exec, ["update-ref", ref, record]);
    return ref;
  } finally {
    rmSync(scratch.host, { recursive: true, force: true });
  }
}

/** `commit`'s stored promotion record (unverified), or `undefined` when the repository has none. */
export async function readPromotion(exec: Exec, commit: string): Promise<SignedPromotion | undefined> {
  const ref = promotionRef(commit);
  const found = await exec({ argv: ["git", "rev-parse", "--verify", "-q", `${ref}^{commit}`] });
  if (found.exitCode !== 0) return undefined;
  const read = async (file: string): Promise<string> => {
    const result = await exec({ argv: ["git", "cat-file", "blob", `${ref}:${file}`] });
    if (result.exitCode !== 0) throw new PromotionStoreError(`${ref} holds no ${file}`);
    return result.stdout;
  };
  return { text: await read(PROMOTION_FILE), signature: await read(`${PROMOTION_FILE}.minisig`) };
}
