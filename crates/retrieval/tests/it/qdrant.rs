//! The Qdrant vector store against a real server (e.g. `docker run -p 6334:6334 qdrant/qdrant`).
//! The tests are built to run when `QDRANT_URL` is set at build time (`QDRANT_URL=http://localhost:6334
//! cargo test`: `build.rs` sets `cfg(qdrant)`), and are `#[ignore]`d otherwise, so a run reports them
//! as ignored with the reason. Run with `--ignored` but no `QDRANT_URL`, they fail saying how to set
//! it. The sync test also needs Postgres (`DATABASE_URL`, a fresh database per test through
//! `#[sqlx::test]`).

use reposage_retrieval::vector::qdrant::{QdrantConfig, QdrantStore};
use reposage_retrieval::vector::{SyncMode, SyncStats, sync_repository};
use reposage_retrieval::{ModelInfo, PointPayload, VectorFilter, VectorPoint, VectorStore};
use reposage_store::{NewRepository, RepositoryId, Store};
use sqlx::PgPool;

/// `QDRANT_URL`, or a panic saying how to set it: a test that reaches this line is meant to run.
fn qdrant_url() -> String {
    match std::env::var("QDRANT_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "QDRANT_URL is not set: the Qdrant tests need a server; start one (e.g. \
             `docker run -p 6334:6334 qdrant/qdrant`) and run with QDRANT_URL=http://localhost:6334"
        ),
    }
}

/// A model id unique to this test run, so its collection starts empty.
fn fresh_model() -> ModelInfo {
    ModelInfo {
        id: format!("it-test/{}", uuid::Uuid::new_v4()),
        dimension: 4,
        max_tokens: 128,
    }
}

fn unit(v: [f32; 4]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn point(
    repository: RepositoryId,
    hash: &str,
    vector: [f32; 4],
    language: &str,
    path: &str,
    kind: Option<&str>,
) -> VectorPoint {
    VectorPoint {
        repository,
        content_hash: hash.into(),
        vector: unit(vector),
        language: Some(language.into()),
        path: path.into(),
        symbol_kind: kind.map(String::from),
    }
}

#[tokio::test]
#[cfg_attr(
    not(qdrant),
    ignore = "needs a Qdrant server: set QDRANT_URL, e.g. http://localhost:6334"
)]
async fn qdrant_store_round_trip_with_filters_counts_and_deletes() {
    let url = qdrant_url();
    let store = connect(url).await;
    assert_eq!(store.backend(), "qdrant");
    let model = fresh_model();
    let a = RepositoryId::new_random();
    let b = RepositoryId::new_random();

    // Nothing yet: no collection, nothing found, counted or listed.
    assert_eq!(store.count(&model, None).await.expect("count"), 0);
    assert!(store.repository_points(&model, a).await.expect("list").is_empty());
    assert!(
        store
            .search(&model, &unit([1.0, 0.0, 0.0, 0.0]), &VectorFilter::default(), 5)
            .await
            .expect("search")
            .is_empty()
    );

    let points = vec![
        point(
            a,
            "a1",
            [1.0, 0.0, 0.0, 0.0],
            "rust",
            "src/lib.rs",
            Some("function"),
        ),
        point(
            a,
            "a2",
            [0.9, 0.1, 0.0, 0.0],
            "rust",
            "tests/it.rs",
            Some("function"),
        ),
        point(
            a,
            "a3",
            [0.0, 1.0, 0.0, 0.0],
            "python",
            "src/app.py",
            Some("class"),
        ),
        point(b, "b1", [1.0, 0.05, 0.0, 0.0], "rust", "src/main.rs", None),
    ];
    store.upsert(&model, &points).await.expect("upsert");
    // Idempotent: the same points again are the same points.
    store.upsert(&model, &points).await.expect("upsert again");
    assert_eq!(store.count(&model, None).await.expect("count"), 4);
    assert_eq!(store.count(&model, Some(a)).await.expect("count a"), 3);
    assert_eq!(store.count(&model, Some(b)).await.expect("count b"), 1);

    // Listing: the repository's points, payload only.
    assert_eq!(
        sorted(store.repository_points(&model, a).await.expect("list a")),
        points[..3].iter().map(VectorPoint::payload).collect::<Vec<_>>()
    );
    assert_eq!(
        store.repository_points(&model, b).await.expect("list b"),
        vec![points[3].payload()]
    );

    let query = unit([1.0, 0.0, 0.0, 0.0]);
    let only_a = VectorFilter {
        repositories: vec![a],
        ..VectorFilter::default()
    };
    let hits = store.search(&model, &query, &only_a, 10).await.expect("search a");
    assert_eq!(
        hits.iter().map(|h| h.content_hash.as_str()).collect::<Vec<_>>(),
        vec!["a1", "a2", "a3"]
    );
    assert!(hits.iter().all(|h| h.repository == a));
    assert!((hits[0].score - 1.0).abs() < 1e-4);

    let everywhere = store
        .search(&model, &query, &VectorFilter::default(), 2)
        .await
        .expect("search all");
    assert_eq!(
        everywhere
            .iter()
            .map(|h| h.content_hash.as_str())
            .collect::<Vec<_>>(),
        vec!["a1", "b1"]
    );

    let python = VectorFilter {
        languages: vec!["python".into()],
        ..VectorFilter::default()
    };
    let hits = store
        .search(&model, &query, &python, 10)
        .await
        .expect("search python");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].content_hash, "a3");

    let functions_under_src = VectorFilter {
        repositories: vec![a, b],
        symbol_kinds: vec!["function".into()],
        path_prefix: Some("src/".into()),
        ..VectorFilter::default()
    };
    let hits = store
        .search(&model, &query, &functions_under_src, 10)
        .await
        .expect("search kind and path");
    assert_eq!(
        hits.iter().map(|h| h.content_hash.as_str()).collect::<Vec<_>>(),
        vec!["a1"]
    );

    store
        .delete_chunks(&model, a, &["a2".to_string()])
        .await
        .expect("delete chunk");
    assert_eq!(store.count(&model, Some(a)).await.expect("count a"), 2);

    store.delete_repository(&model, a).await.expect("delete a");
    assert_eq!(store.count(&model, Some(a)).await.expect("count a"), 0);
    assert_eq!(store.count(&model, None).await.expect("count all"), 1);
    let hits = store.search(&model, &query, &only_a, 10).await.expect("search a");
    assert!(hits.is_empty());

    store.delete_repository(&model, b).await.expect("delete b");
    assert_eq!(store.count(&model, None).await.expect("count"), 0);

    store
        .delete_collection(&model)
        .await
        .expect("drop the collection");
    assert_eq!(store.count(&model, None).await.expect("count"), 0);
}

