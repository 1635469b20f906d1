//! Vector stores: where chunk vectors live and how the nearest ones are found.
//!
//! Points are keyed by (repository, chunk content hash): the same text in two files of a repository
//! is one point, and an unchanged chunk keeps its point across runs. Every search is confined to the
//! repositories of its [`VectorFilter`].

pub mod embedded;
pub mod qdrant;

use std::fmt;

use async_trait::async_trait;
use reposage_store::RepositoryId;

use crate::{ModelInfo, Result};

/// One chunk's vector with what searches filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorPoint {
    /// The repository the chunk belongs to.
    pub repository: RepositoryId,
    /// blake3 of the chunk text (hex).
    pub content_hash: String,
    /// The embedding, unit length.
    pub vector: Vec<f32>,
    /// Language of the chunk's file.
    pub language: Option<String>,
    /// Path of (one of) the file(s) holding the chunk.
    pub path: String,
    /// Kind of the symbol the chunk covers (`function`, `class`, …).
    pub symbol_kind: Option<String>,
}

/// Restricts a vector search. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VectorFilter {
    /// Only these repositories (every repository when empty).
    pub repositories: Vec<RepositoryId>,
    /// Only chunks in these languages.
    pub languages: Vec<String>,
    /// Only chunks under this path prefix.
    pub path_prefix: Option<String>,
    /// Only chunks of these symbol kinds.
    pub symbol_kinds: Vec<String>,
}

/// A point near the query.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    /// The repository.
    pub repository: RepositoryId,
    /// The chunk's content hash.
    pub content_hash: String,
    /// Cosine similarity to the query (higher is nearer).
    pub score: f32,
}

/// Stores vectors and finds the nearest ones.
#[async_trait]
pub trait VectorStore: Send + Sync + fmt::Debug {
    /// `embedded` or `qdrant`.
    fn backend(&self) -> &'static str;

    /// Inserts or replaces `points` (idempotent: the same point twice is one point).
    async fn upsert(&self, model: &ModelInfo, points: &[VectorPoint]) -> Result<()>;

    /// Removes every point of `repository`.
    async fn delete_repository(&self, model: &ModelInfo, repository: RepositoryId) -> Result<()>;

    /// Removes the points of `repository` with these content hashes.
    async fn delete_chunks(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
        content_hashes: &[String],
    ) -> Result<()>;

    /// The `k` points nearest to `query` that pass `filter`, nearest first.
    async fn search(
        &self,
        model: &ModelInfo,
        query: &[f32],
        filter: &VectorFilter,
        k: usize,
    ) -> Result<Vec<VectorHit>>;

    /// How many points there are (of one repository, or all).
    async fn count(&self, model: &ModelInfo, repository: Option<RepositoryId>) -> Result<u64>;
}
