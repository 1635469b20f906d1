//! Writing one index run: every row of the run goes through one transaction, so readers see the
//! previous index until the run commits, and a run that dies leaves nothing behind.
//!
//! Batches arrive while the repository is still being analysed: each batch replaces the rows of its
//! paths (symbols, imports and calls go with their file), with ids allocated up front so parent
//! symbols and callers are linked without a round trip per row.

use reposage_contract::vocabulary::{ParseStatus, SkipReason, SymbolKind};
use sqlx::{PgConnection, Postgres, Transaction};

use crate::metadata::{FileMetadata, insert_metadata};
use crate::runs::finish_run_in;
use crate::{CommitSha, FileRow, RepositoryId, Result, RunId, RunOutcome, RunRecord, RunStats, Store};

/// A file row with what code analysis found in it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysedFile {
    /// The file.
    pub row: FileRow,
    /// Symbols, imports, calls and metrics, for files in a language with a grammar.
    pub code: Option<CodeRows>,
    /// README, license, manifest, project-file and Kubernetes facts the file carries.
    pub metadata: Option<FileMetadata>,
    /// The file's retrieval chunks.
    pub chunks: Vec<ChunkRow>,
}

/// One retrieval chunk of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRow {
    /// blake3 of the text: the embedding cache key.
    pub content_hash: String,
    /// Qualified name of the symbol the chunk covers.
    pub symbol_path: Option<String>,
    /// First line.
    pub start_line: i32,
    /// Last line.
    pub end_line: i32,
    /// Path and symbol path, kept apart from the text.
    pub context_header: String,
    /// The source lines.
    pub text: String,
    /// Tokens of the text.
    pub token_count: i32,
    /// Kind of the symbol the chunk covers (`function`, `class`, …).
    pub symbol_kind: Option<SymbolKind>,
    /// The code-aware token stream of the chunk, as a tsvector in Postgres' text form.
    pub search_tokens: String,
}

/// Code analysis of one file, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRows {
    /// How the parse went.
    pub parse_status: ParseStatus,
    /// Why parsing failed, when it did.
    pub parse_error: Option<String>,
    /// Functions and methods.
    pub functions: i32,
    /// Total cyclomatic complexity.
    pub complexity: i32,
    /// Highest complexity of one function.
    pub max_complexity: i32,
    /// Halstead volume.
    pub halstead_volume: f64,
    /// Maintainability index (0–100).
    pub maintainability: f64,
    /// Symbols in source order.
    pub symbols: Vec<SymbolRow>,
    /// Imports.
    pub imports: Vec<ImportRow>,
    /// Calls.
    pub calls: Vec<CallRow>,
}

/// One symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRow {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: SymbolKind,
    /// Container path and name.
    pub qualified_name: String,
    /// Declaration up to the body.
    pub signature: String,
    /// Doc comment.
    pub doc: Option<String>,
    /// Visibility.
    pub visibility: Option<String>,
    /// First line.
    pub start_line: i32,
    /// Last line.
    pub end_line: i32,
    /// Start byte.
    pub start_byte: i32,
    /// End byte.
    pub end_byte: i32,
    /// Index of the enclosing symbol in the same file's list.
    pub parent: Option<usize>,
    /// Cyclomatic complexity (functions).
    pub complexity: Option<i32>,
    /// Deepest nesting (functions).
    pub max_nesting: Option<i32>,
    /// Lines spanned (functions).
    pub lines: Option<i32>,
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// What is imported.
    pub target: String,
    /// Line.
    pub line: i32,
}

/// One call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// Index of the calling symbol in the same file's list.
    pub caller: Option<usize>,
    /// Called name.
    pub callee: String,
    /// Line.
    pub line: i32,
}

/// Metadata totals of a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct OverviewCounts {
    /// README files.
    pub readmes: i64,
    /// License files.
    pub licenses: i64,
    /// Package manifests.
    pub manifests: i64,
    /// Declared dependencies.
    pub dependencies: i64,
    /// CI, container, chart, build and entry-point files.
    pub project_files: i64,
    /// Kubernetes objects.
    pub kubernetes_objects: i64,
}

