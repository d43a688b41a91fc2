/**
 * The staging and production stages in the Dagger module. Their deploy,
 * paper-trading, hot-path and monitoring steps act from the pipeline's own
 * process on the machine it runs on (an engine process on stdin/stdout, an
 * allocation counter preloaded into a process, ssh sessions, the audit log),
 * so the module runs that process in a container: the pinned toolchain image
 * with openssh-client, git and Node 20 (copied from the pinned Node image),
 * this module's own source built there (`npm ci`, which bundles the CLI),
 * and the workspace mounted with its git history. Inside, the stage is
 * exactly `shriven-pipeline run <stage>` on the host runner, the code the
 * host tests run end to end against real sshd hosts.
 *
 * Secrets reach the process only as secret variables (`withSecretVariable`);
 * the CI variables the gates read (who pushed the tag, the run whose reviews
 * count) come in as plain arguments. Every call acts on hosts, so the exec
 * gets a fresh `SHRIVEN_INVOCATION` and is never answered from the cache.
 *
 * The module cannot write the repository: the audit records the run appended
 * are printed after the stage's summary, for the CI job to append in order.
 */
import { randomUUID } from "node:crypto";
import { type Container, type Directory, dag, type File, ReturnType, type Secret } from "@dagger.io/dagger";
import { NODE_IMAGE, PIPELINE_PACKAGES } from "../../containers/images.js";
import { WORKSPACE_DIR } from "../../containers/rust-toolchain.js";
import { DEFAULT_AUDIT_LOG } from "../audit/audit-log.js";
import { UsageError } from "../core/errors.js";
import { INVOCATION_VARIABLE, sshClientContainer } from "./container-ssh.js";

/** Where the module's own source is built in the container. */
export const PIPELINE_DIR = "/opt/shriven-pipeline";

/** Where an `--env-file` is mounted. */
const ENV_FILE_PATH = "/run/shriven-env/stage.env";

/** The secrets a stage run may use, by the variable the CLI reads. */
export interface StageSecrets {
  readonly SSH_DEPLOY_KEY?: Secret;
  readonly RELEASE_SIGNING_KEY?: Secret;
  readonly GITHUB_TOKEN?: Secret;
  readonly SLACK_WEBHOOK_URL?: Secret;
}

/** Arguments of the `staging` and `production` functions. */
export interface HostStageArgs {
  readonly stage: "staging" | "production";
  readonly source: Directory;
  readonly secrets: StageSecrets;
  readonly envFile?: File;
  readonly only?: readonly string[];
  /** production: the release tag. */
  readonly tag?: string;
  /** production: the emergency override of the deployment window, with its reason. */
  readonly overrideWindow?: string;
  /** Who runs the stage (GITHUB_ACTOR): the lock holder, the audit log's actor, the tag's pusher on a tag push. */
  readonly actor?: string;
  /** The workflow run whose deployment reviews count as approvals (GITHUB_RUN_ID). */
  readonly runId?: string;
  /** OWNER/NAME (GITHUB_REPOSITORY): for the approvals and the GitHub release. */
  readonly repository?: string;
}

/** The container the stage's process runs in: toolchain, ssh, git, Node 20 and this module's CLI, built. */
export function pipelineContainer(): Container {
  const node = dag.container().from(NODE_IMAGE);
  return sshClientContainer()
    .withExec([
      "sh",
      "-c",
      `apt-get update && apt-get install -y --no-install-recommends ${PIPELINE_PACKAGES.join(" ")} && rm -rf /var/lib/apt/lists/*`,
    ])
    .withFile("/usr/local/bin/node", node.file("/usr/local/bin/node"))
    .withDirectory("/usr/local/lib/node_modules/npm", node.directory("/usr/local/lib/node_modules/npm"))
    .withExec(["ln", "-s", "/usr/local/lib/node_modules/npm/bin/npm-cli.js", "/usr/local/bin/npm"])
    .withDirectory(PIPELINE_DIR, dag.currentModule().source(), { exclude: ["node_modules", "dist", "sdk", "**/target"] })
    .withWorkdir(PIPELINE_DIR)
    .withExec(["npm", "ci", "--no-audit", "--no-fund"])
    .withWorkdir(WORKSPACE_DIR);
}

