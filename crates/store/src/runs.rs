//! Runs of the job-runner and their stage events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CommitSha, Error, RepositoryId, Result, RunId, Store};

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// Fetch, analyse and index a repository.
    Index,
    /// Answer a question about an indexed repository.
    Query,
}

impl RunKind {
    fn as_str(self) -> &'static str {
        match self {
            RunKind::Index => "index",
            RunKind::Query => "query",
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Started and not finished.
    Running,
    /// Finished and its results are visible.
    Succeeded,
    /// Finished with an error; nothing of it is visible as indexed.
    Failed,
}

impl RunStatus {
    fn parse(s: &str) -> Self {
        match s {
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            _ => RunStatus::Running,
        }
    }
}

/// Where a stage is, in a [`RunEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// The stage began.
    Started,
    /// The stage finished.
    Completed,
    /// The stage failed; the run fails with it.
    Failed,
}

impl StageStatus {
    fn as_str(self) -> &'static str {
        match self {
            StageStatus::Started => "started",
            StageStatus::Completed => "completed",
            StageStatus::Failed => "failed",
        }
    }
}

/// Totals of an index run, stored as JSON on the run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunStats {
    /// Tree entries seen (files, symlinks, submodules), skipped ones included.
    pub files: u64,
    /// Files analysed (not skipped).
    pub analysed_files: u64,
    /// Files re-analysed because their blob changed (the rest were reused from the previous run).
    pub changed_files: u64,
    /// Files removed since the previous run.
    pub removed_files: u64,
    /// Lines across analysed files.
    pub lines: u64,
    /// Bytes across analysed files.
    pub bytes: u64,
    /// Symbols extracted.
    pub symbols: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// Chunks this run embedded (the others' vectors were cached by content hash).
    pub chunks_embedded: u64,
    /// Secrets redacted in the files this run analysed (counts only, never values).
    pub secrets_redacted: u64,
    /// Analysed files per language.
    pub languages: BTreeMap<String, u64>,
    /// Skipped files per reason.
    pub skipped: BTreeMap<String, u64>,
}

/// A stored run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// Id.
    pub id: RunId,
    /// The repository it ran for.
    pub repository_id: RepositoryId,
    /// Index or query.
    pub kind: RunKind,
    /// Where it is.
    pub status: RunStatus,
    /// The ref that was asked for (`main`, `v1.0`, a sha), if any.
    pub requested_ref: Option<String>,
    /// The ref it resolved to (the default branch's name when none was asked for).
    pub resolved_ref: Option<String>,
    /// The commit it indexed.
    pub commit_sha: Option<String>,
    /// Totals (index runs).
    pub stats: RunStats,
    /// Why it failed.
    pub error: Option<String>,
    /// How many times the run was started (a Job retries a failed pod with the same run id).
    pub attempts: i32,
    /// When the latest attempt started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
}

