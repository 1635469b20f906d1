//! The analyse stage's streaming pass, on the analysis thread: walk the commit's tree, skip what is
//! unchanged since the previous run, and read, classify, count, parse, chunk and extract metadata
//! from each changed file, sending its rows to the database writer in bounded batches.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use reposage_analysis::chunk::{ChunkBudget, ChunkInput, chunk_file};
use reposage_analysis::code::{self, ParseFailure};
use reposage_analysis::{Checkout, Classifier, EntryKind, Language, LineStats, SkipReason, TreeEntry};
use reposage_retrieval::secrets;
use reposage_store::{AnalysedFile, BlobRow, FileKind, FileRow, FileSummary, RunStats};
use tokio::sync::mpsc;
use tracing::warn;

use crate::progress::Progress;
use crate::request::SharedTokenCounter;
use crate::rows::{chunk_rows, code_rows, empty_row, file_metadata, skipped};
use crate::{Error, Result};

/// A batch of rows and blob texts is written when it reaches this many bytes of text…
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// …or this many files.
const BATCH_FILES: usize = 1_000;
/// Longest symlink target recorded.
const MAX_SYMLINK_TARGET: usize = 4096;

/// Caps of the analyse stage.
#[derive(Debug, Clone)]
pub(crate) struct AnalyseLimits {
    pub(crate) max_files: u64,
    pub(crate) parse_timeout: Duration,
    pub(crate) chunk_budget: ChunkBudget,
    pub(crate) tokens: SharedTokenCounter,
}

/// What the analyse stage found.
pub(crate) struct Structure {
    /// Paths indexed before and absent now.
    pub(crate) removed: Vec<String>,
    /// Totals over the whole tree (unchanged files counted from their stored rows).
    pub(crate) stats: RunStats,
    /// Code analysis counts, for the stage event.
    pub(crate) code: CodeCounts,
}

/// Code analysis counts of one run (changed files only).
#[derive(Debug, Default)]
pub(crate) struct CodeCounts {
    pub(crate) parsed: u64,
    pub(crate) syntax_errors: u64,
    pub(crate) failures: u64,
    pub(crate) symbols: u64,
    pub(crate) chunks: u64,
    pub(crate) parse_time: Duration,
    /// Secrets redacted, by rule.
    pub(crate) secrets: BTreeMap<&'static str, u64>,
}

/// Rows and blob texts on their way from the analysis thread to the database.
#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) files: Vec<AnalysedFile>,
    pub(crate) blobs: Vec<BlobRow>,
    pub(crate) bytes: usize,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.bytes >= BATCH_BYTES || self.files.len() >= BATCH_FILES
    }
}

/// Walks the commit's tree, re-analysing only what changed since the previous run, and streams rows
/// and blob texts of changed files to `sender` in batches.
pub(crate) fn analyse_tree(
    checkout: &Checkout,
    classifier: &Classifier,
    previous: &HashMap<String, FileSummary>,
    limits: &AnalyseLimits,
    sender: &mpsc::Sender<Batch>,
    progress: &dyn Progress,
) -> Result<Structure> {
    let entries = reposage_analysis::tree::walk(&checkout.repo, checkout.commit)?;
    progress.files_total(entries.len() as u64);
    let mut stats = RunStats::default();
    let mut code = CodeCounts::default();
    let mut changed_files = 0u64;
    let mut batch = Batch::default();
    let send = |batch: Batch| {
        // A closed channel means the writer stopped on a database error; it reports the cause.
        sender
            .blocking_send(batch)
            .map_err(|_| Error::Worker("the database writer stopped".into()))
    };
    for entry in &entries {
        stats.files += 1;
        let file = match entry.kind {
            EntryKind::Symlink | EntryKind::Submodule => {
                let row = record_link(checkout, entry, classifier)?;
                if let Some(reason) = row.skip_reason {
                    *stats.skipped.entry(reason.to_string()).or_default() += 1;
                }
                let unchanged = previous
                    .get(&row.path)
                    .is_some_and(|prev| prev.blob_sha == row.blob_sha && prev.skip_reason == row.skip_reason);
                (!unchanged).then_some(AnalysedFile {
                    row,
                    code: None,
                    metadata: None,
                    chunks: Vec::new(),
                })
            }
            EntryKind::File { .. } => {
                let at_cap = stats.analysed_files >= limits.max_files;
                let path_reason = classifier
                    .by_path(&entry.path, entry.size)
                    .or(at_cap.then_some(SkipReason::MaxFiles));
                match previous.get(&entry.path) {
                    Some(prev) if is_unchanged(prev, entry, path_reason) => {
                        count_file(
                            &mut stats,
                            prev.skip_reason,
                            prev.language.as_deref(),
                            prev.size_bytes,
                            prev.lines,
                        );
                        None
                    }
                    _ => {
                        let file = analyse_file(
                            checkout,
                            entry,
                            classifier,
                            path_reason,
                            limits,
                            &mut batch,
                            &mut code,
                        )?;
                        let row = &file.row;
                        count_file(
                            &mut stats,
                            row.skip_reason,
                            row.language.as_deref(),
                            row.size_bytes,
                            row.lines,
                        );
                        Some(file)
                    }
                }
            }
        };
        if let Some(file) = file {
            changed_files += 1;
            batch.files.push(file);
        }
        if batch.is_full() {
            send(std::mem::take(&mut batch))?;
        }
        progress.file_done();
    }
    if !batch.files.is_empty() || !batch.blobs.is_empty() {
        send(batch)?;
    }
    let present: HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let removed: Vec<String> = previous
        .keys()
        .filter(|p| !present.contains(p.as_str()))
        .cloned()
        .collect();
    stats.changed_files = changed_files;
    stats.removed_files = removed.len() as u64;
    Ok(Structure { removed, stats, code })
}

