-- RepoSage schema: Postgres is the source of truth for everything the platform knows.
--
-- Identity: a repository row mirrors a Repository custom resource (its UID is the id) or a local-mode
-- repository (namespace 'local'). Everything below it cascades on delete, so removing a repository's
-- index is one DELETE.
--
-- Incremental indexing: `files` are keyed by (repository, path) and carry the git blob id; a new run
-- re-analyses only paths whose blob id changed. File contents live once per blob in `blobs`
-- (content-addressed, shared across repositories and commits).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE repositories (
    id                  uuid PRIMARY KEY,
    namespace           text NOT NULL,
    name                text NOT NULL,
    url                 text NOT NULL,
    ref_kind            text CHECK (ref_kind IN ('branch', 'tag', 'commit')),
    ref_name            text,
    last_indexed_commit text,
    last_indexed_ref    text,
    last_indexed_at     timestamptz,
    last_run_id         uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

-- One execution of the job-runner: an index run or a query run.
CREATE TABLE runs (
    id            uuid PRIMARY KEY,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('index', 'query')),
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    requested_ref text,
    resolved_ref  text,
    commit_sha    text,
    stats         jsonb NOT NULL DEFAULT '{}'::jsonb,
    error         text,
    attempts      integer NOT NULL DEFAULT 1,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX runs_by_repository ON runs (repository_id, started_at DESC);

-- Stage events of a run, shaped like the seeds' `processing.stage.*` events.
CREATE TABLE run_events (
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq         integer NOT NULL,
    event_type  text NOT NULL,
    stage       text NOT NULL,
    status      text NOT NULL CHECK (status IN ('started', 'completed', 'failed')),
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    duration_ms bigint,
    message     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);

-- Text content of git blobs, once per blob id. Binary and oversized blobs are never stored.
CREATE TABLE blobs (
    sha        text PRIMARY KEY,
    content    text NOT NULL,
    size_bytes bigint NOT NULL
);
CREATE INDEX blobs_content_trgm ON blobs USING gin (content gin_trgm_ops);

-- Every tree entry of the indexed commit, analysed or skipped (with the reason).
CREATE TABLE files (
    id             bigserial PRIMARY KEY,
    repository_id  uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    path           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('file', 'symlink', 'submodule')),
    blob_sha       text,
    language       text,
    size_bytes     bigint NOT NULL DEFAULT 0,
    lines          integer NOT NULL DEFAULT 0,
    code_lines     integer NOT NULL DEFAULT 0,
    comment_lines  integer NOT NULL DEFAULT 0,
    blank_lines    integer NOT NULL DEFAULT 0,
    skip_reason    text,
    symlink_target text,
    run_id         uuid,
    UNIQUE (repository_id, path)
);
CREATE INDEX files_path_trgm ON files USING gin (path gin_trgm_ops);
CREATE INDEX files_by_blob ON files (blob_sha);

-- Symbols extracted with tree-sitter; rows go with their file when its blob changes.
CREATE TABLE symbols (
    id             bigserial PRIMARY KEY,
    repository_id  uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    file_id        bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    name           text NOT NULL,
    kind           text NOT NULL,
    qualified_name text NOT NULL,
    signature      text,
    doc            text,
    visibility     text,
    start_line     integer NOT NULL,
    end_line       integer NOT NULL,
    start_byte     integer NOT NULL,
    end_byte       integer NOT NULL,
    complexity     integer,
    max_nesting    integer
);
CREATE INDEX symbols_by_file ON symbols (file_id);
CREATE INDEX symbols_name_trgm ON symbols USING gin (name gin_trgm_ops);
CREATE INDEX symbols_by_repository_name ON symbols (repository_id, name);

-- Units of retrieval. The content hash (blake3 of the text) keys the embedding cache, so an
-- unchanged chunk is never embedded twice.
CREATE TABLE chunks (
    id             bigserial PRIMARY KEY,
    repository_id  uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    file_id        bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    content_hash   text NOT NULL,
    language       text,
    symbol_path    text,
    start_line     integer NOT NULL,
    end_line       integer NOT NULL,
    context_header text NOT NULL,
    text           text NOT NULL,
    token_count    integer NOT NULL
);
CREATE INDEX chunks_by_file ON chunks (file_id);
CREATE INDEX chunks_by_hash ON chunks (content_hash);

-- Dependencies declared in manifests (Cargo.toml, package.json, go.mod, …).
CREATE TABLE dependencies (
    id            bigserial PRIMARY KEY,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    manifest_path text NOT NULL,
    ecosystem     text NOT NULL,
    name          text NOT NULL,
    version_req   text,
    kind          text NOT NULL CHECK (kind IN ('runtime', 'dev', 'build'))
);
CREATE INDEX dependencies_by_repository ON dependencies (repository_id, ecosystem, name);
