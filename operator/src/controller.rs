//! The Repository controller: reconciles each Repository into one index Job at a time and writes
//! the outcome into the Repository's status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use prometheus_client::registry::Registry;
use reposage_crd::{REQUESTED_AT_ANNOTATION, Repository, RepositoryStatus, conditions};
use reposage_runtime::http::{Probes, ReadyFlag};
use reposage_store::{RepositoryId, RunStatus, Store};
use tracing::{Instrument, info, info_span, instrument, warn};

use crate::config::{Config, JobSettings, Settings};
use crate::error::report;
use crate::job::{
    JobPhase, LABEL_REPOSITORY_UID, MANAGED_BY_SELECTOR, build_index_job, job_phase, repository_uid,
};
use crate::metrics::{self, Metrics};
use crate::status::{Observation, next_status};
use crate::{Error, Result};

/// The field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "reposage-operator";
/// The finalizer that keeps a Repository until its Jobs and index data are deleted.
pub const FINALIZER: &str = "reposage.dev/cleanup";
/// How soon a Repository with a running index Job is looked at again (Job changes also wake it).
pub const RUNNING_REQUEUE: Duration = Duration::from_secs(30);
/// First retry delay after a failed reconciliation; it doubles with each consecutive failure.
pub const BACKOFF_BASE: Duration = Duration::from_secs(5);
/// Longest retry delay after failed reconciliations.
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Longest event note Kubernetes accepts, in bytes.
const MAX_EVENT_NOTE_BYTES: usize = 1024;

/// What every reconciliation shares.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// The RepoSage database, where the job-runner records its runs.
    pub store: Store,
    /// How index Jobs are built.
    pub settings: JobSettings,
    /// Publishes Kubernetes events on Repositories.
    pub recorder: Recorder,
    /// The operator's metrics.
    pub metrics: Metrics,
    /// Consecutive failed reconciliations per Repository, for the retry back-off.
    failures: Mutex<HashMap<ObjectRef<Repository>, u32>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// A context whose events are reported by `reposage-operator` on this host.
    pub fn new(client: Client, store: Store, settings: JobSettings, metrics: Metrics) -> Self {
        let recorder = Recorder::new(client.clone(), Reporter::from(FIELD_MANAGER));
        Context {
            client,
            store,
            settings,
            recorder,
            metrics,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one more consecutive failure of `object` and returns how long to wait before retrying.
    fn next_backoff(&self, object: ObjectRef<Repository>) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(object).or_insert(0);
        *count = count.saturating_add(1);
        backoff_delay(*count)
    }

    /// Forgets the failures of `object` after it reconciled successfully.
    fn reset_backoff(&self, object: &ObjectRef<Repository>) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(object);
    }
}

/// The retry delay after `failures` consecutive failures: 5 s, 10 s, 20 s, … capped at 5 minutes.
pub fn backoff_delay(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    BACKOFF_BASE.saturating_mul(1 << doublings).min(BACKOFF_MAX)
}

/// Reconciles one Repository: makes sure it carries the finalizer, then either drives its index run
/// or, when it is being deleted, removes its Jobs and index data.
#[instrument(skip_all, fields(namespace = repo.namespace(), name = %repo.name_any()))]
pub async fn reconcile(repo: Arc<Repository>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    ctx.metrics.reconciliations.inc();
    let namespace = repo
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let api: Api<Repository> = Api::namespaced(ctx.client.clone(), &namespace);
    let object = ObjectRef::from_obj(&*repo);
    let result = finalizer(&api, FINALIZER, repo, |event| async {
        match event {
            FinalizerEvent::Apply(repo) => apply(&repo, &ctx).await,
            FinalizerEvent::Cleanup(repo) => cleanup(&repo, &ctx).await,
        }
    })
    .await
    .map_err(Error::from);
    ctx.metrics.observe_duration(started.elapsed());
    if result.is_ok() {
        ctx.reset_backoff(&object);
    }
    result
}

