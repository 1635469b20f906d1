//! The index pipeline: fetch → structure → persist, each stage recorded as run events.
//!
//! Memory stays bounded by the batch size, not the repository: the tree is walked as metadata; on an
//! analysis thread each changed file is read from the object database, classified, counted and
//! parsed with tree-sitter, and its rows travel to Postgres in batches through a bounded channel.
//! The structure stage is that one streaming pass (its event breaks down what it did). All rows of a
//! run are written in one transaction that commits with the run's success, so readers see the
//! previous index or the new one, never a mix.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reposage_analysis::chunk::{ChunkBudget, ChunkInput, TokenCounter, chunk_file};
use reposage_analysis::code::{self, ParseFailure};
use reposage_analysis::{
    Checkout, Classifier, EntryKind, FetchOptions, Language, LineStats, SkipReason, Source, TreeEntry,
    UrlPolicy, open_or_fetch,
};
use reposage_retrieval::vector::{SyncMode, sync_repository};
use reposage_retrieval::{Embedder, VectorStore, lexical, secrets};
use reposage_store::{
    AnalysedFile, BLOB_GRACE, BlobRow, CallRow, ChunkRow, CodeRows, CommitSha, FileKind, FileRow,
    FileSummary, ImportRow, IndexWriter, NewRepository, RepositoryId, RunId, RunKind, RunOutcome, RunStats,
    StageStatus, Store, SymbolRow,
};
use serde::Serialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, instrument, warn};

use crate::progress::{Progress, Stage};
use crate::{Error, Result};

/// A batch of rows and blob texts is written when it reaches this many bytes of text…
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// …or this many files.
const BATCH_FILES: usize = 1_000;
/// Longest symlink target recorded.
const MAX_SYMLINK_TARGET: usize = 4096;
/// How long an unreferenced cached embedding is kept (like blobs: longer than any run).
const EMBEDDING_GRACE: Duration = BLOB_GRACE;

/// Everything one index run needs; nothing is read from the environment.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    /// The run's id (the operator derives it from the Job; local runs use a fresh one).
    pub run_id: RunId,
    /// The repository as it is recorded.
    pub repository: NewRepository,
    /// Where to read it from.
    pub source: Source,
    /// Ref, caps and credentials for the fetch.
    pub fetch: FetchOptions,
    /// Which remote hosts may be fetched from (checked before any network traffic).
    pub url_policy: UrlPolicy,
    /// Gitignore-style patterns of paths to analyse (all when empty).
    pub include: Vec<String>,
    /// Gitignore-style patterns of paths not to analyse.
    pub exclude: Vec<String>,
    /// Files larger than this are recorded as `too-large`.
    pub max_file_bytes: u64,
    /// Files past this many analysed ones are recorded as `max-files`.
    pub max_files: u64,
    /// A file whose parse takes longer is recorded with parse status `timeout`.
    pub parse_timeout: Duration,
    /// Size of retrieval chunks.
    pub chunk_budget: ChunkBudget,
    /// Counts chunk tokens (the embedding model's own tokenizer when it has one).
    pub token_counter: SharedTokenCounter,
    /// The embedding stage; `None` indexes for lexical search only.
    pub embedding: Option<EmbeddingStage>,
    /// Scratch space for fetched repositories.
    pub work_dir: PathBuf,
}

/// Default of [`IndexRequest::max_file_bytes`] (and of `--max-file-bytes`).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Default of [`IndexRequest::max_files`] (and of `--max-files`).
pub const DEFAULT_MAX_FILES: u64 = 100_000;
/// Default of [`IndexRequest::parse_timeout`] in milliseconds (and of `--parse-timeout-ms`).
pub const DEFAULT_PARSE_TIMEOUT_MS: u64 = 5_000;

/// Namespace of the UUIDs derived for local-mode repositories from `namespace/name`.
const LOCAL_ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5e0d_5a9e_7c1f_4b6a_9d3e_2f81_c0a4_b7d1);

