//! Syncing a vector store that keeps its own copy of the points (as Qdrant does) after each index
//! run: only points that are missing or changed are written, only points of chunks gone are
//! deleted, upserts come before deletes, and the repository never empties. The store is an
//! in-memory `VectorStore` written here; Postgres, git and the MiniLM model are real.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reposage_pipeline::{EmbeddingStage, IndexRequest, SharedTokenCounter};
use reposage_retrieval::vector::embedded::EmbeddedStore;
use reposage_retrieval::vector::{SyncMode, SyncStats, sync_repository};
use reposage_retrieval::{
    Embedder, ModelInfo, PointPayload, VectorFilter, VectorHit, VectorPoint, VectorStore,
};
use reposage_store::{RepositoryId, Store};
use reposage_testkit::samples::{CLIENT_RS, PARSER_PY, POOL_GO};
use reposage_testkit::{Entry, GitFixture};
use serde_json::json;
use sqlx::PgPool;

use crate::retrieval::model;
use crate::{index, request, stage_data};

/// One write the store received, with how many points the repository had right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Write {
    kind: WriteKind,
    /// The content hashes written or deleted (none for a whole-repository delete).
    hashes: Vec<String>,
    /// The repository's points once the write was applied.
    points_after: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteKind {
    Upsert,
    DeleteChunks,
    DeleteRepository,
}

/// A vector store in memory: points keyed by (model, repository, content hash), searched exactly,
/// and a log of every write.
#[derive(Debug, Default)]
struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    points: HashMap<(String, RepositoryId, String), VectorPoint>,
    writes: Vec<Write>,
}

impl MemoryState {
    fn repository_len(&self, model: &ModelInfo, repository: RepositoryId) -> usize {
        self.points
            .keys()
            .filter(|(m, r, _)| *m == model.id && *r == repository)
            .count()
    }

    fn log(&mut self, model: &ModelInfo, repository: RepositoryId, kind: WriteKind, hashes: Vec<String>) {
        let points_after = self.repository_len(model, repository);
        self.writes.push(Write {
            kind,
            hashes,
            points_after,
        });
    }
}

impl MemoryStore {
    fn state(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writes since the last call.
    fn take_writes(&self) -> Vec<Write> {
        std::mem::take(&mut self.state().writes)
    }

    /// The repository's points: payload and vector by content hash.
    fn points(&self, model: &ModelInfo, repository: RepositoryId) -> BTreeMap<String, VectorPoint> {
        self.state()
            .points
            .iter()
            .filter(|((m, r, _), _)| *m == model.id && *r == repository)
            .map(|((_, _, hash), point)| (hash.clone(), point.clone()))
            .collect()
    }
}

#[async_trait]
impl VectorStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn upsert(&self, model: &ModelInfo, points: &[VectorPoint]) -> reposage_retrieval::Result<()> {
        for point in points {
            model.check_dimension(point.vector.len())?;
        }
        let mut state = self.state();
        for point in points {
            state.points.insert(
                (model.id.clone(), point.repository, point.content_hash.clone()),
                point.clone(),
            );
        }
        // Every sync upsert is of one repository.
        if let Some(first) = points.first() {
            let hashes = points.iter().map(|p| p.content_hash.clone()).collect();
            state.log(model, first.repository, WriteKind::Upsert, hashes);
        }
        Ok(())
    }

    async fn delete_repository(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
    ) -> reposage_retrieval::Result<()> {
        let mut state = self.state();
        state
            .points
            .retain(|(m, r, _), _| !(*m == model.id && *r == repository));
        state.log(model, repository, WriteKind::DeleteRepository, Vec::new());
        Ok(())
    }

    async fn delete_chunks(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
        content_hashes: &[String],
    ) -> reposage_retrieval::Result<()> {
        let mut state = self.state();
        for hash in content_hashes {
            state.points.remove(&(model.id.clone(), repository, hash.clone()));
        }
        state.log(
            model,
            repository,
            WriteKind::DeleteChunks,
            content_hashes.to_vec(),
        );
        Ok(())
    }

