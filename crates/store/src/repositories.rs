//! Repositories: the database mirror of Repository resources (and of local-mode repositories).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{BLOB_GRACE, CommitSha, Error, RepositoryId, Result, RunId, Store};

/// Which kind of git ref a repository follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefKind {
    /// A branch name.
    Branch,
    /// A tag name.
    Tag,
    /// A commit sha.
    Commit,
}

impl RefKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RefKind::Branch => "branch",
            RefKind::Tag => "tag",
            RefKind::Commit => "commit",
        }
    }
}

/// What the job-runner knows about a repository when a run starts.
#[derive(Debug, Clone)]
pub struct NewRepository {
    /// The id (a Repository resource's UID in cluster mode).
    pub id: RepositoryId,
    /// Kubernetes namespace, or `local`.
    pub namespace: String,
    /// Resource name, unique in the namespace.
    pub name: String,
    /// Where the repository is fetched from (never with credentials in it).
    pub url: String,
    /// The requested ref, when one was given.
    pub git_ref: Option<(RefKind, String)>,
}

/// A stored repository.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RepositoryRecord {
    /// Id.
    pub id: RepositoryId,
    /// Kubernetes namespace, or `local`.
    pub namespace: String,
    /// Name, unique in the namespace.
    pub name: String,
    /// Fetch URL.
    pub url: String,
    /// `branch`, `tag` or `commit` when a ref was requested.
    pub ref_kind: Option<String>,
    /// The requested ref name.
    pub ref_name: Option<String>,
    /// Commit of the last successful index run.
    pub last_indexed_commit: Option<String>,
    /// Ref the last successful index run resolved (e.g. `main`).
    pub last_indexed_ref: Option<String>,
    /// When the last successful index run finished.
    pub last_indexed_at: Option<DateTime<Utc>>,
    /// The most recent run, successful or not.
    pub last_run_id: Option<RunId>,
    /// First seen.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl RepositoryRecord {
    /// The last indexed revision as `<ref>@sha1:<commit>`, Flux's notation.
    pub fn last_indexed_revision(&self) -> Option<String> {
        let commit = self.last_indexed_commit.as_deref()?;
        Some(format!(
            "{}@sha1:{commit}",
            self.last_indexed_ref.as_deref().unwrap_or("HEAD")
        ))
    }

    /// The last indexed commit, typed.
    pub fn last_indexed_commit(&self) -> Option<CommitSha> {
        self.last_indexed_commit.as_deref().and_then(CommitSha::parse)
    }
}

macro_rules! repository_columns {
    () => {
        "id, namespace, name, url, ref_kind, ref_name, last_indexed_commit, last_indexed_ref, \
                       last_indexed_at, last_run_id, created_at, updated_at"
    };
}

impl Store {
    /// Inserts or updates a repository. A different repository holding the same namespace/name (a
    /// deleted and re-created resource whose clean-up never ran) is replaced, with its index.
    pub async fn upsert_repository(&self, repo: &NewRepository) -> Result<RepositoryRecord> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM repositories WHERE namespace = $1 AND name = $2 AND id <> $3")
            .bind(&repo.namespace)
            .bind(&repo.name)
            .bind(repo.id)
            .execute(&mut *tx)
            .await?;
        let record = sqlx::query_as::<_, RepositoryRecord>(concat!(
            "INSERT INTO repositories (id, namespace, name, url, ref_kind, ref_name)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET
                 namespace = EXCLUDED.namespace, name = EXCLUDED.name, url = EXCLUDED.url,
                 ref_kind = EXCLUDED.ref_kind, ref_name = EXCLUDED.ref_name, updated_at = now()
             RETURNING ",
            repository_columns!()
        ))
        .bind(repo.id)
        .bind(&repo.namespace)
        .bind(&repo.name)
        .bind(&repo.url)
        .bind(repo.git_ref.as_ref().map(|(kind, _)| kind.as_str()))
        .bind(repo.git_ref.as_ref().map(|(_, name)| name.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// All repositories, by namespace and name.
    pub async fn list_repositories(&self) -> Result<Vec<RepositoryRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            repository_columns!(),
            " FROM repositories ORDER BY namespace, name"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    /// One repository by id.
    pub async fn get_repository(&self, id: RepositoryId) -> Result<RepositoryRecord> {
        sqlx::query_as(concat!(
            "SELECT ",
            repository_columns!(),
            " FROM repositories WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "repository",
            id: id.to_string(),
        })
    }

    /// One repository by namespace and name.
    pub async fn find_repository(&self, namespace: &str, name: &str) -> Result<Option<RepositoryRecord>> {
        Ok(sqlx::query_as(concat!(
            "SELECT ",
            repository_columns!(),
            " FROM repositories WHERE namespace = $1 AND name = $2"
        ))
        .bind(namespace)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes a repository and everything indexed for it (runs, files, symbols, chunks, …), then
    /// the blobs no repository has referenced for [`BLOB_GRACE`]. Returns whether the repository existed.
    pub async fn delete_repository(&self, id: RepositoryId) -> Result<bool> {
        let deleted = sqlx::query("DELETE FROM repositories WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0;
        self.delete_unreferenced_blobs(BLOB_GRACE).await?;
        Ok(deleted)
    }
}