/// The id of a repository indexed without a custom resource: derived from `namespace/name`, so the
/// same name is the same repository run after run.
pub fn local_repository_id(namespace: &str, name: &str) -> RepositoryId {
    RepositoryId(uuid::Uuid::new_v5(
        &LOCAL_ID_NAMESPACE,
        format!("{namespace}/{name}").as_bytes(),
    ))
}

impl IndexRequest {
    /// A request to index the repository at `path` (its default branch or HEAD) as
    /// `namespace/name`, with a fresh run id, the default caps, the approximate token counter, no
    /// embedding stage and the system's temporary folder as scratch space.
    pub fn local(path: &std::path::Path, namespace: &str, name: &str) -> Self {
        IndexRequest {
            run_id: RunId::new_random(),
            repository: NewRepository {
                id: local_repository_id(namespace, name),
                namespace: namespace.into(),
                name: name.into(),
                url: path.display().to_string(),
                git_ref: None,
            },
            source: Source::Local(path.to_path_buf()),
            fetch: FetchOptions::default(),
            url_policy: UrlPolicy::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_files: DEFAULT_MAX_FILES,
            parse_timeout: Duration::from_millis(DEFAULT_PARSE_TIMEOUT_MS),
            chunk_budget: ChunkBudget::default(),
            token_counter: SharedTokenCounter::approximate(),
            embedding: None,
            work_dir: std::env::temp_dir(),
        }
    }
}

/// A token counter shared with the analysis thread.
#[derive(Clone)]
pub struct SharedTokenCounter(pub Arc<dyn TokenCounter + Send + Sync>);

impl std::fmt::Debug for SharedTokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTokenCounter")
    }
}

impl SharedTokenCounter {
    /// The estimate of BERT WordPiece, for runs without a local model's tokenizer.
    pub fn approximate() -> Self {
        SharedTokenCounter(Arc::new(reposage_analysis::chunk::ApproximateTokens))
    }
}

/// How chunks become vectors.
#[derive(Debug, Clone)]
pub struct EmbeddingStage {
    /// The model.
    pub embedder: Arc<dyn Embedder>,
    /// Where vectors go (the embedded store keeps them in Postgres; Qdrant is synced after commit).
    pub vectors: Arc<dyn VectorStore>,
    /// Chunks per embedding call.
    pub batch_size: usize,
}

/// What a successful run produced; `reposage-job-runner index --json` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexSummary {
    /// The run.
    pub run_id: RunId,
    /// The repository.
    pub repository_id: RepositoryId,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The ref the run resolved.
    pub resolved_ref: String,
    /// The commit it indexed.
    pub commit: String,
    /// `<ref>@sha1:<commit>`.
    pub revision: String,
    /// Totals.
    pub stats: RunStats,
    /// Wall time of the run.
    pub duration_ms: u64,
}

/// Runs the index pipeline for `request`, recording the run and its stage events in `store`. On
/// failure the run is recorded as failed with the error, and the repository keeps its previous index.
#[instrument(skip_all, fields(run_id = %request.run_id, repository = %request.repository.name))]
pub async fn run_index(
    store: &Store,
    request: IndexRequest,
    progress: Arc<dyn Progress>,
) -> Result<IndexSummary> {
    let started = Instant::now();
    store.upsert_repository(&request.repository).await?;
    store
        .start_run(
            request.run_id,
            request.repository.id,
            RunKind::Index,
            request.fetch.git_ref.describe(),
        )
        .await?;
    let mut recorder = StageRecorder {
        store,
        run_id: request.run_id,
        progress: progress.as_ref(),
        current: None,
    };
    match pipeline(store, &request, &mut recorder, progress.clone()).await {
        Ok(mut summary) => {
            summary.duration_ms = started.elapsed().as_millis() as u64;
            info!(commit = %summary.commit, files = summary.stats.files, "index run succeeded");
            Ok(summary)
        }
        Err(error) => {
            let message = error.to_run_message();
            warn!(error = %message, "index run failed");
            recorder.fail(&message).await;
            store
                .finish_run(request.run_id, &RunOutcome::Failed { error: message })
                .await?;
            Err(error)
        }
    }
}

