//! Retrieval storage: the embedding cache (which is also the embedded vector store), ranked lexical
//! search over chunks, and the chunk details a search hit shows.
//!
//! Vectors are stored as little-endian `f32` bytes, once per (model, chunk content hash). Lexical
//! search runs over `chunks.search_tokens`, a tsvector built by the retrieval crate from a code-aware
//! token stream, ranked with `ts_rank`; exact phrases and regular expressions are first narrowed by
//! the `pg_trgm` index on blob contents, then checked on the chunk text.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use sqlx::{Postgres, QueryBuilder};

use crate::{IndexWriter, RepositoryId, Result, Store};

/// Narrows which chunks a search may return. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkFilter {
    /// Only these repositories (all when empty).
    pub repositories: Vec<RepositoryId>,
    /// Only chunks of files in these languages (`Rust`, `Python`, … as detected).
    pub languages: Vec<String>,
    /// Only chunks of files whose path starts with one of these.
    pub path_prefixes: Vec<String>,
    /// Only chunks of symbols of these kinds (`function`, `class`, …).
    pub symbol_kinds: Vec<String>,
    /// Only chunks whose symbol path contains each of these (case-insensitive).
    pub symbols: Vec<String>,
}

/// A lexical query, already parsed and validated by the caller.
#[derive(Debug, Clone, Default)]
pub struct LexicalQuery {
    /// A `tsquery` in Postgres' text form over code tokens (ranked); `None` ranks phrase/regex/filter
    /// matches by path.
    pub tsquery: Option<String>,
    /// A looser `tsquery` whose other matches rank after all of `tsquery`'s (identifiers matched
    /// by their parts), when `tsquery` has fewer than `limit`; only the first
    /// [`LOOSE_MATCHES_RANKED`] of them are ranked.
    pub loose_tsquery: Option<String>,
    /// Exact phrases each matching chunk contains (case-insensitive, matched literally).
    pub phrases: Vec<String>,
    /// POSIX regular expressions each matching chunk matches (case-sensitive unless `(?i)`).
    pub regexes: Vec<String>,
    /// When no chunk matches `tsquery` or `loose_tsquery`, ranks the chunks holding some of the
    /// query's terms instead (a natural-language question rarely has every word in one chunk).
    pub ranked_terms: Option<TermRanking>,
    /// Which chunks qualify.
    pub filter: ChunkFilter,
    /// Most hits.
    pub limit: i64,
    /// Bound on the query's run time (regexes can be slow); over it the query fails.
    pub timeout: Duration,
}

/// A ranking of chunks by the query terms they hold, each weighted by its rarity: BM25
/// (Robertson & Zaragoza, 2009) over the chunks' lexemes, a term's frequency in a chunk counted
/// as its presence (1, or `1 + heading_boost` when it is in the path or symbol path, weight `A`):
/// the token stream keeps no counts, and chunks are short enough that presence is most of what a
/// count says. Chunk length is the number of distinct lexemes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermRanking {
    /// The terms, each with its weight.
    pub terms: Vec<WeightedTerm>,
    /// BM25's term-frequency saturation `k1`.
    pub k1: f32,
    /// BM25's length normalisation `b` (0: none, 1: full).
    pub b: f32,
    /// Extra frequency of a term found in the path or symbol path.
    pub heading_boost: f32,
    /// Mean lexemes per chunk over the searched repositories.
    pub average_lexemes: f32,
}

/// One term of a [`TermRanking`].
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedTerm {
    /// A `tsquery` (text form) matching the term anywhere in a chunk.
    pub tsquery: String,
    /// A `tsquery` matching it in the path or symbol path only (weight `A`).
    pub heading_tsquery: String,
    /// Its weight: the inverse document frequency.
    pub weight: f32,
    /// Whether chunks holding it are candidates. Terms in a large share of the chunks only add to
    /// the score of chunks found by rarer ones: selecting by them would rank most of the index.
    pub selects: bool,
}

/// How often terms occur in the chunks of some repositories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TermStatistics {
    /// Chunks of the repositories.
    pub chunks: i64,
    /// Mean distinct lexemes per chunk.
    pub average_lexemes: f32,
    /// For each lexeme asked about that occurs, the chunks holding it.
    pub documents: Vec<(String, i64)>,
}

/// A chunk that matched a lexical query.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct LexicalHit {
    /// The chunk.
    pub chunk_id: i64,
    /// `ts_rank` of the chunk for the query (0 without a tsquery).
    pub score: f32,
}

