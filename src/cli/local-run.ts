/**
 * What `run` settles about where a stage deploys before it starts, and what a
 * local run (`run staging|production --local`, as `scripts/deploy/local-deploy.sh`
 * starts it) prepares on a machine that has nothing but the workspace:
 *
 * - local targets: an environment without hosts gets its `[deploy.<env>.local]`
 *   targets resolved (folders under `.shriven-pipeline/local-targets/`, a free
 *   port each), where local-targets.ts allows it; a production run that is not
 *   the rehearsal and would deploy is refused (exit 2) before any step runs;
 * - signing: a local run without RELEASE_SIGNING_KEY signs with a key
 *   generated for the run, labelled in the output and the report, its public
 *   key pinned for the run's local targets only;
 * - the performance baseline: a local run on a machine with none records it
 *   first (`perf --save-baseline`, with its reason), and says so;
 * - afterwards, every local target's service is stopped: no process is left.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatPublicKey, keyIdHex, loadSigningKey, type SigningKey } from "../adapters/minisign.js";
import type { ResolvedEnvironment } from "../config/env-profile.js";
import type { PipelineConfig } from "../config/pipeline-config.js";
import { UsageError } from "../core/errors.js";
import { freePorts, LOCAL_TARGETS_DIR, localInventory, localTargetsRefusal, prepareLocalTargets } from "../deploy/local-targets.js";
import { LocalTransport } from "../deploy/local-transport.js";
import type { Inventory } from "../deploy/policy.js";
import { runInDeployRoot } from "../deploy/service.js";
import type { Stage } from "../engine/stage.js";
import type { RunInputs } from "../engine/step.js";
import { runPerf } from "./actions/perf.js";

/** A stage's run as it will go: its config (local targets resolved), environment and inputs. */
export interface PreparedRun {
  readonly config: PipelineConfig;
  /** The environment, with the ephemeral signing key among its secrets when one was generated (so it is redacted). */
  readonly environment: ResolvedEnvironment;
  readonly inputs: RunInputs;
  /** Stops the service of every local target of the run; the problems, one line each. */
  stop(): Promise<string[]>;
}

/** Inputs of {@link prepareRun}. */
export interface PrepareRunOptions {
  readonly stage: Stage;
  readonly config: PipelineConfig;
  readonly environment: ResolvedEnvironment;
  readonly inputs: RunInputs;
  readonly workspace: string;
  /** `--only`: the steps that will run (all when absent). */
  readonly only: readonly string[] | undefined;
  /** The CLI's environment (for the baseline's `perf` run). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes a line of what is prepared, as it happens. */
  readonly say: (line: string) => void;
}

/** The steps whose measurement a first local run records as the baseline, by stage. */
const PERF_STEPS: Readonly<Record<string, string>> = { staging: "benchmarks", production: "performance" };

/**
 * Settles the run's deploy targets and, for a local run, its signing key and baseline.
 * @throws UsageError when a production run that is not the `--local` rehearsal would deploy, and has local
 *   targets only.
 */
export async function prepareRun(options: PrepareRunOptions): Promise<PreparedRun> {
  const { stage, config, workspace, say } = options;
  const unchanged: PreparedRun = { config, environment: options.environment, inputs: options.inputs, stop: async () => [] };
  const localRun = options.inputs.localRehearsal === true;
  const runs = (id: string) => options.only === undefined || options.only.includes(id);
  if (localRun) await recordFirstBaseline(options, runs);
  const name = stage.environment;
  if (name !== "test" && name !== "production") return unchanged;
  const inventory = config.policies.deploy[name];
  if (inventory === undefined || inventory.local === undefined) return unchanged;
  const refused = localTargetsRefusal(inventory, localRun);
  if (refused !== undefined) {
    // A production run that would deploy refuses at once; staging's deploy step fails with the same words.
    if (name === "production" && runs("deploy-production")) throw new UsageError(refused);
    return unchanged;
  }
  const targets = prepareLocalTargets(workspace, name, await freePorts(inventory.local.targets));
  const { environment, inputs, publicKey, formerKeys } = signingFor(options, inventory);
  const resolved = { ...localInventory(inventory, targets, publicKey), formerKeys };
  say(
    `Local targets of ${name} (this machine, not ${name} servers): ${resolved.hosts.map((h) => `${h.name} at ${h.path}, service on ${h.local?.healthUrl.replace(/\/[^/]*$/, "")}`).join("; ")}`,
  );
  if (inputs.ephemeralKeyId !== undefined)
    say(
      `RELEASE_SIGNING_KEY is not set: this local run signs its release with an EPHEMERAL key generated for it (key id ${inputs.ephemeralKeyId}), pinned for its local targets only. It is not a release key: nothing it signs may be published or deployed anywhere else.`,
    );
  const transport = new LocalTransport(resolved.hosts);
  let stopped: Promise<string[]> | undefined;
  return {
    config: { ...config, policies: { ...config.policies, deploy: { ...config.policies.deploy, [name]: resolved } } },
    environment,
    inputs,
    stop: () => {
      stopped ??= Promise.all(
        resolved.hosts.map(async (host) => {
          const result = await runInDeployRoot(transport, host, resolved.stop, 60_000, {});
          return result.exitCode === 0
            ? []
            : [`${host.name}: stopping its service failed (exit ${result.exitCode}): ${result.stderr.trim()}`];
        }),
      ).then((problems) => problems.flat());
      return stopped;
    },
  };
}

