/** `shriven-pipeline publish`: a signed release folder made by `release`, published as a GitHub release. */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { allStepIds } from "../../stages/registry.js";
import { checkReleaseTag } from "../../supply-chain/release-tag.js";
import { type ParsedArgs, text, texts } from "../args.js";
import type { CliIo } from "../io.js";
import { publishReleaseFolder } from "../publish-release.js";

export { runPublish as run };

async function runPublish({ values }: ParsedArgs, io: CliIo): Promise<number> {
  const dir = text(values.dir);
  const tag = text(values.tag);
  if (dir === undefined || tag === undefined) throw new UsageError("publish needs --dir DIR (a signed release folder) and --tag vX.Y.Z");
  const source = resolve(io.cwd, text(values.source) ?? ".");
  const policy = loadPipelineConfig({ workspace: source, stepIds: allStepIds() }).policies.release;
  const verdict = checkReleaseTag(tag, [], policy);
  if (!verdict.ok) throw new UsageError(`--tag: ${verdict.reason}`);
  const folder = resolve(io.cwd, dir);
  let commit: string | undefined;
  try {
    commit = (JSON.parse(readFileSync(join(folder, "build.json"), "utf8")) as { commit?: string }).commit;
  } catch {
    throw new UsageError(`${dir} has no readable build.json: is it a release folder made by \`shriven-pipeline release\`?`);
  }
  return publishReleaseFolder(io, {
    dir: folder,
    tag,
    commit,
    repositoryName: text(values.repository) ?? policy.githubRepository ?? io.env.GITHUB_REPOSITORY,
    apiUrl: policy.githubApiUrl,
    reports: texts(values.report) ?? [],
  });
}
