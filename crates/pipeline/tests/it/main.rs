//! Integration tests of the index pipeline: real git repositories (built with git2), real Postgres.
//!
//! Run with `DATABASE_URL` pointing at a Postgres server; `#[sqlx::test]` creates a fresh database
//! per test and applies the migrations.

mod code;
mod hostile;
mod incremental;
mod index;
mod metadata;
mod retrieval;
mod vector_sync;

use std::sync::Arc;

use reposage_pipeline::NoProgress;
use reposage_pipeline::{IndexRequest, IndexSummary, run_index};
use reposage_store::{RepositoryId, RunId, Store};
use reposage_testkit::GitFixture;

/// An index request for `fixture` recorded as `local/<name>` (a generous parse deadline for slow CI
/// machines).
pub fn request(fixture: &GitFixture, name: &str) -> IndexRequest {
    IndexRequest {
        parse_timeout: std::time::Duration::from_secs(10),
        ..IndexRequest::local(fixture.path(), "local", name)
    }
}

pub async fn index(store: &Store, request: IndexRequest) -> IndexSummary {
    run_index(store, request, Arc::new(NoProgress))
        .await
        .expect("index run")
}

/// The data of `stage`'s completed event in run `run_id`.
pub async fn stage_data(store: &Store, run_id: RunId, stage: &str) -> serde_json::Value {
    let events = store.run_events(run_id).await.unwrap();
    events
        .into_iter()
        .find(|e| e.stage == stage && e.status == "completed")
        .unwrap_or_else(|| panic!("no completed {stage} event"))
        .data
}

/// Every stored file row of a repository, ordered by path, as comparable tuples.
pub async fn file_rows(store: &Store, repository: RepositoryId) -> Vec<FileTuple> {
    sqlx::query_as(
        "SELECT path, kind, blob_sha, language, size_bytes, lines, code_lines, comment_lines, blank_lines,
                skip_reason, symlink_target
         FROM files WHERE repository_id = $1 ORDER BY path",
    )
    .bind(repository)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

pub type FileTuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i32,
    i32,
    i32,
    i32,
    Option<String>,
    Option<String>,
);
