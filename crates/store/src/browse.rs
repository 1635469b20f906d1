//! Read-only views of a repository's index at its indexed commit: the files the assistant's tools
//! read, list and look up, and what citation checks compare against.
//!
//! Every query is scoped to the repositories given and reads only what the last index run
//! committed, so a tool can never reach outside the index (no file system, no other repository).

use crate::retrieval::escape_like;
use crate::{RepositoryId, Result, Store};

/// An indexed file, as its repository's current index records it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IndexedFile {
    /// Its repository.
    pub repository_id: RepositoryId,
    /// Path in the repository.
    pub path: String,
    /// The blob the index holds for it (`None` for a file whose content was not stored).
    pub blob_sha: Option<String>,
    /// Lines of the file.
    pub lines: i32,
    /// The commit the repository is indexed at.
    pub commit_sha: Option<String>,
    /// Detected language.
    pub language: Option<String>,
}

/// Consecutive lines of an indexed file.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FileLines {
    /// The file.
    #[sqlx(flatten)]
    pub file: IndexedFile,
    /// First line returned (1-based).
    pub start_line: i32,
    /// Last line returned (inclusive; at most the file's last line).
    pub end_line: i32,
    /// The lines, joined by `\n`.
    pub text: String,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DirectoryEntry {
    /// The entry's name (one path segment).
    pub name: String,
    /// True for a directory.
    pub is_directory: bool,
    /// Files at or under it.
    pub files: i64,
    /// Lines of those files.
    pub lines: i64,
}

/// A symbol found by name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SymbolMatch {
    /// Its repository.
    pub repository_id: RepositoryId,
    /// File it is declared in.
    pub path: String,
    /// The commit the repository is indexed at.
    pub commit_sha: Option<String>,
    /// Its name.
    pub name: String,
    /// Its qualified name (`module::Type::method`).
    pub qualified_name: String,
    /// `function`, `method`, `struct`, ….
    pub kind: String,
    /// Its signature line(s).
    pub signature: Option<String>,
    /// Its doc comment.
    pub doc: Option<String>,
    /// First line.
    pub start_line: i32,
    /// Last line.
    pub end_line: i32,
}

/// A call site of a name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallSite {
    /// Its repository.
    pub repository_id: RepositoryId,
    /// File of the call.
    pub path: String,
    /// The commit the repository is indexed at.
    pub commit_sha: Option<String>,
    /// Line of the call.
    pub line: i32,
    /// Qualified name of the calling symbol, when the call is inside one.
    pub caller: Option<String>,
    /// The calling symbol's lines, when known.
    pub caller_start_line: Option<i32>,
    /// The calling symbol's last line.
    pub caller_end_line: Option<i32>,
    /// True when the callee name resolves to exactly one symbol of the repository.
    pub resolved: bool,
}

/// The symbol a chunk belongs to, with what a reader needs before its code.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChunkSymbol {
    /// The chunk.
    pub chunk_id: i64,
    /// The symbol's kind.
    pub kind: String,
    /// Its signature.
    pub signature: Option<String>,
    /// Its doc comment.
    pub doc: Option<String>,
    /// Its first line.
    pub start_line: i32,
    /// Its last line.
    pub end_line: i32,
}

