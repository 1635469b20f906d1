//! Search over indexed repositories: lexical, semantic or hybrid, with every hit explained.
//!
//! - **Lexical**: the [query language](crate::query) over Postgres — ranked full-text search on
//!   the code-aware token stream ([`lexical`](crate::lexical)), exact phrases and regular
//!   expressions narrowed by `pg_trgm`, and filters.
//! - **Semantic**: the query's free text embedded with the configured [`Embedder`], the nearest
//!   chunks from the [`VectorStore`], then the same filters.
//! - **Hybrid** (the default): both lists, fused by [reciprocal rank fusion](crate::fusion). When
//!   no embedder is configured, hybrid search is lexical and says so (`degraded`).
//!
//! Each list is `candidates` long (at least the requested `limit`); each hit carries its rank and
//! score in each list and the fused score, so a user can see why it ranks where it does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::RegexBuilder;
use reposage_store::{
    ChunkFilter, ChunkRecord, LexicalQuery, RepositoryId, Store, TermRanking, TermStatistics, WeightedTerm,
};
use serde::{Deserialize, Serialize};

use crate::fusion::{RrfParams, fuse};
use crate::lexical::{identifier_tokens, identifiers, inflections, ranking_terms, term_tsqueries, tsquery};
use crate::query::{ParsedQuery, postgres_regex};
use crate::{Embedder, Error, Result, VectorFilter, VectorStore};

/// Most hits one search returns.
pub const MAX_LIMIT: usize = 100;

/// What `degraded` says when a hybrid search has no embedder to run its semantic half.
pub const NO_EMBEDDER: &str = "no embedding model is configured: lexical results only";

/// What `degraded` says when a hybrid search's semantic half failed (embedding service or vector
/// store down) and it answered with its lexical half.
pub const SEMANTIC_FAILED: &str = "the embedding service failed: lexical results only";
/// Lines of a snippet, at most.
const SNIPPET_LINES: usize = 5;
/// Characters of a snippet line, at most.
const SNIPPET_LINE_CHARS: usize = 300;

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Postgres full-text, phrase and regex search.
    Lexical,
    /// Nearest neighbours of the query's embedding.
    Semantic,
    /// Both, fused by reciprocal rank.
    #[default]
    Hybrid,
}

impl SearchMode {
    /// `lexical`, `semantic` or `hybrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Lexical => "lexical",
            SearchMode::Semantic => "semantic",
            SearchMode::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for SearchMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lexical" => Ok(SearchMode::Lexical),
            "semantic" => Ok(SearchMode::Semantic),
            "hybrid" => Ok(SearchMode::Hybrid),
            other => Err(Error::InvalidQuery(format!(
                "unknown search mode `{other}`: use lexical, semantic or hybrid"
            ))),
        }
    }
}

/// One search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// The query, in the [query language](crate::query).
    pub query: String,
    /// Which retrievers to use.
    pub mode: SearchMode,
    /// Most hits (1..=[`MAX_LIMIT`]).
    pub limit: usize,
    /// Only these repositories (all when empty); `repo:` filters narrow it further.
    pub repositories: Vec<RepositoryId>,
}

/// Tunables of a [`Searcher`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams {
    /// Fusion constants.
    pub rrf: RrfParams,
    /// Length of each retriever's list before fusion.
    pub candidates: usize,
    /// Bound on a lexical query's run time.
    pub lexical_timeout: Duration,
    /// How the lexical list ranks chunks holding only some of the query's words.
    pub bm25: Bm25Params,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            rrf: RrfParams::default(),
            candidates: 50,
            lexical_timeout: Duration::from_secs(5),
            bm25: Bm25Params::default(),
        }
    }
}

/// The BM25 ranking of the lexical list's last tier: the chunks holding some, not all, of the
/// query's words (see [`TermRanking`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Length normalisation.
    pub b: f32,
    /// Extra frequency of a word found in the chunk's path or symbol path.
    pub heading_boost: f32,
    /// Words held by more than this share of the chunks only add to the score of chunks found by
    /// rarer words (unless fewer than [`Bm25Params::min_selecting`] words are rarer).
    pub selecting_share: f64,
    /// Rarest words that select candidates, however common.
    pub min_selecting: usize,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params {
            k1: 1.2,
            b: 0.75,
            heading_boost: 1.0,
            selecting_share: 0.1,
            min_selecting: 2,
        }
    }
}

