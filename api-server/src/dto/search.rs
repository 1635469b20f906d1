//! `GET` and `POST /api/v1/search`: what a search found, every hit explained.

use reposage_retrieval::search as retrieval;
use serde::Serialize;
use uuid::Uuid;

/// What a search found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// The query as given.
    pub query: String,
    /// The mode asked for: `lexical`, `semantic` or `hybrid`.
    pub mode: &'static str,
    /// Why the search did less than asked (no embedder, or the embedder failed), when it did.
    pub degraded: Option<String>,
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Where the time went.
    pub timings: Timings,
}

/// Milliseconds spent per step.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// The lexical query.
    pub lexical_ms: f64,
    /// Embedding the query.
    pub embed_ms: f64,
    /// Vector search and mapping hits to chunks.
    pub semantic_ms: f64,
    /// The whole search.
    pub total_ms: f64,
}

/// One chunk found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The chunk's id.
    pub chunk_id: i64,
    /// Its repository.
    pub repository_id: Uuid,
    /// The repository's namespace.
    pub namespace: String,
    /// The repository's name.
    pub repository: String,
    /// The commit the repository is indexed at (citations pin to it).
    pub commit_sha: Option<String>,
    /// Path of the file.
    pub path: String,
    /// Language of the file.
    pub language: Option<String>,
    /// Qualified name of the symbol the chunk covers.
    pub symbol_path: Option<String>,
    /// Kind of that symbol (`function`, `struct`, …).
    pub symbol_kind: Option<String>,
    /// First line of the chunk.
    pub start_line: i32,
    /// Last line of the chunk.
    pub end_line: i32,
    /// The lines that matched (or the first lines, for a purely semantic hit).
    pub snippet: Vec<SnippetLine>,
    /// Why it ranks where it does.
    pub explanation: Explanation,
}

/// One line of a snippet.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnippetLine {
    /// 1-based line number in the file.
    pub line: i32,
    /// The line (cut at 300 characters).
    pub text: String,
    /// True when the line matches the query's words, phrases or regexes.
    pub matched: bool,
}

/// A hit's place in each list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Rank (1-based) and `ts_rank` score in the lexical list.
    pub lexical: Option<RankScore>,
    /// Rank (1-based) and cosine similarity in the semantic list.
    pub semantic: Option<RankScore>,
    /// Reciprocal-rank-fusion score (hybrid), or the single list's score.
    pub fused: f32,
}

/// A rank and score in one list.
#[derive(Debug, Serialize)]
pub struct RankScore {
    /// 1-based rank.
    pub rank: usize,
    /// The retriever's own score.
    pub score: f32,
}

impl From<retrieval::SearchResults> for SearchResults {
    fn from(results: retrieval::SearchResults) -> Self {
        let retrieval::SearchResults {
            query,
            mode,
            degraded,
            hits,
            timings:
                retrieval::Timings {
                    lexical_ms,
                    embed_ms,
                    semantic_ms,
                    total_ms,
                },
        } = results;
        Self {
            query,
            mode: mode.as_str(),
            degraded,
            hits: hits.into_iter().map(SearchHit::from).collect(),
            timings: Timings {
                lexical_ms,
                embed_ms,
                semantic_ms,
                total_ms,
            },
        }
    }
}

impl From<retrieval::SearchHit> for SearchHit {
    fn from(hit: retrieval::SearchHit) -> Self {
        let retrieval::SearchHit {
            chunk_id,
            repository_id,
            namespace,
            repository,
            commit_sha,
            path,
            language,
            symbol_path,
            symbol_kind,
            start_line,
            end_line,
            snippet,
            explanation:
                retrieval::Explanation {
                    lexical,
                    semantic,
                    fused,
                },
        } = hit;
        let rank = |score: Option<retrieval::RankScore>| {
            score.map(|retrieval::RankScore { rank, score }| RankScore { rank, score })
        };
        Self {
            chunk_id,
            repository_id: repository_id.0,
            namespace,
            repository,
            commit_sha,
            path,
            language,
            symbol_path,
            symbol_kind,
            start_line,
            end_line,
            snippet: snippet
                .into_iter()
                .map(|retrieval::SnippetLine { line, text, matched }| SnippetLine { line, text, matched })
                .collect(),
            explanation: Explanation {
                lexical: rank(lexical),
                semantic: rank(semantic),
                fused,
            },
        }
    }
}
