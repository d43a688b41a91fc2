/**
 * `shriven-pipeline secrets check --env test|production`: the secrets preflight (src/secrets/) on the secrets
 * this process was given, with the rotation limits and declared dates of the workspace's `[secrets]` table and,
 * when `--repository` is named and GITHUB_TOKEN is set, their ages from GitHub's secret metadata. Prints names and
 * problems only; exit 1 on any error.
 */
import { resolve } from "node:path";
import { githubClient } from "../../adapters/github.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { UsageError } from "../../core/errors.js";
import { secretAgesFromGitHub } from "../../secrets/github-secret-ages.js";
import { isSecretName, preflightSecrets, type SecretEnvironment } from "../../secrets/preflight.js";
import { allStepIds } from "../../stages/registry.js";
import { type ParsedArgs, text } from "../args.js";
import type { CliIo } from "../io.js";

export { runSecrets as run };

async function runSecrets({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  if (positionals.length !== 1 || positionals[0] !== "check")
    throw new UsageError(
      `secrets: expected the subcommand check, got ${positionals.length === 0 ? "none" : JSON.stringify(positionals.join(" "))}`,
    );
  const environment = text(values.env);
  if (environment !== "test" && environment !== "production")
    throw new UsageError(`--env: expected test or production, got ${environment === undefined ? "nothing" : JSON.stringify(environment)}`);
  const rotation = loadPipelineConfig({ workspace: resolve(io.cwd, text(values.source) ?? "."), stepIds: allStepIds() }).policies
    .secretRotation;
  const secrets = Object.fromEntries(Object.entries(io.env).filter(([name]) => isSecretName(name)));
  const repository = text(values.repository);
  let updatedAt: Record<string, Date> | undefined;
  if (repository !== undefined) {
    if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository))
      throw new UsageError(`--repository: expected OWNER/NAME, got ${JSON.stringify(repository)}`);
    const token = io.env.GITHUB_TOKEN;
    if (token === undefined || token === "") throw new UsageError("--repository reads secret ages from GitHub: set GITHUB_TOKEN");
    const apiUrl = text(values["github-api"]);
    const client = githubClient({ token, timeoutMs: 15_000, ...(apiUrl === undefined ? {} : { baseUrl: apiUrl }) });
    updatedAt = await secretAgesFromGitHub(client, repository, environment);
  }
  // GitHub's record of when a secret was set wins over a date declared in the config.
  updatedAt = { ...rotation.rotated, ...updatedAt };
  const findings = preflightSecrets({
    environment: environment as SecretEnvironment,
    values: secrets,
    now: new Date(),
    updatedAt,
    rotation,
  });
  const errors = findings.filter((f) => f.severity === "error").length;
  io.stdout.write(
    [
      ...findings.map((f) => `${f.severity === "error" ? "❌" : "⚠️"} ${f.name} ${f.problem}`),
      errors === 0
        ? `✅ ${environment} secrets pass the preflight (${Object.keys(secrets).length} checked${repository === undefined ? "" : ", ages from GitHub"})`
        : `❌ ${errors} problem${errors === 1 ? "" : "s"} with the ${environment} secrets`,
      "",
    ].join("\n"),
  );
  return errors === 0 ? 0 : 1;
}
