#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: formatting, lints, and every test against a real
# PostgreSQL (a private, throw-away one unless DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_packages
ensure_embedding_model
ensure_local_llm
PRIVATE_PG_EPHEMERAL=1
start_private_postgres "$(mktemp -d /tmp/reposage-test-pg.XXXXXX)"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo test"
cargo test --workspace --locked
