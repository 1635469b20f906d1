//! The Repository status the operator writes, as a pure function of what it observed.
//!
//! kstatus semantics: while an index run is in progress `Reconciling` is true and
//! `observedGeneration` lags behind `metadata.generation`, so tools like `kubectl wait` and Argo CD
//! read the resource as in progress; once the run ends the generation is observed and `Ready` tells
//! the outcome. `Stalled` means only a spec change can help.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use reposage_crd::conditions::{self, READY, RECONCILING, STALLED, Status};
use reposage_crd::{
    ActiveRun, REQUESTED_AT_ANNOTATION, Repository, RepositoryStats, RepositoryStatus, ValidationError,
};
use reposage_store::{RunId, RunRecord, RunStats};

/// Reason of `Reconciling` and `Ready=Unknown` while an index Job runs.
pub const REASON_PROGRESSING: &str = "Progressing";
/// Reason of `Ready=True` after a successful index run.
pub const REASON_INDEXED: &str = "Indexed";
/// Reason of `Ready=False` after a failed index run.
pub const REASON_INDEX_FAILED: &str = "IndexFailed";
/// Reason of `Stalled=True` and `Ready=False` when the spec cannot be acted on.
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";

/// What the reconciler found out about a Repository, the input of [`next_status`].
#[derive(Debug, Clone)]
pub enum Observation {
    /// The spec cannot be acted on; nothing runs until it changes.
    InvalidSpec(ValidationError),
    /// `spec.suspend` is true: no new run starts.
    Suspended,
    /// The operator just created the index Job.
    JobStarted {
        /// Name of the Job.
        job_name: String,
        /// Id of the run it performs.
        run_id: RunId,
    },
    /// The index Job exists and has not finished.
    JobRunning {
        /// Name of the Job.
        job_name: String,
        /// Id of the run it performs.
        run_id: RunId,
        /// When the Job was created.
        started_at: Timestamp,
    },
    /// The index Job completed and its run record says it succeeded.
    JobSucceeded {
        /// The run record the job-runner wrote (boxed: it is much larger than the other variants).
        run: Box<RunRecord>,
    },
    /// The index Job failed, or completed without a successful run record.
    JobFailed {
        /// Name of the Job.
        job_name: String,
        /// Why, fit for a user: the run's error, or the Job's failure reason and message.
        message: String,
    },
    /// The current generation and requested run were handled already; nothing changes.
    UpToDate,
}

/// The status `repo` should have after `observation`, computed from its current status. `now`
/// stamps condition transitions and a newly started run (cut to whole seconds, the precision
/// Kubernetes stores, so recomputing an unchanged status yields an equal one).
pub fn next_status(repo: &Repository, observation: Observation, now: Timestamp) -> RepositoryStatus {
    let now = whole_seconds(now);
    let generation = repo.metadata.generation;
    let requested_at = repo.annotations().get(REQUESTED_AT_ANNOTATION).cloned();
    let mut status = repo.status.clone().unwrap_or_default();
    let conditions = &mut status.conditions;
    match observation {
        Observation::UpToDate => {}
        Observation::InvalidSpec(error) => {
            let message = error.to_string();
            conditions::set(
                conditions,
                STALLED,
                Status::True,
                REASON_INVALID_SPEC,
                message.clone(),
                generation,
                now,
            );
            conditions::set(
                conditions,
                READY,
                Status::False,
                REASON_INVALID_SPEC,
                message,
                generation,
                now,
            );
            conditions::remove(conditions, RECONCILING);
            status.observed_generation = generation;
            status.active_run = None;
        }
        Observation::Suspended => {
            conditions::remove(conditions, RECONCILING);
            conditions::remove(conditions, STALLED);
            status.observed_generation = generation;
            status.active_run = None;
        }
        Observation::JobStarted { job_name, run_id } => {
            let started_at = status
                .active_run
                .as_ref()
                .filter(|run| run.job_name == job_name)
                .map(|run| run.started_at.0)
                .unwrap_or(now);
            progressing(&mut status, repo, job_name, run_id, started_at, now);
        }
        Observation::JobRunning {
            job_name,
            run_id,
            started_at,
        } => {
            progressing(
                &mut status,
                repo,
                job_name,
                run_id,
                whole_seconds(started_at),
                now,
            );
        }
        Observation::JobSucceeded { run } => {
            let revision = run.revision();
            let message = format!(
                "Indexed {} files at {}",
                run.stats.files,
                revision.as_deref().unwrap_or("an unrecorded revision")
            );
            conditions::set(
                conditions,
                READY,
                Status::True,
                REASON_INDEXED,
                message,
                generation,
                now,
            );
            conditions::remove(conditions, RECONCILING);
            conditions::remove(conditions, STALLED);
            status.observed_generation = generation;
            status.last_indexed_revision = revision;
            status.last_indexed_at = Some(Time(
                run.finished_at
                    .and_then(|at| Timestamp::from_second(at.timestamp()).ok())
                    .unwrap_or(now),
            ));
            status.stats = Some(stats(&run.stats));
            status.active_run = None;
            status.last_handled_requested_at = requested_at;
        }
        Observation::JobFailed { job_name, message } => {
            let message = if message.trim().is_empty() {
                format!("index job {job_name} failed")
            } else {
                message
            };
            conditions::set(
                conditions,
                READY,
                Status::False,
                REASON_INDEX_FAILED,
                message,
                generation,
                now,
            );
            conditions::remove(conditions, RECONCILING);
            conditions::remove(conditions, STALLED);
            status.observed_generation = generation;
            status.active_run = None;
            status.last_handled_requested_at = requested_at;
        }
    }
    status
}

