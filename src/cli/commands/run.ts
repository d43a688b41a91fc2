/**
 * `shriven-pipeline run <stage>`: a stage on a Rust workspace on this machine,
 * with live progress, the reports written and the summary printed; exit code
 * 0 when every gate passed, 1 when one failed, 130 when interrupted.
 */
import { type CliCommand, lazyRun } from "../command.js";

const OPTIONS_OF_RUN = `Options of run:
  --source DIR       Cargo workspace to check (default: the current directory, if it has a Cargo.toml)
  --env-file FILE    Environment profile overrides (.env format); may be given more than once
  --report-dir DIR   Where report.json, junit.xml, summary.md and step logs go
                     (default: <source>/target/shriven-pipeline/<stage>)
  --only STEP[,STEP] Run only these steps; the others are reported as skipped
  --jobs N           Most steps at once within a group (default: one per CPU)
  --advisory-db DIR|FILE  The RustSec advisory database to use as is: a checkout (crates/<name>/RUSTSEC-*.md)
                     or a snapshot file (scripts/refresh-advisory-snapshot.ts). Default: fetch [audit] db_url
                     (github.com/rustsec/advisory-db) with git into a cached clone; if that fails, the cached
                     clone; else the snapshot bundled with this package. The Security line names the copy,
                     its date and its age.
`;

const OPTIONS_OF_PRODUCTION = `Options of run production:
  --tag vX.Y.Z               The release tag (annotated, checked out, newer than every release)
  --override-window REASON   Emergency: deploy while the market is open; the reason is audit-logged
  --policy-ref REF           The trusted ref whose shriven-pipeline.toml gives the [approval] policy
                             (default: $SHRIVEN_POLICY_REF, else origin/main); never the tagged commit's
  --wait-starts-at TIME      A recorded RFC 3339 time the approval wait starts from (such as the staging
                             promotion record's); default: GitHub's record of the tag push, else this run's start
  --emergency REASON         The emergency hotfix: skips performance validation, the hot path and the
                             deployment window (never the tag, audit, licences, build, the two approvals,
                             deploy, monitoring or release); audit-logged, announced, named in the notes.
                             Production's steps can never be disabled or --only-ed (exit 2)
`;

const OPTIONS_OF_LOCAL = `Options of run staging and run production:
  --local                    A local run (scripts/deploy/local-deploy.sh test|prod): an environment with no
                             hosts deploys to its local targets on this machine (.shriven-pipeline/local-targets/);
                             without RELEASE_SIGNING_KEY the release is signed with a key generated for the run;
                             production is a rehearsal: TRADING_MODE forced to paper, never live
`;

/** `run <stage>`: its options are described in the top-level usage, which `run --help` prints. */
export const command: CliCommand = {
  name: "run",
  operands: "<stage>",
  summary: "Run a stage (dev, staging, production) on a Rust workspace",
  usage: [],
  options: {
    source: { type: "string" },
    "env-file": { type: "string", multiple: true },
    "report-dir": { type: "string" },
    "advisory-db": { type: "string" },
    only: { type: "string" },
    jobs: { type: "string" },
    tag: { type: "string" },
    "override-window": { type: "string" },
    emergency: { type: "string" },
    local: { type: "boolean" },
    "policy-ref": { type: "string" },
    "wait-starts-at": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  usageSections: [OPTIONS_OF_RUN, OPTIONS_OF_PRODUCTION, OPTIONS_OF_LOCAL],
  run: lazyRun(() => import("../actions/run.js")),
};
