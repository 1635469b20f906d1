//! `GET /api/v1/runs/{id}`, and the last run in a repository's detail.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reposage_store::{RunEvent, RunKind, RunRecord, RunStats, RunStatus};
use serde::Serialize;
use uuid::Uuid;

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Fetch, analyse and index a repository.
    Index,
    /// Answer a question about a repository.
    Query,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Started, not finished.
    Running,
    /// Finished; its results are visible.
    Succeeded,
    /// Finished with an error.
    Failed,
}

/// A run of the job-runner with its stage events.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Id.
    pub id: Uuid,
    /// The repository it ran for.
    pub repository_id: Uuid,
    /// `index` or `query`.
    pub kind: Kind,
    /// `running`, `succeeded` or `failed`.
    pub status: Status,
    /// The ref asked for, if any.
    pub requested_ref: Option<String>,
    /// The ref it resolved to.
    pub resolved_ref: Option<String>,
    /// The commit it indexed.
    pub commit_sha: Option<String>,
    /// `<ref>@sha1:<commit>` once the commit is known.
    pub revision: Option<String>,
    /// Totals (index runs; zero while running).
    pub stats: Stats,
    /// Why it failed.
    pub error: Option<String>,
    /// How many times it was started.
    pub attempts: i32,
    /// When the latest attempt started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Stage events, in order.
    pub events: Vec<Event>,
}

impl Run {
    /// Maps a stored run and its events.
    pub fn from_record(record: RunRecord, events: Vec<RunEvent>) -> Self {
        let revision = record.revision();
        let RunRecord {
            id,
            repository_id,
            kind,
            status,
            requested_ref,
            resolved_ref,
            commit_sha,
            stats,
            error,
            attempts,
            started_at,
            finished_at,
        } = record;
        Self {
            id: id.0,
            repository_id: repository_id.0,
            kind: match kind {
                RunKind::Index => Kind::Index,
                RunKind::Query => Kind::Query,
            },
            status: match status {
                RunStatus::Running => Status::Running,
                RunStatus::Succeeded => Status::Succeeded,
                RunStatus::Failed => Status::Failed,
            },
            requested_ref,
            resolved_ref,
            commit_sha,
            revision,
            stats: stats.into(),
            error,
            attempts,
            started_at,
            finished_at,
            events: events.into_iter().map(Event::from).collect(),
        }
    }
}

/// Totals of an index run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Tree entries seen, skipped ones included.
    pub files: u64,
    /// Files analysed.
    pub analysed_files: u64,
    /// Files re-analysed because they changed.
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

impl From<RunStats> for Stats {
    fn from(stats: RunStats) -> Self {
        let RunStats {
            files,
            analysed_files,
            changed_files,
            removed_files,
            lines,
            bytes,
            symbols,
            chunks,
            chunks_embedded,
            secrets_redacted,
            languages,
            skipped,
        } = stats;
        Self {
            files,
            analysed_files,
            changed_files,
            removed_files,
            lines,
            bytes,
            symbols,
            chunks,
            chunks_embedded,
            secrets_redacted,
            languages,
            skipped,
        }
    }
}

/// A stage event of a run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Order within the run, from 1.
    pub seq: i32,
    /// `processing.stage.started`, `.completed` or `.failed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Pipeline stage, e.g. `fetch`.
    pub stage: String,
    /// `started`, `completed` or `failed`.
    pub status: String,
    /// Stage counts.
    pub data: serde_json::Value,
    /// How long the stage took.
    pub duration_ms: Option<i64>,
    /// A human-readable note.
    pub message: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl From<RunEvent> for Event {
    fn from(event: RunEvent) -> Self {
        let RunEvent {
            seq,
            event_type,
            stage,
            status,
            data,
            duration_ms,
            message,
            created_at,
        } = event;
        Self {
            seq,
            event_type,
            stage,
            status,
            data,
            duration_ms,
            message,
            at: created_at,
        }
    }
}
