/**
 * shriven-pipeline as a Dagger module: the delivery pipeline of ShrivenQuant.
 *
 * Thin on purpose: each function converts its Dagger arguments and calls the
 * same core the `shriven-pipeline` CLI runs on the host, with the same steps
 * and the same commands, here inside a pinned, cached Rust toolchain.
 */
import { argument, type Container, type Directory, type File, func, object, type Secret } from "@dagger.io/dagger";
import { rustToolchain } from "../containers/rust-toolchain.js";
import { fixInDagger } from "./dagger/fix-in-dagger.js";
import { buildReleaseInDagger, verifyReleaseInDagger } from "./dagger/release-in-dagger.js";
import { rollbackInDagger } from "./dagger/rollback-in-dagger.js";
import { type DaggerRunArgs, reportDirectory, runStageInDagger, summaryOrFailure } from "./dagger/run-in-dagger.js";
import { runHostStageInDagger, type StageSecrets } from "./dagger/stage-in-dagger.js";
import { stepLine } from "./report/console.js";

/** Paths never sent to the engine with the workspace. */
const IGNORE = ["target", ".git", "node_modules"];

/** The same for the stages that need the git history (the release tag, the commit). */
const IGNORE_KEEP_GIT = ["target", "node_modules"];

/**
 * The ShrivenQuant delivery pipeline: dev-stage steps and the stage itself,
 * on a pinned Rust toolchain with cached builds.
 */
@object()
export class ShrivenPipeline {
  /**
   * The pinned Rust toolchain container (rustfmt, clippy, valgrind, cargo
   * caches) the steps run in, for other modules to build on.
   *
   * Example: dagger call toolchain with-exec --args=cargo,--version stdout
   */
  @func()
  toolchain(): Container {
    return rustToolchain();
  }

  /**
   * Formatting: cargo fmt --all -- --check. Fails listing unformatted files.
   *
   * Example: dagger call fmt --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   */
  @func()
  async fmt(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory): Promise<string> {
    return runOneStep("fmt", { source });
  }

  /**
   * Quick compilation: cargo check --workspace --all-targets. Fails with each error as file:line: message.
   *
   * Example: dagger call check --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async check(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, registryToken?: Secret): Promise<string> {
    return runOneStep("check", { source, ...optional({ registryToken }) });
  }

  /**
   * Unit and integration tests: cargo test --workspace. Fails naming each failing test.
   *
   * Example: dagger call test --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async test(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, registryToken?: Secret): Promise<string> {
    return runOneStep("test", { source, ...optional({ registryToken }) });
  }

  /**
   * Lints: cargo clippy --workspace --all-targets -- -D warnings. Fails on any warning; with a clippy baseline
   * in the source (.shriven-pipeline/clippy-baseline.json, saved with shriven-pipeline clippy-baseline --save),
   * only on warnings the baseline does not hold.
   *
   * Example: dagger call clippy --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async clippy(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, registryToken?: Secret): Promise<string> {
    return runOneStep("clippy", { source, ...optional({ registryToken }) });
  }

  /**
   * Security scan: RustSec audit of Cargo.lock with cargo-audit's semantics. Fails on any vulnerability. Never
   * cached: the advisory database and today's date (advisory ignores expire) change under the same source.
   *
   * Example: dagger call audit --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param advisoryDb A checkout of the RustSec advisory database, used as is (default: fetched from github.com/rustsec/advisory-db with git; if that fails, the snapshot bundled with this module, its date and age named)
   */
  @func({ cache: "never" })
  async audit(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, advisoryDb?: Directory): Promise<string> {
    return runOneStep("audit", { source, ...optional({ advisoryDb }) });
  }

  /**
   * Licence policy: every crate's licence (from cargo metadata) allowed; no GPL family.
   *
   * Example: dagger call licenses --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async licenses(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, registryToken?: Secret): Promise<string> {
    return runOneStep("licenses", { source, ...optional({ registryToken }) });
  }

  /**
   * Secret hygiene: no private keys, tokens, webhook URLs or API secrets in the workspace's files.
   *
   * Example: dagger call secrets --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   */
  @func()
  async secrets(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory): Promise<string> {
    return runOneStep("secrets", { source });
  }