/// Deletes the rows of paths `$2` of repository `$1`. A join on the unnested paths, not
/// `path = ANY($2)`: once a prepared statement goes generic, Postgres answered `ANY` from the
/// trigram index on paths, seconds per batch on a large repository; the join uses the unique
/// (repository, path) index.
const DELETE_PATHS: &str = "DELETE FROM files f USING UNNEST($2::text[]) AS d(path)
                            WHERE f.repository_id = $1 AND f.path = d.path";

/// The open transaction of one index run.
#[derive(Debug)]
pub struct IndexWriter {
    tx: Transaction<'static, Postgres>,
    run_id: RunId,
    repository_id: RepositoryId,
}

impl Store {
    /// Opens the transaction of an index run.
    pub async fn begin_index(&self, run_id: RunId, repository_id: RepositoryId) -> Result<IndexWriter> {
        Ok(IndexWriter {
            tx: self.pool.begin().await?,
            run_id,
            repository_id,
        })
    }

    /// Replaces the rows of `changed` paths, deletes `removed` paths and marks the run finished, in
    /// one transaction (for callers that have all rows at hand).
    pub async fn commit_index_run(
        &self,
        run_id: RunId,
        repository_id: RepositoryId,
        changed: &[FileRow],
        removed: &[String],
        outcome: &RunOutcome,
    ) -> Result<RunRecord> {
        let mut writer = self.begin_index(run_id, repository_id).await?;
        let files: Vec<AnalysedFile> = changed
            .iter()
            .map(|row| AnalysedFile {
                row: row.clone(),
                code: None,
                metadata: None,
                chunks: Vec::new(),
            })
            .collect();
        writer.write(&files).await?;
        let run = match outcome {
            RunOutcome::Succeeded {
                resolved_ref,
                commit,
                stats,
            } => {
                writer
                    .commit(removed, resolved_ref, commit, stats.clone())
                    .await?
            }
            RunOutcome::Failed { .. } => {
                writer.rollback().await?;
                self.finish_run(run_id, outcome).await?
            }
        };
        Ok(run)
    }
}

