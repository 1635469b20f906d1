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

use std::sync::Arc;

use reposage_analysis::{FetchOptions, RefRequest, Source, UrlPolicy};
use reposage_job_runner::index::{IndexRequest, IndexSummary, run_index};
use reposage_job_runner::progress::NoProgress;
use reposage_store::{NewRepository, RepositoryId, RunId, Store};
use reposage_testkit::GitFixture;
use uuid::Uuid;

/// An index request for `fixture` recorded as `local/<name>`.
pub fn request(fixture: &GitFixture, name: &str) -> IndexRequest {
    IndexRequest {
        run_id: RunId::new_random(),
        repository: NewRepository {
            id: RepositoryId(Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes())),
            namespace: "local".into(),
            name: name.into(),
            url: fixture.path().display().to_string(),
            git_ref: None,
        },
        source: Source::Local(fixture.path().to_path_buf()),
        fetch: FetchOptions {
            git_ref: RefRequest::Default,
            ..FetchOptions::default()
        },
        url_policy: UrlPolicy::default(),
        include: vec![],
        exclude: vec![],
        max_file_bytes: 1024 * 1024,
        max_files: 100_000,
        parse_timeout: std::time::Duration::from_secs(10),
        chunk_budget: reposage_analysis::chunk::ChunkBudget::default(),
        token_counter: reposage_job_runner::index::SharedTokenCounter::approximate(),
        embedding: None,
        work_dir: std::env::temp_dir(),
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
