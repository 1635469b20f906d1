//! Vector stores: where chunk vectors live and how the nearest ones are found.
//!
//! Points are keyed by (repository, chunk content hash): the same text in two files of a repository
//! is one point, and an unchanged chunk keeps its point across runs. Every search is confined to the
//! repositories of its [`VectorFilter`].

pub mod embedded;
pub mod qdrant;

use std::fmt;

use async_trait::async_trait;
use futures::TryStreamExt;
use reposage_store::{RepositoryId, Store, extend_from_bytes};

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

    /// True when the store reads vectors straight from Postgres' embedding cache, so there is
    /// nothing to copy into it after an index run.
    fn reads_postgres(&self) -> bool {
        false
    }

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

/// Points per upsert request when a store is synced from Postgres.
const SYNC_BATCH: usize = 256;

/// Makes `vectors` hold exactly `repository`'s points of `model` as Postgres has them (chunks with
/// a cached embedding): every point is replaced (deterministic ids make that idempotent) and
/// points of chunks that are gone are removed. The embedded store reads Postgres directly, so
/// there is nothing to copy ([`VectorStore::reads_postgres`]). Returns the points written.
pub async fn sync_repository(
    store: &Store,
    vectors: &dyn VectorStore,
    model: &ModelInfo,
    repository: RepositoryId,
) -> Result<u64> {
    if vectors.reads_postgres() {
        return Ok(0);
    }
    vectors.delete_repository(model, repository).await?;
    let mut rows = store.repository_vectors(repository, &model.id);
    let mut batch = Vec::with_capacity(SYNC_BATCH);
    let mut written = 0u64;
    while let Some(row) = rows.try_next().await.map_err(reposage_store::Error::from)? {
        let mut vector = Vec::with_capacity(model.dimension);
        extend_from_bytes(&mut vector, &row.bytes);
        batch.push(VectorPoint {
            repository,
            content_hash: row.content_hash,
            vector,
            language: row.language,
            path: row.path,
            symbol_kind: row.symbol_kind,
        });
        if batch.len() == SYNC_BATCH {
            vectors.upsert(model, &batch).await?;
            written += batch.len() as u64;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        vectors.upsert(model, &batch).await?;
        written += batch.len() as u64;
    }
    Ok(written)
}
