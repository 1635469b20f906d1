//! Runs: starting, finishing (successfully or not), retried attempts and stage events.

use std::collections::BTreeMap;

use reposage_store::{CommitSha, Error, RunId, RunKind, RunOutcome, RunStats, RunStatus, StageStatus, Store};
use serde_json::json;
use sqlx::PgPool;

use crate::new_repository;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

fn success(commit: &str) -> RunOutcome {
    RunOutcome::Succeeded {
        resolved_ref: "main".into(),
        commit: CommitSha::parse(commit).expect("a valid sha"),
        stats: RunStats {
            files: 3,
            analysed_files: 2,
            lines: 120,
            languages: BTreeMap::from([("Rust".to_string(), 2)]),
            ..RunStats::default()
        },
    }
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_started_run_is_running_and_becomes_the_repositorys_last_run(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    let id = RunId::new_random();
    let run = store
        .start_run(id, repo.id, RunKind::Index, Some("main"))
        .await
        .expect("start");
    assert_eq!(run.id, id);
    assert_eq!(run.repository_id, repo.id);
    assert_eq!(run.kind, RunKind::Index);
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.requested_ref.as_deref(), Some("main"));
    assert_eq!(run.attempts, 1);
    assert_eq!((run.finished_at, run.error, run.commit_sha), (None, None, None));
    assert_eq!(run.stats, RunStats::default());
    let repository = store.get_repository(repo.id).await.expect("repository");
    assert_eq!(repository.last_run_id, Some(id));
    assert_eq!(repository.last_indexed_commit, None);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_successful_run_is_stored_and_becomes_the_repositorys_indexed_state(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    let id = RunId::new_random();
    store
        .start_run(id, repo.id, RunKind::Index, None)
        .await
        .expect("start");
    let finished = store.finish_run(id, &success(COMMIT)).await.expect("finish");
    assert_eq!(finished.status, RunStatus::Succeeded);
    assert_eq!(finished.resolved_ref.as_deref(), Some("main"));
    assert_eq!(finished.commit_sha.as_deref(), Some(COMMIT));
    assert_eq!(finished.revision(), Some(format!("main@sha1:{COMMIT}")));
    assert!(finished.finished_at.is_some());
    assert_eq!(finished.error, None);
    let RunOutcome::Succeeded { stats, .. } = success(COMMIT) else {
        unreachable!()
    };
    assert_eq!(finished.stats, stats);
    // What the store returns is what it kept.
    let stored = store.get_run(id).await.expect("get");
    assert_eq!(stored.stats, stats);
    assert_eq!(stored.status, RunStatus::Succeeded);

    let repository = store.get_repository(repo.id).await.expect("repository");
    assert_eq!(repository.last_indexed_commit.as_deref(), Some(COMMIT));
    assert_eq!(repository.last_indexed_ref.as_deref(), Some("main"));
    assert!(repository.last_indexed_at.is_some());
    assert_eq!(
        repository.last_indexed_revision(),
        Some(format!("main@sha1:{COMMIT}"))
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_failed_run_keeps_its_error_and_the_previous_indexed_state(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    let good = RunId::new_random();
    store
        .start_run(good, repo.id, RunKind::Index, None)
        .await
        .expect("start");
    store.finish_run(good, &success(COMMIT)).await.expect("finish");

    let bad = RunId::new_random();
    store
        .start_run(bad, repo.id, RunKind::Index, Some("feature"))
        .await
        .expect("start");
    let failed = store
        .finish_run(
            bad,
            &RunOutcome::Failed {
                error: "fetch failed: reference 'feature' not found".into(),
            },
        )
        .await
        .expect("finish");
    assert_eq!(failed.status, RunStatus::Failed);
    assert!(failed.finished_at.is_some());
    let stored = store.get_run(bad).await.expect("get");
    assert_eq!(stored.status, RunStatus::Failed);
    assert_eq!(
        stored.error.as_deref(),
        Some("fetch failed: reference 'feature' not found")
    );
    assert_eq!((stored.commit_sha, stored.resolved_ref), (None, None));

    let repository = store.get_repository(repo.id).await.expect("repository");
    assert_eq!(repository.last_run_id, Some(bad));
    assert_eq!(
        repository.last_indexed_commit.as_deref(),
        Some(COMMIT),
        "still the good run's"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn starting_a_run_again_counts_an_attempt_and_clears_the_failure(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    let id = RunId::new_random();
    store
        .start_run(id, repo.id, RunKind::Index, None)
        .await
        .expect("start");
    store
        .record_event(
            id,
            "fetch",
            StageStatus::Failed,
            json!({}),
            Some(5),
            Some("pod evicted"),
        )
        .await
        .expect("event");
    store
        .finish_run(
            id,
            &RunOutcome::Failed {
                error: "pod evicted".into(),
            },
        )
        .await
        .expect("fail");
    let again = store
        .start_run(id, repo.id, RunKind::Index, None)
        .await
        .expect("start again");
    assert_eq!(again.attempts, 2);
    assert_eq!(again.status, RunStatus::Running);
    assert_eq!((again.error, again.finished_at), (None, None));
    assert_eq!(
        store.run_events(id).await.expect("events").len(),
        1,
        "earlier events stay as history"
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn events_come_back_in_order_with_their_data(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = new_repository("team", "api");
    store.upsert_repository(&repo).await.expect("repository");
    let id = RunId::new_random();
    store
        .start_run(id, repo.id, RunKind::Index, None)
        .await
        .expect("start");
    let recorded = [
        ("fetch", StageStatus::Started, json!({}), None, None),
        (
            "fetch",
            StageStatus::Completed,
            json!({"bytes": 2048, "objects": 12}),
            Some(340),
            None,
        ),
        (
            "structure",
            StageStatus::Failed,
            json!({"files": 7}),
            Some(15),
            Some("tree too large"),
        ),
    ];
    for (stage, status, data, duration, message) in &recorded {
        store
            .record_event(id, stage, *status, data.clone(), *duration, *message)
            .await
            .expect("event");
    }
    let events = store.run_events(id).await.expect("events");
    assert_eq!(events.len(), 3);
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.seq,
                e.event_type.as_str(),
                e.stage.as_str(),
                e.status.as_str(),
                &e.data,
                e.duration_ms,
                e.message.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                1,
                "processing.stage.started",
                "fetch",
                "started",
                &recorded[0].2,
                None,
                None
            ),
            (
                2,
                "processing.stage.completed",
                "fetch",
                "completed",
                &recorded[1].2,
                Some(340),
                None
            ),
            (
                3,
                "processing.stage.failed",
                "structure",
                "failed",
                &recorded[2].2,
                Some(15),
                Some("tree too large")
            ),
        ]
    );
    // Events belong to their run.
    assert!(
        store
            .run_events(RunId::new_random())
            .await
            .expect("events")
            .is_empty()
    );
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_unknown_run_is_not_found(pool: PgPool) {
    let store = Store::from_pool(pool);
    let id = RunId::new_random();
    assert!(matches!(
        store.get_run(id).await,
        Err(Error::NotFound { what: "run", .. })
    ));
    assert!(store.find_run(id).await.expect("find").is_none());
    let outcome = RunOutcome::Failed { error: "x".into() };
    assert!(matches!(
        store.finish_run(id, &outcome).await,
        Err(Error::NotFound { what: "run", .. })
    ));
}
