//! Blobs: content stored once per blob id, and collected only when unreferenced past the grace
//! period.

use std::time::Duration;

use reposage_store::{BLOB_GRACE, BlobRow, Store};
use sqlx::PgPool;

use crate::{add_file, new_repository};

fn blob(sha: &str, content: &str) -> BlobRow {
    BlobRow {
        sha: sha.into(),
        content: content.into(),
    }
}

async fn stored(store: &Store) -> Vec<(String, String, i64)> {
    sqlx::query_as("SELECT sha, content, size_bytes FROM blobs ORDER BY sha")
        .fetch_all(store.pool())
        .await
        .expect("blobs")
}

/// Moves every blob's last sighting `by` into the past.
async fn age_blobs(store: &Store, by: Duration) {
    sqlx::query("UPDATE blobs SET last_seen_at = last_seen_at - make_interval(secs => $1)")
        .bind(by.as_secs_f64())
        .execute(store.pool())
        .await
        .expect("age the blobs");
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn the_same_blob_is_stored_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    // Two files with the same content in one batch, then the same blob in a later batch.
    store
        .upsert_blobs(&[
            blob("aa", "fn a() {}"),
            blob("aa", "fn a() {}"),
            blob("bb", "héllo"),
        ])
        .await
        .expect("first batch");
    store
        .upsert_blobs(&[blob("aa", "fn a() {}")])
        .await
        .expect("second batch");
    store.upsert_blobs(&[]).await.expect("an empty batch");
    assert_eq!(
        stored(&store).await,
        vec![
            ("aa".to_string(), "fn a() {}".to_string(), 9),
            ("bb".to_string(), "héllo".to_string(), 6)
        ]
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn unreferenced_blobs_are_collected_only_after_the_grace_period(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    store
        .upsert_blobs(&[blob("referenced", "kept"), blob("orphan", "dropped")])
        .await
        .expect("blobs");
    add_file(&store, repo.id, "src/lib.rs", Some("referenced")).await;

    // Fresh: a run in flight may be about to commit files that reference the orphan.
    assert_eq!(
        store
            .delete_unreferenced_blobs(BLOB_GRACE)
            .await
            .expect("collect"),
        0
    );
    // Seen just inside the grace period: still kept.
    age_blobs(&store, BLOB_GRACE - Duration::from_secs(3600)).await;
    assert_eq!(
        store
            .delete_unreferenced_blobs(BLOB_GRACE)
            .await
            .expect("collect"),
        0
    );
    // Past it: the orphan goes, the referenced blob stays however old.
    age_blobs(&store, Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        store
            .delete_unreferenced_blobs(BLOB_GRACE)
            .await
            .expect("collect"),
        1
    );
    let left: Vec<String> = stored(&store).await.into_iter().map(|(sha, _, _)| sha).collect();
    assert_eq!(left, vec!["referenced"]);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn storing_a_blob_again_restarts_its_grace_period(pool: PgPool) {
    let store = Store::from_pool(pool);
    store.upsert_blobs(&[blob("old", "x")]).await.expect("blob");
    age_blobs(&store, BLOB_GRACE + Duration::from_secs(3600)).await;
    // A new run writes the same blob: it is seen again, so it is not collected under that run.
    store.upsert_blobs(&[blob("old", "x")]).await.expect("blob again");
    assert_eq!(
        store
            .delete_unreferenced_blobs(BLOB_GRACE)
            .await
            .expect("collect"),
        0
    );
    assert_eq!(stored(&store).await.len(), 1);
}