fn sorted(mut points: Vec<PointPayload>) -> Vec<PointPayload> {
    points.sort_by(|x, y| x.content_hash.cmp(&y.content_hash));
    points
}

async fn connect(url: String) -> QdrantStore {
    QdrantStore::connect(QdrantConfig {
        api_key: std::env::var("QDRANT_API_KEY").ok(),
        collection_prefix: "reposage_it".into(),
        ..QdrantConfig::new(url)
    })
    .await
    .expect("connect to QDRANT_URL")
}

/// Records a chunk of `repository` in Postgres (a file at `path` holding it) with its embedding.
async fn add_chunk(
    store: &Store,
    model: &ModelInfo,
    repository: RepositoryId,
    path: &str,
    hash: &str,
    vector: [f32; 4],
) {
    let file_id: i64 = sqlx::query_scalar(
        "INSERT INTO files (repository_id, path, kind, language) VALUES ($1, $2, 'file', 'rust')
         ON CONFLICT (repository_id, path) DO UPDATE SET language = EXCLUDED.language
         RETURNING id",
    )
    .bind(repository)
    .bind(path)
    .fetch_one(store.pool())
    .await
    .expect("file row");
    sqlx::query(
        "INSERT INTO chunks (repository_id, file_id, content_hash, language, symbol_kind, start_line,
                             end_line, context_header, text, token_count)
         VALUES ($1, $2, $3, 'rust', 'function', 1, 1, $4, $3, 1)",
    )
    .bind(repository)
    .bind(file_id)
    .bind(hash)
    .bind(path)
    .execute(store.pool())
    .await
    .expect("chunk row");
    store
        .insert_embeddings(&model.id, &[hash.to_string()], &[unit(vector)])
        .await
        .expect("embedding");
}

