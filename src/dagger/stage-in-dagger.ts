/**
 * The staging and production stages in the Dagger module. Their deploy,
 * paper-trading, hot-path and monitoring steps act from the pipeline's own
 * process on the machine it runs on (an engine process on stdin/stdout, an
 * allocation counter preloaded into a process, ssh sessions, the audit log),
 * so the module runs that process in a container: the pinned toolchain image
 * with openssh-client, git and Node 24 (copied from the pinned Node image),
 * this module's own source built there (`npm ci`, then `npm run build`, which
 * bundles the CLI), the workspace mounted with its git history, and cargo's
 * caches filled by one `cargo fetch` beforehand and read offline, like the
 * dev stage's containers (containers/rust-toolchain.ts). Inside, the stage is
 * exactly `shriven-pipeline run <stage>` on the host runner, the code the
 * host tests run end to end against real sshd hosts.
 *
 * Secrets reach the process only as secret variables (`withSecretVariable`);
 * the CI variables the gates read (who pushed the tag, the run whose reviews
 * count) come in as plain arguments. Every call acts on hosts, so the exec
 * gets a fresh `SHRIVEN_INVOCATION` and is never answered from the cache.
 *
 * The module cannot write the repository: the audit records the run appended
 * are printed after the stage's summary, for the CI job to append in order,
 * and so is a staging run's promotion record, for the CI job to push.
 */
import { randomUUID } from "node:crypto";
import { type Container, type Directory, dag, type File, ReturnType, type Secret } from "@dagger.io/dagger";
import { aptInstall } from "../../containers/debian-packages.js";
import { NODE_IMAGE, PIPELINE_PACKAGES } from "../../containers/images.js";
import { WORKSPACE_DIR, withCargoCaches } from "../../containers/rust-toolchain.js";
import { AUDIT_RECORDS_HEADER, DEFAULT_AUDIT_LOG } from "../audit-log/policy.js";
import { UsageError } from "../core/errors.js";
import { checkProductionGates } from "../pipeline/production-gates.js";
import { PROMOTION_FILE } from "../release/promotion.js";
import { PROMOTION_RECORD_HEADER } from "../release/promotion-ref.js";
import { PROMOTION_REFS } from "../release/promotion-store.js";
import { productionStage } from "../stages/production.js";
import { fetchDependencies } from "./cargo-fetch.js";
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
  /**
   * The environment's exchange keys (`TEST_…` in staging, `PROD_…` in production): checked by the secrets preflight,
   * written by the deploy to the hosts for the engine (src/deploy/exchange-keys.ts).
   */
  readonly TEST_ZERODHA_API_KEY?: Secret;
  readonly TEST_ZERODHA_API_SECRET?: Secret;
  readonly TEST_BINANCE_API_KEY?: Secret;
  readonly TEST_BINANCE_API_SECRET?: Secret;
  readonly PROD_ZERODHA_API_KEY?: Secret;
  readonly PROD_ZERODHA_API_SECRET?: Secret;
  readonly PROD_BINANCE_API_KEY?: Secret;
  readonly PROD_BINANCE_API_SECRET?: Secret;
  /** A private cargo registry's token; the CLI hands it only to the cargo commands that name it. */
  readonly CARGO_REGISTRY_TOKEN?: Secret;
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
  /** production: the trusted ref of the approval policy (`--policy-ref`). */
  readonly policyRef?: string;
  /** production: a recorded time the approval wait starts from (`--wait-starts-at`). */
  readonly waitStartsAt?: string;
  /** production: the emergency hotfix and its reason (`--emergency`). */
  readonly emergency?: string;
}

/**
 * The container the stage's process runs in: toolchain, ssh, git, Node 24 and this module's CLI, built;
 * cargo's caches mounted `offline` ({@link withCargoCaches}): the stage's cargo commands read what
 * {@link fetchDependencies} downloaded.
 */
