//! Files of the indexed tree, and the blob contents behind them.

use std::collections::HashMap;

use serde::Serialize;

use reposage_contract::vocabulary::SkipReason;

use crate::{Error, RepositoryId, Result, Store};

/// What a tree entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A regular (or executable) file.
    File,
    /// A symbolic link; recorded with its target, never followed.
    Symlink,
    /// A submodule (gitlink); recorded, never fetched.
    Submodule,
}

impl FileKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Symlink => "symlink",
            FileKind::Submodule => "submodule",
        }
    }
}

/// A file row as the index pipeline writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// What the entry is.
    pub kind: FileKind,
    /// Git object id of the blob (or of the submodule's commit).
    pub blob_sha: Option<String>,
    /// Detected language, when known.
    pub language: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Lines (0 for skipped files).
    pub lines: i32,
    /// Lines of code.
    pub code_lines: i32,
    /// Comment lines.
    pub comment_lines: i32,
    /// Blank lines.
    pub blank_lines: i32,
    /// Why the file was not analysed (`binary`, `too-large`, `vendored`, …); `None` when analysed.
    pub skip_reason: Option<SkipReason>,
    /// Target of a symlink, as recorded in the tree.
    pub symlink_target: Option<String>,
}

/// The text of a blob, stored once per blob id.
#[derive(Debug, Clone)]
pub struct BlobRow {
    /// Git object id.
    pub sha: String,
    /// UTF-8 text (invalid sequences replaced).
    pub content: String,
}

/// What the database holds for a path: what a new run needs to decide whether to re-analyse it,
/// and to count it in the run's totals when it does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Git object id of the indexed blob.
    pub blob_sha: Option<String>,
    /// Why it was skipped, if it was.
    pub skip_reason: Option<SkipReason>,
    /// Detected language.
    pub language: Option<String>,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Lines.
    pub lines: i32,
}

impl Store {
    /// Path → what is indexed for it, for every file of a repository.
    pub async fn indexed_files(&self, repository_id: RepositoryId) -> Result<HashMap<String, FileSummary>> {
        type Row = (String, Option<String>, Option<String>, Option<String>, i64, i32);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT path, blob_sha, skip_reason, language, size_bytes, lines FROM files WHERE repository_id = $1",
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(path, blob_sha, skip_reason, language, size_bytes, lines)| {
                let skip_reason = skip_reason
                    .map(|name| {
                        name.parse().map_err(|_| Error::UnknownValue {
                            column: "files.skip_reason",
                            value: name,
                        })
                    })
                    .transpose()?;
                let summary = FileSummary {
                    blob_sha,
                    skip_reason,
                    language,
                    size_bytes,
                    lines,
                };
                Ok((path, summary))
            })
            .collect()
    }

    /// Stores blob contents (one statement per call); blobs already stored are marked as seen.
    pub async fn upsert_blobs(&self, blobs: &[BlobRow]) -> Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        // Files with the same content share a blob: each sha once, or the upsert would touch a row twice.
        let mut seen = std::collections::HashSet::with_capacity(blobs.len());
        let unique: Vec<&BlobRow> = blobs.iter().filter(|b| seen.insert(b.sha.as_str())).collect();
        let shas: Vec<&str> = unique.iter().map(|b| b.sha.as_str()).collect();
        let contents: Vec<&str> = unique.iter().map(|b| b.content.as_str()).collect();
        let sizes: Vec<i64> = unique.iter().map(|b| b.content.len() as i64).collect();
        sqlx::query(
            "INSERT INTO blobs (sha, content, size_bytes)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (sha) DO UPDATE SET last_seen_at = now()",
        )
        .bind(&shas)
        .bind(&contents)
        .bind(&sizes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes blobs that no file references and no run has written for `grace` (a run in flight
    /// writes its blobs before it commits the files that reference them).
    pub async fn delete_unreferenced_blobs(&self, grace: std::time::Duration) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM blobs b
             WHERE b.last_seen_at < now() - make_interval(secs => $1)
               AND NOT EXISTS (SELECT 1 FROM files f WHERE f.blob_sha = b.sha)",
        )
        .bind(grace.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Number of files of a repository, and how many of them were analysed.
    pub async fn count_files(&self, repository_id: RepositoryId) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE skip_reason IS NULL) FROM files WHERE repository_id = $1",
        )
        .bind(repository_id)
        .fetch_one(&self.pool)
        .await?)
    }
}