impl Store {
    /// The files at these `(repository, path)` pairs, as currently indexed; pairs that are not
    /// indexed (or were skipped without content) are absent from the answer.
    pub async fn find_files(&self, keys: &[(RepositoryId, String)]) -> Result<Vec<IndexedFile>> {
        let (repositories, paths): (Vec<RepositoryId>, Vec<&str>) =
            keys.iter().map(|(r, p)| (*r, p.as_str())).unzip();
        Ok(sqlx::query_as(
            "SELECT f.repository_id, f.path, f.blob_sha, f.lines, r.last_indexed_commit AS commit_sha,
                    f.language
             FROM UNNEST($1::uuid[], $2::text[]) AS k (repository_id, path)
             JOIN files f ON f.repository_id = k.repository_id AND f.path = k.path
             JOIN repositories r ON r.id = f.repository_id
             WHERE f.kind = 'file' AND f.skip_reason IS NULL",
        )
        .bind(&repositories)
        .bind(&paths)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Lines `start_line..=end_line` of the file at `path` (cut at its last line), or `None` when
    /// the file is not indexed or `start_line` is past its end. Only the asked lines leave the
    /// database.
    pub async fn file_lines(
        &self,
        repository_id: RepositoryId,
        path: &str,
        start_line: i32,
        end_line: i32,
    ) -> Result<Option<FileLines>> {
        let start = start_line.max(1);
        Ok(sqlx::query_as(
            "SELECT f.repository_id, f.path, f.blob_sha, f.lines, r.last_indexed_commit AS commit_sha,
                    f.language, $3::int AS start_line, LEAST($4::int, f.lines) AS end_line,
                    array_to_string((string_to_array(b.content, E'\\n'))[$3:LEAST($4, f.lines)], E'\\n')
                        AS text
             FROM files f
             JOIN repositories r ON r.id = f.repository_id
             JOIN blobs b ON b.sha = f.blob_sha
             WHERE f.repository_id = $1 AND f.path = $2 AND f.kind = 'file' AND f.skip_reason IS NULL
               AND $3 <= f.lines AND $3 <= $4",
        )
        .bind(repository_id)
        .bind(path)
        .bind(start)
        .bind(end_line)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The entries directly under `directory` (`""` for the root; with or without a trailing `/`),
    /// directories first, then by name; at most `limit`.
    pub async fn list_directory(
        &self,
        repository_id: RepositoryId,
        directory: &str,
        limit: i64,
    ) -> Result<Vec<DirectoryEntry>> {
        let directory = directory.trim_matches('/');
        let prefix = if directory.is_empty() {
            String::new()
        } else {
            format!("{directory}/")
        };
        Ok(sqlx::query_as(
            "SELECT split_part(rest, '/', 1) AS name, position('/' IN rest) > 0 AS is_directory,
                    COUNT(*) AS files, COALESCE(SUM(lines), 0)::bigint AS lines
             FROM (SELECT substr(path, length($2) + 1) AS rest, lines
                   FROM files WHERE repository_id = $1 AND path LIKE $3 ESCAPE '\\') AS under
             GROUP BY 1, 2
             ORDER BY 2 DESC, 1
             LIMIT $4",
        )
        .bind(repository_id)
        .bind(&prefix)
        .bind(format!("{}%", escape_like(&prefix)))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Symbols of these repositories named `name`, or whose qualified name is `name` or ends with
    /// `::name` / `.name`; exact names first, at most `limit`.
    pub async fn find_symbols(
        &self,
        repositories: &[RepositoryId],
        name: &str,
        limit: i64,
    ) -> Result<Vec<SymbolMatch>> {
        let escaped = escape_like(name);
        Ok(sqlx::query_as(
            "SELECT s.repository_id, f.path, r.last_indexed_commit AS commit_sha, s.name,
                    s.qualified_name, s.kind, s.signature, s.doc, s.start_line, s.end_line
             FROM symbols s
             JOIN files f ON f.id = s.file_id
             JOIN repositories r ON r.id = s.repository_id
             WHERE s.repository_id = ANY($1)
               AND (s.name = $2 OR s.qualified_name = $2
                    OR s.qualified_name LIKE $3 ESCAPE '\\' OR s.qualified_name LIKE $4 ESCAPE '\\')
             ORDER BY (s.qualified_name = $2) DESC, (s.name = $2) DESC, f.path, s.start_line
             LIMIT $5",
        )
        .bind(repositories)
        .bind(name)
        .bind(format!("%::{escaped}"))
        .bind(format!("%.{escaped}"))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Calls of `name` (the last segment of a qualified name) in these repositories, with the
    /// symbol each call is made from; at most `limit`.
    pub async fn callers(
        &self,
        repositories: &[RepositoryId],
        name: &str,
        limit: i64,
    ) -> Result<Vec<CallSite>> {
        let name = name.rsplit([':', '.']).next().unwrap_or(name);
        Ok(sqlx::query_as(
            "SELECT c.repository_id, f.path, r.last_indexed_commit AS commit_sha, c.line,
                    s.qualified_name AS caller, s.start_line AS caller_start_line,
                    s.end_line AS caller_end_line, c.callee_symbol_id IS NOT NULL AS resolved
             FROM calls c
             JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = c.repository_id
             LEFT JOIN symbols s ON s.id = c.caller_symbol_id
             WHERE c.repository_id = ANY($1) AND c.callee_name = $2
             ORDER BY f.path, c.line
             LIMIT $3",
        )
        .bind(repositories)
        .bind(name)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// For each of these chunks that covers a symbol, the symbol's kind, signature and doc comment
    /// (the innermost symbol of the chunk's file with the chunk's symbol path).
    pub async fn chunk_symbols(&self, chunk_ids: &[i64]) -> Result<Vec<ChunkSymbol>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT ON (c.id) c.id AS chunk_id, s.kind, s.signature, s.doc, s.start_line,
                    s.end_line
             FROM chunks c
             JOIN symbols s ON s.file_id = c.file_id AND s.qualified_name = c.symbol_path
             WHERE c.id = ANY($1)
             ORDER BY c.id, (s.start_line <= c.start_line AND s.end_line >= c.end_line) DESC,
                      s.end_line - s.start_line",
        )
        .bind(chunk_ids)
        .fetch_all(&self.pool)
        .await?)
    }
}
