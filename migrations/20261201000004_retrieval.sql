-- Retrieval: the embedding cache (which is also the embedded vector store) and code-aware full-text
-- search over chunks.

-- One vector per (model, chunk text): an unchanged chunk is never embedded twice, across runs and
-- across repositories sharing code. Rows are written outside an index run's transaction (like blobs)
-- so a failed run keeps what it embedded; unreferenced rows are collected after a grace period.
CREATE TABLE embeddings (
    model        text NOT NULL,
    content_hash text NOT NULL,
    dimension    integer NOT NULL CHECK (dimension > 0),
    -- little-endian f32 × dimension, unit length
    vector       bytea NOT NULL CHECK (length(vector) = 4 * dimension),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, content_hash)
);

-- The kind of the symbol a chunk covers (for `kind:` filters) and its code-aware token stream:
-- identifiers whole and split at camelCase/snake_case/digit boundaries, path and symbol path with
-- weight A, built in Rust (`reposage_retrieval::lexical`) and stored as a tsvector.
ALTER TABLE chunks
    ADD COLUMN symbol_kind   text,
    ADD COLUMN search_tokens tsvector NOT NULL DEFAULT ''::tsvector;
CREATE INDEX chunks_search_tokens ON chunks USING gin (search_tokens);
CREATE INDEX chunks_by_repository_hash ON chunks (repository_id, content_hash);