async fn pipeline(
    store: &Store,
    request: &IndexRequest,
    recorder: &mut StageRecorder<'_>,
    progress: Arc<dyn Progress>,
) -> Result<IndexSummary> {
    recorder.start(Stage::Fetch).await?;
    let (source, work_dir, fetch, policy) = (
        request.source.clone(),
        request.work_dir.clone(),
        request.fetch.clone(),
        request.url_policy.clone(),
    );
    let checkout = blocking(move || {
        if let Source::Remote(url) = &source {
            policy.check(url)?;
        }
        open_or_fetch(&source, &work_dir, &fetch)
    })
    .await??;
    let commit =
        CommitSha::parse(&checkout.commit.to_string()).expect("git object ids are 40 hex characters");
    let resolved_ref = checkout.resolved_ref.clone();
    recorder
        .complete(json!({
            "commit": commit.as_str(),
            "resolvedRef": resolved_ref,
            "bytesFetched": checkout.fetched_bytes,
        }))
        .await?;

    recorder.start(Stage::Structure).await?;
    let previous = store.indexed_files(request.repository.id).await?;
    let classifier = Classifier::new(&request.include, &request.exclude, request.max_file_bytes)?;
    let limits = Limits {
        max_files: request.max_files,
        parse_timeout: request.parse_timeout,
        chunk_budget: request.chunk_budget,
        tokens: request.token_counter.clone(),
    };
    let (sender, mut receiver) = mpsc::channel::<Batch>(2);
    let walker = spawn_with_big_stack(move || {
        analyse_tree(
            &checkout,
            &classifier,
            &previous,
            &limits,
            &sender,
            progress.as_ref(),
        )
    })?;
    // Everything of the run goes through one transaction; blobs go first, outside it (they are
    // content-addressed and shared), so the rows that reference them never dangle.
    let mut writer = store.begin_index(request.run_id, request.repository.id).await?;
    let mut blobs_written = 0usize;
    while let Some(batch) = receiver.recv().await {
        store.upsert_blobs(&batch.blobs).await?;
        writer.write(&batch.files).await?;
        blobs_written += batch.blobs.len();
    }
    let structure = walker
        .await
        .map_err(|_| Error::Worker("the analysis thread stopped unexpectedly".into()))??;
    let code = &structure.code;
    recorder
        .complete(json!({
            "files": structure.stats.files,
            "analysedFiles": structure.stats.analysed_files,
            "changedFiles": structure.stats.changed_files,
            "removedFiles": structure.stats.removed_files,
            "skippedFiles": structure.stats.skipped.values().sum::<u64>(),
            "bytes": structure.stats.bytes,
            "lines": structure.stats.lines,
            "blobsWritten": blobs_written,
            "parsedFiles": code.parsed,
            "syntaxErrorFiles": code.syntax_errors,
            "parseFailures": code.failures,
            "symbolsExtracted": code.symbols,
            "chunksCreated": code.chunks,
            "parseMs": code.parse_time.as_millis() as u64,
            "secretsRedacted": code.secrets.values().sum::<u64>(),
            "secretsByRule": code.secrets,
        }))
        .await?;

    recorder.start(Stage::Metadata).await?;
    let overview = writer.overview_counts().await?;
    recorder
        .complete(json!({
            "readmeFound": overview.readmes > 0,
            "licenseFound": overview.licenses > 0,
            "manifests": overview.manifests,
            "dependenciesFound": overview.dependencies,
            "configFiles": overview.project_files,
            "kubernetesObjects": overview.kubernetes_objects,
        }))
        .await?;

    let mut stats = structure.stats;
    stats.secrets_redacted = structure.code.secrets.values().sum();
    if let Some(embedding) = &request.embedding {
        recorder.start(Stage::Embed).await?;
        let embedded = embed_chunks(store, &mut writer, embedding).await?;
        stats.chunks_embedded = embedded.embedded;
        recorder
            .complete(json!({
                "backend": embedding.vectors.backend(),
                "model": embedding.embedder.model().id,
                "dimension": embedding.embedder.model().dimension,
                "embedded": embedded.embedded,
                "embedMs": embedded.time.as_millis() as u64,
                "chunksPerSecond": embedded.per_second(),
            }))
            .await?;
    }

    recorder.start(Stage::Persist).await?;
    let run = writer
        .commit(&structure.removed, &resolved_ref, &commit, stats)
        .await?;
    let blobs_collected = store.delete_unreferenced_blobs(BLOB_GRACE).await?;
    // Searches would scan the index entries this run left pending until autovacuum merges them.
    let search_index_pages_flushed = match store.flush_search_indexes().await {
        Ok(pages) => Some(pages),
        Err(error) => {
            warn!(%error, "search indexes not flushed (searches scan their pending entries until a vacuum)");
            None
        }
    };
    let mut persisted = json!({
        "rowsRemoved": structure.removed.len(),
        "symbols": run.stats.symbols,
        "chunks": run.stats.chunks,
        "blobsCollected": blobs_collected,
        "searchIndexPagesFlushed": search_index_pages_flushed,
    });
    if let Some(embedding) = &request.embedding {
        let model = embedding.embedder.model();
        let synced = sync_repository(
            store,
            embedding.vectors.as_ref(),
            model,
            request.repository.id,
            SyncMode::Changed,
        )
        .await?;
        persisted["vectorsSynced"] = json!(synced);
        persisted["embeddingsCollected"] =
            json!(store.delete_unreferenced_embeddings(EMBEDDING_GRACE).await?);
    }
    recorder.complete(persisted).await?;

    Ok(IndexSummary {
        run_id: request.run_id,
        repository_id: request.repository.id,
        namespace: request.repository.namespace.clone(),
        name: request.repository.name.clone(),
        revision: format!("{resolved_ref}@sha1:{commit}"),
        resolved_ref,
        commit: commit.to_string(),
        stats: run.stats,
        duration_ms: 0,
    })
}

