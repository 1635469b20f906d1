-- Code analysis results (tree-sitter): file metrics, symbol hierarchy and metrics, imports, calls.
-- All rows hang off `files` and go with it when a file's blob changes.

ALTER TABLE files
    ADD COLUMN parse_status     text CHECK (parse_status IN ('parsed', 'syntax-errors', 'timeout', 'failed')),
    ADD COLUMN parse_error      text,
    ADD COLUMN functions        integer,
    ADD COLUMN complexity       integer,
    ADD COLUMN max_complexity   integer,
    ADD COLUMN halstead_volume  double precision,
    ADD COLUMN maintainability  double precision;

ALTER TABLE symbols
    ADD COLUMN parent_id bigint REFERENCES symbols (id) ON DELETE CASCADE,
    ADD COLUMN lines     integer;
CREATE INDEX symbols_by_kind ON symbols (repository_id, kind);
CREATE INDEX symbols_by_complexity ON symbols (repository_id, complexity DESC NULLS LAST);

CREATE TABLE imports (
    id            bigserial PRIMARY KEY,
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    file_id       bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    target        text NOT NULL,
    line          integer NOT NULL
);
CREATE INDEX imports_by_file ON imports (file_id);
CREATE INDEX imports_by_target ON imports (repository_id, target);

-- Calls by name; `callee_symbol_id` is filled when exactly one symbol of the repository has the
-- called name (re-resolved at every commit, since a new symbol can make a name ambiguous).
CREATE TABLE calls (
    id               bigserial PRIMARY KEY,
    repository_id    uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    file_id          bigint NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    caller_symbol_id bigint REFERENCES symbols (id) ON DELETE CASCADE,
    callee_name      text NOT NULL,
    callee_symbol_id bigint REFERENCES symbols (id) ON DELETE SET NULL,
    line             integer NOT NULL
);
CREATE INDEX calls_by_file ON calls (file_id);
CREATE INDEX calls_by_caller ON calls (caller_symbol_id);
CREATE INDEX calls_by_callee ON calls (callee_symbol_id);
CREATE INDEX calls_by_name ON calls (repository_id, callee_name);

-- Blobs are written outside an index run's transaction (content-addressed, shared); one is only
-- garbage-collected when no file references it and no run has touched it for a grace period, so a
-- run in flight never loses a blob it wrote.
ALTER TABLE blobs ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
