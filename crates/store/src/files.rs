//! Files of the indexed tree, and the blob contents behind them.

use std::collections::HashMap;

use serde::Serialize;

use crate::runs::{RunOutcome, finish_run_in};
use crate::{RepositoryId, Result, RunId, RunRecord, Store};

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
    pub skip_reason: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileSummary {
    /// Git object id of the indexed blob.
    pub blob_sha: Option<String>,
    /// Why it was skipped, if it was.
    pub skip_reason: Option<String>,
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
        #[derive(sqlx::FromRow)]
        struct Row {
            path: String,
            #[sqlx(flatten)]
            summary: FileSummary,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT path, blob_sha, skip_reason, language, size_bytes, lines FROM files WHERE repository_id = $1",
        )
        .bind(repository_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|row| (row.path, row.summary)).collect())
    }

    /// Stores blob contents (one statement per call); blobs already stored are left alone.
    pub async fn upsert_blobs(&self, blobs: &[BlobRow]) -> Result<()> {
        if blobs.is_empty() {
            return Ok(());
        }
        let shas: Vec<&str> = blobs.iter().map(|b| b.sha.as_str()).collect();
        let contents: Vec<&str> = blobs.iter().map(|b| b.content.as_str()).collect();
        let sizes: Vec<i64> = blobs.iter().map(|b| b.content.len() as i64).collect();
        sqlx::query(
            "INSERT INTO blobs (sha, content, size_bytes)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])
             ON CONFLICT (sha) DO NOTHING",
        )
        .bind(&shas)
        .bind(&contents)
        .bind(&sizes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Commits an index run atomically: replaces the rows of `changed` paths, deletes `removed`
    /// paths (their symbols and chunks go with them) and marks the run finished. Readers see either
    /// the previous index or this one, never a mix.
    pub async fn commit_index_run(
        &self,
        run_id: RunId,
        repository_id: RepositoryId,
        changed: &[FileRow],
        removed: &[String],
        outcome: &RunOutcome,
    ) -> Result<RunRecord> {
        let mut tx = self.pool.begin().await?;
        let replaced: Vec<&str> = changed
            .iter()
            .map(|f| f.path.as_str())
            .chain(removed.iter().map(String::as_str))
            .collect();
        sqlx::query("DELETE FROM files WHERE repository_id = $1 AND path = ANY($2::text[])")
            .bind(repository_id)
            .bind(&replaced)
            .execute(&mut *tx)
            .await?;
        for batch in changed.chunks(5_000) {
            insert_files(&mut tx, run_id, repository_id, batch).await?;
        }
        let run = finish_run_in(&mut tx, run_id, outcome).await?;
        tx.commit().await?;
        self.delete_unreferenced_blobs().await?;
        Ok(run)
    }

    /// Deletes blobs no file references (after a run replaced files, or a repository was removed).
    pub async fn delete_unreferenced_blobs(&self) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.blob_sha = b.sha)",
        )
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

async fn insert_files(
    tx: &mut sqlx::PgConnection,
    run_id: RunId,
    repository_id: RepositoryId,
    files: &[FileRow],
) -> Result<()> {
    let column = |f: fn(&FileRow) -> Option<&str>| files.iter().map(f).collect::<Vec<_>>();
    let int = |f: fn(&FileRow) -> i32| files.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO files (repository_id, run_id, path, kind, blob_sha, language, size_bytes, lines,
                            code_lines, comment_lines, blank_lines, skip_reason, symlink_target)
         SELECT $1, $2, * FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::int[],
                                      $9::int[], $10::int[], $11::int[], $12::text[], $13::text[])",
    )
    .bind(repository_id)
    .bind(run_id)
    .bind(column(|f| Some(f.path.as_str())))
    .bind(column(|f| Some(f.kind.as_str())))
    .bind(column(|f| f.blob_sha.as_deref()))
    .bind(column(|f| f.language.as_deref()))
    .bind(files.iter().map(|f| f.size_bytes).collect::<Vec<_>>())
    .bind(int(|f| f.lines))
    .bind(int(|f| f.code_lines))
    .bind(int(|f| f.comment_lines))
    .bind(int(|f| f.blank_lines))
    .bind(column(|f| f.skip_reason.as_deref()))
    .bind(column(|f| f.symlink_target.as_deref()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