/**
 * The key the run signs with and the public key its local targets pin: a given RELEASE_SIGNING_KEY (its
 * public key pinned when the table names none), or, in a local run without one, a key generated for the run;
 * and the keys earlier local runs pinned there (`keys/<key id>.pub`), which rollbacks to their releases accept.
 */
function signingFor(
  options: PrepareRunOptions,
  inventory: Inventory,
): { environment: ResolvedEnvironment; inputs: RunInputs; publicKey: string | undefined; formerKeys: string[] } {
  const given = options.environment.secrets.RELEASE_SIGNING_KEY;
  const keys = join(LOCAL_TARGETS_DIR, inventory.environment, "keys");
  mkdirSync(join(options.workspace, keys), { recursive: true });
  // Each key a local run signs with stays pinned for these targets, so a later run can roll back to what it deployed.
  const pin = (key: SigningKey) => {
    const file = join(keys, `${keyIdHex(key.keyId)}.pub`);
    writeFileSync(join(options.workspace, file), formatPublicKey(key));
    return file;
  };
  const former = readdirSync(join(options.workspace, keys))
    .filter((f) => f.endsWith(".pub"))
    .map((f) => join(keys, f));
  const others = (publicKey: string | undefined) => former.filter((f) => f !== publicKey);
  if (given !== undefined) {
    const publicKey = inventory.publicKey ?? pin(loadSigningKey(given, "RELEASE_SIGNING_KEY"));
    return { environment: options.environment, inputs: options.inputs, publicKey, formerKeys: others(publicKey) };
  }
  if (options.inputs.localRehearsal !== true)
    return { environment: options.environment, inputs: options.inputs, publicKey: inventory.publicKey, formerKeys: others(undefined) };
  const seed = randomBytes(32).toString("hex");
  const key = loadSigningKey(seed, "the ephemeral key of this local run");
  const publicKey = pin(key);
  return {
    environment: { ...options.environment, secrets: { ...options.environment.secrets, RELEASE_SIGNING_KEY: seed } },
    inputs: { ...options.inputs, ephemeralKeyId: keyIdHex(key.keyId) },
    publicKey,
    formerKeys: others(publicKey),
  };
}

/** On a machine without the configured baseline, records it (`perf --save-baseline`) before the stage compares against it. */
async function recordFirstBaseline(options: PrepareRunOptions, runs: (id: string) => boolean): Promise<void> {
  const step = PERF_STEPS[options.stage.name];
  if (step === undefined || !runs(step)) return;
  const { perf } = options.config.policies;
  const file = join(options.workspace, perf.baselineDir, `${perf.baseline}.json`);
  if (existsSync(file)) return;
  options.say(
    `No performance baseline "${perf.baseline}" on this machine (${file}): recording it from this commit first, so the ${step} step compares against it (a local run only; CI never records its own baseline).`,
  );
  let out = "";
  const code = await runPerf(
    {
      source: options.workspace,
      "save-baseline": perf.baseline,
      reason: "recorded by the first local run on this machine (scripts/deploy/local-deploy.sh): no baseline existed",
    },
    { stdout: { write: (text: string) => (out += text) }, env: options.env, cwd: options.workspace },
  );
  for (const line of out.trimEnd().split("\n")) options.say(`  ${line}`);
  if (code !== 0 && !existsSync(file)) options.say(`  The baseline could not be recorded: the ${step} step will say why.`);
}