impl RunRecord {
    /// The indexed revision as `<ref>@sha1:<commit>`.
    pub fn revision(&self) -> Option<String> {
        let commit = self.commit_sha.as_deref()?;
        Some(format!(
            "{}@sha1:{commit}",
            self.resolved_ref.as_deref().unwrap_or("HEAD")
        ))
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: RunId,
    repository_id: RepositoryId,
    kind: String,
    status: String,
    requested_ref: Option<String>,
    resolved_ref: Option<String>,
    commit_sha: Option<String>,
    stats: serde_json::Value,
    error: Option<String>,
    attempts: i32,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<RunRow> for RunRecord {
    type Error = Error;
    fn try_from(row: RunRow) -> Result<Self> {
        Ok(RunRecord {
            id: row.id,
            repository_id: row.repository_id,
            kind: if row.kind == "query" {
                RunKind::Query
            } else {
                RunKind::Index
            },
            status: RunStatus::parse(&row.status),
            requested_ref: row.requested_ref,
            resolved_ref: row.resolved_ref,
            commit_sha: row.commit_sha,
            stats: serde_json::from_value(row.stats).map_err(|source| Error::Corrupt {
                what: "run stats",
                source,
            })?,
            error: row.error,
            attempts: row.attempts,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

/// A stage event of a run, like the seeds' `processing.stage.completed`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RunEvent {
    /// Order within the run, from 1.
    pub seq: i32,
    /// `processing.stage.started`, `processing.stage.completed` or `processing.stage.failed`.
    pub event_type: String,
    /// The pipeline stage, e.g. `fetch`, `structure`.
    pub stage: String,
    /// `started`, `completed` or `failed`.
    pub status: String,
    /// Stage counts (files processed, bytes fetched, …).
    pub data: serde_json::Value,
    /// How long the stage took, for completed and failed events.
    pub duration_ms: Option<i64>,
    /// A human-readable note (the error for a failed stage).
    pub message: Option<String>,
    /// When it happened.
    pub created_at: DateTime<Utc>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The run's results are complete and become the repository's indexed state.
    Succeeded {
        /// The ref the run resolved.
        resolved_ref: String,
        /// The commit it indexed.
        commit: CommitSha,
        /// Its totals.
        stats: RunStats,
    },
    /// The run failed; the repository keeps its previous indexed state.
    Failed {
        /// Why, in words fit for a user (no credentials).
        error: String,
    },
}

macro_rules! run_columns {
    () => {
        "id, repository_id, kind, status, requested_ref, resolved_ref, commit_sha, stats, error, \
                           attempts, started_at, finished_at"
    };
}

impl Store {
    /// Records that run `id` started. Starting the same id again (a retried pod) counts an attempt and
    /// resets it to running; its earlier events stay as history.
    pub async fn start_run(
        &self,
        id: RunId,
        repository_id: RepositoryId,
        kind: RunKind,
        requested_ref: Option<&str>,
    ) -> Result<RunRecord> {
        let row: RunRow = sqlx::query_as(concat!(
            "INSERT INTO runs (id, repository_id, kind, status, requested_ref)
             VALUES ($1, $2, $3, 'running', $4)
             ON CONFLICT (id) DO UPDATE SET
                 status = 'running', error = NULL, finished_at = NULL, started_at = now(),
                 attempts = runs.attempts + 1
             RETURNING ",
            run_columns!()
        ))
        .bind(id)
        .bind(repository_id)
        .bind(kind.as_str())
        .bind(requested_ref)
        .fetch_one(&self.pool)
        .await?;
        sqlx::query("UPDATE repositories SET last_run_id = $1, updated_at = now() WHERE id = $2")
            .bind(id)
            .bind(repository_id)
            .execute(&self.pool)
            .await?;
        row.try_into()
    }

    /// Appends a stage event to run `id`.
    pub async fn record_event(
        &self,
        id: RunId,
        stage: &str,
        status: StageStatus,
        data: serde_json::Value,
        duration_ms: Option<i64>,
        message: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO run_events (run_id, seq, event_type, stage, status, data, duration_ms, message)
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = $1),
                     'processing.stage.' || $3, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(stage)
        .bind(status.as_str())
        .bind(data)
        .bind(duration_ms)
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks run `id` finished. A successful index run also becomes its repository's indexed state,
    /// in the same transaction, so readers never see a half-finished run as indexed.
    pub async fn finish_run(&self, id: RunId, outcome: &RunOutcome) -> Result<RunRecord> {
        let mut tx = self.pool.begin().await?;
        let run = finish_run_in(&mut tx, id, outcome).await?;
        tx.commit().await?;
        Ok(run)
    }

    /// One run by id.
    pub async fn get_run(&self, id: RunId) -> Result<RunRecord> {
        sqlx::query_as::<_, RunRow>(concat!("SELECT ", run_columns!(), " FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "run",
                id: id.to_string(),
            })?
            .try_into()
    }

    /// Run `id` if it exists.
    pub async fn find_run(&self, id: RunId) -> Result<Option<RunRecord>> {
        match self.get_run(id).await {
            Ok(run) => Ok(Some(run)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The most recent runs of a repository, newest first.
    pub async fn list_runs(&self, repository_id: RepositoryId, limit: i64) -> Result<Vec<RunRecord>> {
        sqlx::query_as::<_, RunRow>(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs WHERE repository_id = $1 ORDER BY started_at DESC LIMIT $2"
        ))
        .bind(repository_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(RunRecord::try_from)
        .collect()
    }

    /// The events of run `id`, in order.
    pub async fn run_events(&self, id: RunId) -> Result<Vec<RunEvent>> {
        Ok(sqlx::query_as(
            "SELECT seq, event_type, stage, status, data, duration_ms, message, created_at
             FROM run_events WHERE run_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Finishes a run inside a caller's transaction (the index pipeline commits its file changes and the
/// run's success atomically).
pub(crate) async fn finish_run_in(
    tx: &mut sqlx::PgConnection,
    id: RunId,
    outcome: &RunOutcome,
) -> Result<RunRecord> {
    let (status, resolved_ref, commit, stats, error) = match outcome {
        RunOutcome::Succeeded {
            resolved_ref,
            commit,
            stats,
        } => (
            "succeeded",
            Some(resolved_ref.as_str()),
            Some(commit.as_str()),
            serde_json::to_value(stats).expect("run stats serialize"),
            None,
        ),
        RunOutcome::Failed { error } => ("failed", None, None, serde_json::json!({}), Some(error.as_str())),
    };
    let row: RunRow = sqlx::query_as(concat!("UPDATE runs SET status = $2, resolved_ref = COALESCE($3, resolved_ref), commit_sha = COALESCE($4, commit_sha),
                stats = CASE WHEN $2 = 'succeeded' THEN $5 ELSE stats END, error = $6, finished_at = now()
         WHERE id = $1
         RETURNING ", run_columns!()))
    .bind(id)
    .bind(status)
    .bind(resolved_ref)
    .bind(commit)
    .bind(stats)
    .bind(error)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::NotFound {
        what: "run",
        id: id.to_string(),
    })?;
    if let RunOutcome::Succeeded {
        resolved_ref, commit, ..
    } = outcome
    {
        sqlx::query(
            "UPDATE repositories SET last_indexed_commit = $2, last_indexed_ref = $3, last_indexed_at = now(),
                    updated_at = now()
             WHERE id = $1",
        )
        .bind(row.repository_id)
        .bind(commit.as_str())
        .bind(resolved_ref)
        .execute(&mut *tx)
        .await?;
    }
    row.try_into()
}