/// Caps of the structure stage.
#[derive(Debug, Clone)]
struct Limits {
    max_files: u64,
    parse_timeout: Duration,
    chunk_budget: ChunkBudget,
    tokens: SharedTokenCounter,
}

/// What the structure stage found.
struct Structure {
    /// Paths indexed before and absent now.
    removed: Vec<String>,
    /// Totals over the whole tree (unchanged files counted from their stored rows).
    stats: RunStats,
    /// Code analysis counts, for the stage event.
    code: CodeCounts,
}

/// Code analysis counts of one run (changed files only).
#[derive(Debug, Default)]
struct CodeCounts {
    parsed: u64,
    syntax_errors: u64,
    failures: u64,
    symbols: u64,
    chunks: u64,
    parse_time: Duration,
    /// Secrets redacted, by rule.
    secrets: std::collections::BTreeMap<&'static str, u64>,
}

/// Rows and blob texts on their way from the analysis thread to the database.
#[derive(Default)]
struct Batch {
    files: Vec<AnalysedFile>,
    blobs: Vec<BlobRow>,
    bytes: usize,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.bytes >= BATCH_BYTES || self.files.len() >= BATCH_FILES
    }
}

/// Walks the commit's tree, re-analysing only what changed since the previous run, and streams rows
/// and blob texts of changed files to `sender` in batches.
fn analyse_tree(
    checkout: &Checkout,
    classifier: &Classifier,
    previous: &HashMap<String, FileSummary>,
    limits: &Limits,
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
                if let Some(reason) = &row.skip_reason {
                    *stats.skipped.entry(reason.clone()).or_default() += 1;
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
                            prev.skip_reason.as_deref(),
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
                            row.skip_reason.as_deref(),
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
    let present: std::collections::HashSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
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
    match (path_reason, prev.skip_reason.as_deref()) {
        (Some(reason), stored) => stored == Some(reason.as_str()),
        (None, None) => true,
        (None, Some(stored)) => CONTENT_REASONS.iter().any(|r| r.as_str() == stored),
    }
}

const CONTENT_REASONS: [SkipReason; 3] = [
    SkipReason::Binary,
    SkipReason::UnsupportedEncoding,
    SkipReason::Generated,
];

fn count_file(
    stats: &mut RunStats,
    skip_reason: Option<&str>,
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
            .filter(|r| matches!(r, SkipReason::UnsafePath | SkipReason::Excluded))
            .map(|r| r.as_str().to_string()),
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
    limits: &Limits,
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
    // The kind of a chunk's symbol, by qualified name (the first symbol of a name, as overloads share one).
    let mut kinds: HashMap<&str, &'static str> = HashMap::with_capacity(symbols.len());
    for symbol in symbols {
        kinds
            .entry(symbol.qualified_name.as_str())
            .or_insert(symbol.kind.as_str());
    }
    let chunks = chunks
        .into_iter()
        .map(|c| ChunkRow {
            symbol_kind: c.symbol_path.as_deref().and_then(|path| kinds.get(path).copied()),
            search_tokens: lexical::tsvector(&entry.path, c.symbol_path.as_deref(), &c.text),
            content_hash: c.content_hash,
            symbol_path: c.symbol_path,
            start_line: c.start_line as i32,
            end_line: c.end_line as i32,
            context_header: c.context_header,
            text: c.text,
            token_count: c.token_count as i32,
        })
        .collect();
    let code = parsed.map(code_rows);
    let metadata = crate::metadata::file_metadata(&entry.path, language.map(|l| l.name), &text);
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

/// What tree-sitter found, as rows; a failed parse is recorded on the file and the run goes on.
fn code_rows(parsed: Result<code::FileAnalysis, ParseFailure>) -> CodeRows {
    let analysis = match parsed {
        Ok(analysis) => analysis,
        Err(failure) => {
            return CodeRows {
                parse_status: if matches!(failure, ParseFailure::Timeout(_)) {
                    "timeout"
                } else {
                    "failed"
                },
                parse_error: Some(failure.to_string()),
                functions: 0,
                complexity: 0,
                max_complexity: 0,
                halstead_volume: 0.0,
                maintainability: 0.0,
                symbols: Vec::new(),
                imports: Vec::new(),
                calls: Vec::new(),
            };
        }
    };
    let metrics = analysis.metrics;
    CodeRows {
        parse_status: if analysis.has_syntax_errors {
            "syntax-errors"
        } else {
            "parsed"
        },
        parse_error: None,
        functions: metrics.functions as i32,
        complexity: metrics.complexity as i32,
        max_complexity: metrics.max_complexity as i32,
        halstead_volume: metrics.halstead_volume,
        maintainability: metrics.maintainability,
        symbols: analysis
            .symbols
            .into_iter()
            .map(|s| SymbolRow {
                kind: s.kind.as_str(),
                complexity: s.metrics.map(|m| m.complexity as i32),
                max_nesting: s.metrics.map(|m| m.max_nesting as i32),
                lines: s.metrics.map(|m| m.lines as i32),
                name: s.name,
                qualified_name: s.qualified_name,
                signature: s.signature,
                doc: s.doc,
                visibility: s.visibility,
                start_line: s.start_line as i32,
                end_line: s.end_line as i32,
                start_byte: s.start_byte as i32,
                end_byte: s.end_byte as i32,
                parent: s.parent,
            })
            .collect(),
        imports: analysis
            .imports
            .into_iter()
            .map(|i| ImportRow {
                target: i.target,
                line: i.line as i32,
            })
            .collect(),
        calls: analysis
            .calls
            .into_iter()
            .map(|c| CallRow {
                caller: c.caller,
                callee: c.callee,
                line: c.line as i32,
            })
            .collect(),
    }
}

/// A file recorded with the reason it was not analysed (its language still told by its name).
fn skipped(row: FileRow, reason: SkipReason) -> AnalysedFile {
    AnalysedFile {
        row: FileRow {
            language: Language::detect(&row.path, None).map(|l| l.name.to_string()),
            skip_reason: Some(reason.as_str().to_string()),
            ..row
        },
        code: None,
        metadata: None,
        chunks: Vec::new(),
    }
}

fn empty_row(entry: &TreeEntry, kind: FileKind) -> FileRow {
    FileRow {
        path: entry.path.clone(),
        kind,
        blob_sha: Some(entry.oid.to_string()),
        language: None,
        size_bytes: entry.size as i64,
        lines: 0,
        code_lines: 0,
        comment_lines: 0,
        blank_lines: 0,
        skip_reason: None,
        symlink_target: None,
    }
}

/// Pages of chunks read for embedding.
const EMBED_PAGE: i64 = 512;

/// What the embedding stage did.
struct Embedded {
    embedded: u64,
    time: Duration,
}

impl Embedded {
    fn per_second(&self) -> f64 {
        match self.time.as_secs_f64() {
            0.0 => 0.0,
            secs => (self.embedded as f64 / secs * 10.0).round() / 10.0,
        }
    }
}

/// Embeds every distinct chunk of the repository (as the run will commit it) that has no cached
/// vector of the model yet, page by page. Vectors are cached outside the run's transaction, so a
/// failed run keeps what it embedded and its retry starts where it stopped.
async fn embed_chunks(store: &Store, writer: &mut IndexWriter, stage: &EmbeddingStage) -> Result<Embedded> {
    let started = Instant::now();
    let model = stage.embedder.model().clone();
    let mut embedded = 0u64;
    let mut after: Option<String> = None;
    loop {
        let page = writer
            .chunks_to_embed(&model.id, after.as_deref(), EMBED_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.content_hash.clone());
        for batch in page.chunks(stage.batch_size.max(1)) {
            let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
            let vectors = stage.embedder.embed(&texts).await?;
            let hashes: Vec<String> = batch.iter().map(|c| c.content_hash.clone()).collect();
            store.insert_embeddings(&model.id, &hashes, &vectors).await?;
            embedded += batch.len() as u64;
        }
    }
    Ok(Embedded {
        embedded,
        time: started.elapsed(),
    })
}

/// Runs blocking git work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Worker(e.to_string()))
}

/// Stack of the analysis thread: tree-sitter and the walks are iterative, but a generous stack keeps
/// any recursion in a grammar's external scanner from overflowing on hostile nesting.
const ANALYSIS_STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread of its own with a large stack; the receiver yields its result.
fn spawn_with_big_stack<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<oneshot::Receiver<T>> {
    let (result, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name("analysis".into())
        .stack_size(ANALYSIS_STACK)
        .spawn(move || {
            // the receiver is gone only when the run was abandoned
            let _ = result.send(f());
        })
        .map_err(|e| Error::Worker(format!("cannot start the analysis thread: {e}")))?;
    Ok(receiver)
}

/// Records stage events and notifies progress; remembers the running stage so a failure is
/// attributed to it.
struct StageRecorder<'a> {
    store: &'a Store,
    run_id: RunId,
    progress: &'a dyn Progress,
    current: Option<(Stage, Instant)>,
}

impl StageRecorder<'_> {
    async fn start(&mut self, stage: Stage) -> Result<()> {
        self.current = Some((stage, Instant::now()));
        self.progress.stage_started(stage);
        self.store
            .record_event(
                self.run_id,
                stage.as_str(),
                StageStatus::Started,
                json!({}),
                None,
                None,
            )
            .await?;
        Ok(())
    }

    async fn complete(&mut self, data: serde_json::Value) -> Result<()> {
        let Some((stage, started)) = self.current.take() else {
            return Ok(());
        };
        self.progress.stage_completed(stage);
        let duration_ms = started.elapsed().as_millis() as i64;
        info!(stage = stage.as_str(), duration_ms, %data, "stage completed");
        self.store
            .record_event(
                self.run_id,
                stage.as_str(),
                StageStatus::Completed,
                data,
                Some(duration_ms),
                None,
            )
            .await?;
        Ok(())
    }

    /// Records the running stage as failed; a failure to record is logged, not raised, so the
    /// original error is the one reported.
    async fn fail(&mut self, message: &str) {
        let Some((stage, started)) = self.current.take() else {
            return;
        };
        let duration_ms = started.elapsed().as_millis() as i64;
        if let Err(e) = self
            .store
            .record_event(
                self.run_id,
                stage.as_str(),
                StageStatus::Failed,
                json!({}),
                Some(duration_ms),
                Some(message),
            )
            .await
        {
            warn!(error = %e, "could not record the failed stage");
        }
    }
}
