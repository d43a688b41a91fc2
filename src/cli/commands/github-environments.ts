/**
 * `shriven-pipeline github-environments plan|apply`: the repository's GitHub environments (development, test,
 * production, production-approval-1, production-approval-2) as `[github_environments]` of shriven-pipeline.toml
 * wants them (src/github-environments/). plan prints the differences (exit 0 none, 3 some); apply makes the changes
 * and checks nothing differs after.
 */
import { type CliCommand, lazyRun } from "../command.js";

/**
 * `github-environments plan|apply [--repository OWNER/NAME] [--github-api URL] [--source DIR]`; it parses its
 * options itself, so that the usage's command column keeps its width.
 */
export const command: CliCommand = {
  name: "github-environments",
  summary:
    "Compare the repository's GitHub environments with [github_environments] (plan: exit 3 on a difference) or make them match (apply)",
  usage: ["plan|apply [--repository OWNER/NAME] [--github-api URL] [--source DIR]"],
  run: lazyRun(() => import("../actions/github-environments.js")),
};
