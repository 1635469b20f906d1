//! The Qdrant vector store against a real server: runs when `QDRANT_URL` is set (e.g.
//! `docker run -p 6334:6334 qdrant/qdrant` and `QDRANT_URL=http://localhost:6334`), and says it did
//! not run otherwise.

use reposage_retrieval::vector::qdrant::{QdrantConfig, QdrantStore};
use reposage_retrieval::{ModelInfo, VectorFilter, VectorPoint, VectorStore};
use reposage_store::RepositoryId;

fn qdrant_url() -> Option<String> {
    match std::env::var("QDRANT_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!(
                "qdrant integration tests did not run: set QDRANT_URL=http://localhost:6334 to run them"
            );
            None
        }
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
async fn qdrant_store_round_trip_with_filters_counts_and_deletes() {
    let Some(url) = qdrant_url() else {
        return;
    };
    let store = QdrantStore::connect(QdrantConfig {
        api_key: std::env::var("QDRANT_API_KEY").ok(),
        collection_prefix: "reposage_it".into(),
        ..QdrantConfig::new(url)
    })
    .await
    .expect("connect to QDRANT_URL");
    assert_eq!(store.backend(), "qdrant");
    let model = fresh_model();
    let a = RepositoryId::new_random();
    let b = RepositoryId::new_random();

    // Nothing yet: no collection, nothing found, nothing counted.
    assert_eq!(store.count(&model, None).await.expect("count"), 0);
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

#[tokio::test]
async fn qdrant_refuses_vectors_of_another_dimension() {
    let Some(url) = qdrant_url() else {
        return;
    };
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