  /**
   * Performance check: benchmarks (and, when configured, callgrind instruction counts) against the baseline saved in the workspace; warnings only.
   *
   * Example: dagger call perf-check --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   */
  @func()
  async perfCheck(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory): Promise<string> {
    return runOneStep("perf-check", { source });
  }

  /**
   * Formatting fix: the workspace after cargo fmt --all (with [steps.fmt] extra_args), without target, so that
   * the fmt step passes. Export it over the checkout to apply it; fails, returning nothing, when rustfmt cannot
   * parse a file. The default function cache is right: it reads only the given source (and the pinned toolchain).
   *
   * Example: dagger call fmt-fix --source=. export --path=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   */
  @func()
  async fmtFix(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory): Promise<Directory> {
    return fixInDagger("fmt", { source });
  }

  /**
   * Lint fix: the workspace after cargo clippy --fix --workspace --all-targets (clippy's machine-applicable
   * suggestions, in the clippy step's target cache, with [steps.clippy] extra_args) and then cargo fmt --all,
   * without target. Lints clippy has no fix for stay for a human (the clippy function lists them). Fails,
   * returning nothing, when the workspace does not compile, naming the first error. The default function cache is
   * right: it reads only the given source (and the pinned toolchain, and crate versions the registry never changes).
   *
   * Example: dagger call clippy-fix --source=. export --path=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async clippyFix(@argument({ defaultPath: "/", ignore: IGNORE }) source: Directory, registryToken?: Secret): Promise<Directory> {
    return fixInDagger("clippy", { source, ...optional({ registryToken }) });
  }

  /**
   * The dev stage (fmt, check, security scan, licences, secrets, tests, clippy, performance check; fail fast). Returns the summary;
   * fails, so the CI job goes red, when a gate fails. Never cached, because of the security scan (see audit); the
   * engine still reuses each step's unchanged execs.
   *
   * Example: dagger call dev --source=.
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param envFile Environment profile overrides (.env format) for the development environment
   * @param only Run only these steps (fmt, check, audit, licenses, secrets, test, clippy, perf-check); the others are reported as skipped
   * @param jobs Most steps at once within a group (default: every step of a group)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   * @param advisoryDb A checkout of the RustSec advisory database, used as is (default: fetched from github.com/rustsec/advisory-db with git; if that fails, the snapshot bundled with this module, its date and age named)
   */
  @func({ cache: "never" })
  async dev(
    @argument({ defaultPath: "/", ignore: IGNORE }) source: Directory,
    envFile?: File,
    only?: string[],
    jobs?: number,
    registryToken?: Secret,
    advisoryDb?: Directory,
  ): Promise<string> {
    return summaryOrFailure(await runStageInDagger("dev", { source, ...optional({ envFile, only, jobs, registryToken, advisoryDb }) }));
  }

  /**
   * The dev stage, returning its report instead of failing: report.json (with
   * report.schema.json), junit.xml, summary.md, summary.txt and logs/, for
   * callers who compose. Never cached, like dev.
   *
   * Example: dagger call dev-report --source=. export --path=./report
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param envFile Environment profile overrides (.env format) for the development environment
   * @param only Run only these steps (fmt, check, audit, licenses, secrets, test, clippy, perf-check); the others are reported as skipped
   * @param jobs Most steps at once within a group (default: every step of a group)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   * @param advisoryDb A checkout of the RustSec advisory database, used as is (default: fetched from github.com/rustsec/advisory-db with git; if that fails, the snapshot bundled with this module, its date and age named)
   */
  @func({ cache: "never" })
  async devReport(
    @argument({ defaultPath: "/", ignore: IGNORE }) source: Directory,
    envFile?: File,
    only?: string[],
    jobs?: number,
    registryToken?: Secret,
    advisoryDb?: Directory,
  ): Promise<Directory> {
    return reportDirectory(await runStageInDagger("dev", { source, ...optional({ envFile, only, jobs, registryToken, advisoryDb }) }));
  }