impl Bm25Params {
    /// The ranking of `terms` given how often they occur: each term's weight is its inverse
    /// document frequency `ln(1 + (N − n + 0.5) / (n + 0.5))` for `n` of `N` chunks; terms that
    /// occur nowhere are left out. `None` when no term occurs.
    pub fn ranking(&self, terms: &[String], statistics: &TermStatistics) -> Option<TermRanking> {
        let total = statistics.chunks as f64;
        let documents = |lexeme: &str| {
            statistics
                .documents
                .iter()
                .find(|(l, _)| l == lexeme)
                .map(|(_, n)| *n)
        };
        let mut weighted: Vec<(i64, WeightedTerm)> = terms
            .iter()
            .filter_map(|term| {
                // The term matches in any of its forms that occur; its rarity is that of its
                // commonest form (the union of their chunks is at least as large).
                let forms: Vec<(String, i64)> = std::iter::once(term.clone())
                    .chain(inflections(term))
                    .filter_map(|form| documents(&form).map(|n| (form, n)))
                    .collect();
                let documents = forms.iter().map(|(_, n)| *n).max()?;
                let n = documents as f64;
                let lexemes: Vec<&str> = forms.iter().map(|(form, _)| form.as_str()).collect();
                let (tsquery, heading_tsquery) = term_tsqueries(&lexemes);
                Some((
                    documents,
                    WeightedTerm {
                        tsquery,
                        heading_tsquery,
                        weight: (1.0 + (total - n + 0.5) / (n + 0.5)).ln() as f32,
                        selects: false,
                    },
                ))
            })
            .collect();
        if weighted.is_empty() {
            return None;
        }
        weighted.sort_by_key(|(documents, _)| *documents);
        for (rank, (documents, term)) in weighted.iter_mut().enumerate() {
            term.selects = rank < self.min_selecting || (*documents as f64) <= self.selecting_share * total;
        }
        Some(TermRanking {
            terms: weighted.into_iter().map(|(_, t)| t).collect(),
            k1: self.k1,
            b: self.b,
            heading_boost: self.heading_boost,
            average_lexemes: statistics.average_lexemes,
        })
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// The query as given.
    pub query: String,
    /// The mode asked for.
    pub mode: SearchMode,
    /// Why the search did less than asked (no embedder configured), when it did.
    pub degraded: Option<String>,
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Where the time went.
    pub timings: Timings,
}

/// Milliseconds spent per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Lexical query.
    pub lexical_ms: f64,
    /// Embedding the query.
    pub embed_ms: f64,
    /// Vector search and mapping hits to chunks.
    pub semantic_ms: f64,
    /// The whole search.
    pub total_ms: f64,
}

/// One chunk found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    /// The chunk.
    pub chunk_id: i64,
    /// Its repository.
    pub repository_id: RepositoryId,
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
    /// Kind of that symbol.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankScore {
    /// 1-based rank.
    pub rank: usize,
    /// The retriever's own score.
    pub score: f32,
}

/// Runs searches.
#[derive(Debug, Clone)]
pub struct Searcher {
    store: Store,
    semantic: Option<(Arc<dyn Embedder>, Arc<dyn VectorStore>)>,
    params: SearchParams,
}

impl Searcher {
    /// A searcher over `store`; `semantic` is the embedder and vector store, when configured.
    pub fn new(
        store: Store,
        semantic: Option<(Arc<dyn Embedder>, Arc<dyn VectorStore>)>,
        params: SearchParams,
    ) -> Self {
        Searcher {
            store,
            semantic,
            params,
        }
    }

