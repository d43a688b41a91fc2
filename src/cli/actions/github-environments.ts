/**
 * `shriven-pipeline github-environments plan|apply`: the repository's GitHub environments (development, test,
 * production, production-approval-1, production-approval-2) as `[github_environments]` of shriven-pipeline.toml
 * wants them (src/github-environments/). plan prints the differences (exit 0 none, 3 some); apply makes the changes
 * and checks nothing differs after.
 */
import { resolve } from "node:path";
import { githubClient } from "../../adapters/github.js";
import { loadPipelineConfig } from "../../config/pipeline-config.js";
import { ConfigError, PipelineError, UsageError } from "../../core/errors.js";
import { EnvironmentsApi, GitHubEnvironmentsError } from "../../github-environments/github-calls.js";
import { APPROVAL_ENVIRONMENT_NAMES } from "../../github-environments/policy.js";
import { applyEnvironments, type EnvironmentsPlan, hasDrift, planEnvironments } from "../../github-environments/sync.js";
import { Redactor } from "../../report/redact.js";
import { allStepIds } from "../../stages/registry.js";
import { type OptionTable, type ParsedArgs, parseArguments, text } from "../args.js";
import type { CliCommand } from "../command.js";
import type { CliIo } from "../io.js";

/** What `plan` exits with when GitHub differs from the configuration (0: it matches; 1: failure; 2: usage). */
export const DRIFT_EXIT_CODE = 3;

/** Options of plan and apply. */
const OPTIONS: OptionTable = {
  repository: { type: "string" },
  "github-api": { type: "string" },
  source: { type: "string" },
};

/** Runs `github-environments` with its parsed arguments; returns the exit code. */
export const run: CliCommand["run"] = ({ positionals }, io) => runGitHubEnvironments(parseArguments(positionals, OPTIONS, true), io);

async function runGitHubEnvironments({ values, positionals }: ParsedArgs, io: CliIo): Promise<number> {
  const [subcommand, ...extra] = positionals;
  if ((subcommand !== "plan" && subcommand !== "apply") || extra.length > 0)
    throw new UsageError(
      `github-environments: expected plan or apply, got ${positionals.length === 0 ? "nothing" : JSON.stringify(positionals.join(" "))}`,
    );
  const config = loadPipelineConfig({ workspace: resolve(io.cwd, text(values.source) ?? "."), stepIds: allStepIds() });
  const approvalEnvironments = config.policies.approval.githubEnvironments;
  if (approvalEnvironments.join(",") !== APPROVAL_ENVIRONMENT_NAMES.join(","))
    throw new ConfigError(config.file ?? "shriven-pipeline.toml", [
      `approval.github_environments: ${approvalEnvironments.join(", ")}; github-environments manages only ${APPROVAL_ENVIRONMENT_NAMES.join(" and ")} (the default): use those names, or set up your approval environments by hand`,
    ]);
  const repository = text(values.repository) ?? config.policies.release.githubRepository;
  if (repository === undefined) throw new UsageError("github-environments: name the repository with --repository OWNER/NAME");
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository) || repository.endsWith("/..") || repository.endsWith("/."))
    throw new UsageError(`--repository: expected OWNER/NAME, got ${JSON.stringify(repository)}`);
  const apiUrl = text(values["github-api"]) ?? config.policies.release.githubApiUrl;
  if (!/^https?:\/\/[^\s/]+/.test(apiUrl)) throw new UsageError(`--github-api: expected an http(s) URL, got ${JSON.stringify(apiUrl)}`);
  const token = io.env.GITHUB_TOKEN;
  if (token === undefined || token === "") throw new UsageError("github-environments reads and writes GitHub: set GITHUB_TOKEN");
  const api = new EnvironmentsApi(githubClient({ token, baseUrl: apiUrl, timeoutMs: 15_000 }), repository);
  const policy = config.policies.githubEnvironments;
  try {
    if (subcommand === "apply") {
      const applied = await applyEnvironments(api, policy);
      io.stdout.write(`${describePlan(applied, "applied").join("\n")}\n`);
      return 0;
    }
    const plan = await planEnvironments(api, policy);
    io.stdout.write(`${describePlan(plan, "plan").join("\n")}\n`);
    if (plan.problems.length > 0) return 1;
    return hasDrift(plan) ? DRIFT_EXIT_CODE : 0;
  } catch (error) {
    // GitHub's own words end up in messages: never let the token through, whatever GitHub echoed.
    if (error instanceof PipelineError) throw new GitHubEnvironmentsError(new Redactor([token]).redact(error.message));
    throw error;
  }
}

/** The plan's lines: each environment's changes, the problems, then a summary. */
function describePlan(plan: EnvironmentsPlan, mode: "plan" | "applied"): string[] {
  const lines: string[] = [];
  for (const environment of plan.environments) {
    if (environment.changes.length === 0) lines.push(`✅ ${environment.name}: matches [github_environments]`);
    else lines.push(`${mode === "plan" ? "~" : "✅"} ${environment.name}:`, ...environment.changes.map((c) => `    ${c}`));
  }
  lines.push(...plan.problems.map((p) => `❌ ${p}`));
  const differing = plan.environments.filter((e) => e.changes.length > 0).length;
  if (mode === "applied")
    lines.push(`✅ applied ${differing} environment${differing === 1 ? "" : "s"}; GitHub now matches [github_environments]`);
  else if (plan.problems.length > 0)
    lines.push(`❌ ${plan.problems.length} problem${plan.problems.length === 1 ? "" : "s"} in [github_environments]`);
  else if (differing > 0)
    lines.push(
      `~ ${differing === 1 ? "1 environment differs" : `${differing} environments differ`} from [github_environments]; shriven-pipeline github-environments apply makes ${differing === 1 ? "it" : "them"} match`,
    );
  else lines.push("✅ GitHub matches [github_environments]");
  return lines;
}