  /**
   * Optimized release build, signed: every binary built with LTO, one codegen unit and the configured target CPU
   * ([release] in shriven-pipeline.toml), named <bin>-<version>-<triple>, each with a minisign signature, plus a signed
   * SHA256SUMS, SLSA provenance in a signed DSSE envelope (provenance.intoto.jsonl), minisign.pub and build.json.
   *
   * Example: dagger call build-release --source=. --tag=v1.2.3 --commit=$(git rev-parse HEAD) --repository=https://github.com/OWNER/NAME --signing-key=env://RELEASE_SIGNING_KEY export --path=./release
   *
   * @param source The Cargo workspace (a directory with Cargo.toml at its root)
   * @param tag The release tag, vMAJOR.MINOR.PATCH
   * @param commit The full commit id the tag points to (recorded in the provenance and the signatures)
   * @param signingKey An unencrypted minisign secret key, or a raw Ed25519 key (hex or base64)
   * @param repository The source repository URL recorded in the provenance (default: [release] github_repository)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN
   */
  @func()
  async buildRelease(
    @argument({ defaultPath: "/", ignore: IGNORE }) source: Directory,
    tag: string,
    commit: string,
    signingKey: Secret,
    repository?: string,
    registryToken?: Secret,
  ): Promise<Directory> {
    return buildReleaseInDagger({ source, tag, commit, signingKey, ...optional({ repository, registryToken }) });
  }

  /**
   * Verifies a release directory against a pinned public key: SHA256SUMS signature, every checksum, every binary's
   * signature and trusted comment, and the provenance envelope. Fails listing the checks when one fails.
   *
   * Example: dagger call verify --release=./release --public-key=./minisign.pub
   *
   * @param release A release directory made by build-release (or downloaded from a GitHub release)
   * @param publicKey The minisign public key file to check against (minisign.pub)
   */
  @func()
  async verify(release: Directory, publicKey: File): Promise<string> {
    return verifyReleaseInDagger(release, publicKey);
  }

  /**
   * Rolls an environment back to a release retained on its hosts ([deploy.<environment>] in shriven-pipeline.toml):
   * takes the deploy lock on every host, downloads the retained binary and its signature from each host and
   * re-verifies them against the pinned release public key (nothing is switched unless every host's copy verifies),
   * then switches current, restarts the service and checks its health, host by host. ssh runs in a container with
   * the deploy key mounted as a secret file and only the pinned host keys trusted. Never cached: every call acts
   * on the hosts. Returns the outcome per host; its last line is the audit record as JSON, which the module cannot
   * write to the repository's audit log: the CI job appends it. Fails (with the outcome and the record) when a
   * host did not end healthy on the version, and before switching anything when the rollback cannot start.
   *
   * Example: dagger call rollback --source=. --environment=production --to=v1.1.9 --ssh-key=env://SSH_DEPLOY_KEY --actor="$GITHUB_ACTOR"
   *
   * @param source The workspace with shriven-pipeline.toml ([deploy.<environment>]) and the pinned release public key it names
   * @param environment The inventory to roll back: test or production
   * @param to The retained release to go back to, vMAJOR.MINOR.PATCH
   * @param sshKey The deploy key: an unencrypted OpenSSH private key, e.g. env://SSH_DEPLOY_KEY
   * @param breakLock Remove a deploy lock another run left on a host (its holder is reported)
   * @param actor Who rolls back (the CI actor, GITHUB_ACTOR), for the deploy lock and the audit record; the module cannot read the CI's variables itself
   */
  @func({ cache: "never" })
  async rollback(
    @argument({ defaultPath: "/", ignore: IGNORE }) source: Directory,
    environment: string,
    to: string,
    sshKey: Secret,
    breakLock?: boolean,
    actor?: string,
  ): Promise<string> {
    return rollbackInDagger({ source, environment, to, sshKey, ...optional({ breakLock, actor }) });
  }

