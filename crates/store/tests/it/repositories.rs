//! Repositories: upserts, look-ups and deletion with everything indexed for them.

use reposage_store::{BLOB_GRACE, BlobRow, Error, RefKind, RepositoryId, RunId, RunKind, StageStatus, Store};
use serde_json::json;
use sqlx::PgPool;

use crate::{add_file, files_of, new_repository, runs_of};

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn upserting_the_same_repository_twice_keeps_one_unchanged_row(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    let first = store.upsert_repository(&repo).await.expect("upsert");
    let second = store.upsert_repository(&repo).await.expect("upsert again");
    assert_eq!(second.id, repo.id);
    assert_eq!(
        (&second.namespace, &second.name, &second.url),
        (&first.namespace, &first.name, &first.url)
    );
    assert_eq!(second.ref_kind.as_deref(), Some("branch"));
    assert_eq!(second.ref_name.as_deref(), Some("main"));
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(second.last_indexed_commit, None);
    let all = store.list_repositories().await.expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, repo.id);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_upsert_updates_the_url_and_the_ref(pool: PgPool) {
    let store = Store::from_pool(pool);
    let mut repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("upsert");
    repo.url = "https://git.example.com/team/api-moved.git".into();
    repo.git_ref = Some((RefKind::Tag, "v1.2.0".into()));
    let updated = store.upsert_repository(&repo).await.expect("update");
    assert_eq!(updated.url, repo.url);
    assert_eq!(updated.ref_kind.as_deref(), Some("tag"));
    assert_eq!(updated.ref_name.as_deref(), Some("v1.2.0"));
    repo.git_ref = None;
    let no_ref = store.upsert_repository(&repo).await.expect("drop the ref");
    assert_eq!((no_ref.ref_kind, no_ref.ref_name), (None, None));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn repositories_are_found_by_namespace_and_name_and_listed_in_that_order(pool: PgPool) {
    let store = Store::from_pool(pool);
    let web = new_repository("team", "web");
    let api = new_repository("team", "api");
    let tools = new_repository("infra", "tools");
    for repo in [&web, &api, &tools] {
        store.upsert_repository(repo).await.expect("upsert");
    }

    let found = store.find_repository("team", "api").await.expect("find");
    assert_eq!(found.map(|r| r.id), Some(api.id));
    assert!(
        store
            .find_repository("infra", "api")
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_repository("team", "nope")
            .await
            .expect("find")
            .is_none()
    );
    assert_eq!(store.get_repository(web.id).await.expect("get").name, "web");

    let listed: Vec<(String, String)> = store
        .list_repositories()
        .await
        .expect("list")
        .into_iter()
        .map(|r| (r.namespace, r.name))
        .collect();
    let expected = [("infra", "tools"), ("team", "api"), ("team", "web")];
    assert_eq!(
        listed,
        expected.map(|(namespace, name)| (namespace.to_string(), name.to_string()))
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_unknown_repository_id_is_not_found(pool: PgPool) {
    let store = Store::from_pool(pool);
    let id = RepositoryId::new_random();
    let error = store.get_repository(id).await.expect_err("unknown");
    assert!(
        matches!(&error, Error::NotFound { what: "repository", id: shown } if *shown == id.to_string()),
        "{error:?}"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_new_id_for_the_same_namespace_and_name_replaces_the_old_repository(pool: PgPool) {
    let store = Store::from_pool(pool);
    let old = new_repository("team", "api");
    store.upsert_repository(&old).await.expect("upsert");
    add_file(&store, old.id, "README.md", None).await;
    // The resource was deleted and re-created (a new UID) while its clean-up never ran.
    let recreated = new_repository("team", "api");
    store
        .upsert_repository(&recreated)
        .await
        .expect("upsert the new one");
    assert!(matches!(
        store.get_repository(old.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(files_of(&store, old.id).await, 0);
    let found = store.find_repository("team", "api").await.expect("find");
    assert_eq!(found.map(|r| r.id), Some(recreated.id));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn deleting_a_repository_removes_its_rows_and_only_its_rows(pool: PgPool) {
    let store = Store::from_pool(pool);
    let gone = new_repository("team", "gone");
    let kept = new_repository("team", "kept");
    for repo in [&gone, &kept] {
        store.upsert_repository(repo).await.expect("upsert");
        let run = RunId::new_random();
        store
            .start_run(run, repo.id, RunKind::Index, None)
            .await
            .expect("start");
        store
            .record_event(run, "fetch", StageStatus::Started, json!({}), None, None)
            .await
            .expect("event");
        add_file(&store, repo.id, "src/lib.rs", None).await;
    }
    // A blob only the deleted repository referenced, unseen for longer than the grace period.
    store
        .upsert_blobs(&[BlobRow {
            sha: "only-gone".into(),
            content: "fn gone() {}".into(),
        }])
        .await
        .expect("blob");
    add_file(&store, gone.id, "src/gone.rs", Some("only-gone")).await;
    sqlx::query("UPDATE blobs SET last_seen_at = now() - make_interval(secs => $1) - interval '1 hour'")
        .bind(BLOB_GRACE.as_secs_f64())
        .execute(store.pool())
        .await
        .expect("age the blob");

    assert!(store.delete_repository(gone.id).await.expect("delete"));

    assert!(matches!(
        store.get_repository(gone.id).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(runs_of(&store, gone.id).await, 0);
    assert_eq!(files_of(&store, gone.id).await, 0);
    let orphan_events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM run_events e WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = e.run_id)",
    )
    .fetch_one(store.pool())
    .await
    .expect("count events");
    assert_eq!(orphan_events, 0);
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE sha = 'only-gone'")
        .fetch_one(store.pool())
        .await
        .expect("count blobs");
    assert_eq!(
        blobs, 0,
        "the blob no repository references any more is collected"
    );

    assert_eq!(store.get_repository(kept.id).await.expect("kept").name, "kept");
    assert_eq!(runs_of(&store, kept.id).await, 1);
    assert_eq!(files_of(&store, kept.id).await, 1);
    let kept_events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM run_events e JOIN runs r ON r.id = e.run_id WHERE r.repository_id = $1",
    )
    .bind(kept.id)
    .fetch_one(store.pool())
    .await
    .expect("count events");
    assert_eq!(kept_events, 1);

    assert!(
        !store.delete_repository(gone.id).await.expect("delete again"),
        "a second delete finds nothing"
    );
}