/// A file is unchanged when its blob is the same and the path-based verdict is too (a content-based
/// skip such as `binary` holds as long as the blob does).
fn is_unchanged(prev: &FileSummary, entry: &TreeEntry, path_reason: Option<SkipReason>) -> bool {
    if prev.blob_sha.as_deref() != Some(entry.oid.to_string().as_str()) {
        return false;
    }
    match (path_reason, prev.skip_reason) {
        (Some(reason), stored) => stored == Some(reason),
        (None, None) => true,
        (None, Some(stored)) => stored.depends_on_content(),
    }
}

fn count_file(
    stats: &mut RunStats,
    skip_reason: Option<SkipReason>,
    language: Option<&str>,
    size: i64,
    lines: i32,
) {
    match skip_reason {
        Some(reason) => *stats.skipped.entry(reason.to_string()).or_default() += 1,
        None => {
            stats.analysed_files += 1;
            stats.bytes += size.max(0) as u64;
            stats.lines += lines.max(0) as u64;
            if let Some(language) = language {
                *stats.languages.entry(language.to_string()).or_default() += 1;
            }
        }
    }
}

/// Records a symlink (with its target, never followed) or a submodule (never fetched).
fn record_link(checkout: &Checkout, entry: &TreeEntry, classifier: &Classifier) -> Result<FileRow> {
    let (kind, symlink_target) = match entry.kind {
        EntryKind::Symlink => {
            let blob = checkout
                .repo
                .find_blob(entry.oid)
                .map_err(reposage_analysis::Error::from)?;
            let content = &blob.content()[..blob.content().len().min(MAX_SYMLINK_TARGET)];
            (
                FileKind::Symlink,
                Some(String::from_utf8_lossy(content).replace('\0', "\u{FFFD}")),
            )
        }
        _ => (FileKind::Submodule, None),
    };
    Ok(FileRow {
        skip_reason: classifier
            .by_path(&entry.path, 0)
            .filter(|r| matches!(r, SkipReason::UnsafePath | SkipReason::Excluded)),
        symlink_target,
        ..empty_row(entry, kind)
    })
}

/// Reads, classifies and (when its language has a grammar) parses one file; its text joins the
/// batch when it is analysed.
fn analyse_file(
    checkout: &Checkout,
    entry: &TreeEntry,
    classifier: &Classifier,
    path_reason: Option<SkipReason>,
    limits: &AnalyseLimits,
    batch: &mut Batch,
    counts: &mut CodeCounts,
) -> Result<AnalysedFile> {
    let row = empty_row(entry, FileKind::File);
    let blob = match path_reason {
        Some(reason) => return Ok(skipped(row, reason)),
        None => checkout
            .repo
            .find_blob(entry.oid)
            .map_err(reposage_analysis::Error::from)?,
    };
    let bytes = blob.content();
    if let Some(reason) = classifier.by_content(bytes) {
        return Ok(skipped(row, reason));
    }
    let text = String::from_utf8_lossy(bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes));
    // Secrets are redacted before anything is parsed, stored or embedded; lines keep their numbers.
    let redacted = secrets::redact(&text);
    for finding in &redacted.findings {
        *counts.secrets.entry(finding.rule).or_default() += 1;
    }
    let text = redacted.text.into_owned();
    let language = Language::detect(&entry.path, text.lines().next());
    let lines = LineStats::count(&text, language);
    let parsed = language
        .filter(|l| code::supports(l.name))
        .map(|l| parse_code(l.name, &text, limits.parse_timeout, counts));
    let symbols = match &parsed {
        Some(Ok(analysis)) => analysis.symbols.as_slice(),
        _ => &[],
    };
    let chunks = chunk_file(
        &ChunkInput {
            path: &entry.path,
            language: language.map(|l| l.name),
            text: &text,
            symbols,
        },
        &limits.chunk_budget,
        limits.tokens.0.as_ref(),
    );
    counts.chunks += chunks.len() as u64;
    let chunks = chunk_rows(&entry.path, chunks, symbols);
    let code = parsed.map(code_rows);
    let metadata = file_metadata(&entry.path, language.map(|l| l.name), &text);
    batch.bytes += text.len();
    batch.blobs.push(BlobRow {
        sha: entry.oid.to_string(),
        content: text,
    });
    Ok(AnalysedFile {
        row: FileRow {
            language: language.map(|l| l.name.to_string()),
            lines: lines.lines as i32,
            code_lines: lines.code as i32,
            comment_lines: lines.comment as i32,
            blank_lines: lines.blank as i32,
            ..row
        },
        code,
        metadata,
        chunks,
    })
}

/// Parses a file with tree-sitter, counting the outcome.
fn parse_code(
    language: &str,
    text: &str,
    deadline: Duration,
    counts: &mut CodeCounts,
) -> Result<code::FileAnalysis, ParseFailure> {
    let started = Instant::now();
    let result = code::analyze(language, text, deadline);
    counts.parse_time += started.elapsed();
    match &result {
        Ok(analysis) => {
            counts.parsed += 1;
            counts.syntax_errors += u64::from(analysis.has_syntax_errors);
            counts.symbols += analysis.symbols.len() as u64;
        }
        Err(failure) => {
            counts.failures += 1;
            warn!(language, error = %failure, "file not parsed");
        }
    }
    result
}
