use reposage_analysis::RefRequest;
use reposage_store::{RunStatus, Store, SubstringQuery};
use reposage_testkit::{Entry, GitFixture};
use sqlx::PgPool;

use crate::{file_rows, index, request};

fn sample_repository() -> GitFixture {
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "init",
        &[
            ("README.md", Entry::text("# Demo\n\nA demo repository.\n")),
            (
                "src/lib.rs",
                Entry::text(
                    "//! Demo.\n\n/// Retries with backoff.\npub fn backoff_send() {\n    retry();\n}\n",
                ),
            ),
            (
                "src/util.py",
                Entry::text("# helpers\n\ndef helper():\n    return 1\n"),
            ),
            (
                "scripts/run",
                Entry::Executable(b"#!/usr/bin/env bash\necho hi\n".to_vec()),
            ),
        ],
    );
    fixture
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn indexing_records_files_languages_lines_and_stage_events(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = sample_repository();
    let request = request(&fixture, "demo");
    let repository = request.repository.id;
    let summary = index(&store, request).await;

    assert_eq!(summary.resolved_ref, "main");
    assert_eq!(summary.revision, format!("main@sha1:{}", summary.commit));
    assert_eq!(summary.stats.files, 4);
    assert_eq!(summary.stats.analysed_files, 4);
    assert_eq!(summary.stats.changed_files, 4);
    assert_eq!(summary.stats.languages["Rust"], 1);
    assert_eq!(summary.stats.languages["Python"], 1);
    assert_eq!(summary.stats.languages["Bash"], 1, "detected from the shebang");
    assert_eq!(summary.stats.languages["Markdown"], 1);

    let rows = file_rows(&store, repository).await;
    let lib = rows.iter().find(|r| r.0 == "src/lib.rs").unwrap();
    // (lines, code, comment, blank)
    assert_eq!((lib.5, lib.6, lib.7, lib.8), (6, 3, 2, 1));

    let run = store.get_run(summary.run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(run.commit_sha.as_deref(), Some(summary.commit.as_str()));
    assert_eq!(run.stats, summary.stats);
    let events = store.run_events(summary.run_id).await.unwrap();
    let shape: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.stage.clone(), e.status.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            ("fetch", "started"),
            ("fetch", "completed"),
            ("analyse", "started"),
            ("analyse", "completed"),
            ("persist", "started"),
            ("persist", "completed"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(events[1].event_type, "processing.stage.completed");
    // Every completed event's data is its stage's typed report.
    for event in events.iter().filter(|e| e.status == "completed") {
        let report = reposage_pipeline::StageReport::from_event(&event.stage, event.data.clone())
            .unwrap_or_else(|e| panic!("{} event: {e}: {}", event.stage, event.data));
        assert_eq!(report.stage().as_str(), event.stage);
    }
    assert_eq!(events[3].data["analysedFiles"], 4);
    // The run's new index entries were merged out of the GIN pending lists, so none are left.
    assert!(events[5].data["searchIndexPagesFlushed"].as_i64().unwrap() > 0);
    assert_eq!(store.flush_search_indexes().await.unwrap(), 0);

    let record = store.get_repository(repository).await.unwrap();
    assert_eq!(
        record.last_indexed_revision().as_deref(),
        Some(summary.revision.as_str())
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn indexed_contents_are_searchable_with_line_numbers(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = sample_repository();
    let request = request(&fixture, "demo");
    let repository = request.repository.id;
    index(&store, request).await;

    let hits = store
        .find_substring(&SubstringQuery {
            text: "BACKOFF_send".into(),
            repository: Some(repository),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "src/lib.rs");
    assert_eq!(hits[0].matches[0].line, 4);
    assert_eq!(hits[0].matches[0].text, "pub fn backoff_send() {");

    let by_path = store
        .find_substring(&SubstringQuery {
            text: "util.py".into(),
            repository: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(by_path[0].path_match);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_failed_run_is_recorded_and_the_previous_index_stays(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = sample_repository();
    let first = index(&store, request(&fixture, "demo")).await;

    let mut bad = request(&fixture, "demo");
    bad.fetch.git_ref = RefRequest::Branch("does-not-exist".into());
    let run_id = bad.run_id;
    let error = reposage_pipeline::run_index(&store, bad, std::sync::Arc::new(reposage_pipeline::NoProgress))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("does-not-exist"), "{error}");

    let run = store.get_run(run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.error.unwrap().contains("branch does-not-exist"));
    let events = store.run_events(run_id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!((last.stage.as_str(), last.status.as_str()), ("fetch", "failed"));
    assert!(last.message.as_deref().unwrap().contains("does-not-exist"));

    let record = store.get_repository(first.repository_id).await.unwrap();
    assert_eq!(record.last_indexed_commit.as_deref(), Some(first.commit.as_str()));
    assert_eq!(record.last_run_id, Some(run_id));
    assert_eq!(file_rows(&store, first.repository_id).await.len(), 4);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn include_exclude_and_the_file_cap_are_recorded_as_skip_reasons(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    fixture.commit(
        "main",
        "many",
        &[
            ("a.rs", Entry::text("fn a() {}")),
            ("b.rs", Entry::text("fn b() {}")),
            ("c.rs", Entry::text("fn c() {}")),
            ("docs/guide.md", Entry::text("# Guide")),
            ("notes.txt", Entry::text("notes")),
        ],
    );
    let mut request = request(&fixture, "capped");
    request.include = vec!["*.rs".into(), "docs/".into()];
    request.exclude = vec!["docs/".into()];
    request.max_files = 2;
    let summary = index(&store, request).await;
    assert_eq!(summary.stats.analysed_files, 2);
    assert_eq!(summary.stats.skipped["max-files"], 1);
    assert_eq!(summary.stats.skipped["excluded"], 2);
    let rows = file_rows(&store, summary.repository_id).await;
    let reasons: Vec<(&str, Option<&str>)> = rows.iter().map(|r| (r.0.as_str(), r.9.as_deref())).collect();
    assert_eq!(
        reasons,
        [
            ("a.rs", None),
            ("b.rs", None),
            ("c.rs", Some("max-files")),
            ("docs/guide.md", Some("excluded")),
            ("notes.txt", Some("excluded")),
        ]
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_url_refused_by_policy_fails_the_fetch_stage_before_any_traffic(pool: PgPool) {
    let store = Store::from_pool(pool);
    let fixture = sample_repository();
    let mut request = request(&fixture, "metadata");
    request.source = reposage_analysis::Source::Remote("https://169.254.169.254/latest/meta-data.git".into());
    let run_id = request.run_id;
    let error = reposage_pipeline::run_index(
        &store,
        request,
        std::sync::Arc::new(reposage_pipeline::NoProgress),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("link-local"), "{error}");
    let run = store.get_run(run_id).await.unwrap();
    assert_eq!(run.status, RunStatus::Failed);
    let events = store.run_events(run_id).await.unwrap();
    assert_eq!(
        (events[1].stage.as_str(), events[1].status.as_str()),
        ("fetch", "failed")
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn regression_files_with_the_same_content_share_one_blob_in_a_batch(pool: PgPool) {
    // Identical files (vendored copies, empty __init__.py) land in one batch with one blob sha;
    // the blob upsert once failed with "ON CONFLICT DO UPDATE command cannot affect row a second time".
    let store = Store::from_pool(pool);
    let fixture = GitFixture::new();
    let same = "pub fn same() -> u32 {\n    42\n}\n";
    fixture.commit(
        "main",
        "copies",
        &[
            ("a/copy.rs", Entry::text(same)),
            ("b/copy.rs", Entry::text(same)),
            ("pkg/__init__.py", Entry::text("")),
            ("pkg/sub/__init__.py", Entry::text("")),
        ],
    );
    let summary = index(&store, request(&fixture, "copies")).await;
    assert_eq!(summary.stats.analysed_files, 4);
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(blobs, 2);
    let chunks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(chunks, 2, "each copy keeps its own chunk");
}