impl IndexWriter {
    /// Writes a batch: the rows of these paths replace what the repository had for them.
    pub async fn write(&mut self, files: &[AnalysedFile]) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let paths: Vec<&str> = files.iter().map(|f| f.row.path.as_str()).collect();
        sqlx::query(DELETE_PATHS)
            .bind(self.repository_id)
            .bind(&paths)
            .execute(&mut *self.tx)
            .await?;
        let file_ids = allocate(&mut self.tx, "files_id_seq", files.len()).await?;
        insert_files(&mut self.tx, self.run_id, self.repository_id, files, &file_ids).await?;
        insert_code(&mut self.tx, self.repository_id, files, &file_ids).await?;
        insert_chunks(&mut self.tx, self.repository_id, files, &file_ids).await?;
        let metadata: Vec<(i64, &FileMetadata)> = files
            .iter()
            .zip(&file_ids)
            .filter_map(|(f, id)| f.metadata.as_ref().map(|m| (*id, m)))
            .collect();
        insert_metadata(&mut self.tx, self.repository_id, &metadata).await?;
        Ok(())
    }

    /// Deletes `removed` paths, links calls to the symbols they name, refreshes the lexical
    /// search's term statistics, counts symbols into `stats`,
    /// marks the run succeeded and the repository indexed at `commit`, and commits.
    pub async fn commit(
        mut self,
        removed: &[String],
        resolved_ref: &str,
        commit: &CommitSha,
        mut stats: RunStats,
    ) -> Result<RunRecord> {
        sqlx::query(DELETE_PATHS)
            .bind(self.repository_id)
            .bind(removed)
            .execute(&mut *self.tx)
            .await?;
        resolve_calls(&mut self.tx, self.repository_id).await?;
        // The lexical search's term statistics, as of this run's chunks.
        sqlx::query("SELECT refresh_search_terms($1)")
            .bind(self.repository_id)
            .execute(&mut *self.tx)
            .await?;
        let (symbols, chunks): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM symbols WHERE repository_id = $1),
                    (SELECT COUNT(*) FROM chunks WHERE repository_id = $1)",
        )
        .bind(self.repository_id)
        .fetch_one(&mut *self.tx)
        .await?;
        stats.symbols = symbols as u64;
        stats.chunks = chunks as u64;
        let outcome = RunOutcome::Succeeded {
            resolved_ref: resolved_ref.to_string(),
            commit: commit.clone(),
            stats,
        };
        let run = finish_run_in(&mut self.tx, self.run_id, &outcome).await?;
        self.tx.commit().await?;
        Ok(run)
    }

    /// How much metadata the repository has with this run's rows (as the run will commit it).
    pub async fn overview_counts(&mut self) -> Result<OverviewCounts> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM readmes WHERE repository_id = $1) AS readmes,
                    (SELECT COUNT(*) FROM licenses WHERE repository_id = $1) AS licenses,
                    (SELECT COUNT(*) FROM manifests WHERE repository_id = $1) AS manifests,
                    (SELECT COUNT(*) FROM dependencies WHERE repository_id = $1) AS dependencies,
                    (SELECT COUNT(*) FROM project_files WHERE repository_id = $1) AS project_files,
                    (SELECT COUNT(*) FROM kubernetes_objects WHERE repository_id = $1) AS kubernetes_objects",
        )
        .bind(self.repository_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// The run's connection, inside its transaction.
    pub(crate) fn connection(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The repository being indexed.
    pub(crate) fn repository_id(&self) -> RepositoryId {
        self.repository_id
    }

    /// Abandons everything written.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// `count` fresh ids from a sequence, so rows can reference each other before they are inserted.
async fn allocate(tx: &mut PgConnection, sequence: &'static str, count: usize) -> Result<Vec<i64>> {
    Ok(
        sqlx::query_scalar("SELECT nextval($1::regclass) FROM generate_series(1, $2)")
            .bind(sequence)
            .bind(count as i64)
            .fetch_all(&mut *tx)
            .await?,
    )
}

async fn insert_files(
    tx: &mut PgConnection,
    run_id: RunId,
    repository_id: RepositoryId,
    files: &[AnalysedFile],
    ids: &[i64],
) -> Result<()> {
    let text = |f: fn(&AnalysedFile) -> Option<&str>| files.iter().map(f).collect::<Vec<_>>();
    let int = |f: fn(&FileRow) -> i32| files.iter().map(|a| f(&a.row)).collect::<Vec<_>>();
    let code_int = |f: fn(&CodeRows) -> i32| files.iter().map(|a| a.code.as_ref().map(f)).collect::<Vec<_>>();
    let code_float =
        |f: fn(&CodeRows) -> f64| files.iter().map(|a| a.code.as_ref().map(f)).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO files (repository_id, run_id, id, path, kind, blob_sha, language, size_bytes, lines,
                            code_lines, comment_lines, blank_lines, skip_reason, symlink_target, parse_status,
                            parse_error, functions, complexity, max_complexity, halstead_volume, maintainability)
         SELECT $1, $2, * FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
                                      $9::int[], $10::int[], $11::int[], $12::int[], $13::text[], $14::text[],
                                      $15::text[], $16::text[], $17::int[], $18::int[], $19::int[],
                                      $20::float8[], $21::float8[])",
    )
    .bind(repository_id)
    .bind(run_id)
    .bind(ids)
    .bind(text(|f| Some(f.row.path.as_str())))
    .bind(text(|f| Some(f.row.kind.as_str())))
    .bind(text(|f| f.row.blob_sha.as_deref()))
    .bind(text(|f| f.row.language.as_deref()))
    .bind(files.iter().map(|f| f.row.size_bytes).collect::<Vec<_>>())
    .bind(int(|f| f.lines))
    .bind(int(|f| f.code_lines))
    .bind(int(|f| f.comment_lines))
    .bind(int(|f| f.blank_lines))
    .bind(text(|f| f.row.skip_reason.map(SkipReason::as_str)))
    .bind(text(|f| f.row.symlink_target.as_deref()))
    .bind(text(|f| f.code.as_ref().map(|c| c.parse_status.as_str())))
    .bind(text(|f| f.code.as_ref().and_then(|c| c.parse_error.as_deref())))
    .bind(code_int(|c| c.functions))
    .bind(code_int(|c| c.complexity))
    .bind(code_int(|c| c.max_complexity))
    .bind(code_float(|c| c.halstead_volume))
    .bind(code_float(|c| c.maintainability))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts symbols, imports and calls of `files` (whose rows have ids `file_ids`).
async fn insert_code(
    tx: &mut PgConnection,
    repository_id: RepositoryId,
    files: &[AnalysedFile],
    file_ids: &[i64],
) -> Result<()> {
    let symbol_count: usize = files
        .iter()
        .filter_map(|f| f.code.as_ref())
        .map(|c| c.symbols.len())
        .sum();
    let symbol_ids = allocate(tx, "symbols_id_seq", symbol_count).await?;
    let mut symbols = SymbolColumns::default();
    let mut imports: (Vec<i64>, Vec<&str>, Vec<i32>) = Default::default();
    let mut calls = CallColumns::default();
    let mut next = 0;
    for (file, file_id) in files.iter().zip(file_ids) {
        let Some(code) = &file.code else { continue };
        let base = next;
        for symbol in &code.symbols {
            symbols.push(
                symbol_ids[next],
                *file_id,
                symbol,
                symbol.parent.map(|p| symbol_ids[base + p]),
            );
            next += 1;
        }
        for import in &code.imports {
            imports.0.push(*file_id);
            imports.1.push(&import.target);
            imports.2.push(import.line);
        }
        for call in &code.calls {
            calls.file_id.push(*file_id);
            calls.caller_id.push(call.caller.map(|c| symbol_ids[base + c]));
            calls.callee.push(&call.callee);
            calls.line.push(call.line);
        }
    }
    if symbol_count > 0 {
        symbols.insert(tx, repository_id).await?;
    }
    if !imports.0.is_empty() {
        sqlx::query(
            "INSERT INTO imports (repository_id, file_id, target, line)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::int[])",
        )
        .bind(repository_id)
        .bind(&imports.0)
        .bind(&imports.1)
        .bind(&imports.2)
        .execute(&mut *tx)
        .await?;
    }
    if !calls.file_id.is_empty() {
        sqlx::query(
            "INSERT INTO calls (repository_id, file_id, caller_symbol_id, callee_name, line)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::int[])",
        )
        .bind(repository_id)
        .bind(&calls.file_id)
        .bind(&calls.caller_id)
        .bind(&calls.callee)
        .bind(&calls.line)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Inserts the chunks of `files` (whose rows have ids `file_ids`).
async fn insert_chunks(
    tx: &mut PgConnection,
    repository_id: RepositoryId,
    files: &[AnalysedFile],
    file_ids: &[i64],
) -> Result<()> {
    let chunks: Vec<(i64, Option<&str>, &ChunkRow)> = files
        .iter()
        .zip(file_ids)
        .flat_map(|(f, id)| f.chunks.iter().map(move |c| (*id, f.row.language.as_deref(), c)))
        .collect();
    if chunks.is_empty() {
        return Ok(());
    }
    let text = |f: fn(&ChunkRow) -> Option<&str>| chunks.iter().map(|c| f(c.2)).collect::<Vec<_>>();
    let int = |f: fn(&ChunkRow) -> i32| chunks.iter().map(|c| f(c.2)).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO chunks (repository_id, file_id, language, content_hash, symbol_path, start_line, end_line,
                             context_header, text, token_count, symbol_kind, search_tokens)
         SELECT $1, u.f, u.l, u.h, u.s, u.a, u.b, u.x, u.t, u.n, u.k, u.v::tsvector
         FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[],
                     $8::text[], $9::text[], $10::int[], $11::text[], $12::text[])
              AS u(f, l, h, s, a, b, x, t, n, k, v)",
    )
    .bind(repository_id)
    .bind(chunks.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind(chunks.iter().map(|c| c.1).collect::<Vec<_>>())
    .bind(text(|c| Some(c.content_hash.as_str())))
    .bind(text(|c| c.symbol_path.as_deref()))
    .bind(int(|c| c.start_line))
    .bind(int(|c| c.end_line))
    .bind(text(|c| Some(c.context_header.as_str())))
    .bind(text(|c| Some(c.text.as_str())))
    .bind(int(|c| c.token_count))
    .bind(text(|c| c.symbol_kind.map(SymbolKind::as_str)))
    .bind(text(|c| Some(c.search_tokens.as_str())))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Call rows as column arrays for one `UNNEST` insert.
#[derive(Default)]
struct CallColumns<'a> {
    file_id: Vec<i64>,
    caller_id: Vec<Option<i64>>,
    callee: Vec<&'a str>,
    line: Vec<i32>,
}

/// Symbol rows as column arrays for one `UNNEST` insert.
#[derive(Default)]
struct SymbolColumns<'a> {
    id: Vec<i64>,
    file_id: Vec<i64>,
    parent_id: Vec<Option<i64>>,
    name: Vec<&'a str>,
    kind: Vec<&'a str>,
    qualified_name: Vec<&'a str>,
    signature: Vec<&'a str>,
    doc: Vec<Option<&'a str>>,
    visibility: Vec<Option<&'a str>>,
    start_line: Vec<i32>,
    end_line: Vec<i32>,
    start_byte: Vec<i32>,
    end_byte: Vec<i32>,
    complexity: Vec<Option<i32>>,
    max_nesting: Vec<Option<i32>>,
    lines: Vec<Option<i32>>,
}

impl<'a> SymbolColumns<'a> {
    fn push(&mut self, id: i64, file_id: i64, s: &'a SymbolRow, parent_id: Option<i64>) {
        self.id.push(id);
        self.file_id.push(file_id);
        self.parent_id.push(parent_id);
        self.name.push(&s.name);
        self.kind.push(s.kind.as_str());
        self.qualified_name.push(&s.qualified_name);
        self.signature.push(&s.signature);
        self.doc.push(s.doc.as_deref());
        self.visibility.push(s.visibility.as_deref());
        self.start_line.push(s.start_line);
        self.end_line.push(s.end_line);
        self.start_byte.push(s.start_byte);
        self.end_byte.push(s.end_byte);
        self.complexity.push(s.complexity);
        self.max_nesting.push(s.max_nesting);
        self.lines.push(s.lines);
    }

    async fn insert(self, tx: &mut PgConnection, repository_id: RepositoryId) -> Result<()> {
        sqlx::query(
            "INSERT INTO symbols (repository_id, id, file_id, parent_id, name, kind, qualified_name, signature, doc,
                                  visibility, start_line, end_line, start_byte, end_byte, complexity, max_nesting,
                                  lines)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                                      $8::text[], $9::text[], $10::text[], $11::int[], $12::int[], $13::int[],
                                      $14::int[], $15::int[], $16::int[], $17::int[])",
        )
        .bind(repository_id)
        .bind(self.id)
        .bind(self.file_id)
        .bind(self.parent_id)
        .bind(self.name)
        .bind(self.kind)
        .bind(self.qualified_name)
        .bind(self.signature)
        .bind(self.doc)
        .bind(self.visibility)
        .bind(self.start_line)
        .bind(self.end_line)
        .bind(self.start_byte)
        .bind(self.end_byte)
        .bind(self.complexity)
        .bind(self.max_nesting)
        .bind(self.lines)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

/// Links every call of the repository to the one function or method with the called name, or to
/// nothing when no symbol or several have it.
async fn resolve_calls(tx: &mut PgConnection, repository_id: RepositoryId) -> Result<()> {
    sqlx::query(
        "WITH unique_names AS (
             SELECT name, MIN(id) AS id FROM symbols
             WHERE repository_id = $1 AND kind IN ('function', 'method')
             GROUP BY name HAVING COUNT(*) = 1
         )
         UPDATE calls c SET callee_symbol_id = u.id
         FROM calls c2 LEFT JOIN unique_names u ON u.name = c2.callee_name
         WHERE c.id = c2.id AND c.repository_id = $1 AND c.callee_symbol_id IS DISTINCT FROM u.id",
    )
    .bind(repository_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
