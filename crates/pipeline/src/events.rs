//! The run's stage events: what each stage reports when it completes ([`StageReport`], one typed
//! value per stage, stored as the event's JSON `data`), and the [`StageRecorder`] that writes the
//! `started` / `completed` / `failed` events and tells the [`Progress`] observer.

use std::collections::BTreeMap;
use std::time::Instant;

use reposage_retrieval::vector::SyncStats;
use reposage_store::{RunId, StageStatus, Store};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::progress::{Progress, Stage};
use crate::{Error, Result};

/// What a stage reports when it completes: the `data` of its `completed` run event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StageReport {
    /// The fetch stage's report.
    Fetch(FetchReport),
    /// The analyse stage's report.
    Analyse(AnalyseReport),
    /// The embed stage's report.
    Embed(EmbedReport),
    /// The persist stage's report.
    Persist(PersistReport),
}

impl StageReport {
    /// The stage that reports this.
    pub fn stage(&self) -> Stage {
        match self {
            StageReport::Fetch(_) => Stage::Fetch,
            StageReport::Analyse(_) => Stage::Analyse,
            StageReport::Embed(_) => Stage::Embed,
            StageReport::Persist(_) => Stage::Persist,
        }
    }

    /// Reads the report of a stored `completed` event of `stage` (its name in the `stage` column).
    pub fn from_event(stage: &str, data: serde_json::Value) -> Result<Self, serde_json::Error> {
        use serde::de::Error as _;
        Ok(match stage.parse::<Stage>().map_err(serde_json::Error::custom)? {
            Stage::Fetch => StageReport::Fetch(serde_json::from_value(data)?),
            Stage::Analyse => StageReport::Analyse(serde_json::from_value(data)?),
            Stage::Embed => StageReport::Embed(serde_json::from_value(data)?),
            Stage::Persist => StageReport::Persist(serde_json::from_value(data)?),
        })
    }
}

/// The fetch stage: which commit the ref resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchReport {
    /// The commit indexed (40 hex characters).
    pub commit: String,
    /// The ref it was resolved from (the default branch's name when none was asked for).
    pub resolved_ref: String,
    /// Bytes received from the remote (0 for a local repository).
    pub bytes_fetched: u64,
}

/// The analyse stage: the tree walked, changed files read, classified, counted, parsed, chunked
/// and their metadata extracted, in one streaming pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalyseReport {
    /// Tree entries seen.
    pub files: u64,
    /// Files analysed (not skipped), unchanged ones included.
    pub analysed_files: u64,
    /// Files re-analysed because their blob changed.
    pub changed_files: u64,
    /// Files indexed before and gone now.
    pub removed_files: u64,
    /// Files recorded with a skip reason.
    pub skipped_files: u64,
    /// Bytes across analysed files.
    pub bytes: u64,
    /// Lines across analysed files.
    pub lines: u64,
    /// File contents written (each blob once).
    pub blobs_written: u64,
    /// Files parsed with tree-sitter.
    pub parsed_files: u64,
    /// Parsed files whose syntax tree has errors (analysed as far as it goes).
    pub syntax_error_files: u64,
    /// Files tree-sitter could not parse (timeouts included).
    pub parse_failures: u64,
    /// Symbols extracted.
    pub symbols_extracted: u64,
    /// Chunks cut.
    pub chunks_created: u64,
    /// Time spent parsing, in milliseconds.
    pub parse_ms: u64,
    /// Secrets redacted (counts only, never values).
    pub secrets_redacted: u64,
    /// Secrets redacted, by rule.
    pub secrets_by_rule: BTreeMap<String, u64>,
    /// What the repository says about itself, as the run will commit it.
    pub metadata: MetadataFound,
}

/// What the analyse stage found about the project as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetadataFound {
    /// A README was found.
    pub readme_found: bool,
    /// A license was detected.
    pub license_found: bool,
    /// Package manifests.
    pub manifests: u64,
    /// Declared dependencies.
    pub dependencies_found: u64,
    /// CI, container, chart, build and entry-point files.
    pub config_files: u64,
    /// Kubernetes objects in YAML files.
    pub kubernetes_objects: u64,
}

