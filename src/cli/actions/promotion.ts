/**
 * `shriven-pipeline promotion push --records F`: publishes the promotion record a staging stage run in Dagger
 * printed (see src/release/promotion-ref.ts) to `refs/shriven-pipeline/promotions/<commit>` on a remote, where
 * the production workflow fetches it.
 */
import { relative, resolve } from "node:path";
import { UsageError } from "../../core/errors.js";
import { readTextFile } from "../../core/read-text-file.js";
import { PROMOTION_RECORD_HEADER, promotionsIn, publishPromotion } from "../../release/promotion-ref.js";
import { PromotionStoreError } from "../../release/promotion-store.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliIo } from "../io.js";
import { runIdentity } from "../run-identity.js";

export { runPromotion as run };

async function runPromotion({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  if (positionals.length !== 1 || positionals[0] !== "push")
    throw new UsageError(
      `promotion: expected the subcommand push, got ${positionals.length === 0 ? "none" : JSON.stringify(positionals.join(" "))}`,
    );
  const records = text(values.records);
  if (records === undefined) throw new UsageError("promotion push needs --records F: the output of a staging run in Dagger");
  const file = resolve(io.cwd, records);
  const shown = relative(io.cwd, file) || file;
  const printed = promotionsIn(readTextFile(file), shown);
  if (printed.length === 0)
    throw new PromotionStoreError(
      `${shown} holds no promotion record (no "${PROMOTION_RECORD_HEADER}" line with a record after it): the staging run did not promote its commit`,
    );
  if (new Set(printed.map((p) => p.commit)).size !== printed.length)
    throw new PromotionStoreError(
      `${shown} holds more than one promotion record of the same commit: one staging run promotes one commit once`,
    );
  const remote = text(values.remote);
  for (const record of printed) {
    const result = await publishPromotion(resolve(io.cwd, text(values.source) ?? "."), record, {
      ...(remote === undefined ? {} : { remote }),
      committer: runIdentity(io.env).who,
    });
    io.stdout.write(
      `${result.pushed ? "Pushed" : "Already on the remote:"} the promotion record of ${record.commit} to ${remote ?? "origin"} ${result.ref} (commit ${result.commit.slice(0, 12)}, ${result.attempts} attempt${result.attempts === 1 ? "" : "s"})\n`,
    );
  }
  return 0;
}