/// Marks `status` as in progress on Job `job_name`; `observedGeneration` is left behind.
fn progressing(
    status: &mut RepositoryStatus,
    repo: &Repository,
    job_name: String,
    run_id: RunId,
    started_at: Timestamp,
    now: Timestamp,
) {
    let generation = repo.metadata.generation;
    let target = repo
        .spec
        .git_ref
        .as_ref()
        .map_or("the default branch", |git_ref| git_ref.display_name());
    let message = format!("indexing {target} in job {job_name}");
    conditions::set(
        &mut status.conditions,
        RECONCILING,
        Status::True,
        REASON_PROGRESSING,
        message.clone(),
        generation,
        now,
    );
    conditions::set(
        &mut status.conditions,
        READY,
        Status::Unknown,
        REASON_PROGRESSING,
        message,
        generation,
        now,
    );
    conditions::remove(&mut status.conditions, STALLED);
    status.active_run = Some(ActiveRun {
        job_name,
        run_id: run_id.to_string(),
        started_at: Time(started_at),
    });
}

/// The status totals of a run's totals.
fn stats(run: &RunStats) -> RepositoryStats {
    RepositoryStats {
        files: run.files,
        lines: run.lines,
        bytes: run.bytes,
        symbols: run.symbols,
        chunks: run.chunks,
        languages: run.languages.clone(),
    }
}