    async fn search(
        &self,
        model: &ModelInfo,
        query: &[f32],
        filter: &VectorFilter,
        k: usize,
    ) -> reposage_retrieval::Result<Vec<VectorHit>> {
        model.check_dimension(query.len())?;
        let VectorFilter {
            repositories,
            languages,
            path_prefix,
            symbol_kinds,
        } = filter;
        let state = self.state();
        let mut hits: Vec<VectorHit> = state
            .points
            .iter()
            .filter(|((m, r, _), p)| {
                *m == model.id
                    && (repositories.is_empty() || repositories.contains(r))
                    && (languages.is_empty() || p.language.as_ref().is_some_and(|l| languages.contains(l)))
                    && (symbol_kinds.is_empty()
                        || p.symbol_kind.as_ref().is_some_and(|s| symbol_kinds.contains(s)))
                    && path_prefix
                        .as_deref()
                        .is_none_or(|prefix| p.path.starts_with(prefix))
            })
            .map(|(_, p)| VectorHit {
                repository: p.repository,
                content_hash: p.content_hash.clone(),
                score: p.vector.iter().zip(query).map(|(a, b)| a * b).sum(),
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(k);
        Ok(hits)
    }

    async fn count(
        &self,
        model: &ModelInfo,
        repository: Option<RepositoryId>,
    ) -> reposage_retrieval::Result<u64> {
        let state = self.state();
        let count = state
            .points
            .keys()
            .filter(|(m, r, _)| *m == model.id && repository.is_none_or(|id| id == *r))
            .count();
        Ok(count as u64)
    }

    async fn repository_points(
        &self,
        model: &ModelInfo,
        repository: RepositoryId,
    ) -> reposage_retrieval::Result<Vec<PointPayload>> {
        Ok(self
            .points(model, repository)
            .values()
            .map(VectorPoint::payload)
            .collect())
    }
}

/// An index request that embeds with the local model and syncs into `vectors`.
fn syncing_request(fixture: &GitFixture, vectors: Arc<MemoryStore>) -> IndexRequest {
    let model = model();
    IndexRequest {
        token_counter: SharedTokenCounter(Arc::new(model.token_counter())),
        embedding: Some(EmbeddingStage {
            embedder: Arc::new(model),
            vectors,
            batch_size: 16,
        }),
        ..request(fixture, "sync")
    }
}

/// The repository's points as Postgres has them (the embedded store reads them from there).
async fn postgres_points(store: &Store, repository: RepositoryId) -> BTreeMap<String, PointPayload> {
    EmbeddedStore::new(store.clone())
        .repository_points(model().model(), repository)
        .await
        .expect("points in Postgres")
        .into_iter()
        .map(|p| (p.content_hash.clone(), p))
        .collect()
}

/// The payloads of the store's points of the repository.
fn payloads(points: &BTreeMap<String, VectorPoint>) -> BTreeMap<String, PointPayload> {
    points.iter().map(|(h, p)| (h.clone(), p.payload())).collect()
}

/// Every hash written, and every hash deleted, by `writes`.
fn written_and_deleted(writes: &[Write]) -> (BTreeSet<String>, BTreeSet<String>) {
    let of = |kind| {
        writes
            .iter()
            .filter(|w| w.kind == kind)
            .flat_map(|w| w.hashes.iter().cloned())
            .collect()
    };
    (of(WriteKind::Upsert), of(WriteKind::DeleteChunks))
}

/// Asserts what a sync of an already-populated repository may never do: remove the whole
/// repository, leave it empty after any write, or upsert after it started deleting.
fn assert_never_emptied(writes: &[Write]) {
    assert!(
        writes.iter().all(|w| w.kind != WriteKind::DeleteRepository),
        "{writes:?}"
    );
    assert!(writes.iter().all(|w| w.points_after > 0), "{writes:?}");
    let first_delete = writes.iter().position(|w| w.kind == WriteKind::DeleteChunks);
    if let Some(first_delete) = first_delete {
        assert!(
            writes[first_delete..]
                .iter()
                .all(|w| w.kind == WriteKind::DeleteChunks),
            "upserts come before deletes: {writes:?}"
        );
    }
}

fn stats(unchanged: usize, written: usize, deleted: usize) -> SyncStats {
    SyncStats {
        unchanged: unchanged as u64,
        written: written as u64,
        deleted: deleted as u64,
    }
}

fn files(parser: &str, pool_path: &str) -> Vec<(String, Entry)> {
    vec![
        ("src/net/client.rs".into(), Entry::text(CLIENT_RS)),
        ("tools/parser.py".into(), Entry::text(parser)),
        (pool_path.into(), Entry::text(POOL_GO)),
    ]
}

fn commit(fixture: &GitFixture, message: &str, files: &[(String, Entry)]) {
    let entries: Vec<(&str, Entry)> = files.iter().map(|(p, e)| (p.as_str(), e.clone())).collect();
    fixture.commit("main", message, &entries);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn vector_sync_writes_only_changed_points_and_deletes_only_gone_ones(pool: PgPool) {
    let store = Store::from_pool(pool);
    let vectors = Arc::new(MemoryStore::default());
    let info = model().model().clone();
    let fixture = GitFixture::new();
    commit(&fixture, "initial", &files(PARSER_PY, "db/pool.go"));

    // First run: the store holds nothing, so every point is written.
    let summary = index(&store, syncing_request(&fixture, vectors.clone())).await;
    let repository = summary.repository_id;
    let first = postgres_points(&store, repository).await;
    assert!(first.len() >= 3, "{first:?}");
    let persisted = stage_data(&store, summary.run_id, "persist").await;
    assert_eq!(
        persisted["vectorsSynced"],
        json!({"unchanged": 0, "written": first.len(), "deleted": 0})
    );
    assert_eq!(payloads(&vectors.points(&info, repository)), first);
    let (written, deleted) = written_and_deleted(&vectors.take_writes());
    assert_eq!(written, first.keys().cloned().collect());
    assert!(deleted.is_empty());

    // Synced again with nothing changed: nothing is written or deleted.
    let again = sync_repository(&store, vectors.as_ref(), &info, repository, SyncMode::Changed)
        .await
        .expect("sync");
    assert_eq!(again, stats(first.len(), 0, 0));
    assert!(vectors.take_writes().is_empty());

    // A function changes: its new chunk is written, its old one deleted, nothing else touched.
    let parser = PARSER_PY.replace("line.split(\"=\", 1)", "line.partition(\"=\")[::2]");
    assert_ne!(parser, PARSER_PY);
    commit(&fixture, "partition", &files(&parser, "db/pool.go"));
    let summary = index(&store, syncing_request(&fixture, vectors.clone())).await;
    let second = postgres_points(&store, repository).await;
    let added: BTreeSet<String> = second
        .keys()
        .filter(|h| !first.contains_key(*h))
        .cloned()
        .collect();
    let gone: BTreeSet<String> = first
        .keys()
        .filter(|h| !second.contains_key(*h))
        .cloned()
        .collect();
    assert!(!added.is_empty() && !gone.is_empty(), "{first:?} → {second:?}");
    let persisted = stage_data(&store, summary.run_id, "persist").await;
    assert_eq!(
        persisted["vectorsSynced"],
        json!({"unchanged": second.len() - added.len(), "written": added.len(), "deleted": gone.len()})
    );
    let writes = vectors.take_writes();
    assert_never_emptied(&writes);
    let (written, deleted) = written_and_deleted(&writes);
    assert_eq!(written, added);
    assert_eq!(
        deleted, gone,
        "only points of chunks gone from Postgres are deleted"
    );
    assert_eq!(payloads(&vectors.points(&info, repository)), second);

    // A file moves: its chunks keep their hashes but not their path, so they are rewritten in
    // place and nothing is deleted.
    commit(&fixture, "move", &files(&parser, "storage/pool.go"));
    let summary = index(&store, syncing_request(&fixture, vectors.clone())).await;
    let third = postgres_points(&store, repository).await;
    assert_eq!(
        third.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>(),
        "same chunks"
    );
    let moved: BTreeSet<String> = third
        .iter()
        .filter(|(hash, point)| second[*hash] != **point)
        .map(|(hash, _)| hash.clone())
        .collect();
    assert!(!moved.is_empty());
    assert!(third.values().all(|p| !p.path.starts_with("db/")), "{third:?}");
    let persisted = stage_data(&store, summary.run_id, "persist").await;
    assert_eq!(
        persisted["vectorsSynced"],
        json!({"unchanged": third.len() - moved.len(), "written": moved.len(), "deleted": 0})
    );
    let writes = vectors.take_writes();
    assert_never_emptied(&writes);
    let (written, deleted) = written_and_deleted(&writes);
    assert_eq!(written, moved);
    assert!(deleted.is_empty());
    let held = vectors.points(&info, repository);
    assert_eq!(payloads(&held), third);

    // A rewrite writes every point again, vectors included, and still removes nothing.
    let rewritten = sync_repository(&store, vectors.as_ref(), &info, repository, SyncMode::Rewrite)
        .await
        .expect("rewrite");
    assert_eq!(rewritten, stats(0, third.len(), 0));
    let writes = vectors.take_writes();
    assert_never_emptied(&writes);
    let (written, deleted) = written_and_deleted(&writes);
    assert_eq!(written, third.keys().cloned().collect());
    assert!(deleted.is_empty());
    assert_eq!(vectors.points(&info, repository), held, "the same vectors");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn vector_sync_removes_points_postgres_does_not_have(pool: PgPool) {
    let store = Store::from_pool(pool);
    let vectors = Arc::new(MemoryStore::default());
    let info = model().model().clone();
    let fixture = GitFixture::new();
    commit(&fixture, "initial", &files(PARSER_PY, "db/pool.go"));
    let summary = index(&store, syncing_request(&fixture, vectors.clone())).await;
    let repository = summary.repository_id;
    let expected = postgres_points(&store, repository).await;
    vectors.take_writes();

    // A point left over from a run whose sync never finished, and one changed behind our back.
    let mut stray = vectors
        .points(&info, repository)
        .into_values()
        .next()
        .expect("a point");
    let changed_hash = stray.content_hash.clone();
    stray.symbol_kind = Some("stale-kind".into());
    let mut leftover = stray.clone();
    leftover.content_hash = "0".repeat(64);
    vectors.upsert(&info, &[stray, leftover]).await.expect("upsert");
    vectors.take_writes();

    let synced = sync_repository(&store, vectors.as_ref(), &info, repository, SyncMode::Changed)
        .await
        .expect("sync");
    assert_eq!(synced, stats(expected.len() - 1, 1, 1));
    let writes = vectors.take_writes();
    assert_never_emptied(&writes);
    let (written, deleted) = written_and_deleted(&writes);
    assert_eq!(written, BTreeSet::from([changed_hash]));
    assert_eq!(deleted, BTreeSet::from(["0".repeat(64)]));
    assert_eq!(payloads(&vectors.points(&info, repository)), expected);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_embedded_store_is_never_synced_and_lists_what_postgres_holds(pool: PgPool) {
    let store = Store::from_pool(pool);
    let vectors = Arc::new(MemoryStore::default());
    let info = model().model().clone();
    let fixture = GitFixture::new();
    commit(&fixture, "initial", &files(PARSER_PY, "db/pool.go"));
    let repository = index(&store, syncing_request(&fixture, vectors.clone()))
        .await
        .repository_id;
    let embedded = EmbeddedStore::new(store.clone());
    let synced = sync_repository(&store, &embedded, &info, repository, SyncMode::Changed)
        .await
        .expect("sync");
    assert_eq!(synced, SyncStats::default(), "it reads Postgres: nothing to copy");
    // Its listing is Postgres' points: what the in-memory store was synced to, and what it searches.
    let listed = postgres_points(&store, repository).await;
    assert_eq!(listed, payloads(&vectors.points(&info, repository)));
    assert_eq!(
        listed.len() as u64,
        embedded.count(&info, Some(repository)).await.expect("count")
    );
}
