use reposage_store::Store;
use reposage_testkit::{Entry, GitFixture};
use sqlx::PgPool;

use crate::{file_rows, index, request};

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_new_commit_reanalyses_only_changed_files_and_drops_removed_ones(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let files_a = [
        ("a.rs", Entry::text("fn a() {}\n")),
        ("b.rs", Entry::text("fn b() {}\n")),
        ("c.rs", Entry::text("fn c() {}\n")),
        ("gone.rs", Entry::text("fn gone() {}\n")),
        ("blob.bin", Entry::File(vec![0, 1, 2])),
    ];
    fixture.commit("main", "A", &files_a);
    let first = index(&store, request(&fixture, "inc")).await;
    assert_eq!(first.stats.changed_files, 5);

    fixture.commit(
        "main",
        "B",
        &[
            ("a.rs", Entry::text("fn a() {}\n")),
            ("b.rs", Entry::text("fn b() {\n    changed();\n}\n")),
            ("c.rs", Entry::text("fn c() {}\n")),
            ("blob.bin", Entry::File(vec![0, 1, 2])),
        ],
    );
    let second = index(&store, request(&fixture, "inc")).await;
    assert_eq!(second.stats.changed_files, 1, "only b.rs is re-analysed");
    assert_eq!(second.stats.removed_files, 1);
    assert_eq!(second.stats.files, 4);
    assert_eq!(second.stats.analysed_files, 3);
    assert_eq!(second.stats.lines, 5);
    assert_eq!(
        second.stats.skipped["binary"], 1,
        "unchanged skipped files keep their reason"
    );
    // unreferenced blobs outlive a grace period (a run in flight may be about to reference them)
    let count_blobs = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM blobs")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };
    assert_eq!(count_blobs().await, 5);
    store
        .delete_unreferenced_blobs(std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(
        count_blobs().await,
        3,
        "the old b.rs and gone.rs blobs are collected"
    );

    // The incremental result equals a full index of B into a fresh repository.
    let fresh = index(&store, request(&fixture, "fresh")).await;
    assert_eq!(fresh.stats.changed_files, 4);
    assert_eq!(
        file_rows(&store, second.repository_id).await,
        file_rows(&store, fresh.repository_id).await
    );
    assert_eq!(
        (second.stats.lines, second.stats.bytes),
        (fresh.stats.lines, fresh.stats.bytes)
    );
    assert_eq!(second.stats.languages, fresh.stats.languages);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_changed_exclude_pattern_reclassifies_unchanged_blobs(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "A",
        &[
            ("a.rs", Entry::text("fn a() {}")),
            ("b.rs", Entry::text("fn b() {}")),
        ],
    );
    index(&store, request(&fixture, "ex")).await;
    let mut narrowed = request(&fixture, "ex");
    narrowed.exclude = vec!["b.rs".into()];
    let summary = index(&store, narrowed).await;
    assert_eq!(summary.stats.changed_files, 1);
    assert_eq!(summary.stats.skipped["excluded"], 1);
    let rows = file_rows(&store, summary.repository_id).await;
    assert_eq!(rows[1].9.as_deref(), Some("excluded"));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn unchanged_files_keep_their_symbol_rows_and_changed_ones_get_new_ones(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "A",
        &[
            ("keep.rs", Entry::text("pub fn keep() {}\n")),
            ("edit.rs", Entry::text("pub fn edit() {}\n")),
        ],
    );
    let first = index(&store, request(&fixture, "ids")).await;
    let ids = || async {
        sqlx::query_as::<_, (String, i64)>("SELECT name, id FROM symbols ORDER BY name")
            .fetch_all(store.pool())
            .await
            .unwrap()
    };
    let before = ids().await;
    fixture.commit(
        "main",
        "B",
        &[
            ("keep.rs", Entry::text("pub fn keep() {}\n")),
            (
                "edit.rs",
                Entry::text("pub fn edit() {}\npub fn added() { edit() }\n"),
            ),
        ],
    );
    let second = index(&store, request(&fixture, "ids")).await;
    assert_eq!((first.stats.symbols, second.stats.symbols), (2, 3));
    let after = ids().await;
    let id_of = |rows: &[(String, i64)], name: &str| rows.iter().find(|r| r.0 == name).map(|r| r.1);
    assert_eq!(
        id_of(&before, "keep"),
        id_of(&after, "keep"),
        "unchanged file, same rows"
    );
    assert_ne!(
        id_of(&before, "edit"),
        id_of(&after, "edit"),
        "changed file, new rows"
    );
    let resolved: Option<i64> =
        sqlx::query_scalar("SELECT callee_symbol_id FROM calls WHERE callee_name = 'edit'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(resolved, id_of(&after, "edit"));
}
