/**
 * Promotion records for tests that run production without running the whole staging stage first: the
 * commit's binaries built as staging builds them (real cargo, the workspace's `[release]` profile), and a
 * record of their SHA-256 signed with the release key and stored where staging stores it.
 */
import { join } from "node:path";
import { loadSigningKey } from "../../src/adapters/minisign.js";
import { loadPipelineConfig } from "../../src/config/pipeline-config.js";
import type { Command } from "../../src/core/command.js";
import { signPromotion } from "../../src/release/promotion.js";
import { writePromotion } from "../../src/release/promotion-store.js";
import { buildRelease } from "../../src/release/release-build.js";
import { HostRunner } from "../../src/runners/host-runner.js";
import { allStepIds } from "../../src/stages/registry.js";

/** Builds HEAD of `source` and stores its promotion record, signed with `seed` (a RELEASE_SIGNING_KEY); returns the commit. */
export async function promoteHead(source: string, seed: string, at = new Date()): Promise<string> {
  const runner = new HostRunner({ workspace: source });
  const exec = (command: Command) => runner.exec(command);
  const commit = (await exec({ argv: ["git", "rev-parse", "HEAD"] })).stdout.trim();
  const profile = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.release.profile;
  const built = await buildRelease(exec, profile, { version: `0.0.0-staging.${commit.slice(0, 7)}`, commit });
  const signed = signPromotion(
    {
      commit,
      promotedAt: at.toISOString(),
      artifacts: built.artifacts.map(({ binary, name, sha256 }) => ({ binary, name, sha256 })),
      reports: [],
      testHosts: ["test-1"],
    },
    loadSigningKey(seed, "RELEASE_SIGNING_KEY"),
    at,
  );
  const scratch = join(source, ".shriven-pipeline", "promotion-test");
  await writePromotion(exec, commit, signed, { host: scratch, workspace: scratch });
  return commit;
}
