//! How the pipeline reports progress to whoever runs it (a progress bar, logs, an SSE stream).

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Open or fetch the repository and resolve the ref.
    Fetch,
    /// Walk the tree; classify, read, count and parse the changed files; extract their metadata.
    Structure,
    /// Sum up what the repository says about itself (README, license, manifests, project files).
    Metadata,
    /// Embed the chunks that have no cached vector yet.
    Embed,
    /// Commit the run's results.
    Persist,
}

impl Stage {
    /// The stage's name in run events.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Fetch => "fetch",
            Stage::Structure => "structure",
            Stage::Metadata => "metadata",
            Stage::Embed => "embed",
            Stage::Persist => "persist",
        }
    }
}

/// Receives progress notifications. Implementations must be cheap: they are called per file.
pub trait Progress: Send + Sync {
    /// A stage began.
    fn stage_started(&self, stage: Stage);
    /// The number of tree entries the structure stage will go through.
    fn files_total(&self, total: u64);
    /// One more tree entry is done.
    fn file_done(&self);
    /// A stage ended.
    fn stage_completed(&self, stage: Stage);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage_started(&self, _: Stage) {}
    fn files_total(&self, _: u64) {}
    fn file_done(&self) {}
    fn stage_completed(&self, _: Stage) {}
}