/// The embed stage: chunks without a cached vector embedded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmbedReport {
    /// The vector store's backend (`embedded`, `qdrant`).
    pub backend: String,
    /// The embedding model's id.
    pub model: String,
    /// Its vector length.
    pub dimension: usize,
    /// Chunks embedded by this run (cached ones are not counted).
    pub embedded: u64,
    /// Time spent embedding, in milliseconds.
    pub embed_ms: u64,
    /// Throughput, one decimal.
    pub chunks_per_second: f64,
}

/// The persist stage: the run's rows committed, garbage collected, vectors synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistReport {
    /// Rows of removed files deleted.
    pub rows_removed: u64,
    /// Symbols in the committed index.
    pub symbols: u64,
    /// Chunks in the committed index.
    pub chunks: u64,
    /// Unreferenced blobs collected (past their grace period).
    pub blobs_collected: u64,
    /// Pending full-text index pages merged; `None` when the flush was not allowed.
    pub search_index_pages_flushed: Option<u64>,
    /// The vector store brought in line with Postgres (runs with embeddings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors_synced: Option<SyncStats>,
    /// Unreferenced cached embeddings collected (runs with embeddings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings_collected: Option<u64>,
}

/// Records stage events and notifies progress; remembers the running stage so a failure is
/// attributed to it.
pub(crate) struct StageRecorder<'a> {
    store: &'a Store,
    run_id: RunId,
    progress: &'a dyn Progress,
    current: Option<(Stage, Instant)>,
}

impl<'a> StageRecorder<'a> {
    pub(crate) fn new(store: &'a Store, run_id: RunId, progress: &'a dyn Progress) -> Self {
        StageRecorder {
            store,
            run_id,
            progress,
            current: None,
        }
    }

    pub(crate) async fn start(&mut self, stage: Stage) -> Result<()> {
        self.current = Some((stage, Instant::now()));
        self.progress.stage_started(stage);
        self.store
            .record_event(
                self.run_id,
                stage.as_str(),
                StageStatus::Started,
                serde_json::json!({}),
                None,
                None,
            )
            .await?;
        Ok(())
    }

    /// Records the running stage as completed with its report.
    pub(crate) async fn complete(&mut self, report: StageReport) -> Result<()> {
        let stage = report.stage();
        let started = match self.current.take() {
            Some((running, started)) if running == stage => started,
            other => {
                return Err(Error::Worker(format!(
                    "the {} stage reported while {} was running",
                    stage.as_str(),
                    other.map_or("no stage", |(s, _)| s.as_str())
                )));
            }
        };
        self.progress.stage_completed(stage);
        let duration_ms = started.elapsed().as_millis() as i64;
        let data = serde_json::to_value(&report).expect("stage reports serialise");
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
    pub(crate) async fn fail(&mut self, message: &str) {
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
                serde_json::json!({}),
                Some(duration_ms),
                Some(message),
            )
            .await
        {
            warn!(error = %e, "could not record the failed stage");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_from_its_stored_event() {
        let report = StageReport::Persist(PersistReport {
            rows_removed: 1,
            symbols: 2,
            chunks: 3,
            blobs_collected: 0,
            search_index_pages_flushed: None,
            vectors_synced: Some(SyncStats {
                unchanged: 4,
                written: 5,
                deleted: 6,
            }),
            embeddings_collected: Some(7),
        });
        let data = serde_json::to_value(&report).unwrap();
        assert_eq!(data["vectorsSynced"]["written"], 5);
        assert_eq!(StageReport::from_event("persist", data).unwrap(), report);
    }

    #[test]
    fn an_unknown_stage_or_a_foreign_shape_is_an_error() {
        assert!(StageReport::from_event("structure", serde_json::json!({})).is_err());
        assert!(StageReport::from_event("fetch", serde_json::json!({"commit": 1})).is_err());
    }
}
