-- Term statistics for ranked lexical search (BM25): in how many chunks of a repository each
-- lexeme of `chunks.search_tokens` occurs, and how many chunks (and lexemes per chunk, on
-- average) the repository has. A natural-language question rarely has every word in one chunk;
-- the lexical search then ranks the chunks holding *some* of its words, each word weighted by
-- how rare it is. Rebuilt by `refresh_search_terms` whenever an index run commits, in the run's
-- transaction.

CREATE TABLE search_terms (
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    lexeme        text NOT NULL,
    chunks        integer NOT NULL CHECK (chunks > 0),
    PRIMARY KEY (repository_id, lexeme)
);

CREATE TABLE search_corpora (
    repository_id   uuid PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    chunks          integer NOT NULL CHECK (chunks >= 0),
    average_lexemes real NOT NULL CHECK (average_lexemes >= 0)
);

CREATE FUNCTION refresh_search_terms(repository uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_terms WHERE repository_id = repository;
    INSERT INTO search_terms (repository_id, lexeme, chunks)
    SELECT repository, s.word, s.ndoc
    FROM ts_stat(format('SELECT search_tokens FROM chunks WHERE repository_id = %L', repository)) AS s;
    INSERT INTO search_corpora (repository_id, chunks, average_lexemes)
    SELECT repository, COUNT(*), COALESCE(AVG(length(search_tokens)), 0)
    FROM chunks WHERE repository_id = repository
    ON CONFLICT (repository_id) DO UPDATE
        SET chunks = EXCLUDED.chunks, average_lexemes = EXCLUDED.average_lexemes;
END;
$$;

-- Repositories indexed before this migration.
SELECT refresh_search_terms(id) FROM repositories;
