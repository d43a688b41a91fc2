/**
 * When each secret was last set, from GitHub's secret metadata (never values): the repository's Actions
 * secrets and the environment's, the environment's taking precedence (`updated_at`).
 */
import type { Octokit } from "octokit";

/** `name` → when it was last updated, for the repository and `environment` (environment secrets win). */
export async function secretAgesFromGitHub(client: Octokit, repository: string, environment: string): Promise<Record<string, Date>> {
  const [owner, repo, ...rest] = repository.split("/");
  if (owner === undefined || repo === undefined || owner === "" || repo === "" || rest.length > 0)
    throw new Error(`expected OWNER/NAME, got ${JSON.stringify(repository)}`);
  type Listed = { name: string; updated_at: string };
  const repositorySecrets = (await client.paginate("GET /repos/{owner}/{repo}/actions/secrets", {
    owner,
    repo,
    per_page: 100,
  })) as Listed[];
  const environmentSecrets = (await client.paginate("GET /repos/{owner}/{repo}/environments/{environment_name}/secrets", {
    owner,
    repo,
    environment_name: environment,
    per_page: 100,
  })) as Listed[];
  const ages: Record<string, Date> = {};
  for (const secret of [...repositorySecrets, ...environmentSecrets]) ages[secret.name] = new Date(secret.updated_at);
  return ages;
}