/// A stored vector with what an in-process search filters on.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredVector {
    /// The chunk text's hash.
    pub content_hash: String,
    /// The language of (the first) file holding it.
    pub language: Option<String>,
    /// The path of (the first) file holding it.
    pub path: String,
    /// The kind of the symbol it covers.
    pub symbol_kind: Option<String>,
    /// The vector as stored (little-endian `f32`).
    #[sqlx(rename = "vector")]
    pub bytes: Vec<u8>,
}

/// A chunk with everything a search hit shows.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChunkRecord {
    /// The chunk's id.
    pub id: i64,
    /// Its repository.
    pub repository_id: RepositoryId,
    /// The repository's namespace.
    pub namespace: String,
    /// The repository's name.
    pub repository: String,
    /// The commit the repository is indexed at.
    pub commit_sha: Option<String>,
    /// Path of the file.
    pub path: String,
    /// Language of the file.
    pub language: Option<String>,
    /// Qualified name of the symbol the chunk covers.
    pub symbol_path: Option<String>,
    /// Kind of that symbol.
    pub symbol_kind: Option<String>,
    /// First line (1-based).
    pub start_line: i32,
    /// Last line (inclusive).
    pub end_line: i32,
    /// `path · symbol path`.
    pub context_header: String,
    /// The chunk's lines.
    pub text: String,
    /// The text's hash.
    pub content_hash: String,
}

/// A chunk the current run still has to embed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingChunk {
    /// The text's hash (the cache key with the model).
    pub content_hash: String,
    /// The text.
    pub text: String,
}

/// Encodes a vector as stored.
pub fn vector_to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes a stored vector into `out` (appending); bytes not a multiple of 4 are ignored.
pub fn extend_from_bytes(out: &mut Vec<f32>, bytes: &[u8]) {
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
    );
}