    /// The embedder, when semantic search is configured.
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.semantic.as_ref().map(|(e, _)| e)
    }

    /// Runs `request`.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResults> {
        let started = Instant::now();
        if request.limit == 0 || request.limit > MAX_LIMIT {
            return Err(Error::InvalidQuery(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let parsed = ParsedQuery::parse(&request.query)?;
        if parsed.is_empty() {
            return Err(Error::InvalidQuery(
                "the query has nothing to search for: give words, a \"phrase\", a /regex/ or sym:".into(),
            ));
        }
        let mut results = SearchResults {
            query: request.query.clone(),
            mode: request.mode,
            degraded: None,
            hits: Vec::new(),
            timings: Timings::default(),
        };
        let Some(filter) = self.filter(&parsed, &request.repositories).await? else {
            results.timings.total_ms = ms(started);
            return Ok(results);
        };
        let candidates = self.params.candidates.max(request.limit);

        let semantic = match (&self.semantic, request.mode) {
            (_, SearchMode::Lexical) => None,
            (Some(semantic), _) => Some(semantic),
            (None, SearchMode::Semantic) => return Err(Error::SemanticNotConfigured),
            (None, SearchMode::Hybrid) => {
                results.degraded = Some(NO_EMBEDDER.into());
                None
            }
        };
        if request.mode == SearchMode::Semantic && parsed.free_text().trim().is_empty() {
            return Err(Error::InvalidQuery(
                "semantic search needs words to embed (regexes and sym: are lexical)".into(),
            ));
        }

        // The two retrievers are independent: run them at the same time.
        let lexical = async {
            match request.mode {
                SearchMode::Semantic => Ok((Vec::new(), 0.0)),
                _ => self.lexical(&parsed, &filter, candidates).await,
            }
        };
        let dense = async {
            match semantic {
                Some((embedder, vectors)) => {
                    self.semantic(&parsed, &filter, candidates, embedder.as_ref(), vectors.as_ref())
                        .await
                }
                None => Ok((Vec::new(), 0.0, 0.0)),
            }
        };
        let (lexical, dense) = futures::join!(lexical, dense);
        let (lexical, lexical_ms) = lexical?;
        // A hybrid search survives its semantic half failing: it answers lexically and says so.
        let (dense, embed_ms, semantic_ms) = match dense {
            Ok(dense) => dense,
            Err(error) if request.mode == SearchMode::Hybrid && error.allows_lexical_fallback() => {
                tracing::warn!(
                    error = %error,
                    "semantic retrieval failed; answering the hybrid search with lexical results"
                );
                results.degraded = Some(SEMANTIC_FAILED.into());
                (Vec::new(), 0.0, 0.0)
            }
            Err(error) => return Err(error),
        };
        results.timings.lexical_ms = lexical_ms;
        results.timings.embed_ms = embed_ms;
        results.timings.semantic_ms = semantic_ms;

        let ranked = rank(&lexical, &dense, request.mode, &self.params.rrf, request.limit);
        let ids: Vec<i64> = ranked.iter().map(|r| r.0).collect();
        let mut records: HashMap<i64, ChunkRecord> = self
            .store
            .chunk_records(&ids)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let matcher = LineMatcher::new(&parsed);
        results.hits = ranked
            .into_iter()
            .filter_map(|(id, explanation)| {
                records
                    .remove(&id)
                    .map(|record| hit(record, explanation, &matcher))
            })
            .collect();
        results.timings.total_ms = ms(started);
        Ok(results)
    }

    /// The lexical list, best first, as (chunk id, `ts_rank`), and its milliseconds.
    async fn lexical(
        &self,
        parsed: &ParsedQuery,
        filter: &ChunkFilter,
        candidates: usize,
    ) -> Result<(Vec<(i64, f32)>, f64)> {
        let t = Instant::now();
        // A word without identifier characters (`%`, `->`) has no tokens: it is matched literally.
        // So is a word too short to be a token (`a`, `x`), but only when no word has tokens: as a
        // substring it would match nearly every chunk, and cost a scan of their text.
        let (tokened, untokened): (Vec<&String>, Vec<&String>) = parsed
            .words
            .iter()
            .partition(|w| identifiers(w).any(|i| !identifier_tokens(i).is_empty()));
        let literal = untokened
            .into_iter()
            .filter(|w| tokened.is_empty() || identifiers(w).next().is_none());
        let phrases: Vec<String> = parsed.phrases.iter().chain(literal).cloned().collect();
        let terms = ranking_terms(tokened.iter().map(|w| w.as_str()));
        let several_words = tokened.len() > 1 && !terms.is_empty();
        let tokens = tsquery(tokened.into_iter().map(String::as_str));
        let (tsquery, loose_tsquery) = match tokens {
            Some(tokens) => (Some(tokens.whole), tokens.parts),
            None => (None, None),
        };
        // Ranking by some of the words is for queries of several: one word is all or nothing.
        let ranked_terms = match several_words {
            false => None,
            true => {
                let lexemes: Vec<String> = terms
                    .iter()
                    .flat_map(|t| std::iter::once(t.clone()).chain(inflections(t)))
                    .collect();
                let statistics = self.store.term_statistics(&filter.repositories, &lexemes).await?;
                self.params.bm25.ranking(&terms, &statistics)
            }
        };
        let hits = self
            .store
            .lexical_search(&LexicalQuery {
                tsquery,
                loose_tsquery,
                ranked_terms,
                phrases,
                regexes: parsed.regexes.iter().map(|r| postgres_regex(r)).collect(),
                filter: filter.clone(),
                limit: candidates as i64,
                timeout: self.params.lexical_timeout,
            })
            .await?
            .into_iter()
            .map(|h| (h.chunk_id, h.score))
            .collect();
        Ok((hits, ms(t)))
    }

    /// The semantic list, best first, as (chunk id, cosine), with the milliseconds spent embedding
    /// the query and searching the vectors.
    async fn semantic(
        &self,
        parsed: &ParsedQuery,
        filter: &ChunkFilter,
        candidates: usize,
        embedder: &dyn Embedder,
        vectors: &dyn VectorStore,
    ) -> Result<(Vec<(i64, f32)>, f64, f64)> {
        let text = parsed.free_text();
        if text.trim().is_empty() {
            return Ok((Vec::new(), 0.0, 0.0));
        }
        let t = Instant::now();
        let query = embedder.embed_query(&text).await?;
        let embed_ms = ms(t);
        let t = Instant::now();
        let vector_filter = VectorFilter {
            repositories: filter.repositories.clone(),
            languages: filter.languages.clone(),
            // One prefix narrows inside the store; several are applied with the chunk filter.
            path_prefix: match filter.path_prefixes.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            symbol_kinds: filter.symbol_kinds.clone(),
        };
        let near = vectors
            .search(embedder.model(), &query, &vector_filter, candidates)
            .await?;
        let wanted: Vec<(RepositoryId, String)> = near
            .iter()
            .map(|h| (h.repository, h.content_hash.clone()))
            .collect();
        let chunk_of: HashMap<(RepositoryId, String), i64> = self
            .store
            .chunks_for_hashes(&wanted, filter)
            .await?
            .into_iter()
            .map(|(repository, hash, id)| ((repository, hash), id))
            .collect();
        let dense = near
            .into_iter()
            .filter_map(|h| {
                chunk_of
                    .get(&(h.repository, h.content_hash))
                    .map(|id| (*id, h.score))
            })
            .collect();
        Ok((dense, embed_ms, ms(t)))
    }

    /// The chunk filter of a query, or `None` when its `repo:` names match no repository (or
    /// none of the requested ones).
    async fn filter(&self, parsed: &ParsedQuery, requested: &[RepositoryId]) -> Result<Option<ChunkFilter>> {
        let mut repositories = requested.to_vec();
        if !parsed.repositories.is_empty() {
            let named = self.store.repositories_named(&parsed.repositories).await?;
            repositories = if requested.is_empty() {
                named
            } else {
                named.into_iter().filter(|id| requested.contains(id)).collect()
            };
            if repositories.is_empty() {
                return Ok(None);
            }
        }
        Ok(Some(ChunkFilter {
            repositories,
            languages: parsed.languages.clone(),
            path_prefixes: parsed.paths.clone(),
            symbol_kinds: parsed.kinds.clone(),
            symbols: parsed.symbols.clone(),
        }))
    }
}

/// Orders chunk ids from the two lists as `mode` says, with each one's explanation.
fn rank(
    lexical: &[(i64, f32)],
    dense: &[(i64, f32)],
    mode: SearchMode,
    rrf: &RrfParams,
    limit: usize,
) -> Vec<(i64, Explanation)> {
    let place = |list: &[(i64, f32)]| -> HashMap<i64, RankScore> {
        list.iter()
            .enumerate()
            .map(|(i, (id, score))| {
                (
                    *id,
                    RankScore {
                        rank: i + 1,
                        score: *score,
                    },
                )
            })
            .collect()
    };
    let (lexical_places, dense_places) = (place(lexical), place(dense));
    let explain = |id: i64, fused: f32| Explanation {
        lexical: lexical_places.get(&id).copied(),
        semantic: dense_places.get(&id).copied(),
        fused,
    };
    let ordered: Vec<(i64, f32)> = match mode {
        SearchMode::Lexical => lexical.to_vec(),
        SearchMode::Semantic => dense.to_vec(),
        SearchMode::Hybrid => {
            let lexical_ids: Vec<i64> = lexical.iter().map(|h| h.0).collect();
            let dense_ids: Vec<i64> = dense.iter().map(|h| h.0).collect();
            fuse(
                &[
                    (&lexical_ids, rrf.lexical_weight),
                    (&dense_ids, rrf.semantic_weight),
                ],
                rrf.k,
            )
        }
    };
    ordered
        .into_iter()
        .take(limit)
        .map(|(id, score)| (id, explain(id, score)))
        .collect()
}

/// Tells which lines of a chunk match a query.
struct LineMatcher {
    tokens: Vec<String>,
    phrases: Vec<String>,
    regexes: Vec<regex::Regex>,
}

impl LineMatcher {
    fn new(parsed: &ParsedQuery) -> Self {
        LineMatcher {
            tokens: parsed
                .words
                .iter()
                .flat_map(|w| identifiers(w).flat_map(identifier_tokens).collect::<Vec<_>>())
                .collect(),
            phrases: parsed.phrases.iter().map(|p| p.to_lowercase()).collect(),
            // Validated when parsed; one that still fails to build only loses its highlighting.
            regexes: parsed
                .regexes
                .iter()
                .filter_map(|r| RegexBuilder::new(r).size_limit(1 << 20).build().ok())
                .collect(),
        }
    }

    fn matches(&self, line: &str) -> bool {
        let lower = line.to_lowercase();
        self.regexes.iter().any(|r| r.is_match(line))
            || self.phrases.iter().any(|p| lower.contains(p.as_str()))
            || identifiers(line)
                .flat_map(identifier_tokens)
                .any(|t| self.tokens.contains(&t))
    }
}

fn hit(record: ChunkRecord, explanation: Explanation, matcher: &LineMatcher) -> SearchHit {
    let numbered = || {
        record
            .text
            .lines()
            .enumerate()
            .map(|(i, text)| (record.start_line + i as i32, text))
    };
    let mut snippet: Vec<SnippetLine> = numbered()
        .filter(|(_, text)| matcher.matches(text))
        .take(SNIPPET_LINES)
        .map(|(line, text)| snippet_line(line, text, true))
        .collect();
    if snippet.is_empty() {
        snippet = numbered()
            .filter(|(_, text)| !text.trim().is_empty())
            .take(3)
            .map(|(line, text)| snippet_line(line, text, false))
            .collect();
    }
    SearchHit {
        chunk_id: record.id,
        repository_id: record.repository_id,
        namespace: record.namespace,
        repository: record.repository,
        commit_sha: record.commit_sha,
        path: record.path,
        language: record.language,
        symbol_path: record.symbol_path,
        symbol_kind: record.symbol_kind,
        start_line: record.start_line,
        end_line: record.end_line,
        snippet,
        explanation,
    }
}

fn snippet_line(line: i32, text: &str, matched: bool) -> SnippetLine {
    SnippetLine {
        line,
        text: text.chars().take(SNIPPET_LINE_CHARS).collect(),
        matched,
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_ranking_fuses_and_explains_both_lists() {
        let lexical = [(1, 0.5), (2, 0.4)];
        let dense = [(3, 0.9), (1, 0.8)];
        let ranked = rank(&lexical, &dense, SearchMode::Hybrid, &RrfParams::default(), 10);
        assert_eq!(ranked.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 3, 2]);
        let first = ranked[0].1;
        assert_eq!(first.lexical, Some(RankScore { rank: 1, score: 0.5 }));
        assert_eq!(first.semantic, Some(RankScore { rank: 2, score: 0.8 }));
        // The lexical list weighs 0.7 by default.
        assert!((first.fused - (0.7 / 61.0 + 1.0 / 62.0)).abs() < 1e-7);
        assert_eq!(ranked[1].1.lexical, None);
    }

    #[test]
    fn single_mode_ranking_keeps_the_retrievers_order_and_score() {
        let lexical = [(7, 0.3), (8, 0.2)];
        let ranked = rank(&lexical, &[], SearchMode::Lexical, &RrfParams::default(), 1);
        assert_eq!(ranked.len(), 1);
        assert_eq!(ranked[0].0, 7);
        assert_eq!(ranked[0].1.fused, 0.3);
    }

    #[test]
    fn snippet_lines_are_the_matching_ones() {
        let parsed = ParsedQuery::parse(r#"userName "max attempts" /\d{3}/"#).unwrap();
        let m = LineMatcher::new(&parsed);
        assert!(m.matches("let user_name = x;"));
        assert!(m.matches("const MAX ATTEMPTS: u8 = 3;"));
        assert!(m.matches("status 503"));
        assert!(!m.matches("fn unrelated() {}"));
    }

    #[test]
    fn modes_parse_and_unknown_ones_are_refused() {
        assert_eq!("semantic".parse::<SearchMode>().unwrap(), SearchMode::Semantic);
        assert!("fuzzy".parse::<SearchMode>().is_err());
    }
}
