/**
 * `shriven-pipeline secrets check --env test|production`: the secrets preflight (src/secrets/) on the secrets
 * this process was given, with the rotation limits and declared dates of the workspace's `[secrets]` table and,
 * when `--repository` is named and GITHUB_TOKEN is set, their ages from GitHub's secret metadata. Prints names and
 * problems only; exit 1 on any error.
 */
import { type CliCommand, lazyRun } from "../command.js";

/** `secrets check --env test|production [--source DIR] [--repository OWNER/NAME] [--github-api URL]` */
export const command: CliCommand = {
  name: "secrets",
  operands: "check",
  summary: "Check an environment's secrets before a run: present, well-formed, test and production apart, rotated in time",
  usage: ["check --env test|production [--source DIR] [--repository OWNER/NAME] [--github-api URL]"],
  options: {
    env: { type: "string" },
    source: { type: "string" },
    repository: { type: "string" },
    "github-api": { type: "string" },
  },
  run: lazyRun(() => import("../actions/secrets.js")),
};