/// The repository's points as Postgres has them.
fn expected(repository: &[(&str, &str)]) -> Vec<PointPayload> {
    sorted(
        repository
            .iter()
            .map(|(path, hash)| PointPayload {
                content_hash: hash.to_string(),
                path: path.to_string(),
                language: Some("rust".into()),
                symbol_kind: Some("function".into()),
            })
            .collect(),
    )
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
#[cfg_attr(
    not(qdrant),
    ignore = "needs a Qdrant server: set QDRANT_URL, e.g. http://localhost:6334"
)]
async fn qdrant_sync_writes_only_the_difference_and_keeps_the_repository_searchable(pool: PgPool) {
    let url = qdrant_url();
    let qdrant = connect(url).await;
    let store = Store::from_pool(pool);
    let model = fresh_model();
    let repository = RepositoryId::new_random();
    store
        .upsert_repository(&NewRepository {
            id: repository,
            namespace: "local".into(),
            name: "sync".into(),
            url: "file:///sync".into(),
            git_ref: None,
        })
        .await
        .expect("repository");
    add_chunk(&store, &model, repository, "src/a.rs", "h1", [1.0, 0.0, 0.0, 0.0]).await;
    add_chunk(&store, &model, repository, "src/b.rs", "h2", [0.0, 1.0, 0.0, 0.0]).await;
    add_chunk(&store, &model, repository, "src/c.rs", "h3", [0.0, 0.0, 1.0, 0.0]).await;
    let sync = |mode| sync_repository(&store, &qdrant, &model, repository, mode);

    // The first sync writes every point; the next one, with nothing changed, writes nothing.
    let stats = sync(SyncMode::Changed).await.expect("first sync");
    assert_eq!(
        stats,
        SyncStats {
            unchanged: 0,
            written: 3,
            deleted: 0
        }
    );
    let listed = qdrant.repository_points(&model, repository).await.expect("list");
    assert_eq!(
        sorted(listed),
        expected(&[("src/a.rs", "h1"), ("src/b.rs", "h2"), ("src/c.rs", "h3")])
    );
    let stats = sync(SyncMode::Changed).await.expect("second sync");
    assert_eq!(
        stats,
        SyncStats {
            unchanged: 3,
            written: 0,
            deleted: 0
        }
    );

    // h2 goes, h4 comes, h1's file moves: h4 and h1 are written, h2 deleted, h3 left alone.
    sqlx::query("DELETE FROM chunks WHERE repository_id = $1 AND content_hash = 'h2'")
        .bind(repository)
        .execute(store.pool())
        .await
        .expect("delete h2");
    sqlx::query("UPDATE files SET path = 'lib/a.rs' WHERE repository_id = $1 AND path = 'src/a.rs'")
        .bind(repository)
        .execute(store.pool())
        .await
        .expect("move a.rs");
    add_chunk(&store, &model, repository, "src/d.rs", "h4", [0.0, 0.0, 0.0, 1.0]).await;
    let stats = sync(SyncMode::Changed).await.expect("third sync");
    assert_eq!(
        stats,
        SyncStats {
            unchanged: 1,
            written: 2,
            deleted: 1
        }
    );
    let listed = qdrant.repository_points(&model, repository).await.expect("list");
    assert_eq!(
        sorted(listed),
        expected(&[("lib/a.rs", "h1"), ("src/c.rs", "h3"), ("src/d.rs", "h4")])
    );
    let only_this = VectorFilter {
        repositories: vec![repository],
        ..VectorFilter::default()
    };
    let hits = qdrant
        .search(&model, &unit([0.0, 0.0, 0.0, 1.0]), &only_this, 1)
        .await
        .expect("search");
    assert_eq!(hits[0].content_hash, "h4");

    // A rewrite writes every point again and deletes nothing.
    let stats = sync(SyncMode::Rewrite).await.expect("rewrite");
    assert_eq!(
        stats,
        SyncStats {
            unchanged: 0,
            written: 3,
            deleted: 0
        }
    );
    assert_eq!(qdrant.count(&model, Some(repository)).await.expect("count"), 3);

    qdrant
        .delete_collection(&model)
        .await
        .expect("drop the collection");
}

#[tokio::test]
#[cfg_attr(
    not(qdrant),
    ignore = "needs a Qdrant server: set QDRANT_URL, e.g. http://localhost:6334"
)]
async fn qdrant_refuses_vectors_of_another_dimension() {
    let url = qdrant_url();
    let store = QdrantStore::connect(QdrantConfig {
        api_key: std::env::var("QDRANT_API_KEY").ok(),
        ..QdrantConfig::new(url)
    })
    .await
    .expect("connect to QDRANT_URL");
    let model = fresh_model();
    let bad = VectorPoint {
        repository: RepositoryId::new_random(),
        content_hash: "x".into(),
        vector: vec![1.0; 3],
        language: None,
        path: "x".into(),
        symbol_kind: None,
    };
    let error = store.upsert(&model, &[bad]).await.expect_err("wrong size");
    assert!(matches!(
        error,
        reposage_retrieval::Error::Dimension {
            expected: 4,
            actual: 3
        }
    ));
}