/// `at` without its fraction of a second.
fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
    use reposage_crd::{GitRef, RepositorySpec};
    use reposage_store::{RepositoryId, RunKind, RunStatus};
    use uuid::Uuid;

    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn repo() -> Repository {
        let mut repo = Repository::new(
            "demo",
            RepositorySpec {
                url: "https://github.com/reposage/demo.git".into(),
                git_ref: Some(GitRef {
                    branch: Some("main".into()),
                    ..GitRef::default()
                }),
                interval: None,
                timeout: None,
                suspend: false,
                secret_ref: None,
                include: vec![],
                exclude: vec![],
                limits: None,
            },
        );
        repo.metadata.namespace = Some("team-a".into());
        repo.metadata.uid = Some("6f0c1b8e-4a7d-4c1e-9f3a-2b5d7e9c1a30".into());
        repo.metadata.generation = Some(2);
        repo
    }

    fn run_id() -> RunId {
        RunId(Uuid::from_u128(7))
    }

    fn condition<'a>(status: &'a RepositoryStatus, type_: &str) -> &'a Condition {
        conditions::find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"))
    }

    fn succeeded_run() -> RunRecord {
        RunRecord {
            id: run_id(),
            repository_id: RepositoryId(Uuid::from_u128(1)),
            kind: RunKind::Index,
            status: RunStatus::Succeeded,
            requested_ref: Some("main".into()),
            resolved_ref: Some("main".into()),
            commit_sha: Some("4f2c0000000000000000000000000000000000aa".into()),
            stats: RunStats {
                files: 123,
                analysed_files: 120,
                lines: 4567,
                bytes: 89_000,
                symbols: 321,
                chunks: 210,
                languages: BTreeMap::from([("Rust".into(), 100), ("Markdown".into(), 20)]),
                ..RunStats::default()
            },
            error: None,
            attempts: 1,
            started_at: Utc.timestamp_opt(1_000, 0).unwrap(),
            finished_at: Some(Utc.timestamp_opt(1_500, 250_000).unwrap()),
        }
    }

    #[test]
    fn a_started_job_marks_the_repository_reconciling_without_observing_the_generation() {
        let status = next_status(
            &repo(),
            Observation::JobStarted {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id(),
            },
            at(100),
        );
        let reconciling = condition(&status, RECONCILING);
        assert_eq!(reconciling.status, "True");
        assert_eq!(reconciling.reason, "Progressing");
        assert_eq!(reconciling.message, "indexing main in job demo-index-0123456789");
        assert_eq!(reconciling.observed_generation, Some(2));
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("Unknown", "Progressing")
        );
        assert!(conditions::find(&status.conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, None);
        assert_eq!(
            status.active_run,
            Some(ActiveRun {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id().to_string(),
                started_at: Time(at(100)),
            })
        );
    }

    #[test]
    fn a_running_job_keeps_the_previous_observed_generation_and_names_the_default_branch() {
        let mut repo = repo();
        repo.spec.git_ref = None;
        repo.status = Some(RepositoryStatus {
            observed_generation: Some(1),
            ..RepositoryStatus::default()
        });
        let status = next_status(
            &repo,
            Observation::JobRunning {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id(),
                started_at: at(50),
            },
            at(100),
        );
        assert_eq!(status.observed_generation, Some(1));
        assert_eq!(
            condition(&status, RECONCILING).message,
            "indexing the default branch in job demo-index-0123456789"
        );
        assert_eq!(status.active_run.unwrap().started_at, Time(at(50)));
    }

    #[test]
    fn recomputing_a_running_job_yields_the_same_status() {
        let mut repo = repo();
        let running = || Observation::JobRunning {
            job_name: "demo-index-0123456789".into(),
            run_id: run_id(),
            started_at: at(50),
        };
        repo.status = Some(next_status(&repo, running(), at(100)));
        let again = next_status(&repo, running(), at(200));
        assert_eq!(Some(again), repo.status);
    }

    #[test]
    fn a_started_job_keeps_the_start_time_of_the_same_active_run() {
        let mut repo = repo();
        let started = || Observation::JobStarted {
            job_name: "demo-index-0123456789".into(),
            run_id: run_id(),
        };
        repo.status = Some(next_status(&repo, started(), at(100)));
        let again = next_status(&repo, started(), at(130));
        assert_eq!(again.active_run.unwrap().started_at, Time(at(100)));
    }

    #[test]
    fn a_succeeded_run_makes_the_repository_ready_with_revision_and_stats() {
        let mut repo = repo();
        repo.annotations_mut()
            .insert(REQUESTED_AT_ANNOTATION.into(), "2026-11-22T10:00:00Z".into());
        repo.status = Some(next_status(
            &repo,
            Observation::JobStarted {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id(),
            },
            at(100),
        ));
        let status = next_status(
            &repo,
            Observation::JobSucceeded {
                run: Box::new(succeeded_run()),
            },
            at(200),
        );
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Indexed")
        );
        assert_eq!(
            ready.message,
            "Indexed 123 files at main@sha1:4f2c0000000000000000000000000000000000aa"
        );
        assert_eq!(ready.observed_generation, Some(2));
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert!(conditions::find(&status.conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(
            status.last_indexed_revision.as_deref(),
            Some("main@sha1:4f2c0000000000000000000000000000000000aa")
        );
        assert_eq!(status.last_indexed_at, Some(Time(at(1_500))));
        assert_eq!(
            status.stats,
            Some(RepositoryStats {
                files: 123,
                lines: 4567,
                bytes: 89_000,
                symbols: 321,
                chunks: 210,
                languages: BTreeMap::from([("Markdown".into(), 20), ("Rust".into(), 100)]),
            })
        );
        assert_eq!(status.active_run, None);
        assert_eq!(
            status.last_handled_requested_at.as_deref(),
            Some("2026-11-22T10:00:00Z")
        );
    }

    #[test]
    fn a_failed_run_is_not_ready_and_keeps_the_last_indexed_revision_and_stats() {
        let mut repo = repo();
        let indexed = next_status(
            &repo,
            Observation::JobSucceeded {
                run: Box::new(succeeded_run()),
            },
            at(100),
        );
        repo.status = Some(indexed.clone());
        repo.metadata.generation = Some(3);
        repo.annotations_mut()
            .insert(REQUESTED_AT_ANNOTATION.into(), "again".into());
        let status = next_status(
            &repo,
            Observation::JobFailed {
                job_name: "demo-index-9876543210".into(),
                message: "DeadlineExceeded: Job was active longer than specified deadline".into(),
            },
            at(300),
        );
        let ready = condition(&status, READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "IndexFailed")
        );
        assert_eq!(
            ready.message,
            "DeadlineExceeded: Job was active longer than specified deadline"
        );
        assert_eq!(ready.last_transition_time, Time(at(300)));
        assert_eq!(ready.observed_generation, Some(3));
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert!(conditions::find(&status.conditions, STALLED).is_none());
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(status.last_handled_requested_at.as_deref(), Some("again"));
        assert_eq!(status.active_run, None);
        assert_eq!(status.last_indexed_revision, indexed.last_indexed_revision);
        assert_eq!(status.stats, indexed.stats);
        assert_eq!(status.last_indexed_at, indexed.last_indexed_at);
    }

    #[test]
    fn a_failure_without_message_names_the_job() {
        let status = next_status(
            &repo(),
            Observation::JobFailed {
                job_name: "demo-index-9876543210".into(),
                message: " ".into(),
            },
            at(300),
        );
        assert_eq!(
            condition(&status, READY).message,
            "index job demo-index-9876543210 failed"
        );
    }

    #[test]
    fn an_invalid_spec_stalls_the_repository_and_observes_the_generation() {
        let mut repo = repo();
        repo.status = Some(next_status(
            &repo,
            Observation::JobStarted {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id(),
            },
            at(100),
        ));
        let error = ValidationError {
            field: "spec.url".into(),
            message: "the http:// scheme is refused: use https:// or ssh://".into(),
        };
        let status = next_status(&repo, Observation::InvalidSpec(error), at(200));
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
        assert_eq!(ready.last_transition_time, Time(at(200)));
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert_eq!(status.observed_generation, Some(2));
        assert_eq!(status.active_run, None);
    }

    #[test]
    fn a_suspended_repository_keeps_ready_and_observes_the_generation() {
        let mut repo = repo();
        repo.status = Some(next_status(
            &repo,
            Observation::JobSucceeded {
                run: Box::new(succeeded_run()),
            },
            at(100),
        ));
        let ready_before = condition(repo.status.as_ref().unwrap(), READY).clone();
        repo.metadata.generation = Some(3);
        repo.spec.suspend = true;
        let status = next_status(&repo, Observation::Suspended, at(200));
        assert_eq!(condition(&status, READY), &ready_before);
        assert!(conditions::find(&status.conditions, RECONCILING).is_none());
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(status.active_run, None);
    }

    #[test]
    fn an_up_to_date_repository_keeps_its_status() {
        let mut repo = repo();
        repo.status = Some(next_status(
            &repo,
            Observation::JobSucceeded {
                run: Box::new(succeeded_run()),
            },
            at(100),
        ));
        let status = next_status(&repo, Observation::UpToDate, at(500));
        assert_eq!(Some(status), repo.status);
    }

    #[test]
    fn an_unchanged_condition_status_keeps_its_transition_time() {
        let mut repo = repo();
        let failed = |message: &str| Observation::JobFailed {
            job_name: "demo-index-0123456789".into(),
            message: message.into(),
        };
        repo.status = Some(next_status(&repo, failed("first"), at(100)));
        let status = next_status(&repo, failed("second"), at(200));
        let ready = condition(&status, READY);
        assert_eq!(ready.message, "second");
        assert_eq!(ready.last_transition_time, Time(at(100)));
    }

    #[test]
    fn transition_times_are_whole_seconds() {
        let now = Timestamp::new(100, 999_000_000).unwrap();
        let status = next_status(
            &repo(),
            Observation::JobStarted {
                job_name: "demo-index-0123456789".into(),
                run_id: run_id(),
            },
            now,
        );
        assert_eq!(condition(&status, READY).last_transition_time, Time(at(100)));
        assert_eq!(status.active_run.unwrap().started_at, Time(at(100)));
    }
}
