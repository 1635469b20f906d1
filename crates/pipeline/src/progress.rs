//! How the pipeline reports progress to whoever runs it (a progress bar, logs, an SSE stream).

/// A pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Open or fetch the repository and resolve the ref.
    Fetch,
    /// Walk the tree; read, classify, count, parse and chunk the changed files and extract their
    /// metadata (README, license, manifests, project files), in one streaming pass.
    Analyse,
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
            Stage::Analyse => "analyse",
            Stage::Embed => "embed",
            Stage::Persist => "persist",
        }
    }
}

impl std::str::FromStr for Stage {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Stage::Fetch, Stage::Analyse, Stage::Embed, Stage::Persist]
            .into_iter()
            .find(|stage| stage.as_str() == name)
            .ok_or_else(|| format!("no pipeline stage is called {name:?}"))
    }
}

/// Receives progress notifications. Implementations must be cheap: they are called per file.
pub trait Progress: Send + Sync {
    /// A stage began.
    fn stage_started(&self, stage: Stage);
    /// The number of tree entries the analyse stage will go through.
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