  /**
   * The staging stage, in the pipeline document's order: signed release build, integration tests and risk
   * validation, benchmarks (10 %), paper trading, deploy to the [deploy.test] hosts, smoke tests and the
   * post-deploy check, rolling the test hosts back on failure. Runs `shriven-pipeline run staging` in a container
   * (the pinned toolchain, openssh-client, git, Node 24 and this module's CLI) on the workspace with its git
   * history. Never cached: every call deploys. Returns the run's output with the audit records it appended
   * (for the CI job to append to the repository's audit log); fails with them when a gate failed.
   *
   * Example: dagger call staging --source=. --ssh-key=env://SSH_DEPLOY_KEY --signing-key=env://RELEASE_SIGNING_KEY
   *
   * @param source The Cargo workspace with its .git (the commit is recorded in the release)
   * @param sshKey The deploy key of the test hosts, e.g. env://SSH_DEPLOY_KEY
   * @param signingKey The release signing key (minisign secret key or raw Ed25519), e.g. env://RELEASE_SIGNING_KEY
   * @param slackWebhook Slack incoming webhook for stage, deploy and rollback notices, e.g. env://SLACK_WEBHOOK_URL
   * @param envFile Environment profile overrides (.env format) for the test environment
   * @param only Run only these steps; the others are reported as skipped
   * @param actor Who runs the stage (the CI actor), for the deploy lock and the audit log
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN; only cargo commands see it
   * @param zerodhaApiKey The test Kite Connect API key, e.g. env://TEST_ZERODHA_API_KEY (checked by the secrets preflight)
   * @param zerodhaApiSecret The test Kite Connect API secret, e.g. env://TEST_ZERODHA_API_SECRET
   * @param binanceApiKey The test Binance API key, e.g. env://TEST_BINANCE_API_KEY
   * @param binanceApiSecret The test Binance API secret, e.g. env://TEST_BINANCE_API_SECRET
   */
  @func({ cache: "never" })
  async staging(
    @argument({ defaultPath: "/", ignore: IGNORE_KEEP_GIT }) source: Directory,
    sshKey: Secret,
    signingKey: Secret,
    slackWebhook?: Secret,
    envFile?: File,
    only?: string[],
    actor?: string,
    registryToken?: Secret,
    zerodhaApiKey?: Secret,
    zerodhaApiSecret?: Secret,
    binanceApiKey?: Secret,
    binanceApiSecret?: Secret,
  ): Promise<string> {
    return runHostStageInDagger({
      stage: "staging",
      source,
      secrets: {
        SSH_DEPLOY_KEY: sshKey,
        RELEASE_SIGNING_KEY: signingKey,
        ...optional({ SLACK_WEBHOOK_URL: slackWebhook, CARGO_REGISTRY_TOKEN: registryToken }),
        ...exchangeSecrets("TEST", { zerodhaApiKey, zerodhaApiSecret, binanceApiKey, binanceApiSecret }),
      },
      ...optional({ envFile, only, actor }),
    });
  }

