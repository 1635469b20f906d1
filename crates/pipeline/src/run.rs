//! One index run, stage by stage: fetch → analyse → embed → persist, each recorded as run events
//! with a typed [`StageReport`](crate::events::StageReport).
//!
//! Memory stays bounded by the batch size, not the repository: the tree is walked as metadata; on an
//! analysis thread each changed file is read from the object database, classified, counted, parsed
//! with tree-sitter, chunked and its metadata extracted ([`crate::analyse`]), and its rows travel to
//! Postgres in batches through a bounded channel. All rows of a run are written in one transaction
//! that commits with the run's success, so readers see the previous index or the new one, never a
//! mix.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reposage_analysis::{Classifier, Source, open_or_fetch};
use reposage_retrieval::vector::{SyncMode, sync_repository};
use reposage_store::{BLOB_GRACE, CommitSha, RepositoryId, RunId, RunKind, RunOutcome, RunStats, Store};
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{info, instrument, warn};

use crate::analyse::{AnalyseLimits, Batch, analyse_tree};
use crate::embed::embed_chunks;
use crate::events::{
    AnalyseReport, EmbedReport, FetchReport, MetadataFound, PersistReport, StageRecorder, StageReport,
};
use crate::progress::{Progress, Stage};
use crate::request::IndexRequest;
use crate::worker::{blocking, spawn_with_big_stack};
use crate::{Error, Result};

/// How long an unreferenced cached embedding is kept (like blobs: longer than any run).
const EMBEDDING_GRACE: Duration = BLOB_GRACE;

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
    let mut recorder = StageRecorder::new(store, request.run_id, progress.as_ref());
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
        .complete(StageReport::Fetch(FetchReport {
            commit: commit.to_string(),
            resolved_ref: resolved_ref.clone(),
            bytes_fetched: checkout.fetched_bytes,
        }))
        .await?;

    recorder.start(Stage::Analyse).await?;
    let previous = store.indexed_files(request.repository.id).await?;
    let classifier = Classifier::new(&request.include, &request.exclude, request.max_file_bytes)?;
    let limits = AnalyseLimits {
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
    let mut blobs_written = 0u64;
    while let Some(batch) = receiver.recv().await {
        store.upsert_blobs(&batch.blobs).await?;
        writer.write(&batch.files).await?;
        blobs_written += batch.blobs.len() as u64;
    }
    let structure = walker
        .await
        .map_err(|_| Error::Worker("the analysis thread stopped unexpectedly".into()))??;
    let code = &structure.code;
    let overview = writer.overview_counts().await?;
    recorder
        .complete(StageReport::Analyse(AnalyseReport {
            files: structure.stats.files,
            analysed_files: structure.stats.analysed_files,
            changed_files: structure.stats.changed_files,
            removed_files: structure.stats.removed_files,
            skipped_files: structure.stats.skipped.values().sum(),
            bytes: structure.stats.bytes,
            lines: structure.stats.lines,
            blobs_written,
            parsed_files: code.parsed,
            syntax_error_files: code.syntax_errors,
            parse_failures: code.failures,
            symbols_extracted: code.symbols,
            chunks_created: code.chunks,
            parse_ms: code.parse_time.as_millis() as u64,
            secrets_redacted: code.secrets.values().sum(),
            secrets_by_rule: code
                .secrets
                .iter()
                .map(|(rule, n)| (rule.to_string(), *n))
                .collect(),
            metadata: MetadataFound {
                readme_found: overview.readmes > 0,
                license_found: overview.licenses > 0,
                manifests: overview.manifests as u64,
                dependencies_found: overview.dependencies as u64,
                config_files: overview.project_files as u64,
                kubernetes_objects: overview.kubernetes_objects as u64,
            },
        }))
        .await?;

    let mut stats = structure.stats;
    stats.secrets_redacted = structure.code.secrets.values().sum();
    if let Some(embedding) = &request.embedding {
        recorder.start(Stage::Embed).await?;
        let embedded = embed_chunks(store, &mut writer, embedding).await?;
        stats.chunks_embedded = embedded.embedded;
        recorder
            .complete(StageReport::Embed(EmbedReport {
                backend: embedding.vectors.backend().to_string(),
                model: embedding.embedder.model().id.clone(),
                dimension: embedding.embedder.model().dimension,
                embedded: embedded.embedded,
                embed_ms: embedded.time.as_millis() as u64,
                chunks_per_second: embedded.per_second(),
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
        Ok(pages) => Some(pages.max(0) as u64),
        Err(error) => {
            warn!(%error, "search indexes not flushed (searches scan their pending entries until a vacuum)");
            None
        }
    };
    let mut persisted = PersistReport {
        rows_removed: structure.removed.len() as u64,
        symbols: run.stats.symbols,
        chunks: run.stats.chunks,
        blobs_collected,
        search_index_pages_flushed,
        vectors_synced: None,
        embeddings_collected: None,
    };
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
        persisted.vectors_synced = Some(synced);
        persisted.embeddings_collected = Some(store.delete_unreferenced_embeddings(EMBEDDING_GRACE).await?);
    }
    recorder.complete(StageReport::Persist(persisted)).await?;

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
