//! Literal substring lookup over indexed paths and file contents, case-insensitive (the `pg_trgm`
//! indexes serve `ILIKE`): what a `grep -i -F` over the stored index would find.
//!
//! It is not a search engine: ranked lexical, semantic and hybrid search is
//! `reposage_retrieval::Searcher`. This answers exact questions about what was stored, such as
//! whether a redacted secret appears anywhere.

use serde::Deserialize;

use crate::retrieval::escape_like;
use crate::{RepositoryId, Result, Store};

/// Most matching lines returned per file.
const MAX_LINES_PER_FILE: i64 = 5;
/// Longest line excerpt returned, in characters.
const MAX_LINE_CHARS: i32 = 300;

/// A substring query.
#[derive(Debug, Clone)]
pub struct SubstringQuery {
    /// The text to find, case-insensitively. Matched literally: `%`, `_` and `\` have no special meaning.
    pub text: String,
    /// Restrict to one repository.
    pub repository: Option<RepositoryId>,
    /// Most files returned.
    pub limit: i64,
}

/// A file that matches, with the matching lines.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubstringHit {
    /// The repository it belongs to.
    pub repository_id: RepositoryId,
    /// That repository's namespace.
    pub namespace: String,
    /// That repository's name.
    pub repository: String,
    /// The commit the file was indexed at.
    pub commit_sha: Option<String>,
    /// Path in the repository.
    pub path: String,
    /// Detected language.
    pub language: Option<String>,
    /// True when the path itself contains the text.
    pub path_match: bool,
    /// Matching lines of the content (up to five per file).
    #[sqlx(json)]
    pub matches: Vec<LineMatch>,
}

/// One matching line.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LineMatch {
    /// 1-based line number.
    pub line: i64,
    /// The line (cut at 300 characters).
    pub text: String,
}

impl Store {
    /// Files whose path or content contains `query.text`, paths matches first.
    pub async fn find_substring(&self, query: &SubstringQuery) -> Result<Vec<SubstringHit>> {
        let pattern = format!("%{}%", escape_like(&query.text));
        let hits = sqlx::query_as::<_, SubstringHit>(
            "SELECT r.id AS repository_id, r.namespace, r.name AS repository, r.last_indexed_commit AS commit_sha,
                    f.path, f.language, f.path ILIKE $2 ESCAPE '\\' AS path_match,
                    COALESCE(m.matches, '[]'::jsonb) AS matches
             FROM files f
             JOIN repositories r ON r.id = f.repository_id
             LEFT JOIN blobs b ON b.sha = f.blob_sha AND f.skip_reason IS NULL
             LEFT JOIN LATERAL (
                 SELECT jsonb_agg(jsonb_build_object('line', t.n, 'text', left(t.line, $5)) ORDER BY t.n) AS matches
                 FROM (SELECT s.line, s.n
                       FROM regexp_split_to_table(b.content, E'\\n') WITH ORDINALITY AS s(line, n)
                       WHERE strpos(lower(s.line), lower($1)) > 0
                       ORDER BY s.n LIMIT $6) t
             ) m ON b.sha IS NOT NULL
             WHERE ($3::uuid IS NULL OR f.repository_id = $3)
               AND (f.path ILIKE $2 ESCAPE '\\' OR b.content ILIKE $2 ESCAPE '\\')
             ORDER BY path_match DESC, r.namespace, r.name, f.path
             LIMIT $4",
        )
        .bind(&query.text)
        .bind(&pattern)
        .bind(query.repository)
        .bind(query.limit)
        .bind(MAX_LINE_CHARS)
        .bind(MAX_LINES_PER_FILE)
        .fetch_all(&self.pool)
        .await?;
        Ok(hits)
    }
}