  /**
   * The production stage for a release tag, in the pipeline document's order: pre-production validation (tag,
   * profile, audit, licences), optimized signed build, performance validation (5 %, latency, allocations, memory),
   * the approval gate (two approvers besides the tag's author, from the run's GitHub reviews or signed approval
   * files; the wait timer), the deployment window, deploy to the [deploy.production] hosts, post-deploy monitoring
   * with automatic rollback, the GitHub release. Runs `shriven-pipeline run production` in a container like
   * `staging`. Never cached. Returns the run's output with the audit records it appended; fails with them when a
   * gate failed.
   *
   * Example: dagger call production --source=. --tag=v1.2.3 --ssh-key=env://SSH_DEPLOY_KEY --signing-key=env://RELEASE_SIGNING_KEY --github-token=env://GITHUB_TOKEN --actor=$GITHUB_ACTOR --run-id=$GITHUB_RUN_ID --repository=$GITHUB_REPOSITORY
   *
   * @param source The Cargo workspace with its .git, checked out at the tag
   * @param tag The release tag, vMAJOR.MINOR.PATCH (annotated)
   * @param sshKey The deploy key of the production hosts, e.g. env://SSH_DEPLOY_KEY
   * @param signingKey The release signing key (minisign secret key or raw Ed25519), e.g. env://RELEASE_SIGNING_KEY
   * @param githubToken Token that reads the run's deployment reviews and publishes the release, e.g. env://GITHUB_TOKEN
   * @param slackWebhook Slack incoming webhook for stage, deploy, rollback and monitoring notices
   * @param envFile Environment profile overrides (.env format) for the production environment
   * @param only Run only these steps; the others are reported as skipped
   * @param overrideWindow Emergency: deploy while the market is open; the reason is written to the audit log
   * @param actor Who pushed the tag (GITHUB_ACTOR of the tag push): their own approval never counts
   * @param runId The workflow run whose deployment reviews count as approvals (GITHUB_RUN_ID)
   * @param repository OWNER/NAME of the repository (GITHUB_REPOSITORY)
   * @param registryToken Token for a private cargo registry (CARGO_REGISTRY_TOKEN), e.g. env://CARGO_REGISTRY_TOKEN; only cargo commands see it
   * @param policyRef The trusted ref whose shriven-pipeline.toml gives the [approval] policy (default origin/main), e.g. origin/$DEFAULT_BRANCH; never the tagged commit's
   * @param waitStartsAt A recorded RFC 3339 time the approval wait starts from (default: GitHub's record of the tag push)
   * @param emergency The emergency hotfix and its reason: skips performance validation, the hot path and the deployment window; still needs the two approvals; audited, announced on Slack, marked in the release notes
   * @param zerodhaApiKey The production Kite Connect API key, e.g. env://PROD_ZERODHA_API_KEY (checked by the secrets preflight)
   * @param zerodhaApiSecret The production Kite Connect API secret, e.g. env://PROD_ZERODHA_API_SECRET
   * @param binanceApiKey The production Binance API key, e.g. env://PROD_BINANCE_API_KEY
   * @param binanceApiSecret The production Binance API secret, e.g. env://PROD_BINANCE_API_SECRET
   */
  @func({ cache: "never" })
  async production(
    @argument({ defaultPath: "/", ignore: IGNORE_KEEP_GIT }) source: Directory,
    tag: string,
    sshKey: Secret,
    signingKey: Secret,
    githubToken?: Secret,
    slackWebhook?: Secret,
    envFile?: File,
    only?: string[],
    overrideWindow?: string,
    actor?: string,
    runId?: string,
    repository?: string,
    registryToken?: Secret,
    policyRef?: string,
    waitStartsAt?: string,
    emergency?: string,
    zerodhaApiKey?: Secret,
    zerodhaApiSecret?: Secret,
    binanceApiKey?: Secret,
    binanceApiSecret?: Secret,
  ): Promise<string> {
    return runHostStageInDagger({
      stage: "production",
      source,
      tag,
      secrets: {
        SSH_DEPLOY_KEY: sshKey,
        RELEASE_SIGNING_KEY: signingKey,
        ...optional({ GITHUB_TOKEN: githubToken, SLACK_WEBHOOK_URL: slackWebhook, CARGO_REGISTRY_TOKEN: registryToken }),
        ...exchangeSecrets("PROD", { zerodhaApiKey, zerodhaApiSecret, binanceApiKey, binanceApiSecret }),
      },
      ...optional({ envFile, only, overrideWindow, actor, runId, repository, policyRef, waitStartsAt, emergency }),
    });
  }
}

/** Runs one step of the dev stage; its line and details, or an error with them when it failed. */
async function runOneStep(id: string, args: DaggerRunArgs): Promise<string> {
  const run = await runStageInDagger("dev", { ...args, only: [id] });
  const step = run.report.steps.find((s) => s.id === id);
  if (step === undefined) throw new Error(`step ${id} is not part of the dev stage`);
  const text = [stepLine(step), ...step.details.map((d) => `    ${d}`)].join("\n");
  if (step.status === "failed" || step.status === "cancelled") throw new Error(text);
  return `${text}\n`;
}

/** The exchange keys given to a stage, under the environment's names (`TEST_BINANCE_API_KEY`, …). */
function exchangeSecrets(
  prefix: "TEST" | "PROD",
  keys: { zerodhaApiKey?: Secret; zerodhaApiSecret?: Secret; binanceApiKey?: Secret; binanceApiSecret?: Secret },
): Partial<StageSecrets> {
  return optional({
    [`${prefix}_ZERODHA_API_KEY`]: keys.zerodhaApiKey,
    [`${prefix}_ZERODHA_API_SECRET`]: keys.zerodhaApiSecret,
    [`${prefix}_BINANCE_API_KEY`]: keys.binanceApiKey,
    [`${prefix}_BINANCE_API_SECRET`]: keys.binanceApiSecret,
  });
}

/** Drops the arguments the caller left out. */
function optional<T extends Record<string, unknown>>(args: T): Partial<T> {
  return Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined)) as Partial<T>;
}
