//! `GET /api/v1/repositories` and `GET /api/v1/repositories/{id}`.

use chrono::{DateTime, Utc};
use reposage_store::RepositoryRecord;
use serde::Serialize;
use uuid::Uuid;

use super::Run;

/// A repository.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    /// Id (the Repository resource's UID in cluster mode).
    pub id: Uuid,
    /// Kubernetes namespace, or `local`.
    pub namespace: String,
    /// Name, unique in the namespace.
    pub name: String,
    /// Fetch URL.
    pub url: String,
    /// The requested ref, when one was given.
    #[serde(rename = "ref")]
    pub git_ref: Option<GitRef>,
    /// The last indexed revision as `<ref>@sha1:<commit>`.
    pub last_indexed_revision: Option<String>,
    /// The commit of the last successful index run.
    pub last_indexed_commit: Option<String>,
    /// When the last successful index run finished.
    pub last_indexed_at: Option<DateTime<Utc>>,
    /// Indexed file counts.
    pub files: FileCounts,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A git ref a repository follows.
#[derive(Debug, Serialize)]
pub struct GitRef {
    /// `branch`, `tag` or `commit`.
    pub kind: String,
    /// The ref's name.
    pub name: String,
}

/// How many files a repository's index holds.
#[derive(Debug, Serialize)]
pub struct FileCounts {
    /// Every tree entry recorded, skipped ones included.
    pub total: i64,
    /// Entries that were analysed (not skipped).
    pub analysed: i64,
}

impl Repository {
    /// Maps a stored repository and its file counts `(total, analysed)`.
    pub fn from_record(record: RepositoryRecord, (total, analysed): (i64, i64)) -> Self {
        let last_indexed_revision = record.last_indexed_revision();
        let RepositoryRecord {
            id,
            namespace,
            name,
            url,
            ref_kind,
            ref_name,
            last_indexed_commit,
            last_indexed_ref: _,
            last_indexed_at,
            last_run_id: _,
            created_at,
            updated_at,
        } = record;
        Self {
            id: id.0,
            namespace,
            name,
            url,
            git_ref: ref_kind.zip(ref_name).map(|(kind, name)| GitRef { kind, name }),
            last_indexed_revision,
            last_indexed_commit,
            last_indexed_at,
            files: FileCounts { total, analysed },
            created_at,
            updated_at,
        }
    }
}

/// `GET /api/v1/repositories/{id}`: the repository and its most recent run.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryDetail {
    /// The repository.
    pub repository: Repository,
    /// Its most recent run (successful or not), with events; `null` before the first run.
    pub last_run: Option<Run>,
}