impl Store {
    /// Caches `vectors` of `model` by content hash; a hash cached already keeps its vector.
    pub async fn insert_embeddings(
        &self,
        model: &str,
        hashes: &[String],
        vectors: &[Vec<f32>],
    ) -> Result<u64> {
        debug_assert_eq!(hashes.len(), vectors.len());
        if hashes.is_empty() {
            return Ok(0);
        }
        let dimensions: Vec<i32> = vectors.iter().map(|v| v.len() as i32).collect();
        let bytes: Vec<Vec<u8>> = vectors.iter().map(|v| vector_to_bytes(v)).collect();
        let inserted = sqlx::query(
            "INSERT INTO embeddings (model, content_hash, dimension, vector)
             SELECT $1, * FROM UNNEST($2::text[], $3::int[], $4::bytea[])
             ON CONFLICT (model, content_hash) DO NOTHING",
        )
        .bind(model)
        .bind(hashes)
        .bind(&dimensions)
        .bind(&bytes)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted)
    }

    /// The vectors of `model` for every distinct chunk of `repository`, streamed (one row per
    /// content hash, with the first path holding it).
    pub fn repository_vectors<'a>(
        &'a self,
        repository: RepositoryId,
        model: &'a str,
    ) -> BoxStream<'a, Result<StoredVector, sqlx::Error>> {
        sqlx::query_as(
            "SELECT DISTINCT ON (c.content_hash) c.content_hash, c.language, f.path, c.symbol_kind, e.vector
             FROM chunks c
             JOIN files f ON f.id = c.file_id
             JOIN embeddings e ON e.model = $2 AND e.content_hash = c.content_hash
             WHERE c.repository_id = $1
             ORDER BY c.content_hash, f.path, c.start_line",
        )
        .bind(repository)
        .bind(model)
        .fetch(&self.pool)
    }

    /// When each repository (of `repositories`, or every one when empty) was last indexed: the
    /// version key of anything cached from its index.
    pub async fn index_versions(
        &self,
        repositories: &[RepositoryId],
    ) -> Result<Vec<(RepositoryId, Option<DateTime<Utc>>)>> {
        Ok(sqlx::query_as(
            "SELECT id, last_indexed_at FROM repositories
             WHERE cardinality($1::uuid[]) = 0 OR id = ANY($1::uuid[])",
        )
        .bind(repositories)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Deletes cached embeddings no chunk has and that are older than `grace` (a run in flight
    /// caches its vectors before its chunks commit). Returns how many went.
    pub async fn delete_unreferenced_embeddings(&self, grace: Duration) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM embeddings e
             WHERE e.created_at < now() - make_interval(secs => $1)
               AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.content_hash = e.content_hash)",
        )
        .bind(grace.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Ids of repositories named `name` or `namespace/name`.
    pub async fn repositories_named(&self, names: &[String]) -> Result<Vec<RepositoryId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM repositories
             WHERE name = ANY($1::text[]) OR namespace || '/' || name = ANY($1::text[])
             ORDER BY namespace, name",
        )
        .bind(names)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Chunks matching `query`, best first: `tsquery`'s matches by rank, then, while fewer than
    /// `limit`, `loose_tsquery`'s other matches by rank; when neither matches anything,
    /// `ranked_terms`' matches by score.
    pub async fn lexical_search(&self, query: &LexicalQuery) -> Result<Vec<LexicalHit>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(query.timeout.as_millis().max(1).to_string())
            .execute(&mut *tx)
            .await?;
        let mut hits = lexical_tier(query, Tier::Matching(query.tsquery.as_deref()), query.limit)
            .build_query_as::<LexicalHit>()
            .fetch_all(&mut *tx)
            .await?;
        let missing = query.limit - hits.len() as i64;
        if let (Some(loose), Some(strict), true) = (&query.loose_tsquery, &query.tsquery, missing > 0) {
            let more = lexical_tier(query, Tier::Looser { loose, strict }, missing)
                .build_query_as::<LexicalHit>()
                .fetch_all(&mut *tx)
                .await?;
            hits.extend(more);
        }
        if let Some(ranking) = query
            .ranked_terms
            .as_ref()
            .filter(|r| r.terms.iter().any(|t| t.selects))
            && hits.is_empty()
        {
            hits = lexical_tier(query, Tier::Terms(ranking), query.limit)
                .build_query_as::<LexicalHit>()
                .fetch_all(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(hits)
    }

    /// How often `lexemes` occur in the chunks of `repositories` (all when empty), from the
    /// statistics each index run refreshes.
    pub async fn term_statistics(
        &self,
        repositories: &[RepositoryId],
        lexemes: &[String],
    ) -> Result<TermStatistics> {
        let (chunks, average_lexemes): (i64, f32) = sqlx::query_as(
            "SELECT COALESCE(SUM(chunks), 0)::bigint,
                    COALESCE(SUM(average_lexemes * chunks) / NULLIF(SUM(chunks), 0), 0)::real
             FROM search_corpora
             WHERE cardinality($1::uuid[]) = 0 OR repository_id = ANY($1)",
        )
        .bind(repositories)
        .fetch_one(&self.pool)
        .await?;
        let documents = sqlx::query_as(
            "SELECT lexeme, SUM(chunks)::bigint FROM search_terms
             WHERE lexeme = ANY($2) AND (cardinality($1::uuid[]) = 0 OR repository_id = ANY($1))
             GROUP BY lexeme",
        )
        .bind(repositories)
        .bind(lexemes)
        .fetch_all(&self.pool)
        .await?;
        Ok(TermStatistics {
            chunks,
            average_lexemes,
            documents,
        })
    }

    /// Moves the entries that recent writes left in the pending lists of the search indexes (the
    /// chunks' token index and the trigram indexes) into the indexes themselves; returns the pages
    /// flushed. A GIN index takes new entries into an unsorted pending list that every query scans
    /// in full until a vacuum merges it, which after a bulk write costs a selective query more than
    /// its index lookup. Needs to own the indexes (as the role that ran the migrations does).
    pub async fn flush_search_indexes(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(SUM(gin_clean_pending_list(index::regclass)), 0)::bigint
             FROM UNNEST(ARRAY['chunks_search_tokens', 'blobs_content_trgm', 'files_path_trgm',
                               'symbols_name_trgm']) AS index",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// For each (repository, content hash), the id of one chunk holding it that passes `filter`
    /// (the first by path); pairs without such a chunk are left out.
    pub async fn chunks_for_hashes(
        &self,
        wanted: &[(RepositoryId, String)],
        filter: &ChunkFilter,
    ) -> Result<Vec<(RepositoryId, String, i64)>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let repositories: Vec<RepositoryId> = wanted.iter().map(|w| w.0).collect();
        let hashes: Vec<&str> = wanted.iter().map(|w| w.1.as_str()).collect();
        let mut sql = QueryBuilder::<Postgres>::new(
            "SELECT DISTINCT ON (c.repository_id, c.content_hash) c.repository_id, c.content_hash, c.id
             FROM UNNEST(",
        );
        sql.push_bind(repositories)
            .push("::uuid[], ")
            .push_bind(hashes)
            .push("::text[]) AS w(repository_id, content_hash)")
            .push(" JOIN chunks c ON c.repository_id = w.repository_id AND c.content_hash = w.content_hash")
            .push(" JOIN files f ON f.id = c.file_id WHERE TRUE");
        push_filter(&mut sql, filter);
        sql.push(" ORDER BY c.repository_id, c.content_hash, f.path, c.start_line");
        Ok(sql.build_query_as().fetch_all(&self.pool).await?)
    }

    /// The chunks with these ids (in no particular order).
    pub async fn chunk_records(&self, ids: &[i64]) -> Result<Vec<ChunkRecord>> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.repository_id, r.namespace, r.name AS repository,
                    r.last_indexed_commit AS commit_sha, f.path, c.language, c.symbol_path, c.symbol_kind,
                    c.start_line, c.end_line, c.context_header, c.text, c.content_hash
             FROM chunks c
             JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = c.repository_id
             WHERE c.id = ANY($1::bigint[])",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?)
    }
}

impl IndexWriter {
    /// Up to `limit` distinct chunks of the repository, as this run will commit it, that have no
    /// cached vector of `model`, in content-hash order after `after` (keyset paging).
    pub async fn chunks_to_embed(
        &mut self,
        model: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PendingChunk>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT ON (c.content_hash) c.content_hash, c.text
             FROM chunks c
             WHERE c.repository_id = $1 AND c.content_hash > $3
               AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.model = $2 AND e.content_hash = c.content_hash)
             ORDER BY c.content_hash
             LIMIT $4",
        )
        .bind(self.repository_id())
        .bind(model)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.connection())
        .await?)
    }
}

