//! Integration tests of reposage-store's own contracts, against a real Postgres.
//!
//! Run with `DATABASE_URL` pointing at a server where the user may create databases (e.g.
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test -p reposage-store`):
//! `#[sqlx::test]` gives every test a fresh database with the migrations applied.

mod blobs;
mod config;
mod conversations;
mod repositories;
mod runs;

use reposage_store::{NewRepository, RefKind, RepositoryId, Store};

/// A repository `namespace/name` following `main`, with a fresh id.
pub fn new_repository(namespace: &str, name: &str) -> NewRepository {
    NewRepository {
        id: RepositoryId::new_random(),
        namespace: namespace.into(),
        name: name.into(),
        url: format!("https://git.example.com/{namespace}/{name}.git"),
        git_ref: Some((RefKind::Branch, "main".into())),
    }
}

/// Records a file row of `repository` at `path`, holding blob `blob_sha` (plain SQL: the store's
/// file-writing types belong to the index writer, tested through the job-runner).
pub async fn add_file(store: &Store, repository: RepositoryId, path: &str, blob_sha: Option<&str>) {
    sqlx::query("INSERT INTO files (repository_id, path, kind, blob_sha) VALUES ($1, $2, 'file', $3)")
        .bind(repository)
        .bind(path)
        .bind(blob_sha)
        .execute(store.pool())
        .await
        .expect("file row");
}

/// Files recorded for `repository`.
pub async fn files_of(store: &Store, repository: RepositoryId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM files WHERE repository_id = $1")
        .bind(repository)
        .fetch_one(store.pool())
        .await
        .expect("count files")
}

/// Runs recorded for `repository`.
pub async fn runs_of(store: &Store, repository: RepositoryId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE repository_id = $1")
        .bind(repository)
        .fetch_one(store.pool())
        .await
        .expect("count runs")
}
