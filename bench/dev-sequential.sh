#!/bin/sh
# The dev stage's four commands, one after another, stopping at the first
# failure: the baseline bench/run.ts compares `shriven-pipeline run dev` with.
# Same argv, environment and target directories as the steps
# (test/unit/bench-script.test.ts keeps them in step).
set -e
cd "$1"
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check --color never
CARGO_TARGET_DIR=target/shriven-lint cargo check --workspace --all-targets --message-format=json
CARGO_TARGET_DIR=target cargo test --workspace --no-fail-fast --message-format=json
CARGO_TARGET_DIR=target/shriven-lint cargo clippy --workspace --all-targets --message-format=json -- -D warnings