/// Matches of the looser tier that are ranked (found in index order, then ranked): an identifier's
/// parts can each be common (`InvalidKey`: `invalid` and `key`), and ranking every chunk that holds
/// them all costs more than the rest of a search.
pub const LOOSE_MATCHES_RANKED: i64 = 256;

/// Matches of the BM25 tier that are ranked (found in index order, then ranked): a question's
/// rarest words can still be common (`error`, `string` in a Rust corpus), and scoring tens of
/// thousands of chunks would cost more than the rest of the search.
pub const TERM_MATCHES_RANKED: i64 = 4096;

/// Which chunks one tier of a lexical query finds, and how it ranks them.
#[derive(Debug, Clone, Copy)]
enum Tier<'a> {
    /// Chunks matching the `tsquery`, by `ts_rank` (all of the other conditions by path without one).
    Matching(Option<&'a str>),
    /// Chunks matching `loose` but not `strict` (the tier above), by `ts_rank`.
    Looser { loose: &'a str, strict: &'a str },
    /// Chunks holding a selecting term, by BM25.
    Terms(&'a TermRanking),
}

/// One ranked lexical query: the chunks of `tier` that match the phrases, regexes and filter of
/// `query`, best first, at most `limit`.
fn lexical_tier(query: &LexicalQuery, tier: Tier<'_>, limit: i64) -> QueryBuilder<Postgres> {
    let (tsquery, exclude) = match tier {
        Tier::Matching(tsquery) => (tsquery, None),
        Tier::Looser { loose, strict } => (Some(loose), Some(strict)),
        Tier::Terms(_) => (None, None),
    };
    let mut sql = QueryBuilder::<Postgres>::new("SELECT chunk_id, ");
    match (tier, tsquery) {
        (Tier::Terms(ranking), _) => push_bm25(&mut sql, ranking),
        // Normalisation 1: divide by 1 + log(length), so long chunks do not win by size.
        (_, Some(tsquery)) => {
            sql.push("ts_rank(tokens, ")
                .push_bind(tsquery.to_string())
                .push("::tsquery, 1)::real AS score");
        }
        (_, None) => {
            sql.push("0::real AS score");
        }
    };
    sql.push(" FROM (SELECT c.id AS chunk_id, c.search_tokens AS tokens");
    // Files only when a condition needs them: joining every match to its file costs more than
    // the index lookup of a selective identifier.
    let textual = !query.phrases.is_empty() || !query.regexes.is_empty();
    let by_path = matches!(tier, Tier::Matching(None));
    let needs_files = textual || by_path || !query.filter.path_prefixes.is_empty();
    if by_path {
        sql.push(", f.path, c.start_line");
    }
    sql.push(" FROM chunks c");
    if needs_files {
        sql.push(" JOIN files f ON f.id = c.file_id");
    }
    if textual {
        sql.push(" JOIN blobs b ON b.sha = f.blob_sha");
    }
    sql.push(" WHERE TRUE");
    if let Some(tsquery) = tsquery {
        sql.push(" AND c.search_tokens @@ ")
            .push_bind(tsquery.to_string())
            .push("::tsquery");
    }
    if let Some(exclude) = exclude {
        sql.push(" AND NOT c.search_tokens @@ ")
            .push_bind(exclude.to_string())
            .push("::tsquery");
    }
    if let Tier::Terms(ranking) = tier {
        let selecting: Vec<&str> = ranking
            .terms
            .iter()
            .filter(|t| t.selects)
            .map(|t| t.tsquery.as_str())
            .collect();
        sql.push(" AND c.search_tokens @@ ")
            .push_bind(selecting.join(" | "))
            .push("::tsquery");
    }
    // Each condition twice: on the blob (served by its trigram index), then on the chunk.
    for phrase in &query.phrases {
        let pattern = format!("%{}%", escape_like(phrase));
        sql.push(" AND b.content ILIKE ").push_bind(pattern.clone());
        sql.push(" AND c.text ILIKE ").push_bind(pattern);
    }
    for regex in &query.regexes {
        sql.push(" AND b.content ~ ").push_bind(regex.clone());
        sql.push(" AND c.text ~ ").push_bind(regex.clone());
    }
    push_filter(&mut sql, &query.filter);
    if exclude.is_some() {
        sql.push(" LIMIT ").push_bind(LOOSE_MATCHES_RANKED);
    }
    if matches!(tier, Tier::Terms(_)) {
        sql.push(" LIMIT ").push_bind(TERM_MATCHES_RANKED);
    }
    sql.push(") m");
    match by_path {
        false => sql.push(" ORDER BY score DESC, chunk_id"),
        true => sql.push(" ORDER BY path, start_line"),
    };
    sql.push(" LIMIT ").push_bind(limit);
    sql
}

/// Appends the BM25 score of `tokens` (a chunk's lexemes) as `score`: for each term it holds,
/// `weight · tf · (k1 + 1) / (tf + k1 · (1 − b + b · length / average))`, summed. One `CASE` per
/// term, the numbers written as literals (they are ours, finite by construction), the terms bound.
fn push_bm25(sql: &mut QueryBuilder<Postgres>, ranking: &TermRanking) {
    let number = |x: f32| if x.is_finite() { x } else { 0.0 };
    let (k1, b) = (number(ranking.k1), number(ranking.b));
    let average = number(ranking.average_lexemes).max(1.0);
    let norm = format!("({k1} * (1 - {b} + {b} * length(tokens) / {average}::real))");
    let saturated = |tf: f32| format!("{} / ({tf} + {norm})", tf * (k1 + 1.0));
    let heading_tf = 1.0 + number(ranking.heading_boost).max(0.0);
    sql.push("(0");
    for term in &ranking.terms {
        let weight = number(term.weight);
        sql.push(" + CASE WHEN tokens @@ ")
            .push_bind(term.heading_tsquery.clone())
            .push(format!("::tsquery THEN {weight} * {}", saturated(heading_tf)))
            .push(" WHEN tokens @@ ")
            .push_bind(term.tsquery.clone())
            .push(format!("::tsquery THEN {weight} * {} ELSE 0 END", saturated(1.0)));
    }
    sql.push(")::real AS score");
}

/// Appends `filter`'s conditions on `c` (chunks) and, for path prefixes, `f` (files).
fn push_filter(sql: &mut QueryBuilder<Postgres>, filter: &ChunkFilter) {
    if !filter.repositories.is_empty() {
        sql.push(" AND c.repository_id = ANY(")
            .push_bind(filter.repositories.clone())
            .push("::uuid[])");
    }
    if !filter.languages.is_empty() {
        sql.push(" AND lower(c.language) = ANY(")
            .push_bind(
                filter
                    .languages
                    .iter()
                    .map(|l| l.to_lowercase())
                    .collect::<Vec<_>>(),
            )
            .push("::text[])");
    }
    if !filter.symbol_kinds.is_empty() {
        sql.push(" AND c.symbol_kind = ANY(")
            .push_bind(filter.symbol_kinds.clone())
            .push("::text[])");
    }
    if !filter.path_prefixes.is_empty() {
        let patterns: Vec<String> = filter
            .path_prefixes
            .iter()
            .map(|p| format!("{}%", escape_like(p)))
            .collect();
        sql.push(" AND f.path LIKE ANY(")
            .push_bind(patterns)
            .push("::text[])");
    }
    for symbol in &filter.symbols {
        sql.push(" AND c.symbol_path ILIKE ")
            .push_bind(format!("%{}%", escape_like(symbol)));
    }
}

/// Escapes `LIKE`/`ILIKE` metacharacters so the text matches literally.
pub(crate) fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_bytes() {
        let v = vec![0.5f32, -1.25, 3.0e-8];
        let mut out = Vec::new();
        extend_from_bytes(&mut out, &vector_to_bytes(&v));
        assert_eq!(out, v);
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"100%_a\b"), r"100\%\_a\\b");
    }
}
