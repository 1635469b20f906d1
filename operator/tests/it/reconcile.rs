//! Reconcile scenarios against a mocked Kubernetes API server and a real Postgres database.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::JobStatus;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use reposage_crd::conditions::{self, READY, RECONCILING, STALLED};
use reposage_crd::{GitRef, Repository, RepositoryStats};
use reposage_operator::job::index_run_name;
use reposage_operator::metrics::ErrorLabels;
use reposage_operator::status::{Observation, next_status};
use reposage_operator::{build_index_job, error_policy};
use reposage_store::{RunOutcome, Store};
use sqlx::PgPool;

use crate::fixtures::*;

/// The default `spec.interval`.
const TEN_MINUTES: Duration = Duration::from_secs(600);

fn condition<'a>(
    status: &'a reposage_crd::RepositoryStatus,
    type_: &str,
) -> &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    conditions::find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"))
}

/// The status right after the operator created the index Job of `repo`.
fn started(repo: &Repository) -> reposage_crd::RepositoryStatus {
    let (job_name, run_id) = index_run_name(repo).unwrap();
    next_status(
        repo,
        Observation::JobStarted { job_name, run_id },
        at(1_700_000_100),
    )
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_repository_without_the_finalizer_gets_it_and_nothing_else(pool: PgPool) {
    let (ctx, verifier) = context(Store::from_pool(pool));
    let repo = Repository::test();
    let finalized = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, |verifier| {
        verifier.handle_finalizer_added(finalized)
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_new_repository_gets_an_index_job_a_reconciling_status_and_an_event(pool: PgPool) {
    let (ctx, verifier) = context(Store::from_pool(pool));
    let repo = Repository::test().finalized();
    let (expected_job, run_id) = build_index_job(&repo, &settings()).unwrap();
    let job_name = expected_job.name_any();
    // the operator's allowed Git hosts and a fetch deadline from spec.timeout reach the job-runner
    let contract = expected_job
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .env
        .iter()
        .flatten()
        .find(|e| e.name == reposage_contract::INDEX_JOB_ENV)
        .and_then(|e| e.value.as_deref())
        .map(|json| reposage_contract::IndexJob::from_json(json).unwrap())
        .unwrap();
    assert_eq!(contract.allowed_hosts, ["git.internal.example"]);
    assert_eq!(contract.limits.fetch_timeout_seconds, 900);
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx.clone(), verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job_name, None).await;
        let verifier = verifier.handle_job_apply(&expected_job).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        let reconciling = condition(&status, RECONCILING);
        assert_eq!(
            (reconciling.status.as_str(), reconciling.reason.as_str()),
            ("True", "Progressing")
        );
        assert_eq!(reconciling.message, format!("indexing main in job {job_name}"));
        assert_eq!(reconciling.observed_generation, Some(1));
        assert_eq!(condition(&status, READY).status, "Unknown");
        assert_eq!(
            status.observed_generation, None,
            "the generation is observed when the run ends"
        );
        let active = status.active_run.expect("an active run");
        assert_eq!(active.job_name, job_name);
        assert_eq!(active.run_id, run_id.to_string());
        let (verifier, note) = verifier.handle_event("Normal", "IndexJobCreated").await;
        assert!(note.contains(&job_name), "{note}");
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));
    assert_eq!(ctx.metrics.index_jobs_created.get(), 1);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_completed_job_with_a_successful_run_makes_the_repository_ready(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = Repository::test().finalized();
    let repo = repo.clone().with_status(started(&repo));
    let (job, run_id) = existing_job(&repo, Some(job_status("Complete", "CompletionsReached", "")));
    seed_finished_run(&store, run_id, succeeded_outcome()).await;
    let (ctx, verifier) = context(store);
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job.name_any(), Some(&job)).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Indexed")
        );
        assert_eq!(ready.message, format!("Indexed 3 files at main@sha1:{SHA}"));
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert!(conditions::find(&status.conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(status.last_indexed_revision, Some(format!("main@sha1:{SHA}")));
        assert!(status.last_indexed_at.is_some());
        assert_eq!(
            status.stats,
            Some(RepositoryStats {
                files: 3,
                lines: 120,
                bytes: 4_096,
                symbols: 17,
                chunks: 9,
                languages: [("Markdown".to_string(), 1), ("Rust".to_string(), 2)].into(),
            })
        );
        assert_eq!(status.active_run, None);
        let (verifier, note) = verifier.handle_event("Normal", "Indexed").await;
        assert_eq!(note, format!("Indexed 3 files at main@sha1:{SHA}"));
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(TEN_MINUTES));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_completed_job_without_a_successful_run_record_fails_the_repository(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = Repository::test().finalized();
    let repo = repo.clone().with_status(started(&repo));
    let (job, run_id) = existing_job(&repo, Some(job_status("Complete", "CompletionsReached", "")));
    seed_started_run(&store, run_id).await;
    let (ctx, verifier) = context(store);
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job.name_any(), Some(&job)).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "IndexFailed")
        );
        assert_eq!(
            ready.message,
            format!("job completed but run {run_id} has no successful record")
        );
        let (verifier, _) = verifier.handle_event("Warning", "IndexFailed").await;
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(TEN_MINUTES));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_job_over_its_backoff_limit_fails_the_repository_with_the_job_reason(pool: PgPool) {
    let repo = Repository::test().finalized();
    let repo = repo.clone().with_status(started(&repo));
    let (job, _) = existing_job(
        &repo,
        Some(job_status(
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )),
    );
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job.name_any(), Some(&job)).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "IndexFailed")
        );
        assert_eq!(
            ready.message,
            "BackoffLimitExceeded: Job has reached the specified backoff limit"
        );
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(status.active_run, None);
        let (verifier, note) = verifier.handle_event("Warning", "IndexFailed").await;
        assert_eq!(
            note,
            "BackoffLimitExceeded: Job has reached the specified backoff limit"
        );
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(TEN_MINUTES));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_failed_job_reports_the_error_its_run_recorded(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = Repository::test().finalized();
    let repo = repo.clone().with_status(started(&repo));
    let (job, run_id) = existing_job(
        &repo,
        Some(job_status(
            "Failed",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )),
    );
    let error = "fetch failed: remote branch main not found";
    seed_finished_run(&store, run_id, RunOutcome::Failed { error: error.into() }).await;
    let (ctx, verifier) = context(store);
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job.name_any(), Some(&job)).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        assert_eq!(condition(&status, READY).message, error);
        let (verifier, note) = verifier.handle_event("Warning", "IndexFailed").await;
        assert_eq!(note, error);
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(TEN_MINUTES));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_http_url_stalls_the_repository_without_touching_jobs(pool: PgPool) {
    let mut repo = Repository::test().finalized();
    repo.spec.url = "http://example.com/x".into();
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        let stalled = condition(&status, STALLED);
        assert_eq!(
            (stalled.status.as_str(), stalled.reason.as_str()),
            ("True", "InvalidSpec")
        );
        assert_eq!(
            stalled.message,
            "spec.url: the http:// scheme is refused: use https:// or ssh://"
        );
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "InvalidSpec")
        );
        assert_eq!(status.observed_generation, Some(1));
        let (verifier, note) = verifier.handle_event("Warning", "InvalidSpec").await;
        assert_eq!(
            note,
            "spec.url: the http:// scheme is refused: use https:// or ssh://"
        );
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_ref_with_both_branch_and_tag_stalls_the_repository(pool: PgPool) {
    let mut repo = Repository::test().finalized();
    repo.spec.git_ref = Some(GitRef {
        branch: Some("main".into()),
        tag: Some("v1.0.0".into()),
        commit: None,
    });
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        assert_eq!(
            condition(&status, STALLED).message,
            "spec.ref: exactly one of branch, tag or commit must be set"
        );
        let (verifier, _) = verifier.handle_event("Warning", "InvalidSpec").await;
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_stalled_repository_is_not_patched_or_announced_again(pool: PgPool) {
    let mut repo = Repository::test().finalized();
    repo.spec.url = "file:///etc".into();
    let error = repo.validate().unwrap_err();
    let status = next_status(&repo, Observation::InvalidSpec(error), at(1_700_000_000));
    let repo = repo.with_status(status);
    let (ctx, verifier) = context(Store::from_pool(pool));
    let (result, _) = reconcile_with(ctx, verifier, repo, |verifier| async { verifier }).await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_deleted_repository_loses_its_jobs_and_index_before_the_finalizer(pool: PgPool) {
    let store = Store::from_pool(pool);
    let repo = Repository::test().finalized().deleting();
    let (_, run_id) = index_run_name(&repo).unwrap();
    seed_finished_run(&store, run_id, succeeded_outcome()).await;
    assert!(store.find_repository(NAMESPACE, NAME).await.unwrap().is_some());
    let (ctx, verifier) = context(store.clone());
    let scripted = repo.clone();
    let checked = store.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let mut verifier = verifier.handle_jobs_deleted().await;
        let respond = verifier.expect_finalizer_removal().await;
        assert!(
            checked.find_repository(NAMESPACE, NAME).await.unwrap().is_none(),
            "the index is deleted before the finalizer is removed"
        );
        assert!(checked.find_run(run_id).await.unwrap().is_none());
        respond.ok(&without_finalizer(&scripted));
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
    assert!(store.list_repositories().await.unwrap().is_empty());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_deleted_repository_that_was_never_indexed_is_released(pool: PgPool) {
    let repo = Repository::test().finalized().deleting();
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        verifier
            .handle_jobs_deleted()
            .await
            .handle_finalizer_removed(&scripted)
            .await
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

/// A Repository whose generation and `requestedAt` value `t1` were indexed.
fn indexed_at_t1() -> Repository {
    let repo = Repository::test().finalized().requested_at("t1");
    let run = reposage_store::RunRecord {
        id: index_run_name(&repo).unwrap().1,
        repository_id: repository_id(),
        kind: reposage_store::RunKind::Index,
        status: reposage_store::RunStatus::Succeeded,
        requested_ref: Some("main".into()),
        resolved_ref: Some("main".into()),
        commit_sha: Some(SHA.into()),
        stats: reposage_store::RunStats::default(),
        error: None,
        attempts: 1,
        started_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        finished_at: chrono::DateTime::from_timestamp(1_700_000_060, 0),
    };
    let status = next_status(
        &repo,
        Observation::JobSucceeded { run: Box::new(run) },
        at(1_700_000_060),
    );
    repo.with_status(status)
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn an_up_to_date_repository_makes_no_request_and_waits_for_the_interval(pool: PgPool) {
    let repo = indexed_at_t1();
    assert_eq!(repo.status.as_ref().unwrap().observed_generation, Some(1));
    let (ctx, verifier) = context(Store::from_pool(pool));
    let (result, _) = reconcile_with(ctx.clone(), verifier, repo, |verifier| async { verifier }).await;
    assert_eq!(result.unwrap(), Action::requeue(TEN_MINUTES));
    assert_eq!(ctx.metrics.index_jobs_created.get(), 0);
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_new_requested_at_value_starts_a_job_with_a_new_name(pool: PgPool) {
    let before = indexed_at_t1();
    let (old_name, old_run) = index_run_name(&before).unwrap();
    let repo = before.requested_at("t2");
    let (expected_job, run_id) = build_index_job(&repo, &settings()).unwrap();
    let job_name = expected_job.name_any();
    assert_ne!(job_name, old_name);
    assert_ne!(run_id, old_run);
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job_name, None).await;
        let verifier = verifier.handle_job_apply(&expected_job).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        assert_eq!(status.active_run.as_ref().unwrap().job_name, job_name);
        assert_eq!(status.last_handled_requested_at.as_deref(), Some("t1"));
        assert_eq!(
            status.last_indexed_revision,
            Some(format!("main@sha1:{SHA}")),
            "the last index stays visible while the new run is in progress"
        );
        let (verifier, _) = verifier.handle_event("Normal", "IndexJobCreated").await;
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_new_generation_replaces_the_job_of_the_superseded_run(pool: PgPool) {
    let first = Repository::test().finalized();
    let (old_name, _) = index_run_name(&first).unwrap();
    let repo = first.clone().with_status(started(&first)).at_generation(2);
    let (expected_job, _) = build_index_job(&repo, &settings()).unwrap();
    let job_name = expected_job.name_any();
    assert_ne!(job_name, old_name);
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |mut verifier| async move {
        verifier = verifier.handle_job_get(&job_name, None).await;
        let (request, respond) = verifier
            .expect(http::Method::DELETE, &format!("{JOBS_PATH}/{old_name}"), &[])
            .await;
        assert_eq!(request.body["propagationPolicy"], "Background");
        respond.not_found("jobs.batch", &old_name);
        let verifier = verifier.handle_job_apply(&expected_job).await;
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        assert_eq!(status.active_run.as_ref().unwrap().job_name, job_name);
        assert_eq!(condition(&status, RECONCILING).observed_generation, Some(2));
        assert_eq!(status.observed_generation, None);
        let (verifier, _) = verifier.handle_event("Normal", "IndexJobCreated").await;
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_running_job_already_in_the_status_is_only_looked_at(pool: PgPool) {
    let repo = Repository::test().finalized();
    let (job, run_id) = existing_job(
        &repo,
        Some(JobStatus {
            active: Some(1),
            ..JobStatus::default()
        }),
    );
    let running = Observation::JobRunning {
        job_name: job.name_any(),
        run_id,
        started_at: at(1_700_000_000),
    };
    let repo = repo
        .clone()
        .with_status(next_status(&repo, running, at(1_700_000_005)));
    let (ctx, verifier) = context(Store::from_pool(pool));
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        verifier.handle_job_get(&job.name_any(), Some(&job)).await
    })
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn a_suspended_repository_starts_no_job(pool: PgPool) {
    let mut repo = Repository::test().finalized().at_generation(2);
    repo.spec.suspend = true;
    let (ctx, verifier) = context(Store::from_pool(pool));
    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx, verifier, repo, move |verifier| async move {
        let (verifier, status) = verifier.handle_status_apply(&scripted).await;
        assert_eq!(status.observed_generation, Some(2));
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        verifier
    })
    .await;
    assert_eq!(result.unwrap(), Action::await_change());
}

#[sqlx::test(migrator = "reposage_store::MIGRATOR")]
async fn api_failures_are_counted_and_retried_with_growing_backoff_until_a_success(pool: PgPool) {
    let repo = Repository::test().finalized();
    let (expected_job, _) = build_index_job(&repo, &settings()).unwrap();
    let job_name = expected_job.name_any();
    let (ctx, verifier) = context(Store::from_pool(pool));

    let name = job_name.clone();
    let (result, verifier) = reconcile_with(
        ctx.clone(),
        verifier,
        repo.clone(),
        move |mut verifier| async move {
            let (_, respond) = verifier
                .expect(http::Method::GET, &format!("{JOBS_PATH}/{name}"), &[])
                .await;
            respond.internal_error();
            verifier
        },
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(error.metric_label(), "kube");
    let shared = Arc::new(repo.clone());
    assert_eq!(
        error_policy(shared.clone(), &error, ctx.clone()),
        Action::requeue(Duration::from_secs(5))
    );
    assert_eq!(
        error_policy(shared.clone(), &error, ctx.clone()),
        Action::requeue(Duration::from_secs(10))
    );
    let failures = ctx
        .metrics
        .failures
        .get_or_create(&ErrorLabels { error: "kube".into() });
    assert_eq!(failures.get(), 2);

    let scripted = repo.clone();
    let (result, _) = reconcile_with(ctx.clone(), verifier, repo, move |verifier| async move {
        let verifier = verifier.handle_job_get(&job_name, None).await;
        let verifier = verifier.handle_job_apply(&expected_job).await;
        let (verifier, _) = verifier.handle_status_apply(&scripted).await;
        let (verifier, _) = verifier.handle_event("Normal", "IndexJobCreated").await;
        verifier
    })
    .await;
    result.unwrap();
    assert_eq!(
        error_policy(shared, &error, ctx.clone()),
        Action::requeue(Duration::from_secs(5)),
        "a success resets the backoff"
    );
    assert_eq!(ctx.metrics.reconciliations.get(), 2);
}
