/** Who runs the stage, which version, and the CI run's page (GitHub Actions' variables when set). */
export function runIdentity(env: Readonly<Record<string, string | undefined>>): { who: string; version: string; runUrl?: string } {
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  const runUrl =
    env.GITHUB_REPOSITORY !== undefined && env.GITHUB_RUN_ID !== undefined
      ? `${server}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  return {
    who: env.GITHUB_ACTOR ?? env.USER ?? "unknown",
    version: env.GITHUB_REF_NAME ?? env.GITHUB_SHA?.slice(0, 7) ?? "local",
    ...(runUrl === undefined ? {} : { runUrl }),
  };
}