export function pipelineContainer(): Container {
  const node = dag.container().from(NODE_IMAGE);
  const built = sshClientContainer()
    .withExec(aptInstall(PIPELINE_PACKAGES))
    .withFile("/usr/local/bin/node", node.file("/usr/local/bin/node"))
    .withDirectory("/usr/local/lib/node_modules/npm", node.directory("/usr/local/lib/node_modules/npm"))
    .withExec(["ln", "-s", "/usr/local/lib/node_modules/npm/bin/npm-cli.js", "/usr/local/bin/npm"])
    .withDirectory(PIPELINE_DIR, dag.currentModule().source(), { exclude: ["node_modules", "dist", "sdk", "**/target"] })
    .withWorkdir(PIPELINE_DIR)
    .withExec(["npm", "ci", "--no-audit", "--no-fund"])
    .withExec(["npm", "run", "build"])
    .withWorkdir(WORKSPACE_DIR);
  return withCargoCaches(built, "offline");
}

/**
 * Prints, once the CLI has exited, the audit records the run appended (the lines after `before`) and the
 * promotion record it wrote (when the commit's promotion ref moved: staging passed); keeps the CLI's exit code.
 */
export const RUN_AND_REPORT = `log="$1"; shift
before=$(cat "$log" 2>/dev/null | wc -l)
commit=$(git rev-parse HEAD 2>/dev/null)
ref="${PROMOTION_REFS}/$commit"
was=$(git rev-parse -q --verify "$ref" 2>/dev/null)
"$@"; code=$?
after=$(cat "$log" 2>/dev/null | wc -l)
if [ "$after" -gt "$before" ]; then
  echo
  echo "${AUDIT_RECORDS_HEADER} (publish them with shriven-pipeline audit-log push --records, or append them to ${DEFAULT_AUDIT_LOG} in the repository, in this order):"
  tail -n "+$((before + 1))" "$log"
fi
now=$(git rev-parse -q --verify "$ref" 2>/dev/null)
if [ -n "$commit" ] && [ -n "$now" ] && [ "$now" != "$was" ]; then
  echo
  echo "${PROMOTION_RECORD_HEADER} (publish it with shriven-pipeline promotion push --records):"
  printf 'promotion %s %s %s\\n' "$commit" "$(git cat-file blob "$ref:${PROMOTION_FILE}" | base64 -w0)" "$(git cat-file blob "$ref:${PROMOTION_FILE}.minisig" | base64 -w0)"
fi
exit "$code"`;

/** The CLI's arguments for `args` (validated like the CLI would, before anything runs). */
export function stageArgv(args: HostStageArgs): string[] {
  if (args.stage === "production" && (args.tag === undefined || args.tag.trim() === ""))
    throw new UsageError("production needs --tag vX.Y.Z (the release tag)");
  if (
    args.stage === "staging" &&
    [args.tag, args.overrideWindow, args.policyRef, args.waitStartsAt, args.emergency].some((a) => a !== undefined)
  )
    throw new UsageError(
      "--tag, --override-window, --policy-ref, --wait-starts-at and --emergency are arguments of production, not of staging",
    );
  if (args.stage === "production" && args.only !== undefined && args.only.length > 0)
    checkProductionGates(productionStage, {}, undefined, args.only);
  return [
    "node",
    `${PIPELINE_DIR}/bin/shriven-pipeline.js`,
    "run",
    args.stage,
    "--source",
    WORKSPACE_DIR,
    ...(args.tag === undefined ? [] : ["--tag", args.tag]),
    ...(args.overrideWindow === undefined ? [] : ["--override-window", args.overrideWindow]),
    ...(args.policyRef === undefined ? [] : ["--policy-ref", args.policyRef]),
    ...(args.waitStartsAt === undefined ? [] : ["--wait-starts-at", args.waitStartsAt]),
    ...(args.emergency === undefined ? [] : ["--emergency", args.emergency]),
    ...(args.envFile === undefined ? [] : ["--env-file", ENV_FILE_PATH]),
    ...(args.only === undefined || args.only.length === 0 ? [] : ["--only", args.only.join(",")]),
  ];
}

/**
 * Runs `shriven-pipeline run <stage>` in {@link pipelineContainer} on `source` (which must carry its git
 * history: the release tag, the commit). Returns the run's output (step lines, summary, the audit records it
 * appended); throws with that output when a gate failed, so `dagger call` exits non-zero.
 * @throws UsageError for arguments the stage refuses, before anything runs; DependencyFetchError when the
 *   workspace's dependencies cannot be fetched.
 */
export async function runHostStageInDagger(args: HostStageArgs): Promise<string> {
  const argv = stageArgv(args);
  await fetchDependencies(args.source, args.secrets.CARGO_REGISTRY_TOKEN);
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
