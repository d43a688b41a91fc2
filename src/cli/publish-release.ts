/**
 * Publishing a signed release folder as a GitHub release, for `release
 * --publish` and `publish`: idempotent (identical assets are skipped), with the
 * folder marked as released afterwards.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomically } from "../core/atomic-file.js";
import { UsageError } from "../core/errors.js";
import { publishRelease } from "../release/github-release.js";
import { ReleaseError } from "../release/release-error.js";
import { RELEASED_FILE } from "../release/retention.js";
import type { GateIo } from "./io.js";

/** What {@link publishReleaseFolder} publishes, and where. */
export interface PublishOptions {
  /** The signed release folder. */
  readonly dir: string;
  readonly tag: string;
  /** The commit the release was built from (its target), when known. */
  readonly commit: string | undefined;
  /** OWNER/NAME on GitHub. */
  readonly repositoryName: string | undefined;
  readonly apiUrl: string;
  /** Report files given with --report; the Markdown ones make the release notes. */
  readonly reports: readonly string[];
}

/**
 * Publishes the release folder `dir` to GitHub; re-running it is idempotent (identical assets are skipped).
 * Returns the exit code. @throws UsageError without GITHUB_TOKEN or a repository.
 */
export async function publishReleaseFolder(io: GateIo, options: PublishOptions): Promise<number> {
  const { dir, tag } = options;
  const token = io.env.GITHUB_TOKEN;
  if (token === undefined || token === "") throw new UsageError("publishing needs the GITHUB_TOKEN secret");
  if (options.repositoryName === undefined)
    throw new UsageError("publishing needs --repository OWNER/NAME, [release] github_repository or $GITHUB_REPOSITORY");
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repositoryName))
    throw new UsageError(`--repository: expected OWNER/NAME, got ${JSON.stringify(options.repositoryName)}`);
  const [owner, repo] = options.repositoryName.split("/") as [string, string];
  const notesFrom = options.reports.filter((r) => r.endsWith(".md"));
  const notes =
    notesFrom.length > 0
      ? notesFrom.map((r) => readFileSync(resolve(io.cwd, r), "utf8")).join("\n")
      : `Release ${tag}${options.commit === undefined ? "" : ` (${options.commit})`}. Verify: \`minisign -Vm FILE -p minisign.pub\` and \`sha256sum -c SHA256SUMS\`.`;
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== RELEASED_FILE && !e.name.endsWith(".tmp"))
    .map((e) => e.name)
    .sort();
  try {
    const published = await publishRelease({
      token,
      owner,
      repo,
      tag,
      notes,
      ...(options.commit === undefined ? {} : { targetCommitish: options.commit }),
      baseUrl: options.apiUrl,
      assets: names.map((name) => ({ path: join(dir, name), name })),
    });
    writeFileAtomically(
      join(dir, RELEASED_FILE),
      `${JSON.stringify({ tag, releasedAt: new Date().toISOString(), url: published.htmlUrl }, null, 2)}\n`,
    );
    io.stdout.write(
      `✅ GitHub release ${tag}: ${published.htmlUrl} (${published.created ? "created" : "reused"}; uploaded ${published.uploaded.length}, already there ${published.skipped.length})\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    io.stdout.write(`❌ GitHub release: ${error.message}\n`);
    return 1;
  }
}