/** Prints the audit records the run appended (the lines after `before`) once the CLI has exited; keeps its exit code. */
const RUN_AND_REPORT = `log="$1"; shift
before=$(cat "$log" 2>/dev/null | wc -l)
"$@"; code=$?
after=$(cat "$log" 2>/dev/null | wc -l)
if [ "$after" -gt "$before" ]; then
  echo
  echo "Audit records of this run (append them to ${DEFAULT_AUDIT_LOG} in the repository, in this order):"
  tail -n "+$((before + 1))" "$log"
fi
exit "$code"`;

/** The CLI's arguments for `args` (validated like the CLI would, before anything runs). */
export function stageArgv(args: HostStageArgs): string[] {
  if (args.stage === "production" && (args.tag === undefined || args.tag.trim() === ""))
    throw new UsageError("production needs --tag vX.Y.Z (the release tag)");
  if (args.stage === "staging" && (args.tag !== undefined || args.overrideWindow !== undefined))
    throw new UsageError("--tag and --override-window are arguments of production, not of staging");
  return [
    "node",
    `${PIPELINE_DIR}/bin/shriven-pipeline.js`,
    "run",
    args.stage,
    "--source",
    WORKSPACE_DIR,
    ...(args.tag === undefined ? [] : ["--tag", args.tag]),
    ...(args.overrideWindow === undefined ? [] : ["--override-window", args.overrideWindow]),
    ...(args.envFile === undefined ? [] : ["--env-file", ENV_FILE_PATH]),
    ...(args.only === undefined || args.only.length === 0 ? [] : ["--only", args.only.join(",")]),
  ];
}

/**
 * Runs `shriven-pipeline run <stage>` in {@link pipelineContainer} on `source` (which must carry its git
 * history: the release tag, the commit). Returns the run's output (step lines, summary, the audit records it
 * appended); throws with that output when a gate failed, so `dagger call` exits non-zero.
 * @throws UsageError for arguments the stage refuses, before anything runs.
 */
export async function runHostStageInDagger(args: HostStageArgs): Promise<string> {
  const argv = stageArgv(args);
  let container = pipelineContainer().withMountedDirectory(WORKSPACE_DIR, args.source).withEnvVariable("CI", "true");
  for (const [name, secret] of Object.entries(args.secrets))
    if (secret !== undefined) container = container.withSecretVariable(name, secret);
  if (args.envFile !== undefined) container = container.withMountedFile(ENV_FILE_PATH, args.envFile);
  const ci: Record<string, string | undefined> = {
    GITHUB_ACTOR: args.actor,
    GITHUB_RUN_ID: args.runId,
    GITHUB_REPOSITORY: args.repository,
    // The actor of a production run started by the tag push is the tag's pusher.
    GITHUB_REF: args.stage === "production" && args.actor !== undefined ? `refs/tags/${args.tag}` : undefined,
  };
  for (const [name, value] of Object.entries(ci)) if (value !== undefined) container = container.withEnvVariable(name, value);
  const ran = container
    .withEnvVariable(INVOCATION_VARIABLE, randomUUID())
    .withExec(["sh", "-c", RUN_AND_REPORT, "sh", `${WORKSPACE_DIR}/${DEFAULT_AUDIT_LOG}`, ...argv], { expect: ReturnType.Any });
  const [exitCode, stdout, stderr] = await Promise.all([ran.exitCode(), ran.stdout(), ran.stderr()]);
  const output = [stdout, stderr].filter((s) => s.trim() !== "").join("\n");
  if (exitCode !== 0) throw new Error(`shriven-pipeline run ${args.stage} exited with ${exitCode}\n${output}`);
  return output;
}