/// Counts the failure and retries the Repository with exponential back-off.
pub fn error_policy(repo: Arc<Repository>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.record_failure(error.metric_label());
    let delay = ctx.next_backoff(ObjectRef::from_obj(&*repo));
    warn!(
        namespace = repo.namespace(),
        name = %repo.name_any(),
        error = %report(error),
        retry_in_seconds = delay.as_secs(),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// True when the current generation and the current `reposage.dev/requestedAt` value were handled
/// (an absent annotation matches an absent handled value) and nothing is stalled: no new run is due.
pub fn is_up_to_date(repo: &Repository) -> bool {
    let requested_at = repo.annotations().get(REQUESTED_AT_ANNOTATION);
    repo.status.as_ref().is_some_and(|status| {
        status.observed_generation == repo.meta().generation
            && status.last_handled_requested_at.as_ref() == requested_at
            && !conditions::is_true(&status.conditions, conditions::STALLED)
    })
}

/// Drives a Repository that is not being deleted towards an index of its current spec.
async fn apply(repo: &Repository, ctx: &Context) -> Result<Action> {
    let namespace = repo
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let generation = repo
        .meta()
        .generation
        .ok_or(Error::MissingObjectKey("metadata.generation"))?;
    let repositories: Api<Repository> = Api::namespaced(ctx.client.clone(), &namespace);
    let now = Timestamp::now();

    if let Err(invalid) = repo.validate() {
        let note = invalid.to_string();
        info!(generation, reason = %note, "spec is invalid");
        let status = next_status(repo, Observation::InvalidSpec(invalid), now);
        if write_status(&repositories, repo, status).await? {
            publish(ctx, repo, EventType::Warning, "InvalidSpec", "Validate", note).await;
        }
        return Ok(Action::await_change());
    }
    let interval = repo.spec.interval().map_err(Error::InvalidSpec)?;
    if is_up_to_date(repo) {
        return Ok(Action::requeue(interval));
    }
    if repo.spec.suspend {
        info!(generation, "suspended: no index run starts");
        write_status(
            &repositories,
            repo,
            next_status(repo, Observation::Suspended, now),
        )
        .await?;
        return Ok(Action::await_change());
    }

    let (job, run_id) = build_index_job(repo, &ctx.settings)?;
    let job_name = job.name_any();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let span = info_span!("index_run", job = %job_name, run_id = %run_id);
    async {
        let Some(existing) = jobs.get_opt(&job_name).await? else {
            supersede_active_run(&jobs, repo, &job_name).await?;
            jobs.patch(
                &job_name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&job),
            )
            .await?;
            ctx.metrics.index_jobs_created.inc();
            info!(generation, "created index job");
            let observation = Observation::JobStarted {
                job_name: job_name.clone(),
                run_id,
            };
            write_status(&repositories, repo, next_status(repo, observation, now)).await?;
            let target = repo
                .spec
                .git_ref
                .as_ref()
                .map_or("the default branch", |git_ref| git_ref.display_name());
            let note = format!("Created job {job_name} to index {target} (run {run_id})");
            publish(
                ctx,
                repo,
                EventType::Normal,
                "IndexJobCreated",
                "CreateIndexJob",
                note,
            )
            .await;
            return Ok(Action::requeue(RUNNING_REQUEUE));
        };

        let observation = match job_phase(&existing) {
            JobPhase::Running => {
                let started_at = existing
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map_or(now, |created| created.0);
                let observation = Observation::JobRunning {
                    job_name: job_name.clone(),
                    run_id,
                    started_at,
                };
                write_status(&repositories, repo, next_status(repo, observation, now)).await?;
                return Ok(Action::requeue(RUNNING_REQUEUE));
            }
            JobPhase::Succeeded => match ctx.store.find_run(run_id).await? {
                Some(run) if run.status == RunStatus::Succeeded => {
                    Observation::JobSucceeded { run: Box::new(run) }
                }
                _ => Observation::JobFailed {
                    job_name: job_name.clone(),
                    message: format!("job completed but run {run_id} has no successful record"),
                },
            },
            JobPhase::Failed { reason, message } => {
                let recorded = ctx.store.find_run(run_id).await?.and_then(|run| run.error);
                Observation::JobFailed {
                    job_name: job_name.clone(),
                    message: recorded
                        .filter(|error| !error.trim().is_empty())
                        .unwrap_or_else(|| format!("{reason}: {message}")),
                }
            }
        };
        let (event_type, reason, action) = match &observation {
            Observation::JobSucceeded { .. } => (EventType::Normal, "Indexed", "Index"),
            _ => (EventType::Warning, "IndexFailed", "Index"),
        };
        let status = next_status(repo, observation, now);
        let note = conditions::find(&status.conditions, conditions::READY)
            .map(|ready| ready.message.clone())
            .unwrap_or_default();
        if write_status(&repositories, repo, status).await? {
            info!(generation, outcome = reason, %note, "index run finished");
            publish(ctx, repo, event_type, reason, action, note).await;
        }
        Ok(Action::requeue(interval))
    }
    .instrument(span)
    .await
}

/// Deletes the Job of a run the Repository no longer wants (its spec or requested run changed while
/// it ran), so only one index Job per Repository is ever active.
async fn supersede_active_run(jobs: &Api<Job>, repo: &Repository, job_name: &str) -> Result<()> {
    let Some(active) = repo.status.as_ref().and_then(|s| s.active_run.as_ref()) else {
        return Ok(());
    };
    if active.job_name == job_name {
        return Ok(());
    }
    match jobs.delete(&active.job_name, &DeleteParams::background()).await {
        Ok(_) => {
            info!(superseded = %active.job_name, "deleted the index job of a superseded run");
            Ok(())
        }
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Removes everything the operator created for a Repository that is being deleted: its Jobs (and
/// their pods) and its rows in the database.
async fn cleanup(repo: &Repository, ctx: &Context) -> Result<Action> {
    let namespace = repo
        .namespace()
        .ok_or(Error::MissingObjectKey("metadata.namespace"))?;
    let uid = repository_uid(repo)?;
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    jobs.delete_collection(
        &DeleteParams::background(),
        &ListParams::default().labels(&format!("{LABEL_REPOSITORY_UID}={uid}")),
    )
    .await?;
    let existed = ctx.store.delete_repository(RepositoryId(uid)).await?;
    info!(
        index_deleted = existed,
        "cleaned up the repository's jobs and index"
    );
    Ok(Action::await_change())
}

/// Writes `status` with a server-side apply of the status subresource, unless it equals the current
/// status. Returns whether it wrote.
async fn write_status(api: &Api<Repository>, repo: &Repository, status: RepositoryStatus) -> Result<bool> {
    let unchanged = match &repo.status {
        Some(current) => *current == status,
        None => status == RepositoryStatus::default(),
    };
    if unchanged {
        return Ok(false);
    }
    let name = repo
        .meta()
        .name
        .as_deref()
        .ok_or(Error::MissingObjectKey("metadata.name"))?;
    let patch = serde_json::json!({
        "apiVersion": Repository::api_version(&()),
        "kind": Repository::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(true)
}

/// Publishes an event on the Repository. Events are for humans reading `kubectl describe`; failing
/// to publish one is logged and does not fail the reconciliation.
async fn publish(
    ctx: &Context,
    repo: &Repository,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(truncate(note, MAX_EVENT_NOTE_BYTES)),
        action: action.to_string(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &repo.object_ref(&())).await {
        warn!(error = %report(&error), reason, "cannot publish event");
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Runs the operator until SIGTERM or Ctrl-C: connects to and migrates the database, serves metrics
/// and health on `--metrics-listen`, and runs the Repository controller (owning index Jobs).
pub async fn run(config: Config) -> Result<()> {
    let Settings {
        job,
        metrics_listen,
        watch_namespace,
        database,
    } = config.resolve()?;
    let store = database
        .connect_and_migrate(crate::config::DATABASE_MAX_CONNECTIONS)
        .await
        .map_err(Error::Database)?;
    let client = Client::try_default().await?;

    let mut registry = Registry::with_prefix(metrics::PREFIX);
    let metrics = Metrics::new(&mut registry);
    let ready = ReadyFlag::new();
    let listener = tokio::net::TcpListener::bind(metrics_listen)
        .await
        .map_err(|source| Error::Serve {
            listen: metrics_listen,
            source,
        })?;
    let app = Probes::new(Arc::new(registry), ready.clone()).router::<()>();
    let server = tokio::spawn(async move {
        if let Err(source) = axum::serve(listener, app).await {
            tracing::error!(error = %report(&Error::Serve { listen: metrics_listen, source }), "metrics server stopped");
        }
    });
    info!(%metrics_listen, "serving /metrics, /healthz and /readyz");

    let (repositories, jobs): (Api<Repository>, Api<Job>) = match &watch_namespace {
        Some(namespace) => (
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client.clone(), namespace),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let context = Arc::new(Context::new(client, store, job, metrics));
    info!(
        namespace = watch_namespace.as_deref().unwrap_or("<all>"),
        "starting the Repository controller"
    );
    ready.set(true);
    Controller::new(repositories, watcher::Config::default())
        .owns(jobs, watcher::Config::default().labels(MANAGED_BY_SELECTOR))
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, action)) => tracing::debug!(%object, ?action, "reconciled"),
                Err(error) => warn!(error = %report(&error), "controller error"),
            }
        })
        .await;
    ready.set(false);
    server.abort();
    info!("controller stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=8).map(|n| backoff_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(backoff_delay(u32::MAX), BACKOFF_MAX);
        assert_eq!(backoff_delay(0), BACKOFF_BASE);
    }

    #[test]
    fn event_notes_are_cut_on_a_character_boundary() {
        let note = "é".repeat(600);
        let cut = truncate(note, 1023);
        assert_eq!(cut.len(), 1022);
        assert_eq!(truncate("short".into(), 1024), "short");
    }
}
