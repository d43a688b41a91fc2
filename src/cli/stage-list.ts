/**
 * What `shriven-pipeline list` prints: each stage with its environment and description, then its steps with
 * their group. Kept here as text so `list` loads no stage: the stages load every step, and the steps the
 * config's zod schemas and the tools' adapters. test/cli/stage-list.test.ts checks that it equals the text
 * rendered from the real stages (src/stages/registry.ts), and prints the new text when a stage changes.
 */
export const STAGE_LIST = `dev (development environment): Every push to a feature branch and every pull request: fmt, compile, security scan, tests, clippy, performance check
  fmt      Formatting: cargo fmt --check: every file is formatted by rustfmt [group 1, runs alongside 4 others]
  check    Compilation: cargo check --workspace --all-targets: the code compiles [group 1, runs alongside 4 others]
  audit    Security: RustSec audit of Cargo.lock: no vulnerable dependencies, advisory data recent enough [group 1, runs alongside 4 others]
  licenses Licences: cargo metadata licences against the policy: permissive licences, no GPL family [group 1, runs alongside 4 others]
  secrets  Secrets: tracked files hold no private keys, tokens, webhook URLs or API secrets [group 1, runs alongside 4 others]
  test     Tests: cargo test --workspace: every test passes [group 2, runs alongside 1 other]
  clippy   Clippy: cargo clippy --workspace --all-targets -- -D warnings: no lint warnings (with a clippy baseline: no new ones) [group 2, runs alongside 1 other]
  perf-check Performance: benchmarks and instruction counts against the baseline (warnings only) [group 3]

staging (test environment): Merge to main: secrets preflight, release build, integration tests, benchmarks, risk validation, paper trading, deploy to test servers, smoke tests, promotion record
  secrets-preflight Secrets preflight: the environment's secrets are present, well-formed, its own (not the other environment's) and rotated in time [group 1]
  release-build Release build: optimized release build of the workspace's binaries, signed for the test hosts [group 2]
  integration-tests Integration tests: cargo test --workspace (unit, integration and doc tests) on the release candidate [group 3, runs alongside 1 other]
  risk-validation Risk validation: cargo test --release --package risk: the risk limits hold [group 3, runs alongside 1 other]
  benchmarks Benchmarks: benchmarks against the baseline: fail past 10 %, p99 over its limit, or no baseline [group 4]
  paper-trading Paper trading: replay market data through the engine against the simulated exchange: profit, zero errors, latency, memory [group 5]
  deploy-test Deploy to test servers: the signed release to the pinned test hosts: lock, upload, checksum, switch, health check [group 6]
  smoke-tests Smoke tests: [deploy.test] smoke on every test host, then [monitor.staging] (error rate > 1 %, p99 +20 % over the previous release); on failure, automatic rollback [group 7]
  promotion Promotion record: the signed record of what staging validated (binaries' SHA-256, reports, test hosts, time), stored for production [group 8]

production (production environment): A release tag: secrets preflight, validation, promotion record, optimized signed build, performance validation, approval, deployment window, deploy, monitoring, GitHub release
  secrets-preflight Secrets preflight: the environment's secrets are present, well-formed, its own (not the other environment's) and rotated in time [group 1]
  pre-validation Pre-production validation: the release tag is semver, annotated, newer than the last release and checked out; the profile is production [group 2, runs alongside 2 others]
  audit    Security: RustSec audit of Cargo.lock: no vulnerable dependencies, advisory data recent enough [group 2, runs alongside 2 others]
  licenses Licences: cargo metadata licences against the policy: permissive licences, no GPL family [group 2, runs alongside 2 others]
  promotion Promotion record: the tagged commit is on the protected branch and staging promoted it: a record signed with the pinned release key [group 3]
  release-build Release build: optimized release build (LTO, one codegen unit, target CPU) of the tagged commit, signed, bit-for-bit what staging validated [group 4]
  performance Performance validation: benchmarks against the baseline: fail past 5 %, a p99 over its limit, or no baseline [group 5]
  hot-path Allocations and memory: the hot path at N and 2N iterations under an allocation counter; RSS growth of an engine run [group 6]
  approval Approval gate: the default branch's [approval] policy, a verified tag author, two distinct approvers besides them, the wait from the push [group 7, runs alongside 1 other]
  deploy-window Deployment window: deploys only while the market is closed ([deploy_window]); an emergency override is audit-logged [group 7, runs alongside 1 other]
  deploy-production Deploy to production: the signed release to the pinned production hosts: lock, upload, checksum, switch, health check [group 8]
  monitoring Post-deploy monitoring: every host's metrics for [monitor] duration_minutes: critical rolls back at once, warnings are reported [group 9]
  github-release GitHub release: the GitHub release of the tag: binaries, signatures, SHA256SUMS, provenance (idempotent) [group 10]
`;
