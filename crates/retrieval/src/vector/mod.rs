//! Vector stores: where chunk vectors live and how the nearest ones are found.
//!
//! Points are keyed by (repository, chunk content hash): the same text in two files of a repository
//! is one point, and an unchanged chunk keeps its point across runs. Every search is confined to the
//! repositories of its [`VectorFilter`].

pub mod embedded;
pub mod qdrant;

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use futures::TryStreamExt;
use reposage_store::{RepositoryId, Store, StoredVector, extend_from_bytes};

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

/// What a store keeps of a point besides its vector: the payload searches filter on. Two points of
/// the same repository and content hash with equal payloads are the same point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointPayload {
    /// blake3 of the chunk text (hex): with the repository, the point's key.
    pub content_hash: String,
    /// Path of (one of) the file(s) holding the chunk.
    pub path: String,
    /// Language of the chunk's file.
    pub language: Option<String>,
    /// Kind of the symbol the chunk covers.
    pub symbol_kind: Option<String>,
}

impl PointPayload {
    /// A row of Postgres' embedding cache as a payload, and the row's vector bytes.
    pub(crate) fn from_row(row: StoredVector) -> (Self, Vec<u8>) {
        let StoredVector {
            content_hash,
            language,
            path,
            symbol_kind,
            bytes,
        } = row;
        let payload = PointPayload {
            content_hash,
            path,
            language,
            symbol_kind,
        };
        (payload, bytes)
    }
}

impl VectorPoint {
    /// The point of `repository` with this payload and vector.
    pub fn new(repository: RepositoryId, payload: PointPayload, vector: Vec<f32>) -> Self {
        let PointPayload {
            content_hash,
            path,
            language,
            symbol_kind,
        } = payload;
        VectorPoint {
            repository,
            content_hash,
            vector,
            language,
            path,
            symbol_kind,
        }
    }

    /// The point's payload (everything but the repository and the vector).
    pub fn payload(&self) -> PointPayload {
        PointPayload {
            content_hash: self.content_hash.clone(),
            path: self.path.clone(),
            language: self.language.clone(),
            symbol_kind: self.symbol_kind.clone(),
        }
    }
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

    /// The payloads of every point of `repository`, without vectors, in no particular order
    /// (nothing when the model has no points anywhere yet). [`sync_repository`] compares them with
    /// Postgres to write only what changed.
    async fn repository_points(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
    ) -> Result<Vec<PointPayload>>;
}

/// Points per upsert request when a store is synced from Postgres.
const SYNC_BATCH: usize = 256;
/// Content hashes per delete request when a store is synced from Postgres.
const SYNC_DELETE_BATCH: usize = 1024;

/// Which of Postgres' points [`sync_repository`] writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Only points the store lacks or holds with another payload (what an index run needs: the
    /// same model and content hash always give the same vector).
    #[default]
    Changed,
    /// Every point, vectors included, as if the store held none (a repair: rewrites vectors the
    /// store may hold damaged).
    Rewrite,
}

/// What [`sync_repository`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncStats {
    /// Points the store already held as Postgres has them (not written).
    pub unchanged: u64,
    /// Points written: missing from the store, held with another payload, or all of them with
    /// [`SyncMode::Rewrite`].
    pub written: u64,
    /// Points removed: their chunks are gone from Postgres.
    pub deleted: u64,
}

/// Makes `vectors` hold exactly `repository`'s points of `model` as Postgres has them (distinct
/// chunks with a cached embedding), writing only the difference:
///
/// 1. the store's points of the repository are listed without vectors
///    ([`VectorStore::repository_points`]);
/// 2. Postgres' rows are streamed; a row whose point the store holds with the same payload is
///    skipped (with [`SyncMode::Changed`]); every other row is upserted, in batches (a point's key
///    is its repository and content hash, so a retried upsert replaces rather than adds);
/// 3. the listed points no row matched — chunks gone from Postgres — are deleted by content hash,
///    after every upsert.
///
/// Nothing removes the whole repository, so a search running meanwhile finds each chunk's old
/// point or its new one, never an empty repository. The embedded store reads Postgres directly, so
/// there is nothing to copy ([`VectorStore::reads_postgres`]): all counts are zero.
pub async fn sync_repository(
    store: &Store,
    vectors: &dyn VectorStore,
    model: &ModelInfo,
    repository: RepositoryId,
    mode: SyncMode,
) -> Result<SyncStats> {
    let mut stats = SyncStats::default();
    if vectors.reads_postgres() {
        return Ok(stats);
    }
    // What the store holds and no row has matched yet: at the end, the points to delete.
    let mut unmatched: HashMap<String, PointPayload> = vectors
        .repository_points(model, repository)
        .await?
        .into_iter()
        .map(|point| (point.content_hash.clone(), point))
        .collect();
    let mut rows = store.repository_vectors(repository, &model.id);
    let mut batch = Vec::with_capacity(SYNC_BATCH);
    while let Some(row) = rows.try_next().await.map_err(reposage_store::Error::from)? {
        let held = unmatched.remove(&row.content_hash);
        let (payload, bytes) = PointPayload::from_row(row);
        if mode == SyncMode::Changed && held.as_ref() == Some(&payload) {
            stats.unchanged += 1;
            continue;
        }
        let mut vector = Vec::with_capacity(model.dimension);
        extend_from_bytes(&mut vector, &bytes);
        batch.push(VectorPoint::new(repository, payload, vector));
        if batch.len() == SYNC_BATCH {
            vectors.upsert(model, &batch).await?;
            stats.written += batch.len() as u64;
            batch.clear();
        }
    }
    drop(rows);
    if !batch.is_empty() {
        vectors.upsert(model, &batch).await?;
        stats.written += batch.len() as u64;
    }
    let mut gone: Vec<String> = unmatched.into_keys().collect();
    gone.sort_unstable();
    for hashes in gone.chunks(SYNC_DELETE_BATCH) {
        vectors.delete_chunks(model, repository, hashes).await?;
        stats.deleted += hashes.len() as u64;
    }
    tracing::debug!(
        %repository,
        backend = vectors.backend(),
        unchanged = stats.unchanged,
        written = stats.written,
        deleted = stats.deleted,
        "synced the repository's vectors"
    );
    Ok(stats)
}
